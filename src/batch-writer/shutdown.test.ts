import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriter, shutdownOn } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// The child-process fixture is written at test time rather than kept beside
// the sources, so it never ends up in the published build.
const dir = mkdtempSync(join(tmpdir(), 'sluice-shutdown-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = pathToFileURL(resolve('src/batch-writer/index.ts')).href;
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
shutdownOn(writer, ['SIGTERM'], { timeoutMs: mode === 'timeout' ? 200 : 10_000, log: (line) => process.stderr.write(line + '\\n') });
process.on('exit', () => writeFileSync(acceptedFile, String(accepted)));
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

/** Starts the fixture, sends SIGTERM `signals` times once it is producing, and collects the outcome. */
function runChild(mode: 'ok' | 'stuck' | 'timeout', signals: number, name: string): Promise<ChildRun> {
  const outFile = join(dir, `${name}.out`);
  const acceptedFile = join(dir, `${name}.accepted`);
  writeFileSync(outFile, '');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode, outFile, acceptedFile], {
    cwd: resolve('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // The second signal goes once the first one has started the drain.
    if (signals > 1 && stderr.includes('draining')) {
      signals = 0;
      child.kill('SIGTERM');
    }
  });
  child.stdout.once('data', () => {
    // Let the producer run long enough for batches to be in flight and buffered.
    setTimeout(() => child.kill('SIGTERM'), 300);
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
    const run = await runChild('ok', 1, 'ok');
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.accepted > 0, 'the producer got items in before the signal');
    assert.deepEqual(
      run.lines.map(Number),
      Array.from({ length: run.accepted }, (_, i) => i),
      'every accepted item is in the file, once, in order',
    );
    assert.match(run.stderr, /SIGTERM received; draining 1 writer/);
    const drainedItems = Number(/file-sink: flushed (\d+), dead-lettered 0, dropped \d+, remaining 0/.exec(run.stderr)?.[1]);
    assert.ok(drainedItems > 0, `the drain itself flushed items that were buffered at the signal: ${run.stderr}`);
  });

  it('shutdownOn() - a drain that times out reports what remained and exits 1', async () => {
    const run = await runChild('timeout', 1, 'timeout');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /remaining [1-9]\d* \(timed out\)/);
    assert.match(run.stderr, /drain incomplete/);
  });

  it('shutdownOn() - a second signal while draining exits at once with 128 + the signal number', async () => {
    const run = await runChild('stuck', 2, 'twice');
    assert.equal(run.code, 143, run.stderr);
    assert.match(run.stderr, /SIGTERM received again; exiting now/);
  });
});

describe('shutdownOn in process', () => {
  it('shutdownOn() - with exit false, drains on the signal, logs, and leaves the exit code alone when clean', async () => {
    const clock = new VirtualClock();
    const flushed: number[] = [];
    const writer = new BatchWriter<number>({ flush: (items) => void flushed.push(...items), batchSize: 10, clock, name: 'w' });
    const lines: string[] = [];
    const stop = shutdownOn(writer, ['SIGUSR2'], { exit: false, log: (line) => lines.push(line) });
    const exitCode = process.exitCode;
    try {
      writer.tryWrite(1);
      writer.tryWrite(2);
      process.emit('SIGUSR2', 'SIGUSR2');
      await flushMicrotasks();
      await flushMicrotasks();
      assert.equal(writer.closed, true);
      assert.deepEqual(flushed, [1, 2]);
      assert.equal(process.exitCode, exitCode);
      assert.deepEqual(lines, [
        'sluice: SIGUSR2 received; draining 1 writer(s), up to 10000 ms',
        'sluice: w: flushed 2, dead-lettered 0, dropped 0, remaining 0',
        'sluice: drained; exiting',
      ]);
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
    ] as const) {
      assert.throws(
        () => shutdownOn(writer, ['SIGUSR2'], options as never),
        (error: Error & { code?: string; field?: string }) => error.code === 'ERR_SLUICE_INVALID_OPTION' && error.field === field,
      );
    }
    assert.equal(process.listenerCount('SIGUSR2'), listeners, 'a failed call installs nothing');
  });
});
