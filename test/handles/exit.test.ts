import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/every-component.ts', import.meta.url));
/** Time the child has after 'closed' to be gone; past it the child lists its active resources and exits 3. */
const GRACE_MS = 3000;

describe('open handles', () => {
  it('close() - a process exits by itself after closing one of every component, Redis, AMQP, NATS and Postgres ones included', async () => {
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
    const exitedAt = performance.now();
    const output = `stdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(signal, null, `the child was killed after 90 s\n${output}`);
    assert.ok(closedAt !== undefined, `the child closed everything\n${output}`);
    assert.equal(code, 0, `the child exited by itself\n${output}`);
    assert.ok(exitedAt - closedAt < GRACE_MS, `gone ${Math.round(exitedAt - closedAt)} ms after 'closed'`);
  });
});
