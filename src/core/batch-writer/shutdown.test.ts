import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriter, shutdownOn } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// The child-process fixture is written at test time rather than kept beside
// the sources, so it never ends up in the published build.
const dir = mkdtempSync(join(tmpdir(), 'sluice-shutdown-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = pathToFileURL(resolve('src/core/batch-writer/index.ts')).href;
const fixture = join(dir, 'child.mts'); // .mts: ESM outside the package's "type": "module"
writeFileSync(
  fixture,
  `import { appendFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriter, shutdownOn } from ${JSON.stringify(entry)};

const [mode, outFile, acceptedFile] = process.argv.slice(2);
let accepted = 0;
const writer = new BatchWriter<number>({
  name: 'file-sink',
  flush: async (items) => {
    if (mode !== 'ok') await new Promise(() => {}); // a sink that never answers
    await sleep(15);
    appendFileSync(outFile, items.join('\\n') + '\\n');
  },
  batchSize: 50,
  capacity: 200,
  minFlushIntervalMs: 10,
});
shutdownOn(writer, ['SIGTERM'], {
  timeoutMs: mode === 'timeout' ? 200 : 10_000,
  // 'stuck' shortens the grace so its test can force the exit quickly; the other modes keep the default.
  repeatGraceMs: mode === 'stuck' ? 100 : undefined,
  log: (line) => process.stderr.write(line + '\\n'),
});
// Counts the SIGTERMs that reached the process, independently of shutdownOn.
let sigterms = 0;
process.on('SIGTERM', () => sigterms++);
process.on('exit', () => {
  writeFileSync(acceptedFile, String(accepted));
  process.stderr.write('sigterms seen: ' + sigterms + '\\n');
});
setInterval(() => {}, 1000); // like an open server or pool: the process lives until it exits on purpose
process.stdout.write('ready\\n');
for (let i = 0; ; i++) {
  try {
    await writer.write(i);
  } catch {
    break; // closed by the shutdown
  }
  accepted = i + 1;
  if (i % 25 === 0) await sleep(1);
}
`,
);

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  lines: string[];
  accepted: number;
}

/**
 * Starts the fixture, sends SIGTERM once it is producing and, with `repeatAfterMs`,
 * once more that long after the first (or after the drain started, when 'draining'),
 * and collects the outcome.
 */
function runChild(mode: 'ok' | 'stuck' | 'timeout', name: string, repeat?: { afterMs: number; from: 'first' | 'draining' }): Promise<ChildRun> {
  const outFile = join(dir, `${name}.out`);
  const acceptedFile = join(dir, `${name}.accepted`);
  writeFileSync(outFile, '');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode, outFile, acceptedFile], {
    cwd: resolve('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let repeatPending = repeat?.from === 'draining';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (repeatPending && stderr.includes('draining')) {
      repeatPending = false;
      setTimeout(() => child.kill('SIGTERM'), repeat!.afterMs);
    }
  });
  child.stdout.once('data', () => {
    // Let the producer run long enough for batches to be in flight and buffered.
    setTimeout(() => {
      child.kill('SIGTERM');
      // Like a process-group kill reaching the app through a wrapper too: the same signal again, milliseconds later.
      if (repeat?.from === 'first') setTimeout(() => child.kill('SIGTERM'), repeat.afterMs);
    }, 300);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const text = readFileSync(outFile, 'utf8');
      let accepted = -1;
      try {
        accepted = Number(readFileSync(acceptedFile, 'utf8'));
      } catch {
        // no accepted file: the exit handler did not run
      }
      done({ code, signal, stderr, lines: text.split('\n').filter(Boolean), accepted });
    });
  });
}

describe('shutdownOn in a child process', () => {
  it('shutdownOn() - SIGTERM drains every accepted item into the file sink, then exits 0', async () => {
    const run = await runChild('ok', 'ok');
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.accepted > 0, 'the producer got items in before the signal');
    assert.deepEqual(
      run.lines.map(Number),
      Array.from({ length: run.accepted }, (_, i) => i),
      'every accepted item is in the file, once, in order',
    );
    assert.match(run.stderr, /SIGTERM received; draining 1 writer/);
    const drainedItems = Number(/file-sink: flushed (\d+), dead-lettered 0, dropped 0, refused after close \d+, remaining 0/.exec(run.stderr)?.[1]);
    assert.ok(drainedItems > 0, `the drain itself flushed items that were buffered at the signal: ${run.stderr}`);
  });

  it('shutdownOn() - a drain that times out reports what remained and exits 1', async () => {
    const run = await runChild('timeout', 'timeout');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /remaining [1-9]\d* \(timed out\)/);
    assert.match(run.stderr, /drain incomplete/);
  });

  it('shutdownOn() - a second SIGTERM 5 ms after the first is ignored: the drain finishes, exit 0, no accepted item lost', async () => {
    const run = await runChild('ok', 'twice-fast', { afterMs: 5, from: 'first' });
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    // Two signals 5 ms apart can reach a process the scheduler has not run in
    // between as one: POSIX does not queue a second pending SIGTERM. The grace
    // rule is checked whenever both arrived; no loss is checked either way.
    const seen = Number(/sigterms seen: (\d+)/.exec(run.stderr)?.[1]);
    assert.ok(seen === 1 || seen === 2, run.stderr);
    if (seen === 2) assert.match(run.stderr, /SIGTERM received again \d+ ms after the first; ignored \(within repeatGraceMs 1000\)/);
    assert.doesNotMatch(run.stderr, /exiting now/);
    assert.ok(run.accepted > 0, 'the producer got items in before the signal');
    assert.deepEqual(
      run.lines.map(Number),
      Array.from({ length: run.accepted }, (_, i) => i),
      'every accepted item is in the file, once, in order',
    );
  });

  it('shutdownOn() - a second signal after repeatGraceMs exits at once with 128 + the signal number and says how many items are lost', async () => {
    const run = await runChild('stuck', 'twice', { afterMs: 300, from: 'draining' });
    assert.equal(run.code, 143, run.stderr);
    assert.ok(run.accepted > 0, run.stderr);
    // The sink never answered: every accepted item was still buffered or in flight.
    assert.match(run.stderr, new RegExp(`SIGTERM received again; exiting now, ${run.accepted} accepted item\\(s\\) not yet flushed are lost`));
  });
});

describe('shutdownOn in process', () => {
  it('shutdownOn() - with exit false, drains on the signal, logs, and leaves the exit code alone when clean', async () => {
    const clock = new VirtualClock();
    const flushed: number[] = [];
    const writer = new BatchWriter<number>({ flush: (items) => void flushed.push(...items), batchSize: 10, clock, name: 'w' });
    const lines: string[] = [];
    const stop = shutdownOn(writer, ['SIGHUP'], { exit: false, log: (line) => lines.push(line) });
    const exitCode = process.exitCode;
    try {
      writer.tryWrite(1);
      writer.tryWrite(2);
      process.emit('SIGHUP', 'SIGHUP');
      await flushMicrotasks();
      await flushMicrotasks();
      assert.equal(writer.closed, true);
      assert.deepEqual(flushed, [1, 2]);
      assert.equal(process.exitCode, exitCode);
      assert.deepEqual(lines, [
        'sluice: SIGHUP received; draining 1 writer(s), up to 10000 ms',
        'sluice: w: flushed 2, dead-lettered 0, dropped 0, refused after close 0, remaining 0',
        'sluice: drained; exiting',
      ]);
    } finally {
      stop();
      process.exitCode = exitCode;
    }
  });

  it('shutdownOn() - a repeated signal within repeatGraceMs is logged and ignored; the drain goes on (virtual clock)', async (t) => {
    const clock = new VirtualClock();
    const exits = t.mock.method(process, 'exit', () => undefined);
    let finish!: () => void;
    const flushed: number[] = [];
    const writer = new BatchWriter<number>({
      flush: (items) =>
        new Promise<void>((resolve) => {
          finish = () => {
            flushed.push(...items);
            resolve();
          };
        }),
      batchSize: 10,
      clock,
      name: 'w',
    });
    const lines: string[] = [];
    const stop = shutdownOn(writer, ['SIGHUP'], { exit: false, log: (line) => lines.push(line), clock });
    const exitCode = process.exitCode;
    try {
      for (let i = 0; i < 5; i++) writer.tryWrite(i);
      process.emit('SIGHUP', 'SIGHUP');
      await flushMicrotasks();
      clock.advance(5);
      process.emit('SIGHUP', 'SIGHUP');
      clock.advance(994);
      process.emit('SIGHUP', 'SIGHUP'); // 999 ms after the first: still within the default 1000
      assert.equal(exits.mock.callCount(), 0, 'no forced exit within the grace period');
      assert.deepEqual(lines.slice(1), [
        'sluice: SIGHUP received again 5 ms after the first; ignored (within repeatGraceMs 1000), still draining',
        'sluice: SIGHUP received again 999 ms after the first; ignored (within repeatGraceMs 1000), still draining',
      ]);
      finish();
      await flushMicrotasks();
      await flushMicrotasks();
      assert.deepEqual(flushed, [0, 1, 2, 3, 4]);
      assert.equal(lines.at(-1), 'sluice: drained; exiting');
    } finally {
      stop();
      process.exitCode = exitCode;
    }
  });

  it('shutdownOn() - a repeated signal at repeatGraceMs forces the exit (128 + signal) and logs the buffered + in-flight count (virtual clock)', async (t) => {
    const clock = new VirtualClock();
    const exits = t.mock.method(process, 'exit', () => undefined);
    const writer = new BatchWriter<number>({ flush: () => new Promise<void>(() => {}), batchSize: 2, clock, name: 'w' });
    const other = new BatchWriter<number>({ flush: () => new Promise<void>(() => {}), batchSize: 10, clock, name: 'other' });
    const lines: string[] = [];
    const stop = shutdownOn([writer, other], ['SIGHUP'], { exit: false, log: (line) => lines.push(line), clock, repeatGraceMs: 250 });
    try {
      for (let i = 0; i < 5; i++) writer.tryWrite(i);
      other.tryWrite(1);
      await flushMicrotasks();
      process.emit('SIGHUP', 'SIGHUP');
      await flushMicrotasks();
      assert.deepEqual([writer.stats().inFlight, writer.stats().buffered], [2, 3]);
      clock.advance(250);
      process.emit('SIGHUP', 'SIGHUP');
      assert.deepEqual(
        exits.mock.calls.map((c) => c.arguments),
        [[128 + constants.signals.SIGHUP]],
      );
      assert.equal(lines.at(-1), 'sluice: SIGHUP received again; exiting now, 6 accepted item(s) not yet flushed are lost (w 5, other 1)');
    } finally {
      stop();
      writer.abort();
      other.abort();
    }
  });

  it('shutdownOn() - with repeatGraceMs 0 any repeat forces the exit; a target without stats() gets the generic loss message', async (t) => {
    const exits = t.mock.method(process, 'exit', () => undefined);
    const lines: string[] = [];
    const target = { drain: () => new Promise<never>(() => {}), name: 'custom' };
    const stop = shutdownOn(target, ['SIGHUP'], { exit: false, log: (line) => lines.push(line), clock: new VirtualClock(), repeatGraceMs: 0 });
    try {
      process.emit('SIGHUP', 'SIGHUP');
      process.emit('SIGHUP', 'SIGHUP');
      assert.equal(exits.mock.callCount(), 1);
      assert.equal(lines.at(-1), 'sluice: SIGHUP received again; exiting now, items not yet flushed are lost');
    } finally {
      stop();
    }
  });

  it('shutdownOn() - writes refused after close are logged as "refused after close", not as dropped', async () => {
    const clock = new VirtualClock();
    let finish!: () => void;
    const writer = new BatchWriter<number>({ flush: () => new Promise<void>((resolve) => (finish = resolve)), batchSize: 10, clock, name: 'w' });
    const lines: string[] = [];
    const stop = shutdownOn(writer, ['SIGHUP'], { exit: false, log: (line) => lines.push(line), clock });
    const exitCode = process.exitCode;
    try {
      writer.tryWrite(1);
      writer.tryWrite(2);
      process.emit('SIGHUP', 'SIGHUP');
      await flushMicrotasks();
      for (let i = 0; i < 3; i++) assert.throws(() => writer.tryWrite(100 + i), { code: 'ERR_SLUICE_CLOSED' });
      finish();
      await flushMicrotasks();
      await flushMicrotasks();
      assert.equal(writer.stats().droppedBy.closed, 3);
      assert.equal(lines[1], 'sluice: w: flushed 2, dead-lettered 0, dropped 0, refused after close 3, remaining 0');
    } finally {
      stop();
      process.exitCode = exitCode;
    }
  });

  it('shutdownOn() - the returned function removes the signal listeners', () => {
    const writer = new BatchWriter<number>({ flush: () => undefined, clock: new VirtualClock() });
    const before = process.listenerCount('SIGUSR2') + process.listenerCount('SIGHUP');
    const stop = shutdownOn([writer], ['SIGUSR2', 'SIGHUP']);
    assert.equal(process.listenerCount('SIGUSR2') + process.listenerCount('SIGHUP'), before + 2);
    stop();
    assert.equal(process.listenerCount('SIGUSR2') + process.listenerCount('SIGHUP'), before);
  });

  it('shutdownOn() - rejects bad targets and signals with InvalidArgumentError and bad options with InvalidOptionError', () => {
    const writer = new BatchWriter<number>({ flush: () => undefined, clock: new VirtualClock() });
    const listeners = process.listenerCount('SIGUSR2');
    assert.throws(() => shutdownOn({} as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => shutdownOn([writer, null as never]), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => shutdownOn(writer, []), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => shutdownOn(writer, ['SIGNOPE' as never]), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    for (const [options, field] of [
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ exit: 'yes' }, 'exit'],
      [{ log: 'console' }, 'log'],
      [{ repeatGraceMs: -1 }, 'repeatGraceMs'],
      [{ repeatGraceMs: Infinity }, 'repeatGraceMs'],
      [{ clock: {} }, 'clock'],
    ] as const) {
      assert.throws(
        () => shutdownOn(writer, ['SIGUSR2'], options as never),
        (error: Error & { code?: string; field?: string }) => error.code === 'ERR_SLUICE_INVALID_OPTION' && error.field === field,
      );
    }
    assert.equal(process.listenerCount('SIGUSR2'), listeners, 'a failed call installs nothing');
  });
});
