/**
 * The `durable-queue` scenario's contenders: `n` items handed from P
 * producers to C consumers through a durable queue in ONE process, with
 * at-least-once delivery on every side (an item is done when the consumer's
 * ack has been written; a lost consumer's item would be delivered again).
 *
 * - `sluice-redis`: `DurableChannel` over `RedisStreamStore` (sluice/redis).
 *   Producers `await channel.send(item)` (group commit: concurrent sends
 *   share one XADD); consumers loop `receive()` → `ack(id)`. The store has
 *   `exchange`, so the pending sends, the pending acks and the next leases
 *   (one item ahead per ack) go in one script, one call in flight: at 1×1
 *   the producer's send and the consumer's ack share one round trip per item.
 * - `sluice-sqlite`: the same channel over `SqliteStore` (node:sqlite, fsync
 *   'batch', a fresh file per run).
 * - `bullmq`: BullMQ `Queue.add()` by each producer, one `Worker` with
 *   `concurrency: C` (its processor is the consumer; the job is acked when
 *   it is moved to completed), `removeOnComplete: true` so finished jobs do
 *   not pile up, as the Sluice store deletes acked items.
 *
 * An item carries its send time; the consumer records `now - sentAt` (the
 * hand-off latency: from the producer's call to the consumer holding the
 * item). Each run checks that every id was consumed at least once and
 * counts duplicates, and deletes its keys / file afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RunOutcome } from '../lib/types.js';
import type { DurableStore } from '../../src/core/durable-channel/index.js';

export const REDIS_PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);

interface Item {
  id: number;
  sentAt: number;
}

let client: Redis | undefined;
let pingUs = 0;
async function redisClient(): Promise<Redis> {
  if (client) return client;
  const { Redis } = await import('ioredis');
  client = new Redis({ host: '127.0.0.1', port: REDIS_PORT });
  await client.ping();
  pingUs = await pingRoundTrip(client);
  return client;
}

/**
 * Median µs of 200 awaited PINGs, once per worker process, on its first
 * (warm-up) run. A 1 x 1 queue makes one awaited round trip per item, so its
 * items/s tracks this figure; reported with every row so ratios can be read
 * against the round trip of their time.
 */
async function pingRoundTrip(redis: Redis): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await redis.ping();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[samples.length >> 1]! * 1000);
}

let runs = 0;
const uniqueName = (what: string) => `sluice-bench-dq-${what}-${process.pid}-${runs++}`;

/** Deletes every key whose name contains `name`; returns how many. */
async function deleteKeys(redis: Redis, name: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${name}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Per-run bookkeeping shared by every contender: which ids arrived, and their latencies. */
class Tally {
  readonly seen: Uint8Array;
  readonly latencies: Float64Array;
  consumed = 0;
  duplicates = 0;
  constructor(readonly n: number) {
    this.seen = new Uint8Array(n);
    this.latencies = new Float64Array(n);
  }
  take(item: Item): void {
    const latency = performance.now() - item.sentAt;
    if (this.seen[item.id] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[item.id] = 1;
    this.latencies[this.consumed++] = latency;
  }
  outcome(extraChecks: RunOutcome['checks'] = [], extraMetrics: Record<string, number> = {}): RunOutcome {
    if (pingUs !== 0) extraMetrics = { pingUs, ...extraMetrics };
    const sorted = this.latencies.subarray(0, this.consumed).sort();
    const pick = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return {
      items: this.consumed,
      checks: [{ what: 'distinct items consumed', expected: this.n, actual: this.consumed }, ...extraChecks],
      metrics: { p50Us: Math.round(pick(0.5) * 1000), p99Us: Math.round(pick(0.99) * 1000), duplicates: this.duplicates, ...extraMetrics },
    };
  }
}

/**
 * P producer loops over ids p, p + P, p + 2P, …: every id below n exactly
 * once. With `perSecond`, item `id` is sent no earlier than `id / perSecond`
 * s after the start (an open schedule: a late send does not delay the next).
 */
function produce(n: number, producers: number, send: (item: Item) => Promise<unknown>, perSecond = 0): Promise<void> {
  const start = performance.now();
  return Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      for (let id = p; id < n; id += producers) {
        if (perSecond > 0) {
          const wait = start + (id * 1000) / perSecond - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await send({ id, sentAt: performance.now() });
      }
    }),
  ).then(() => undefined);
}

/**
 * Options shared by the contenders: `scale` shrinks n; `perSecond` paces the
 * producers (0: full speed); `twoCalls` hides the store's `exchange` and
 * `ackAndLease`, so the channel appends, acks and leases in separate calls
 * (as before it had either).
 */
export interface Load {
  scale?: number;
  perSecond?: number;
  twoCalls?: boolean;
}

/**
 * `ackAhead`: the consumer sends the ack once it has handled the item but
 * leases the next item without waiting for the ack's reply (acks made
 * meanwhile share one store call, and ride on the next lease over a store
 * with `ackAndLease`). Still at-least-once: an ack is only sent for a handled
 * item. BullMQ's worker completes a job and fetches the next in one round
 * trip. `scale` shrinks n (SQLite with one producer fsyncs every item).
 */
export function sluice(backend: 'redis' | 'sqlite', producers: number, consumers: number, ackAhead = false, { scale = 1, perSecond = 0, twoCalls = false }: Load = {}) {
  return async (options: { n: number }): Promise<RunOutcome> => {
    const n = Math.max(producers, Math.floor(options.n * scale));
    const { DurableChannel } = await import('../../src/core/durable-channel/index.js');
    const tally = new Tally(n);
    let store;
    let cleanup: () => Promise<number>;
    if (backend === 'redis') {
      const redis = await redisClient();
      const { RedisStreamStore } = await import('../../src/adapters/redis/index.js');
      const key = uniqueName('sluice');
      store = new RedisStreamStore<Item>({ redis, key });
      cleanup = () => deleteKeys(redis, key);
    } else {
      const { SqliteStore } = await import('../../src/adapters/sqlite/index.js');
      const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-dq-'));
      store = new SqliteStore<Item>({ path: join(dir, 'queue.db'), fsync: 'batch' });
      cleanup = async () => {
        rmSync(dir, { recursive: true, force: true });
        return 0;
      };
    }
    // The store as the channel sees it: without exchange and ackAndLease, if asked (every other call goes to the store).
    const inner: DurableStore<Item> = store;
    const seen: DurableStore<Item> = twoCalls
      ? {
          append: (items) => inner.append(items),
          lease: (max, visibilityTimeoutMs) => inner.lease(max, visibilityTimeoutMs),
          ack: (ids) => inner.ack(ids),
          nack: (id, options) => inner.nack(id, options),
          size: () => inner.size(),
          nextVisibleInMs: inner.nextVisibleInMs?.bind(inner),
          close: () => inner.close(),
        }
      : inner;
    const counted = countCalls(seen);
    const channel = new DurableChannel<Item>({ store: counted.store, capacity: n + 1 });
    try {
      await channel.ready();
      const consuming = Promise.all(
        Array.from({ length: consumers }, async () => {
          const acks: Promise<void>[] = [];
          for (let lease = await channel.receive(); lease !== undefined; lease = await channel.receive()) {
            tally.take(lease.item);
            if (ackAhead) acks.push(channel.ack(lease.id));
            else await channel.ack(lease.id);
          }
          await Promise.all(acks);
        }),
      );
      await produce(n, producers, (item) => channel.send(item), perSecond);
      channel.close(); // receive() returns undefined once every item is acked
      await consuming;
      const left = await store.size();
      const stats = channel.stats();
      // Store calls per 100 items: the round trips the channel made (the stats count an exchange carrying sends and acks twice).
      const storeCalls = (counted.calls / n) * 100;
      return tally.outcome(
        [
          { what: 'items left in the store', expected: 0, actual: left },
          { what: 'items acked', expected: n + tally.duplicates, actual: stats.acked },
        ],
        { storeCallsPer100: storeCalls },
      );
    } finally {
      await channel.detach();
      await store.close();
      await cleanup();
    }
  };
}

/**
 * `store` with its commit, ack and lease calls counted (append, lease, ack,
 * ackAndLease, exchange: one round trip each); the optional ones only if
 * `store` has them, so the channel takes the same path.
 */
function countCalls(store: DurableStore<Item>): { store: DurableStore<Item>; calls: number } {
  const counted: { store: DurableStore<Item>; calls: number } = { calls: 0, store: undefined! };
  const s: DurableStore<Item> = {
    append: (items) => (counted.calls++, store.append(items)),
    lease: (max, visibilityTimeoutMs) => (counted.calls++, store.lease(max, visibilityTimeoutMs)),
    ack: (ids) => (counted.calls++, store.ack(ids)),
    nack: (id, options) => store.nack(id, options),
    size: () => store.size(),
    close: () => store.close(),
  };
  counted.store = s;
  if (store.ackAndLease) s.ackAndLease = (ids, max, visibilityTimeoutMs) => (counted.calls++, store.ackAndLease!(ids, max, visibilityTimeoutMs));
  if (store.exchange) s.exchange = (items, ids, max, visibilityTimeoutMs) => (counted.calls++, store.exchange!(items, ids, max, visibilityTimeoutMs));
  if (store.nextVisibleInMs) s.nextVisibleInMs = () => store.nextVisibleInMs!();
  if (store.dropOldest) s.dropOldest = (count) => store.dropOldest!(count);
  return counted;
}

export function bullmq(producers: number, consumers: number, { scale = 1, perSecond = 0 }: Load = {}) {
  return async (options: { n: number }): Promise<RunOutcome> => {
    const n = Math.max(producers, Math.floor(options.n * scale));
    const { Queue, Worker } = await import('bullmq');
    const redis = await redisClient();
    const name = uniqueName('bullmq');
    const connection = { host: '127.0.0.1', port: REDIS_PORT, maxRetriesPerRequest: null };
    const queue = new Queue<Item>(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: false } });
    const tally = new Tally(n);
    let completed = 0;
    let failed = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const worker = new Worker<Item>(
      name,
      async (job) => {
        tally.take(job.data);
      },
      { connection, concurrency: consumers },
    );
    worker.on('completed', () => {
      if (++completed === n) allDone();
    });
    worker.on('failed', () => failed++);
    try {
      await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
      await produce(n, producers, (item) => queue.add('item', item), perSecond);
      await done;
      const left = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return tally.outcome([
        { what: 'jobs failed', expected: 0, actual: failed },
        { what: 'jobs left in the queue', expected: 0, actual: Object.values(left).reduce((a, b) => a + b, 0) },
      ]);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await deleteKeys(redis, name);
    }
  };
}
