// Crash safety of DurableChannel on SqliteStore (fsync 'batch'), on each driver.
//
// 50 times per driver: start a producer process on one shared database file, let it
// commit items for a random 20–300 ms, kill it with SIGKILL, then check in
// this process that
//   - every item the producer saw committed (printed after send() resolved)
//     is in the file, or was consumed and acked by an earlier check;
//   - PRAGMA integrity_check says ok;
//   - consumption resumes: a new DurableChannel leases and acks a batch.
// The file is never reset, so recovery after one crash is the starting point
// of the next. The raw checks read the file with node:sqlite whichever driver
// wrote it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { DurableChannel } from '../../src/core/durable-channel/index.js';
import { SqliteStore, type SqliteDriver } from '../../src/adapters/sqlite/index.js';
import { sqliteDrivers } from '../../src/adapters/internal/sqlite-driver.js';

type Item = { run: number; seq: number };

const ITERATIONS = 50;
const PRODUCERS = 10;
const CONSUME_PER_CHECK = 1000;
const fixture = fileURLToPath(new URL('./fixtures/producer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the producer until it is killed `afterReadyMs` after it reported ready; returns the committed seqs. */
function produceUntilKilled(driver: SqliteDriver, path: string, run: number, afterReadyMs: number): Promise<{ committed: number[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, String(run), String(PRODUCERS), driver], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const committed: number[] = [];
    let buffered = '';
    let stderr = '';
    let ready = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a line cut off by the kill was never fully printed: not counted
      for (const line of lines) {
        if (line === 'ready') {
          ready = true;
          setTimeout(() => child.kill('SIGKILL'), afterReadyMs);
        } else if (line) committed.push(Number(line));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (!ready) reject(new Error(`producer exited (code ${code}, signal ${signal}) before it was ready:\n${stderr}`));
      else resolve({ committed, signal });
    });
  });
}

for (const driver of sqliteDrivers) describeCrashes(driver);

function describeCrashes(driver: SqliteDriver): void {
  const path = join(dir, `crash-${driver.replace(/\W/g, '-')}.db`);
  describe(`DurableChannel on SqliteStore (driver: '${driver}') under SIGKILL`, () => {
    it(`send() - every committed item survives ${ITERATIONS} kills at random moments, the file stays sound and consumption resumes`, async (t) => {
      const consumed = new Set<string>(); // `${run}:${seq}` acked by the checks below
      const committedByRun = new Map<number, number[]>();
      let totalCommitted = 0;

      for (let run = 0; run < ITERATIONS; run++) {
        const before = maxId(path);
        const { committed, signal } = await produceUntilKilled(driver, path, run, 20 + Math.floor(Math.random() * 281));
        assert.equal(signal, 'SIGKILL', `run ${run}: the producer was killed, it did not exit on its own`);
        committedByRun.set(run, committed);
        totalCommitted += committed.length;

        // Recovery happens when the file is next opened; check it raw first.
        const db = new DatabaseSync(path);
        assert.equal(integrityCheck(db), 'ok', `run ${run}: integrity_check`);
        const stored = new Set(
          (db.prepare('SELECT payload FROM sluice_queue WHERE id > ?').all(before) as { payload: string }[])
            .map((row) => JSON.parse(row.payload) as Item)
            .filter((item) => item.run === run)
            .map((item) => item.seq),
        );
        db.close();
        const lost = committed.filter((seq) => !stored.has(seq));
        assert.deepEqual(lost.slice(0, 10), [], `run ${run}: ${lost.length} of ${committed.length} committed items are missing`);

        // Consumption resumes on the recovered file.
        const store = new SqliteStore<Item>({ path, driver, fsync: 'batch', releaseLeasesOnOpen: true });
        const channel = new DurableChannel({ store, capacity: 10_000_000 });
        await channel.ready();
        const sizeBefore = channel.size;
        const leases = sizeBefore === 0 ? [] : await channel.receiveBatch(CONSUME_PER_CHECK);
        await Promise.all(leases.map((lease) => channel.ack(lease.id)));
        for (const lease of leases) consumed.add(`${lease.item.run}:${lease.item.seq}`);
        assert.equal(channel.size, sizeBefore - leases.length, `run ${run}: acks removed the leased items`);
        await channel.detach();
        assert.equal(store.integrityCheck(), 'ok');
        await store.close();
      }

      // Every item ever reported committed is in the file or was consumed.
      const db = new DatabaseSync(path, { readOnly: true });
      const present = new Set(
        (db.prepare('SELECT payload FROM sluice_queue').all() as { payload: string }[]).map((row) => {
          const item = JSON.parse(row.payload) as Item;
          return `${item.run}:${item.seq}`;
        }),
      );
      db.close();
      let missing = 0;
      for (const [run, seqs] of committedByRun) {
        for (const seq of seqs) if (!present.has(`${run}:${seq}`) && !consumed.has(`${run}:${seq}`)) missing++;
      }
      assert.equal(missing, 0, `${missing} of ${totalCommitted} committed items lost`);
      t.diagnostic(`${ITERATIONS} kills, ${totalCommitted} committed items, ${consumed.size} consumed, ${present.size} left in the file`);
      assert.ok(totalCommitted > ITERATIONS * 10, `the producers committed only ${totalCommitted} items in total`);
    });
  });
}

function integrityCheck(db: DatabaseSync): string {
  return (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
}

function maxId(path: string): number {
  if (!existsSync(path)) return 0; // first run: no file yet
  const db = new DatabaseSync(path);
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sluice_queue'").get() as { seq: number } | undefined;
  db.close();
  return row?.seq ?? 0;
}
