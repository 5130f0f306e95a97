import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const main = fileURLToPath(new URL('../../src/tools/cli/main.ts', import.meta.url));

/** A `sluice demo` child process with its dashboard on a free port. */
export interface RunningDemo {
  url: string;
  child: ChildProcess;
  /** Output so far, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `sluice demo --port 0 ...args` and resolves once it prints its dashboard URL (rejects if it exits first or takes 30 s). */
export function startDemo(...args: string[]): Promise<RunningDemo> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'demo', '--port', '0', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`sluice demo printed no dashboard URL in 30 s:\n${out}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice demo exited (${code}) before serving its dashboard:\n${out}`));
    });
  });
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
