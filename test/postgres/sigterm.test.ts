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
import type { BatchWriterStats } from '../../src/batch-writer/index.js';
import { countRows, createPool, createTable, dropTable } from './db.js';

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

describe('shutdownOn() with a PostgreSQL sink in a child process', { timeout: 60_000 }, () => {
  it('shutdownOn() - SIGTERM mid-run drains before exit: exit code 0 and every accepted event is in the table once', async () => {
    const table = await createTable(pool, 'sigterm', 'id int PRIMARY KEY');
    tables.push(table);
    const reportFile = join(dir, 'report.json');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, table, reportFile], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const [code, signal] = await exited;
    assert.equal(signal, null, `killed by ${signal}: ${stderr}`);
    assert.equal(code, 0, stderr);

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { accepted: number[]; atSignal: BatchWriterStats; final: BatchWriterStats; producerError: string };
    // The drain had work to do: events were still buffered when the signal arrived.
    assert.ok(report.atSignal.buffered > 0, `buffered at SIGTERM: ${report.atSignal.buffered}`);
    assert.ok(report.atSignal.flushed >= 10_000, `flushed before SIGTERM: ${report.atSignal.flushed}`);
    assert.equal(report.producerError, 'ERR_SLUICE_CLOSED');
    assert.equal(report.final.buffered + report.final.inFlight, 0);
    assert.equal(report.final.dropped, report.final.droppedBy.closed); // only the write refused at close
    assert.equal(report.final.flushed, report.accepted.length);
    const ids = (await pool.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
    assert.deepEqual(await countRows(pool, table), { rows: report.accepted.length, distinct: report.accepted.length });
    assert.deepEqual(ids, report.accepted);
    assert.match(stderr, /SIGTERM received; draining/);
    assert.match(stderr, /drained; exiting/);
    console.log(`  accepted ${report.accepted.length}, buffered at SIGTERM ${report.atSignal.buffered}, flushed during drain ${report.final.flushed - report.atSignal.flushed}`);
  });
});
