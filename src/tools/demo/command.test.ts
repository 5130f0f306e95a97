import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../cli/index.js';
import { describeDemoFailure } from './failure.js';
import { runDemo, type DemoOptions, type DemoSummary } from './index.js';

// `sluice demo` as a user meets it: streams, exit codes, Ctrl-C, temp files.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'sluice-demo-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh TMPDIR, so a test can see every temp file the demo leaves. */
const freshTmp = () => mkdtempSync(join(scratch, 'tmp-'));
/** The demo's temp directories in `dir` (tsx keeps a cache there too). */
const demoFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('sluice-demo-'));
function restoreTmp(value: string | undefined): void {
  if (value === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = value;
}

async function cli(argv: string[], small = true): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), stderrIsTTY: false };
  // A small fleet keeps the test short; everything else is the CLI's own path.
  const deps = small ? { runDemo: (o: DemoOptions) => runDemo({ ...o, servers: 100 }) } : {};
  const code = await run(argv, io, deps);
  return { code, stdout, stderr };
}

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real binary, with `env` added; `onStdout` sees stdout as it grows and may signal the child. */
function sluice(args: string[], env: Record<string, string>, options: { preload?: string; onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...(options.preload ? ['--import', options.preload] : []), main, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Child = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    result.stdout += chunk.toString();
    options.onStdout?.(result.stdout, (s) => child.kill(s));
  });
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return (once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>).then(([code, signal]) => {
    clearTimeout(timer);
    return { ...result, code, signal };
  });
}

describe('sluice demo (command)', () => {
  it('demo --json - stdout is the JSON summary alone; the banner and progress go to stderr', async () => {
    const { code, stdout, stderr } = await cli(['demo', '--json', '--duration', '1.2s', '--no-dashboard', '--no-contrast']);
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout) as DemoSummary;
    assert.equal(summary.scenario.servers, 100);
    assert.equal(summary.offered, summary.written + summary.dropped + summary.buffered + summary.inFlight);
    assert.match(stderr, /^Sluice demo: the log processing meltdown\n/);
    assert.match(stderr, /\n\s+1s (baseline|spike) /);
  });

  it('demo --port - a taken port is one line and exit 1, and nothing is left in the temp directory', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const tmp = freshTmp();
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const { code, stdout, stderr } = await cli(['demo', '--port', String(port), '--duration', '1s']);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.equal(stderr, `sluice demo: port ${port} on 127.0.0.1 is already in use; choose another with --port, or --port 0 for a free one\n`);
      assert.deepEqual(demoFiles(tmp), []);
    } finally {
      restoreTmp(before);
      blocker.close();
    }
  });

  it('demo --help - says what the demo needs and what Ctrl-C does', async () => {
    const { code, stdout } = await cli(['demo', '--help'], false);
    assert.equal(code, 0);
    assert.match(stdout, /Needs: Node 22\.13\+ or 24 \(the log store is SQLite in a temp file, deleted at the end\), a free\nport on 127\.0\.0\.1/);
    assert.match(stdout, /Ctrl-C stops early and prints the summary so far \(exit 130\)/);
  });

  it('main.ts demo - Ctrl-C prints the summary so far, exits 130 and deletes both temp databases', async () => {
    const tmp = freshTmp();
    let sent = false;
    const r = await sluice(['demo', '--duration', '60s', '--no-dashboard'], { TMPDIR: tmp }, {
      onStdout: (text, kill) => {
        if (sent || !/\n\s+1s (baseline|spike) /.test(text)) return;
        sent = true;
        assert.equal(demoFiles(tmp).length, 2, 'both sides have their database while running');
        kill('SIGINT');
      },
    });
    assert.ok(sent, `the run never printed its first second: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /Stopped early at [\d.]+ s; draining/);
    assert.match(r.stdout, /Summary: [\d.]+ s of logs \(stopped early; 60 s planned\), strategy 'block'/);
    assert.match(r.stdout, /check: offered ([\d,]+) = written \1 \+ dropped 0 \+ buffered 0 \+ in flight 0/);
    assert.deepEqual(demoFiles(tmp), [], 'no temp files left');
  });

  it('main.ts demo - a log store that does not load is one line and exit 1, not a stack', async () => {
    // Makes both SQLite modules unloadable, as on a Node without node:sqlite or an install without better-sqlite3.
    const hook = `import { registerHooks } from 'node:module';
const builtin = process.getBuiltinModule;
process.getBuiltinModule = (id) => (id === 'node:sqlite' || id === 'sqlite' ? undefined : builtin(id));
registerHooks({ resolve(specifier, context, next) {
  if (specifier === 'better-sqlite3') throw Object.assign(new Error("Cannot find package 'better-sqlite3' imported from sink.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
  if (specifier === 'node:sqlite') throw Object.assign(new Error('No such built-in module: node:sqlite'), { code: 'ERR_UNKNOWN_BUILTIN_MODULE' });
  return next(specifier, context);
} });`;
    const tmp = freshTmp();
    const r = await sluice(['demo', '--duration', '1s', '--no-contrast'], { TMPDIR: tmp }, { preload: `data:text/javascript,${encodeURIComponent(hook)}` });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sluice demo: (the demo's SQLite log store did not load: the package better-sqlite3 is missing \(npm install better-sqlite3\)|this Node \(v[\d.]+\) has no node:sqlite, which the demo's log store needs: use Node >= 22\.13)\n$/);
    assert.deepEqual(demoFiles(tmp), []);
  });
});

describe('demo temp files', () => {
  async function inTmp<T>(work: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; left: string[] }> {
    const tmp = freshTmp();
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const [result] = await Promise.allSettled([work()]);
      return { result: result!, left: demoFiles(tmp) };
    } finally {
      restoreTmp(before);
    }
  }
  const small = { durationMs: 800, servers: 50, dashboard: false, print: () => undefined } as const;

  it('runDemo() - deletes its databases after a normal run, an abort and an error', async () => {
    const normal = await inTmp(() => runDemo(small));
    assert.equal(normal.result.status, 'fulfilled');
    assert.deepEqual(normal.left, [], 'after a normal run');

    const controller = new AbortController();
    const aborted = await inTmp(() => runDemo({ ...small, durationMs: 30_000, signal: controller.signal, onReady: () => setTimeout(() => controller.abort(new Error('stop')), 200) }));
    assert.equal(aborted.result.status, 'rejected');
    assert.deepEqual(aborted.left, [], 'after an abort');

    const failed = await inTmp(() =>
      runDemo({
        ...small,
        onReady: () => {
          throw new Error('boom');
        },
      }),
    );
    assert.equal(failed.result.status, 'rejected');
    assert.equal((failed.result as PromiseRejectedResult).reason.message, 'boom');
    assert.deepEqual(failed.left, [], 'after an error');
  });

  it('runDemo() - signal during the drain (a second Ctrl-C) rejects at once, without a summary, and deletes the databases', async () => {
    const stop = new AbortController();
    const reason = new Error('second Ctrl-C');
    const lines: string[] = [];
    const print = (line: string) => {
      lines.push(line);
      if (line.startsWith('Stopped early')) setTimeout(() => stop.abort(reason), 50);
    };
    const started = Date.now();
    const { result, left } = await inTmp(() =>
      runDemo({ ...small, servers: 1000, durationMs: 30_000, spikeAtMs: 200, unboundedContrast: false, endSignal: AbortSignal.timeout(1500), signal: stop.signal, print }),
    );
    assert.equal(result.status, 'rejected');
    assert.equal((result as PromiseRejectedResult).reason, reason);
    assert.ok(lines.some((l) => /^Stopped early at [\d.]+ s; draining the (1[0-6]|[1-9])[.\d]*k lines/.test(l)), 'the drain had lines to write');
    assert.ok(!lines.some((l) => l.startsWith('Summary:')));
    assert.deepEqual(left, []);
    assert.ok(Date.now() - started < 10_000);
  });

  it('runDemo() - endSignal ends the run early with its summary, marked interrupted', async () => {
    const lines: string[] = [];
    // The end is timed from onReady, when the run starts: setting up can take a while on a busy machine.
    const end = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const s = await runDemo({ ...small, durationMs: 30_000, unboundedContrast: false, endSignal: end.signal, onReady: () => (timer = setTimeout(() => end.abort(), 600)), print: (l) => lines.push(l) });
    clearTimeout(timer);
    assert.equal(s.interrupted, true);
    assert.ok(s.ranMs >= 400 && s.ranMs < 10_000, `ran ${s.ranMs} ms`);
    assert.equal(s.offered, s.written + s.dropped + s.buffered + s.inFlight);
    assert.ok(lines.some((l) => /^Summary: [\d.]+ (ms|s) of logs \(stopped early; 30 s planned\)/.test(l)));
  });
});

describe('describeDemoFailure()', () => {
  const error = (message: string, code: string, syscall?: string) => Object.assign(new Error(message), { code, syscall });
  it('describeDemoFailure() - one line for a taken port, a missing store, a failing store; undefined for a bug', () => {
    assert.equal(describeDemoFailure(error('listen EADDRINUSE: address already in use 127.0.0.1:80', 'EADDRINUSE', 'listen'), 80), 'port 80 on 127.0.0.1 is already in use; choose another with --port, or --port 0 for a free one');
    assert.match(describeDemoFailure(error('No such built-in module: node:sqlite', 'ERR_UNKNOWN_BUILTIN_MODULE'), 0)!, /^this Node \(v[\d.]+\) has no node:sqlite, which the demo's log store needs: use Node >= 22\.13$/);
    assert.equal(
      describeDemoFailure(error("Cannot find package 'better-sqlite3' imported from /x/sink.ts\nDid you mean ...", 'ERR_MODULE_NOT_FOUND'), 0),
      "the demo's SQLite log store did not load: the package better-sqlite3 is missing (npm install better-sqlite3)",
    );
    assert.equal(describeDemoFailure(error('unable to open database file\nmore', 'ERR_SQLITE_ERROR'), 0), "the demo's SQLite log store failed: unable to open database file");
    const driver = (message: string) => Object.assign(new Error(message), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'driver' });
    assert.match(describeDemoFailure(driver("SqliteStore: node:sqlite needs Node >= 22.13 (this is Node 20.1.0): upgrade Node, or use driver: 'better-sqlite3'"), 0)!, /^this Node \(v[\d.]+\) has no node:sqlite/);
    assert.equal(
      describeDemoFailure(driver("SqliteStore: better-sqlite3 is not installed: npm install better-sqlite3, or use the built-in driver: 'node:sqlite'"), 0),
      "the demo's SQLite log store did not load: better-sqlite3 is not installed: npm install better-sqlite3",
    );
    assert.equal(describeDemoFailure(Object.assign(new Error('Invalid option "durationMs"'), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'durationMs' }), 0), undefined);
    assert.equal(describeDemoFailure(new TypeError('x is undefined'), 0), undefined);
  });
});
