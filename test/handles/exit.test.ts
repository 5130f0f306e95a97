import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/every-component.ts', import.meta.url));
/** Time the child has after 'closed' to be gone; past it the child lists its active resources and exits 3. */
const GRACE_MS = 3000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  output: string;
  closedAt: number | undefined;
  exitedAt: number;
}

/** Runs the fixture once: it builds, uses and closes one of every component, then must exit by itself. */
async function runFixture(): Promise<Run> {
  // Any timer, socket or listener a close() leaves behind keeps the child
  // alive; the child then reports it (process.getActiveResourcesInfo()).
  // The Redis command-timeout watchdog used to hold it for timeoutMs (10 s here).
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLUICE_EXIT_GRACE_MS: String(GRACE_MS) },
  });
  let stdout = '';
  let stderr = '';
  let closedAt: number | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (closedAt === undefined && /^closed$/m.test(stdout)) closedAt = performance.now();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // Set-up talks to four services on a shared machine: a generous bound, then a kill so the test never hangs.
  const hardStop = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(hardStop);
  return { code, signal, stdout, output: `stdout:\n${stdout}\nstderr:\n${stderr}`, closedAt, exitedAt: performance.now() };
}

describe('open handles', () => {
  let run: Run;
  before(async () => {
    run = await runFixture();
  });

  it('close() - a process exits by itself after closing one of every component, Redis, AMQP, NATS and Postgres ones included', () => {
    const { code, signal, output, closedAt, exitedAt } = run;
    assert.equal(signal, null, `the child was killed after 90 s\n${output}`);
    assert.ok(closedAt !== undefined, `the child closed everything\n${output}`);
    assert.equal(code, 0, `the child exited by itself\n${output}`);
    assert.ok(exitedAt - closedAt < GRACE_MS, `gone ${Math.round(exitedAt - closedAt)} ms after 'closed'`);
  });

  it('close() - the lag sources, trend, governor, cpuUsage, readiness and liveness are built, used and closed, and leave no timer of theirs behind', () => {
    // Their timers are unref'd: they could not keep the child alive, and getActiveResourcesInfo()
    // does not list them; the child runs them on a counting clock and exits 4 if one is still live.
    const { code, stdout, output } = run;
    assert.equal(code, 0, output);
    const closed = [...stdout.matchAll(/^closed (\S+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(closed, ['cpuUsage', 'governor', 'jetStreamLag', 'liveness', 'queueDepth', 'readiness', 'streamLag', 'trend'], output);
    const timers = /^pressure timers: (\d+) scheduled, all unref'd, none live after close$/m.exec(stdout);
    assert.ok(timers !== null && Number(timers[1]) > 20, output);
  });
});
