// 200,000 events with a 100× spike in the middle, through a BatchWriter into
// the real PostgreSQL: every event ends up in the table exactly once, or is
// counted as dropped by the overflow strategy (and its producer was told so).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Sql } from 'postgres';
import { BatchWriter } from '../../src/core/batch-writer/index.js';
import type { OverflowStrategy } from '../../src/core/channel/index.js';
import { postgresSink, type PostgresWriteMethod } from '../../src/adapters/postgres/index.js';
import { clients, countRows, createPool, createSql, createTable, dropTable, type ClientKind } from './db.js';

interface Event {
  id: number;
  at: number;
  payload: string;
}

/** Events per millisecond tick: base rate, then 100× for the middle half, then base again. */
const phases = [
  { name: 'base', events: 50_000, perTick: 25 },
  { name: 'spike', events: 100_000, perTick: 2500 },
  { name: 'base again', events: 50_000, perTick: 25 },
];
const totalEvents = phases.reduce((sum, p) => sum + p.events, 0);

let pool: pg.Pool;
let sql: Sql;
const tables: string[] = [];

before(() => {
  pool = createPool();
  sql = createSql();
});
after(async () => {
  for (const name of tables) await dropTable(pool, name);
  await pool.end();
  await sql.end();
});

interface ProducerReport {
  accepted: number[];
  refused: number;
  refusedByPhase: Record<string, number>;
}

/**
 * Offers the events phase by phase, a burst of `perTick` every millisecond.
 * Under 'block' each write is awaited, so a full buffer holds the producer back
 * and stretches the spike out in time; the shape (100× more per tick) stays.
 */
async function produce(writer: BatchWriter<Event>): Promise<ProducerReport> {
  const accepted: number[] = [];
  const refusedByPhase: Record<string, number> = {};
  let refused = 0;
  let id = 0;
  for (const phase of phases) {
    refusedByPhase[phase.name] = 0;
    for (let sent = 0; sent < phase.events; ) {
      const burst = Math.min(phase.perTick, phase.events - sent);
      for (let i = 0; i < burst; i++) {
        const event = { id: ++id, at: Date.now(), payload: `event ${id} of ${phase.name}\twith a tab` };
        if (await writer.write(event)) accepted.push(event.id);
        else {
          refused++;
          refusedByPhase[phase.name]!++;
        }
      }
      sent += burst;
      await sleep(1);
    }
  }
  return { accepted, refused, refusedByPhase };
}

async function run(overflow: OverflowStrategy, method: PostgresWriteMethod, kind: ClientKind) {
  const table = await createTable(pool, `spike_${overflow.replace('-', '_')}`, 'id int PRIMARY KEY, at bigint NOT NULL, payload text NOT NULL');
  tables.push(table);
  const sink = postgresSink<Event>(kind === 'pg' ? pool : sql, { table, columns: ['id', 'at', 'payload'], method });
  const writer = new BatchWriter<Event>({
    flush: sink,
    capacity: 10_000,
    overflow,
    batchSize: 1000,
    minFlushIntervalMs: 20,
    maxFlushIntervalMs: 200,
    retry: { attempts: 5, initialDelayMs: 50, maxDelayMs: 500 },
  });
  let maxBuffered = 0;
  let maxWaiting = 0;
  const sampler = setInterval(() => {
    const s = writer.stats();
    maxBuffered = Math.max(maxBuffered, s.buffered);
    maxWaiting = Math.max(maxWaiting, s.waiting);
  }, 5);
  const started = performance.now();
  const produced = await produce(writer);
  const report = await writer.drain({ timeoutMs: 20_000 });
  clearInterval(sampler);
  const elapsedMs = performance.now() - started;
  const stats = writer.stats();
  const count = await countRows(pool, table);
  const ids = (await pool.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
  return { produced, report, stats, count, ids, sink: sink.stats(), maxBuffered, maxWaiting, elapsedMs };
}

for (const kind of clients) describe(`BatchWriter + postgresSink under a 100× spike (real PostgreSQL, ${kind})`, { timeout: 60_000 }, () => {
  it("write() - 'block': all 200,000 events land exactly once; the spike holds producers back, nothing is dropped", async () => {
    const r = await run('block', 'copy', kind);
    assert.equal(r.report.timedOut, false);
    assert.equal(r.produced.refused, 0);
    assert.equal(r.stats.dropped, 0);
    assert.equal(r.stats.deadLettered, 0);
    assert.equal(r.stats.written, totalEvents);
    assert.equal(r.stats.flushed, totalEvents);
    assert.equal(r.stats.buffered + r.stats.inFlight, 0);
    assert.deepEqual(r.count, { rows: totalEvents, distinct: totalEvents });
    assert.deepEqual(r.ids, r.produced.accepted);
    assert.equal(r.sink.rowsWritten, totalEvents);
    // The buffer really filled during the spike and producers really waited.
    assert.ok(r.maxBuffered >= 9000, `max buffered ${r.maxBuffered}`);
    assert.ok(r.maxWaiting >= 1, `max waiting ${r.maxWaiting}`);
    console.log(`  ${kind} block/copy: ${Math.round(r.elapsedMs)} ms, ${r.stats.batches} batches, max buffered ${r.maxBuffered}`);
  });

  it("write() - 'drop-newest': every event is in the table once or counted as dropped, and the drops come from the spike", async () => {
    const r = await run('drop-newest', 'insert', kind);
    assert.equal(r.report.timedOut, false);
    const accepted = r.produced.accepted.length;
    assert.equal(accepted + r.produced.refused, totalEvents);
    // The writer's ledger balances and agrees with the table and with what producers were told.
    assert.equal(r.stats.written, totalEvents);
    assert.equal(r.stats.written, r.stats.flushed + r.stats.dropped + r.stats.deadLettered + r.stats.buffered + r.stats.inFlight);
    assert.equal(r.stats.dropped, r.produced.refused);
    assert.equal(r.stats.droppedBy['drop-newest'], r.produced.refused);
    assert.equal(r.stats.deadLettered, 0);
    assert.deepEqual(r.count, { rows: r.stats.flushed, distinct: r.stats.flushed });
    assert.deepEqual(r.ids, r.produced.accepted);
    assert.ok(r.produced.refused > 0, 'the spike should overflow the buffer');
    assert.equal(r.produced.refusedByPhase['base'], 0);
    assert.ok(r.produced.refusedByPhase['spike']! > 0);
    console.log(`  ${kind} drop-newest/insert: ${Math.round(r.elapsedMs)} ms, dropped ${r.produced.refused} (${JSON.stringify(r.produced.refusedByPhase)}), ${r.stats.batches} batches`);
  });
});
