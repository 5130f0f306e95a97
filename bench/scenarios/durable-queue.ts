import { defineScenario, lazyContender, type Contender } from '../lib/types.js';

/**
 * A durable queue on Redis, end to end (issue 14 part 2): `DurableChannel`
 * over `RedisStreamStore` against a BullMQ `Queue` + `Worker`, both
 * at-least-once, with 1 producer + 1 consumer and 16 + 16, all in one
 * process. items/s is items consumed and acked over the whole run (setup and
 * key clean-up of a few ms included for everyone); `p50 µs` / `p99 µs` is
 * the hand-off latency from the producer's call to the consumer holding the
 * item, backlog included (producers run at full speed). The `-paced` rows
 * give the hand-off latency without a backlog: one producer at 500 items/s,
 * one consumer (their items/s is the pace). The
 * same channel over `SqliteStore` (node:sqlite, fsync 'batch') is on the
 * table for comparison. `PING µs` is the median of 200 awaited PINGs taken
 * by each row's process before its measured runs: 1 x 1 makes one awaited
 * round trip per item, so its items/s follows it. Contenders:
 * `bench/contenders/durable-queue.ts`.
 *
 * Redis: 127.0.0.1, port from SLUICE_BENCH_REDIS_PORT (default 6379); both
 * Redis contenders use the same server, so they get the same durability
 * (whatever its AOF / RDB settings give). Every run uses its own key names
 * and deletes them afterwards.
 */

const m = () => import('../contenders/durable-queue.js');
const SHAPES = [
  [1, 1],
  [16, 16],
] as const;

const contenders: Record<string, Contender> = {};
const notes: Record<string, string> = {};
for (const [producers, consumers] of SHAPES) {
  const shape = `${producers}x${consumers}`;
  contenders[`sluice-redis-${shape}`] = lazyContender(m, (c) => c.sluice('redis', producers, consumers));
  notes[`sluice-redis-${shape}`] = `DurableChannel + RedisStreamStore, ${producers} producer(s) awaiting send(), ${consumers} consumer(s) receive() + ack()`;
  contenders[`sluice-redis-ackahead-${shape}`] = lazyContender(m, (c) => c.sluice('redis', producers, consumers, true));
  notes[`sluice-redis-ackahead-${shape}`] = `as sluice-redis-${shape}, but a consumer leases its next item without waiting for the reply to its ack`;
  if (producers === 1) {
    contenders[`sluice-redis-2calls-${shape}`] = lazyContender(m, (c) => c.sluice('redis', producers, consumers, false, { twoCalls: true }));
    notes[`sluice-redis-2calls-${shape}`] = `as sluice-redis-${shape}, with the store's exchange and ackAndLease hidden: each item costs an append, a lease call and an ack call (the path before either)`;
  }
  contenders[`bullmq-${shape}`] = lazyContender(m, (c) => c.bullmq(producers, consumers));
  notes[`bullmq-${shape}`] = `BullMQ Queue.add() from ${producers} producer(s), one Worker with concurrency ${consumers}, removeOnComplete`;
  // One producer commits (and fsyncs) each item alone: ~500 items/s, so that row moves n / 10 items.
  const scale = producers === 1 ? 0.1 : 1;
  contenders[`sluice-sqlite-${shape}`] = lazyContender(m, (c) => c.sluice('sqlite', producers, consumers, false, { scale }));
  notes[`sluice-sqlite-${shape}`] =
    `DurableChannel + SqliteStore (node:sqlite, fsync 'batch'), ${producers} producer(s), ${consumers} consumer(s)${scale === 1 ? '' : ', n / 10 items'}`;
}

// Hand-off latency without a backlog: one producer paced at PACED_RATE items/s
// (below every contender's throughput), one consumer, n / 20 items.
const PACED_RATE = 500;
const paced = { scale: 1 / 20, perSecond: PACED_RATE };
contenders['sluice-redis-paced'] = lazyContender(m, (c) => c.sluice('redis', 1, 1, false, paced));
notes['sluice-redis-paced'] = `DurableChannel + RedisStreamStore, 1 producer paced at ${PACED_RATE}/s, 1 consumer receive() + ack(), n / 20 items`;
contenders['bullmq-paced'] = lazyContender(m, (c) => c.bullmq(1, 1, paced));
notes['bullmq-paced'] = `BullMQ, 1 producer paced at ${PACED_RATE}/s, Worker concurrency 1, n / 20 items`;
contenders['sluice-sqlite-paced'] = lazyContender(m, (c) => c.sluice('sqlite', 1, 1, false, paced));
notes['sluice-sqlite-paced'] = `DurableChannel + SqliteStore, 1 producer paced at ${PACED_RATE}/s, 1 consumer, n / 20 items`;

export default defineScenario({
  name: 'durable-queue',
  description: 'durable queue end to end, at-least-once: DurableChannel on Redis Streams (and on SQLite) vs BullMQ Queue + Worker, 1x1 and 16x16 producers x consumers',
  baseline: 'bullmq-1x1',
  compareTo: ['bullmq-16x16'],
  defaultN: 20_000,
  quickN: 2_000,
  nLabel: 'items per run (sluice-sqlite-1x1: n / 10; -paced rows: n / 20 at 500/s)',
  metricColumns: { p50Us: 'p50 µs', p99Us: 'p99 µs', duplicates: 'redelivered', storeCallsPer100: 'store calls / 100 items', pingUs: 'PING µs' },
  expectations: [
    { contender: 'sluice-redis-1x1', reference: 'bullmq-1x1', atLeast: 2 },
    { contender: 'sluice-redis-16x16', reference: 'bullmq-16x16', atLeast: 2 },
    { contender: 'sluice-redis-ackahead-1x1', reference: 'bullmq-1x1', atLeast: 2 },
    { contender: 'sluice-redis-ackahead-16x16', reference: 'bullmq-16x16', atLeast: 2 },
  ],
  notes,
  contenders,
});
