// Runs a fixture in a child process (TypeScript through tsx) and reads its stdout line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line starting with `prefix` (the prefix removed). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
}

/** `fixture` is the script's URL, e.g. `new URL('./fixtures/consumer.ts', import.meta.url)` from the calling test. */
export function startFixture(fixture: URL, args: string[]): Child {
  const path = fileURLToPath(fixture);
  const name = basename(path);
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const f of listeners) f();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    line(prefix, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((l) => l.startsWith(prefix));
          if (found === undefined) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found.slice(prefix.length).trim());
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`fixture ${name}: no "${prefix}" line within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
        void exited.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`fixture ${name} exited before printing "${prefix}"`));
          }
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
