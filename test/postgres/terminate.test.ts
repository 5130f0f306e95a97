// PostgreSQL drops the sink's connection in the middle of a batch: an
// operator runs pg_terminate_backend, a failover happens, an idle-session
// killer fires. The sink holds a pooled client for a COPY or a multi-statement
// INSERT; the dead socket must not crash the process (an 'error' event on a
// client nobody listens to), and the batch must be retried on a fresh
// connection, so every accepted event lands in the table exactly once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchWriterDrainReport } from '../../src/core/batch-writer/index.js';
import { postgresSink } from '../../src/adapters/postgres/index.js';
import type { PostgresWriteMethod } from '../../src/adapters/postgres/index.js';
import { clients, countRows, createPool, createSql, createTable, uniqueName, type ClientKind } from './db.js';
import { adminPool, catchCrashes, produce, retryingWriter, within } from './terminate.test-helpers.js';

const db = adminPool();

const wantedTerminations = 20;

async function run(method: PostgresWriteMethod, kind: ClientKind) {
  const admin = db.admin();
  const table = db.track(await createTable(admin, `terminate_${method}`, 'id int PRIMARY KEY, line text NOT NULL'));
  // The sink's sessions carry their own application_name, so only they are terminated.
  const applicationName = uniqueName(`sluice_terminate_${method}`);
  const pool = kind === 'pg' ? createPool({ max: 2, application_name: applicationName }) : createSql({ max: 2, backoff: () => 0.05, connection: { application_name: applicationName } });

  const caught = catchCrashes(['uncaughtException']);
  const { crashes } = caught;

  const sink = postgresSink<{ id: number; line: string }>(pool, {
    table,
    columns: ['id', 'line'],
    method,
    // INSERT in many statements: the sink holds one connection for the transaction (pg: a client it
    // holds as for a COPY; postgres.js: sql.begin()), and the server's goodbye can land between two
    // statements, when the client has no query to fail. test/postgres/terminate-multi.test.ts kills
    // postgres.js's transactions at more moments, with isolation.
    ...(method === 'insert' ? { rowsPerStatement: 20 } : {}),
  });
  const writer = retryingWriter<{ id: number; line: string }>(sink);

  // Producer: as fast as the writer lets it, a line with some weight so each COPY takes a moment.
  const accepted: number[] = [];
  const payload = 'x'.repeat(200);
  const producer = produce(writer, (id) => ({ id, line: `${id} ${payload}` }), (event) => accepted.push(event.id));

  // Terminator: kills the sink's backend whenever it is busy with a statement on the table.
  let terminations = 0;
  try {
    const deadline = performance.now() + 30_000;
    while (terminations < wantedTerminations && performance.now() < deadline && crashes.length === 0) {
      const result = await admin.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
          WHERE application_name = $1 AND (state = 'active' OR state = 'idle in transaction') AND (query LIKE 'COPY%' OR query LIKE 'INSERT%')`,
        [applicationName],
      );
      terminations += result.rows.filter((r) => r.terminated).length;
      await sleep(terminations % 2 === 0 ? 1 : 15); // vary the moment within the batch
    }
  } finally {
    producer.stop();
  }
  let report: BatchWriterDrainReport;
  try {
    // A failed run must still end: every wait is bounded, then the writer and the pool stop for good.
    await within(producer.done, 10_000);
    report = await writer.drain({ timeoutMs: 20_000 });
  } finally {
    writer.abort();
    caught.stop();
    await within(pool.end(), 5000);
  }
  const ids = (await admin.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
  return { terminations, crashes, report, stats: writer.stats(), sink: sink.stats(), ids, count: await countRows(admin, table), accepted };
}

for (const kind of clients) for (const method of ['copy', 'insert'] as const) {
  describe(`postgresSink '${method}' while PostgreSQL terminates its backends (real PostgreSQL, ${kind})`, { timeout: 60_000 }, () => {
    it(`flush() - '${method}' through ${kind}: ${wantedTerminations} backends terminated mid-batch: no crash, the batches are retried, and every accepted event is in the table once`, async () => {
      const r = await run(method, kind);
      assert.deepEqual(r.crashes, [], 'no unhandled error event');
      assert.equal(r.terminations, wantedTerminations, `terminated ${r.terminations} busy backends within 30 s`);
      assert.equal(r.report.timedOut, false);
      assert.equal(r.stats.dropped, 0);
      assert.equal(r.stats.deadLettered, 0);
      assert.ok(r.sink.batchesFailed > 0, 'terminations failed batches');
      assert.ok(r.stats.retried > 0, 'and they were retried');
      assert.equal(r.stats.flushed, r.accepted.length);
      assert.deepEqual(r.count, { rows: r.accepted.length, distinct: r.accepted.length });
      assert.deepEqual(r.ids, r.accepted);
      console.log(
        `  ${kind} ${method}: ${r.terminations} terminations, ${r.sink.batchesFailed} failed batches, ${r.stats.retried} items retried, ${r.accepted.length} events written`,
      );
    });
  });
}
