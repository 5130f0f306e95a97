import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { load, startServer, type LoadResult, type RunningServer } from './harness.js';
import type { ServerConfig, ServerReport } from './server.js';

// A server with a fixed capacity: each request makes a downstream call of
// ASYNC_MS that serves at most CAPACITY at once (the rest queue for it, first
// come, first served), so it completes about CAPACITY / ASYNC_MS = 200 req/s.
// Two classes of clients load it, marked by an `x-priority` header, 3x its
// capacity in all:
// - critical: CRITICAL_CONNECTIONS closed-loop autocannon connections, at most
//   that many requests out at once (~120 req/s, 60% of the capacity, when
//   served at the unloaded latency);
// - batch: BATCH_RATE req/s (2.4x the capacity), open-loop-ish: BATCH_RUNS
//   autocannon runs with overallRate, started 1000 / BATCH_RUNS ms apart
//   (autocannon sends a connection's quota back to back at the start of each
//   of its seconds; staggering spreads the bursts). A closed-loop batch client
//   would resend every 503 at once, tens of thousands a second, and measure the
//   CPU spent answering 503s instead of the shedding policy.
// Critical is about 20% of the requests offered.
//
// Without priorities both classes suffer: with no shedding every request
// queues for the downstream behind the ~86 connections' requests (latency ~9x
// the unloaded one), and a plain loadShed (or a plain limiter) refuses critical
// requests about as often as batch ones (a refused critical connection resends
// at once, so its served rate holds up while most of its requests get 503).
// With priorities (loadShed thresholds, or limiter partitions) critical keeps
// >= 95% goodput with a p99 within 2x of its unloaded p99, and batch absorbs the 503s.
const CAPACITY = 10;
const ASYNC_MS = 50;
const CRITICAL_CONNECTIONS = 6;
/** The ConcurrencyLimiter's limit in the partitions test. */
const LIMIT = 8;
const BATCH_RATE = 480;
const BATCH_RUNS = 10;
const BATCH_CONNECTIONS_PER_RUN = 8;
const SECONDS = 4;
const CRITICAL = { headers: { 'x-priority': 'critical' } };
const BATCH = { headers: { 'x-priority': 'batch' } };

interface ClassRun {
  critical: LoadResult;
  batch: LoadResult;
  report: ServerReport;
}

function goodput(r: LoadResult): number {
  return r.served / (r.served + r.shed + r.failed);
}

function describeClass(label: string, r: LoadResult): string {
  const rate = (n: number) => Math.round(n / r.durationS);
  return `${label}: ${rate(r.served)} served/s, ${rate(r.shed)} 503/s (goodput ${(100 * goodput(r)).toFixed(1)}% of offered), p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (served only), failed ${r.failed}`;
}

async function withServer<T>(config: ServerConfig, body: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await startServer(config);
  try {
    return await body(server);
  } finally {
    server.kill();
  }
}

/**
 * The unloaded baseline: the critical connections alone, 60% of the capacity
 * with no batch traffic (nothing queues), so its p99 rests on ~500 samples
 * rather than the ~90 one connection would give.
 */
function unloaded(config: ServerConfig): Promise<LoadResult> {
  return withServer(config, async (server) => {
    const result = await load(server.url, CRITICAL_CONNECTIONS, 2, 0.5, CRITICAL);
    await server.stop();
    return result;
  });
}

/** The batch class: BATCH_RUNS staggered rate-limited runs, summed (p50/p99/max: the worst run's). */
async function batchLoad(url: string): Promise<LoadResult> {
  const runs = await Promise.all(
    Array.from({ length: BATCH_RUNS }, (_, i) =>
      sleep((i * 1000) / BATCH_RUNS).then(() =>
        load(url, BATCH_CONNECTIONS_PER_RUN, SECONDS, 0.5 - (i * 0.5) / BATCH_RUNS, { ...BATCH, overallRate: BATCH_RATE / BATCH_RUNS }),
      ),
    ),
  );
  const sum = (key: 'served' | 'shed' | 'failed') => runs.reduce((n, r) => n + r[key], 0);
  const worst = (key: 'p50' | 'p99' | 'max') => Math.max(...runs.map((r) => (Number.isNaN(r[key]) ? 0 : r[key])));
  return {
    connections: BATCH_RUNS * BATCH_CONNECTIONS_PER_RUN,
    durationS: SECONDS,
    served: sum('served'),
    shed: sum('shed'),
    failed: sum('failed'),
    p50: worst('p50'),
    p99: worst('p99'),
    max: worst('max'),
  };
}

/** Both classes at once against one server. */
function loaded(config: ServerConfig): Promise<ClassRun> {
  return withServer(config, async (server) => {
    const [critical, batch] = await Promise.all([load(server.url, CRITICAL_CONNECTIONS, SECONDS, 0.5, CRITICAL), batchLoad(server.url)]);
    const report = await server.stop();
    return { critical, batch, report };
  });
}

const downstream = { workMs: 0, asyncWorkMs: ASYNC_MS, capacity: CAPACITY } as const;

describe('priorities under real load', () => {
  it('loadShed() priorities - at 3x capacity critical keeps >= 95% goodput and p99 <= 2x unloaded while batch gets the 503s; without priorities both suffer', { timeout: 60_000 }, async (t) => {
    // Pressure: requests in the handler (downstream queue included) / CAPACITY, both classes together.
    // Batch is shed above 70% of the capacity in use, leaving critical (60% of it on its own) room
    // to surge without queueing for the downstream much; critical is shed only above 150%.
    const byLevel: ServerConfig = { ...downstream, pressure: 'inflight', threshold: CAPACITY, priorities: { batch: 0.7, normal: 1, critical: 1.5 } };
    const base = await unloaded(byLevel);
    const withPriorities = await loaded(byLevel);
    const plainShed = await loaded({ ...downstream, pressure: 'inflight', threshold: CAPACITY });
    const noShed = await loaded({ ...downstream, pressure: 'none', threshold: 0 });

    t.diagnostic(describeClass(`unloaded: ${CRITICAL_CONNECTIONS} critical connections alone`, base));
    for (const [label, run] of [['loadShed priorities', withPriorities], ['plain loadShed', plainShed], ['no shedding', noShed]] as const) {
      t.diagnostic(describeClass(`${label}, critical`, run.critical));
      t.diagnostic(describeClass(`${label}, batch`, run.batch));
    }
    t.diagnostic(`server per level: ${JSON.stringify(withPriorities.report.levels)}`);

    const { critical, batch } = withPriorities;
    for (const r of [base, critical, batch, plainShed.critical, plainShed.batch, noShed.critical, noShed.batch]) {
      assert.equal(r.failed, 0, 'no errors, timeouts or unexpected statuses');
    }
    assert.ok(goodput(critical) >= 0.95, `critical goodput ${(100 * goodput(critical)).toFixed(1)}% should be >= 95%`);
    assert.ok(critical.p99 <= 2 * base.p99, `critical p99 ${critical.p99.toFixed(1)} ms should be <= 2x the unloaded p99 ${base.p99.toFixed(1)} ms`);
    assert.ok(batch.shed > batch.served, 'batch absorbs the overload as 503s');
    assert.ok(batch.served > 0, 'batch still gets the capacity critical leaves');
    const levels = withPriorities.report.levels!;
    assert.ok(levels.batch!.shed >= batch.shed && levels.critical!.served >= critical.served, 'the server counted per level what the clients saw');
    // Without priorities, both classes suffer:
    assert.ok(goodput(plainShed.critical) < 0.8, `plain loadShed: critical goodput ${(100 * goodput(plainShed.critical)).toFixed(1)}% falls with batch's`);
    assert.ok(noShed.critical.p99 > 2 * base.p99, `no shedding: critical p99 ${noShed.critical.p99.toFixed(1)} ms exceeds 2x unloaded`);
    assert.ok(noShed.critical.p50 > 1.5 * critical.p50, 'no shedding: critical waits behind batch in the queue');
  });

  it('ConcurrencyLimiter partitions - at 3x capacity critical keeps >= 95% goodput and p99 <= 2x unloaded while batch gets the 503s; one shared limit refuses both', { timeout: 60_000 }, async (t) => {
    // The limiter (whenFull 'reject') is in front of the downstream, its limit at 80% of the
    // capacity: a partition reclaiming its guarantee while batch holds borrowed permits takes the
    // limiter over its limit until those come back (as in Netflix's), and the headroom absorbs that.
    // critical: 0.75 of 8 = 6 permits guaranteed, as many as its connections can use; batch: 2, and what it borrows.
    const partitioned: ServerConfig = { ...downstream, pressure: 'none', threshold: 0, limiter: { limit: LIMIT, partitions: { critical: 0.75, batch: 0.25 } } };
    const base = await unloaded(partitioned);
    const withPartitions = await loaded(partitioned);
    const shared = await loaded({ ...downstream, pressure: 'none', threshold: 0, limiter: { limit: LIMIT } });

    t.diagnostic(describeClass(`unloaded: ${CRITICAL_CONNECTIONS} critical connections alone`, base));
    for (const [label, run] of [['limiter with partitions', withPartitions], ['limiter without partitions', shared]] as const) {
      t.diagnostic(describeClass(`${label}, critical`, run.critical));
      t.diagnostic(describeClass(`${label}, batch`, run.batch));
    }
    const stats = withPartitions.report.limiter!;
    t.diagnostic(`server partitions: ${JSON.stringify(stats.partitions)}`);

    const { critical, batch } = withPartitions;
    for (const r of [base, critical, batch, shared.critical, shared.batch]) assert.equal(r.failed, 0, 'no errors, timeouts or unexpected statuses');
    assert.ok(goodput(critical) >= 0.95, `critical goodput ${(100 * goodput(critical)).toFixed(1)}% should be >= 95%`);
    assert.ok(critical.p99 <= 2 * base.p99, `critical p99 ${critical.p99.toFixed(1)} ms should be <= 2x the unloaded p99 ${base.p99.toFixed(1)} ms`);
    assert.ok(batch.shed > batch.served, 'batch absorbs the overload as 503s');
    assert.ok(batch.served > 0, 'batch borrows what critical leaves');
    assert.ok(stats.partitions!.batch!.rejected >= batch.shed, 'the limiter counted the refusals per partition');
    assert.ok(goodput(shared.critical) < 0.8, `one shared limit: critical goodput ${(100 * goodput(shared.critical)).toFixed(1)}% falls with batch's`);
  });
});
