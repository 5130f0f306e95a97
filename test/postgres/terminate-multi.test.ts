// postgres.js, every batch in several statements inside one transaction (a
// small rowsPerStatement), some batches isolated row by row (a bad row in
// them), while PostgreSQL terminates the sink's backends again and again: in
// the middle of an INSERT, between two statements of the transaction (idle in
// transaction after BEGIN or an INSERT, a SAVEPOINT), and idle or freshly
// opened connections of the pool. No flush may hang, the failed batches are
// retried, every good event lands exactly once and every bad one is reported once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchWriterDrainReport } from '../../src/core/batch-writer/index.js';
import { postgresSink, type PostgresFlushResult } from '../../src/adapters/postgres/index.js';
import { createSql, createTable, uniqueName } from './db.js';
import { adminPool, catchCrashes, produce, retryingWriter, within } from './terminate.test-helpers.js';

interface Event {
  id: number;
  line: string | null;
}

const db = adminPool();

const wantedTerminations = 30;
/** A flush that has not settled after this long is counted as hung (and failed, so the run can end). */
const flushBoundMs = 15_000;
/** Every this many events, one has no line: the NOT NULL column refuses it, and its batch goes through isolation. */
const badEvery = 400;

/**
 * What the terminator kills, round by round: a backend running an INSERT; one
 * inside the transaction between statements (after BEGIN, an INSERT, a
 * SAVEPOINT); one busy with or just done with BEGIN, a savepoint, a rollback to
 * one, or the constraint check before COMMIT (never COMMIT itself, whose loss
 * leaves the outcome unknown to any client); an idle pooled connection, which the next flush may be about to
 * take. Not a connection still starting up: postgres.js 3.4.10 drops the
 * promise of the type query it runs first on every new connection, so killing
 * it then is an unhandled rejection no caller can catch (porsager/postgres#1192).
 */
const targets = [
  `state = 'active' AND query LIKE 'INSERT%'`,
  `state = 'idle in transaction'`,
  `(state = 'active' OR state = 'idle in transaction') AND (query ILIKE 'begin%' OR query LIKE 'SAVEPOINT%' OR query LIKE 'RELEASE%' OR query LIKE 'ROLLBACK%' OR query LIKE 'SET CONSTRAINTS%')`,
  `state = 'idle' AND query <> '' AND query NOT LIKE '%pg_catalog.pg_type%'`,
];

async function run() {
  const admin = db.admin();
  const table = db.track(await createTable(admin, 'terminate_multi', 'id int PRIMARY KEY, line text NOT NULL'));
  const applicationName = uniqueName('sluice_terminate_multi');
  const sql = createSql({ max: 2, backoff: () => 0.05, connect_timeout: 2, connection: { application_name: applicationName } });

  const caught = catchCrashes(['uncaughtException', 'unhandledRejection']);
  const { crashes } = caught;

  const sink = postgresSink<Event>(sql, {
    table,
    columns: ['id', 'line'],
    method: 'insert',
    // 1000-event batches in 40 statements: every batch is a transaction on a reserved connection.
    rowsPerStatement: 25,
    isolateFailures: true,
  });
  // Each flush is bounded: a hung one is counted and fails, so the writer retries it and the run ends.
  let hung = 0;
  const reported: number[] = [];
  const flush = async (items: readonly Event[], context?: { signal?: AbortSignal }): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        hung++;
        reject(new Error(`flush of ${items.length} events still pending after ${flushBoundMs} ms`));
      }, flushBoundMs);
    });
    try {
      const result: PostgresFlushResult<Event> | undefined = await Promise.race([sink(items, context), bound]);
      // The bad rows are reported once, when their batch commits; they are not retried.
      for (const f of result?.failed ?? []) reported.push(f.item.id);
    } finally {
      clearTimeout(timer);
    }
  };
  const writer = retryingWriter<Event>(flush);

  const good: number[] = [];
  const bad: number[] = [];
  const payload = 'x'.repeat(100);
  const producer = produce(
    writer,
    (id): Event => ({ id, line: id % badEvery === 0 ? null : `${id} ${payload}` }),
    (event) => (event.line === null ? bad : good).push(event.id),
  );

  let terminations = 0;
  const byTarget = targets.map(() => 0);
  try {
    const deadline = performance.now() + 40_000;
    for (let round = 0; terminations < wantedTerminations && performance.now() < deadline && crashes.length === 0 && hung === 0; round++) {
      const target = round % targets.length;
      const result = await admin.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1 AND ${targets[target]}`,
        [applicationName],
      );
      const n = result.rows.filter((r) => r.terminated).length;
      terminations += n;
      byTarget[target]! += n;
      await sleep(n > 0 ? 20 + (round % 5) * 10 : 1); // vary the moment within the batch; let the pool recover after a kill
    }
  } finally {
    producer.stop();
  }
  let report: BatchWriterDrainReport;
  try {
    await within(producer.done, 10_000);
    report = await writer.drain({ timeoutMs: 30_000 });
  } finally {
    writer.abort();
    caught.stop();
    await within(sql.end({ timeout: 1 }), 5000);
  }
  const ids = (await admin.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
  return { terminations, byTarget, hung, crashes, report, stats: writer.stats(), sink: sink.stats(), ids, good, bad, reported };
}

describe('postgresSink multi-statement transactions through postgres.js while PostgreSQL terminates its backends (real PostgreSQL)', { timeout: 120_000 }, () => {
  it(`flush() - postgres.js, 40 INSERTs per transaction, isolation of bad rows, ${wantedTerminations} backends terminated: no flush hangs, batches are retried, every good event is in the table once`, async () => {
    const r = await run();
    console.log(
      `  postgres.js insert x40/batch: ${r.terminations} terminations (by target ${r.byTarget.join('/')}), ${r.hung} hung flushes, ${r.sink.batchesFailed} failed batches, ${r.sink.isolations} isolations, ${r.stats.retried} items retried, ${r.good.length} good + ${r.bad.length} bad events`,
    );
    assert.deepEqual(r.crashes, [], 'no uncaught error');
    assert.equal(r.hung, 0, `every flush settled within ${flushBoundMs} ms`);
    assert.equal(r.terminations >= wantedTerminations, true, `terminated ${r.terminations} backends within 40 s`);
    assert.equal(r.report.timedOut, false);
    assert.equal(r.stats.dropped, 0);
    assert.equal(r.stats.deadLettered, 0);
    assert.ok(r.sink.batchesFailed > 0, 'terminations failed batches');
    assert.ok(r.stats.retried > 0, 'and they were retried');
    assert.ok(r.sink.isolations > 0, 'bad rows sent batches through isolation');
    assert.deepEqual(r.ids, r.good, 'every good event in the table once, nothing else');
    assert.deepEqual([...r.reported].sort((a, b) => a - b), r.bad, 'every bad event reported once');
  });
});
