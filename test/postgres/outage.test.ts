// The database first slows down (a lock held by another session), then becomes
// unreachable (the TCP proxy the pool goes through is stopped), then comes back.
// The writer must hold producers back or drop (counted), open its breaker,
// and write everything it buffered once the database returns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Sql } from 'postgres';
import { BatchWriter } from '../../src/core/batch-writer/index.js';
import type { OverflowStrategy } from '../../src/core/channel/index.js';
import { postgresSink } from '../../src/adapters/postgres/index.js';
import { clients, countRows, createPool, createSql, createTable, dropTable, TcpProxy, type ClientKind } from './db.js';

interface Event {
  id: number;
}

let direct: pg.Pool;
const tables: string[] = [];

before(() => {
  direct = createPool();
});
after(async () => {
  for (const name of tables) await dropTable(direct, name);
  await direct.end();
});

/** Polls `condition` every few milliseconds; fails after `timeoutMs`. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

async function run(overflow: OverflowStrategy, kind: ClientKind) {
  const table = await createTable(direct, `outage_${overflow.replace('-', '_')}`, 'id int PRIMARY KEY');
  tables.push(table);
  const proxy = new TcpProxy();
  await proxy.start();
  // Short timeouts so a cut connection or a refused one fails a flush quickly.
  // postgres.js: no client-side query timeout (statement_timeout is the server's); connect_timeout is in seconds; its
  // reconnect backoff grows with every failed connect up to 20 s by default, which would outlast the test, so it is kept short.
  const client =
    kind === 'pg'
      ? createPool({ port: proxy.port, max: 2, connectionTimeoutMillis: 300, statement_timeout: 3000, query_timeout: 4000 })
      : createSql({ port: proxy.port, max: 2, connect_timeout: 0.3, backoff: () => 0.05, connection: { statement_timeout: 3000 } });
  // ON CONFLICT DO NOTHING: a batch whose COMMIT was cut off may have landed; its retry must not duplicate it.
  const sink = postgresSink<Event>(client, { table, columns: ['id'], onConflict: 'nothing' });
  const writer = new BatchWriter<Event>({
    flush: sink,
    capacity: 2000,
    overflow,
    batchSize: 250,
    minFlushIntervalMs: 10,
    maxFlushIntervalMs: 100,
    // Enough attempts to outlast the outage: nothing may be dead-lettered.
    retry: { attempts: 1000, initialDelayMs: 20, maxDelayMs: 100 },
    breaker: { failureThreshold: 3, resetAfterMs: 200 },
  });

  const seen = { maxBuffered: 0, maxWaiting: 0, breakerOpened: false };
  writer.onBreakerChange((state) => {
    if (state === 'open') seen.breakerOpened = true;
  });
  const sample = () => {
    const s = writer.stats();
    seen.maxBuffered = Math.max(seen.maxBuffered, s.buffered);
    seen.maxWaiting = Math.max(seen.maxWaiting, s.waiting);
    return s;
  };
  const sampler = setInterval(sample, 5);

  // Producer: 50 events every 2 ms until told to stop; awaits each write.
  const accepted: number[] = [];
  let refused = 0;
  let stop = false;
  const producer = (async () => {
    let id = 0;
    while (!stop) {
      for (let i = 0; i < 50; i++) {
        const event = { id: ++id };
        if (await writer.write(event)) accepted.push(event.id);
        else refused++;
      }
      await sleep(2);
    }
    return id;
  })();

  // 1. Healthy: rows flow.
  await until('rows arrive', async () => (await countRows(direct, table)).rows > 1000);

  // 2. Slow: another session locks the table; flushes block, the buffer fills.
  const locker = await direct.connect();
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
  const droppedBeforeSlow = writer.stats().dropped;
  await until('the buffer is full', () => sample().buffered >= writer.capacity);
  const duringSlow = sample();
  if (overflow === 'block') await until('producers wait', () => sample().waiting > 0);
  else await until('items are dropped', () => sample().dropped > droppedBeforeSlow);

  // 3. Down: cut the proxy (the blocked flush loses its connection), then release the lock.
  await proxy.stop();
  await locker.query('COMMIT');
  locker.release();
  await until('the breaker opens', () => seen.breakerOpened);
  const whenOpened = sample();
  await sleep(600); // several half-open probes fail against the refused port
  const duringOutage = sample();

  // 4. Back: the next probe succeeds and the buffer drains.
  await proxy.start();
  await until('the breaker closes', () => writer.breakerState === 'closed');
  stop = true;
  const lastId = await producer;
  const report = await writer.drain({ timeoutMs: 20_000 });
  clearInterval(sampler);
  const stats = writer.stats();
  const count = await countRows(direct, table);
  const ids = (await direct.query<{ id: number }>(`SELECT id FROM "${table}" ORDER BY id`)).rows.map((r) => r.id);
  // postgres.js: a connection cut during the outage can keep end() waiting; its timeout (seconds) bounds the wait.
  await (kind === 'pg' ? (client as pg.Pool).end() : (client as Sql).end({ timeout: 2 }));
  await proxy.stop();
  return { accepted, refused, lastId, report, stats, count, ids, seen, duringSlow, whenOpened, duringOutage, sink: sink.stats() };
}

for (const kind of clients) describe(`BatchWriter + postgresSink through a slowdown and an outage (real PostgreSQL, ${kind})`, { timeout: 60_000 }, () => {
  it("write() - 'block': producers are held back, the breaker opens, and every accepted event is written once the database is back", async () => {
    const r = await run('block', kind);
    assert.equal(r.report.timedOut, false);
    assert.equal(r.refused, 0);
    assert.equal(r.stats.dropped, 0);
    assert.equal(r.stats.deadLettered, 0);
    assert.equal(r.stats.written, r.lastId);
    assert.equal(r.stats.flushed, r.stats.written);
    assert.deepEqual(r.count, { rows: r.stats.flushed, distinct: r.stats.flushed });
    assert.deepEqual(r.ids, r.accepted);
    assert.ok(r.seen.maxWaiting > 0, 'producers should have waited for room');
    assert.ok(r.seen.maxBuffered >= 2000, `buffer should fill; max ${r.seen.maxBuffered}`);
    assert.ok(r.stats.breaker.opens >= 1);
    assert.ok(r.duringOutage.failedBatches >= 3, `failed batches ${r.duringOutage.failedBatches}`);
    // While the database is down nothing is flushed and producers stay blocked.
    assert.equal(r.duringOutage.flushed, r.whenOpened.flushed);
    assert.ok(r.duringOutage.waiting > 0);
    assert.ok(r.duringOutage.buffered >= 2000, `buffered ${r.duringOutage.buffered}`); // full buffer, plus the batch waiting for its retry
    assert.ok(r.stats.retried > 0);
    console.log(`  ${kind} block: ${r.stats.written} written, breaker opened ${r.stats.breaker.opens}×, ${r.stats.failedBatches} failed batches, ${r.stats.retried} retried`);
  });

  it("write() - 'drop-newest': the excess is dropped and counted, the breaker opens, and the table matches the ledger afterwards", async () => {
    const r = await run('drop-newest', kind);
    assert.equal(r.report.timedOut, false);
    assert.equal(r.accepted.length + r.refused, r.lastId);
    assert.equal(r.stats.written, r.lastId);
    assert.equal(r.stats.written, r.stats.flushed + r.stats.dropped + r.stats.deadLettered + r.stats.buffered + r.stats.inFlight);
    assert.equal(r.stats.dropped, r.refused);
    assert.equal(r.stats.droppedBy['drop-newest'], r.refused);
    assert.equal(r.stats.deadLettered, 0);
    assert.deepEqual(r.count, { rows: r.stats.flushed, distinct: r.stats.flushed });
    assert.deepEqual(r.ids, r.accepted);
    assert.ok(r.refused > 0);
    // While the database is down nothing is flushed and the producer's excess is dropped.
    assert.equal(r.duringOutage.flushed, r.whenOpened.flushed);
    assert.ok(r.duringOutage.dropped > r.whenOpened.dropped, 'items are dropped while the database is down');
    assert.ok(r.stats.breaker.opens >= 1);
    console.log(`  ${kind} drop-newest: ${r.stats.written} written, ${r.refused} dropped, breaker opened ${r.stats.breaker.opens}×, ${r.stats.retried} retried`);
  });
});
