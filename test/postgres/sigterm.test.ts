// SIGTERM to a producer process mid-run: it drains its BatchWriter into
// PostgreSQL before exiting (code 0), and every event it was told was
// accepted is in the table, exactly once, and nothing else is.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { BatchWriterStats } from '../../src/core/batch-writer/index.js';
import { clients, countRows, createPool, createTable, dropTable, type ClientKind } from './db.js';

const fixture = join(import.meta.dirname, 'fixtures', 'sigterm-producer.ts');
let pool: pg.Pool;
let dir: string;
const tables: string[] = [];

before(() => {
  pool = createPool();
  dir = mkdtempSync(join(tmpdir(), 'sluice-sigterm-'));
});
after(async () => {
  for (const name of tables) await dropTable(pool, name);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  report: { accepted: number[]; atSignal: BatchWriterStats; final: BatchWriterStats; producerError: string };
  ids: number[];
  count: { rows: number; distinct: number };
}

/** Runs the producer against a fresh table, sends SIGTERM once it is well under way (and again `repeatAfterMs` later), and collects the outcome. */
async function runProducer(name: string, kind: ClientKind, repeatAfterMs?: number): Promise<Outcome> {
  const table = await createTable(pool, name, 'id int PRIMARY KEY');
  tables.push(table);
  const reportFile = join(dir, `${table}.json`);
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, table, reportFile, kind], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  // Signal once the producer is well under way, with the buffer busy.
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${stderr}`)));
  });
  assert.ok(child.kill('SIGTERM'));
  // A process-group kill or a signal-forwarding wrapper delivers the same signal twice, milliseconds apart.
  if (repeatAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), repeatAfterMs);
  const [code, signal] = await exited;
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Outcome['report'];
  const ids = (await pool.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
  return { code, signal, stderr, report, ids, count: await countRows(pool, table) };
}

/** Exit code 0, and the table holds exactly the accepted events. */
function assertNothingLost({ code, signal, stderr, report, ids, count }: Outcome): void {
  assert.equal(signal, null, `killed by ${signal}: ${stderr}`);
  assert.equal(code, 0, stderr);
  // The drain had work to do: events were still buffered when the signal arrived.
  assert.ok(report.atSignal.buffered > 0, `buffered at SIGTERM: ${report.atSignal.buffered}`);
  assert.ok(report.atSignal.flushed >= 10_000, `flushed before SIGTERM: ${report.atSignal.flushed}`);
  assert.equal(report.producerError, 'ERR_SLUICE_CLOSED');
  assert.equal(report.final.buffered + report.final.inFlight, 0);
  assert.equal(report.final.dropped, report.final.droppedBy.closed); // only the write refused at close
  assert.equal(report.final.flushed, report.accepted.length);
  assert.deepEqual(count, { rows: report.accepted.length, distinct: report.accepted.length });
  assert.deepEqual(ids, report.accepted);
  assert.match(stderr, /SIGTERM received; draining/);
  assert.match(stderr, /dropped 0, refused after close \d+, remaining 0/);
  assert.match(stderr, /drained; exiting/);
}

for (const kind of clients) describe(`shutdownOn() with a PostgreSQL sink in a child process (${kind})`, { timeout: 60_000 }, () => {
  it(`shutdownOn() - SIGTERM mid-run drains before exit (${kind}): exit code 0 and every accepted event is in the table once`, async () => {
    const run = await runProducer('sigterm', kind);
    assertNothingLost(run);
    const { report } = run;
    console.log(`  ${kind}: accepted ${report.accepted.length}, buffered at SIGTERM ${report.atSignal.buffered}, flushed during drain ${report.final.flushed - report.atSignal.flushed}`);
  });

  it(`shutdownOn() - a second SIGTERM 5 ms after the first is ignored (${kind}): exit code 0 and every accepted event is in the table once`, async () => {
    const run = await runProducer('sigterm_twice', kind, 5);
    assertNothingLost(run);
    assert.match(run.stderr, /SIGTERM received again \d+ ms after the first; ignored/);
    assert.doesNotMatch(run.stderr, /exiting now/);
    const { report } = run;
    console.log(`  ${kind} twice: accepted ${report.accepted.length}, buffered at SIGTERM ${report.atSignal.buffered}, flushed during drain ${report.final.flushed - report.atSignal.flushed}`);
  });
});
