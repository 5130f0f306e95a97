import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../../src/core/channel/index.js';
import { DashboardSampler } from '../../src/tools/dashboard/snapshot.js';
import { resolveDashboardOptions, type DashboardSource } from '../../src/tools/dashboard/options.js';
import { LatencyRecorder } from '../../src/core/metrics/index.js';
import { SqliteStore, type SqliteDriver } from '../../src/adapters/sqlite/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { TokenBucket } from '../../src/core/token-bucket/index.js';
import { Credits } from '../../src/core/credits/index.js';

/**
 * One operation whose cost should not grow with `size` (waiters, components,
 * leases held), set up once at that size. `run` repeats the operation until
 * about `budgetMs` have passed (at least once) and returns how many it did and
 * the time they took, setup excluded.
 */
export interface ScalingFixture {
  /** `cpuPerOp`: CPU time of the process (GC threads included) per operation, ms; steadier than `perOp` on a shared machine. */
  run(budgetMs: number): Promise<{ ops: number; ms: number; perOp: number; cpuPerOp?: number }>;
  close(): Promise<void>;
  /** Heap the waiters hold, per waiter (after full GCs, the fixture's own array of promises left out); waiter fixtures from 10k up. */
  bytesPerWaiter?: number;
}

const collect = (globalThis as { gc?: () => void }).gc;

/**
 * Builds `size` waiters with `build` (which fills the array it is given with
 * their promises) and measures the heap they hold: heapUsed after full GCs,
 * minus the array's 8 B per slot. Undefined below 10k waiters (the noise of
 * the heap is more than the figure) or when the worker runs without --expose-gc.
 */
function waiters(size: number, build: (promises: Promise<unknown>[]) => void): { promises: Promise<unknown>[]; bytesPerWaiter: number | undefined } {
  const promises = new Array<Promise<unknown>>(size);
  if (collect === undefined || size < 10_000) {
    build(promises);
    return { promises, bytesPerWaiter: undefined };
  }
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  build(promises);
  collect();
  collect();
  return { promises, bytesPerWaiter: (process.memoryUsage().heapUsed - before) / size - 8 };
}

/** Repeats `op` (which does `perCall` units of work) until `budgetMs` have passed. */
async function repeat(budgetMs: number, perCall: number, op: () => unknown): Promise<{ ops: number; ms: number; perOp: number; cpuPerOp: number }> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let elapsed = 0;
  do {
    await op();
    calls++;
    elapsed = performance.now() - started;
  } while (elapsed < budgetMs);
  const used = process.cpuUsage(cpu);
  const ops = calls * perCall;
  return { ops, ms: elapsed, perOp: elapsed / ops, cpuPerOp: (used.user + used.system) / 1000 / ops };
}

/**
 * `Channel#stats()` with `size` producers blocked in `send()` on a full
 * channel, each with `timeoutMs` (an hour: none fires) when given.
 */
export function channelStats(size: number, timeoutMs?: number): ScalingFixture {
  const clock = new VirtualClock();
  const channel = new Channel<number>({ capacity: 1, clock });
  channel.trySend(0);
  const options = timeoutMs === undefined ? undefined : { timeoutMs };
  const { promises, bytesPerWaiter } = waiters(size, (p) => {
    for (let i = 0; i < size; i++) p[i] = channel.send(i, options);
  });
  clock.advance(1000); // waiters have waited: stats() has time to sum
  return {
    run: (budgetMs) => repeat(budgetMs, 1, () => channel.stats()),
    close: async () => {
      channel.close();
      await Promise.allSettled(promises);
    },
    bytesPerWaiter,
  };
}

/** `TokenBucket#stats()` with `size` callers waiting in `acquire()` on an empty bucket. */
export function tokenBucketStats(size: number): ScalingFixture {
  const clock = new VirtualClock();
  const bucket = new TokenBucket({ ratePerSecond: 1e-6, burst: 1, clock });
  bucket.tryAcquire();
  const { promises, bytesPerWaiter } = waiters(size, (p) => {
    for (let i = 0; i < size; i++) p[i] = bucket.acquire();
  });
  clock.advance(1000);
  return {
    run: (budgetMs) => repeat(budgetMs, 1, () => bucket.stats()),
    close: async () => {
      bucket.close();
      await Promise.allSettled(promises);
    },
    bytesPerWaiter,
  };
}

/** `Credits#stats()` with `size` callers waiting in `acquire()` with `acquireTimeoutMs` (an hour: none fires). */
export function creditsTimedStats(size: number): ScalingFixture {
  const clock = new VirtualClock();
  const credits = new Credits({ initial: 0, acquireTimeoutMs: 3_600_000, clock });
  const { promises, bytesPerWaiter } = waiters(size, (p) => {
    for (let i = 0; i < size; i++) p[i] = credits.acquire();
  });
  clock.advance(1000);
  return {
    run: (budgetMs) => repeat(budgetMs, 1, () => credits.stats()),
    close: async () => {
      credits.close();
      await Promise.allSettled(promises);
    },
    bytesPerWaiter,
  };
}

/**
 * A stand-in for a Channel on the dashboard: its `stats()` returns a fresh
 * object of the shape a Channel's does (drops by reason included), with
 * counters that move every tick, while the component itself is a few numbers
 * (a real Channel starts with a 1024-slot ring: a million of them would
 * measure the fixture, not the dashboard).
 */
class ChannelLike {
  constructor(
    private readonly id: number,
    private readonly clock: VirtualClock,
  ) {}

  stats() {
    const t = this.clock.now() / 1000;
    const offered = this.id + 10 * t;
    const delivered = this.id + 9 * t;
    const timeout = this.id % 7;
    return {
      capacity: 1000,
      size: offered - delivered - timeout,
      waiting: 0,
      utilization: (offered - delivered - timeout) / 1000,
      state: 'normal',
      pressured: false,
      offered,
      accepted: offered - timeout,
      delivered,
      dropped: timeout,
      droppedBy: { 'drop-newest': 0, 'drop-oldest': 0, sample: 0, rejected: 0, timeout, aborted: 0, closed: 0, 'spill-failed': 0 },
      blockedMs: 3 * t,
      longestBlockedMs: 0,
      pressureEvents: 0,
    };
  }
}

/**
 * One dashboard tick (`sample()`) over `size` components, each with a
 * latency histogram of its name in a LatencyRecorder, plus `size` histograms
 * that name no component (cards of their own). The components are
 * {@link ChannelLike}s. Cost is per component: the tick is linear.
 */
export function dashboardSample(size: number): ScalingFixture {
  const clock = new VirtualClock();
  const latency = new LatencyRecorder({ bucketsMs: [1, 10, 100] });
  const sources: [string, DashboardSource][] = [];
  for (let i = 0; i < size; i++) sources.push([`c${i}`, new ChannelLike(i, clock)]);
  const histograms = [...sources.map(([name]) => latency.histogram(name)), ...sources.map(([name]) => latency.histogram(`h${name}`))];
  const sampler = new DashboardSampler(sources, resolveDashboardOptions({ clock, latency }));
  return {
    run: (budgetMs) =>
      repeat(budgetMs, size, () => {
        // Fresh observations every tick, so every histogram has a window to report (recording is not timed apart: it is O(1) each).
        for (const histogram of histograms) histogram.record(5);
        clock.advance(1000);
        const { components } = sampler.sample();
        if (components.length !== 2 * size) throw new Error(`expected ${2 * size} cards, got ${components.length}`);
      }),
    close: async () => {},
  };
}

/**
 * `SqliteStore` lease(100) + ack of the same 100, per item, with a visible
 * backlog of `backlog` items behind `held` items leased (for an hour) at the
 * head of the queue. fsync 'batch': leases and acks are not fsynced each.
 * The backlog is topped up between lease+ack pairs, untimed, so it stays
 * between `backlog` - 10,000 and `backlog` however long the runs.
 */
export async function sqliteLeaseAck(held: number, options: { backlog?: number; driver?: SqliteDriver } = {}): Promise<ScalingFixture> {
  const backlog = options.backlog ?? 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-scaling-'));
  const store = new SqliteStore<number>({ path: join(dir, 'scaling.db'), fsync: 'batch', driver: options.driver ?? 'node:sqlite' });
  const chunk = 10_000;
  const fill = (count: number) => store.append(Array.from({ length: count }, (_, i) => i));
  for (let i = 0; i < held + backlog; i += chunk) await fill(Math.min(chunk, held + backlog - i));
  for (let i = 0; i < held; i += chunk) await store.lease(Math.min(chunk, held - i), 3_600_000);
  let visible = backlog;
  return {
    async run(budgetMs) {
      let ops = 0;
      let timed = 0;
      do {
        if (visible < backlog - chunk) {
          await fill(chunk);
          visible += chunk;
        }
        const started = performance.now();
        const leased = await store.lease(100, 60_000);
        await store.ack(leased.map((l) => l.id));
        timed += performance.now() - started;
        if (leased.length !== 100) throw new Error(`expected 100 leased, got ${leased.length}`);
        visible -= 100;
        ops += 100;
      } while (timed < budgetMs);
      return { ops, ms: timed, perOp: timed / ops };
    },
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
