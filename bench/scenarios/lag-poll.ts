import type { Redis } from 'ioredis';
import type { ChannelModel } from 'amqplib';
import type { JetStreamManager, NatsConnection } from 'nats';
import { defineScenario, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * What one poll of each broker lag source costs (issue 12): polls per second
 * of ONE source polled back to back (`await source.poll()`, one at a time)
 * against the brokers on loopback, beside the bare round trip each source
 * makes (PING / checkQueue / consumers.info without Sluice), and the cost of
 * `read()` between polls (ns, from 1M calls). Each run lasts a fixed time
 * (1 s, 0.25 s with --quick); `n` is ignored.
 *
 * Fixtures, built once per worker and untimed: a Redis stream of 20,000
 * entries, 10,000 of them delivered to the group (pending), 10,000 not
 * (`redis-count-10k` counts both sides, the worst case of the Redis 6 path;
 * `redis-count-100` has 100 undelivered behind 10,000 delivered, the usual
 * shape); an AMQP queue of 10,000 ready messages (exclusive: gone with the
 * worker's connection); a JetStream memory stream of 10,000 messages with a
 * durable pull consumer. The Redis key expires after 10 minutes; the
 * JetStream stream has a fixed name per contender and is replaced by the next
 * run, so nothing piles up.
 *
 * Needs Redis 6379, RabbitMQ 5672 (guest) and NATS 4222 on 127.0.0.1:
 * `npm run bench -- --scenario lag-poll`.
 */

const REDIS_PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);
const AMQP_URL = process.env.SLUICE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const NATS_SERVERS = process.env.SLUICE_NATS_SERVERS ?? '127.0.0.1:4222';
const LATENCY_CAP = 1 << 20;
const READS = 1_000_000;

interface Target {
  /** One poll (or bare round trip); resolves with the backlog it read. */
  poll(): Promise<number>;
  /** The backlog every poll must read. */
  expected: number;
  /** Nanoseconds per read(), when the target is a source. */
  readNs?(): number;
  checks?(): RunOutcome['checks'];
}

function timed(setup: () => Promise<Target>): Contender {
  let target: Target | undefined;
  const prepare = async (): Promise<void> => {
    target ??= await setup();
  };
  const run: Contender = async ({ quick }) => {
    await prepare();
    const t = target!;
    const durationMs = quick ? 250 : 1000;
    const latencies = new Float64Array(LATENCY_CAP);
    let items = 0;
    let wrong = 0;
    const end = performance.now() + durationMs;
    while (performance.now() < end) {
      const started = performance.now();
      const backlog = await t.poll();
      if (items < LATENCY_CAP) latencies[items] = performance.now() - started;
      if (backlog !== t.expected) wrong++;
      items++;
    }
    const sorted = latencies.subarray(0, Math.min(items, LATENCY_CAP)).sort();
    const pick = (q: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000));
    const metrics: Record<string, number> = { p50Us: pick(0.5), p99Us: pick(0.99) };
    if (t.readNs) metrics.readNs = t.readNs();
    return { items, metrics, checks: [{ what: 'polls that read the fixture backlog', expected: items, actual: items - wrong }, ...(t.checks?.() ?? [])] };
  };
  return Object.assign(run, { prepare });
}

function readCost(read: () => number): number {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) sink += read();
  const ns = Number(process.hrtime.bigint() - started) / READS;
  if (sink < 0) throw new Error('unreachable');
  return Math.round(ns * 10) / 10;
}

// --- Redis ---------------------------------------------------------------

let redisLoading: Promise<Redis> | undefined;
function redis(): Promise<Redis> {
  redisLoading ??= (async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port: REDIS_PORT });
    await client.ping();
    return client;
  })();
  return redisLoading;
}

/** A stream of `delivered + undelivered` entries; the first `delivered` read by group 'g' (pending). */
async function redisStream(delivered: number, undelivered: number): Promise<{ client: Redis; stream: string }> {
  const client = await redis();
  const stream = `sluice-bench:lag:${process.pid}:${delivered}:${undelivered}`;
  await client.del(stream);
  for (let from = 0; from < delivered + undelivered; from += 1000) {
    const pipeline = client.pipeline();
    for (let i = from; i < Math.min(from + 1000, delivered + undelivered); i++) pipeline.xadd(stream, '*', 'id', String(i));
    await pipeline.exec();
  }
  await client.expire(stream, 600);
  await client.xgroup('CREATE', stream, 'g', '0');
  for (let read = 0; read < delivered; read += 1000) await client.xreadgroup('GROUP', 'g', 'c', 'COUNT', Math.min(1000, delivered - read), 'STREAMS', stream, '>');
  return { client, stream };
}

const redisLag = (lagSource: 'auto' | 'count', delivered: number, undelivered: number) =>
  timed(async () => {
    const { client, stream } = await redisStream(delivered, undelivered);
    const { streamLag } = await import('../../src/adapters/redis/index.js');
    const lag = streamLag(client, { stream, group: 'g', threshold: 1, lagSource, intervalMs: 3_600_000 });
    await lag.poll();
    return {
      expected: delivered + undelivered,
      poll: () => lag.poll(),
      readNs: () => readCost(() => lag.read()),
      checks: () => [
        { what: 'poll errors', expected: 0, actual: lag.stats().pollErrors },
        { what: `undelivered counted by ${lagSource === 'auto' ? 'XINFO lag' : 'the scan'}`, expected: undelivered, actual: lag.stats().undelivered },
      ],
    };
  });

const redisPing = () =>
  timed(async () => {
    const client = await redis();
    return { expected: 0, poll: async () => ((await client.ping()) === 'PONG' ? 0 : -1) };
  });

// --- AMQP ----------------------------------------------------------------

async function amqpQueue(): Promise<{ connection: ChannelModel; queue: string }> {
  const { default: amqp } = await import('amqplib');
  const connection = await amqp.connect(AMQP_URL, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  for (let i = 0; i < 10_000; i++) channel.sendToQueue(queue, Buffer.from(String(i)));
  await channel.waitForConfirms();
  await channel.close();
  return { connection, queue };
}

const amqpDepth = () =>
  timed(async () => {
    const { connection, queue } = await amqpQueue();
    const { queueDepth } = await import('../../src/adapters/amqp/index.js');
    const depth = queueDepth(connection, queue, { threshold: 1, intervalMs: 3_600_000 });
    await depth.poll();
    return {
      expected: 10_000,
      poll: () => depth.poll(),
      readNs: () => readCost(() => depth.read()),
      checks: () => [{ what: 'poll errors', expected: 0, actual: depth.stats().pollErrors }],
    };
  });

const amqpRaw = () =>
  timed(async () => {
    const { connection, queue } = await amqpQueue();
    const channel = await connection.createChannel();
    return { expected: 10_000, poll: async () => (await channel.checkQueue(queue)).messageCount };
  });

// --- NATS JetStream ------------------------------------------------------

let natsLoading: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;
function nats(): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  natsLoading ??= (async () => {
    const { connect } = await import('nats');
    const nc = await connect({ servers: NATS_SERVERS });
    return { nc, jsm: await nc.jetstreamManager() };
  })();
  return natsLoading;
}

async function natsStream(name: string): Promise<JetStreamManager> {
  const { nc, jsm } = await nats();
  const { AckPolicy, StorageType } = await import('nats');
  await jsm.streams.delete(name).catch(() => undefined);
  await jsm.streams.add({ name, subjects: [`${name}.work`], storage: StorageType.Memory });
  await jsm.consumers.add(name, { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  for (let from = 0; from < 10_000; from += 1000) await Promise.all(Array.from({ length: 1000 }, (_, i) => js.publish(`${name}.work`, String(from + i))));
  return jsm;
}

const natsLag = () =>
  timed(async () => {
    const jsm = await natsStream('SLUICE_BENCH_LAG');
    const { jetStreamLag } = await import('../../src/adapters/nats/index.js');
    const lag = jetStreamLag(jsm, 'SLUICE_BENCH_LAG', 'worker', { threshold: 1, intervalMs: 3_600_000 });
    await lag.poll();
    return {
      expected: 10_000,
      poll: () => lag.poll(),
      readNs: () => readCost(() => lag.read()),
      checks: () => [{ what: 'poll errors', expected: 0, actual: lag.stats().pollErrors }],
    };
  });

const natsRaw = () =>
  timed(async () => {
    const jsm = await natsStream('SLUICE_BENCH_LAG_RAW');
    return { expected: 10_000, poll: async () => (await jsm.consumers.info('SLUICE_BENCH_LAG_RAW', 'worker')).num_pending };
  });

export default defineScenario({
  name: 'lag-poll',
  description: 'poll cost of the broker lag sources: polls/s of one source polled back to back on loopback, beside the bare round trip each makes',
  baseline: 'redis-xinfo',
  compareTo: ['redis-ping', 'amqp-checkqueue-raw', 'nats-info-raw'],
  defaultN: 1,
  quickN: 1,
  nLabel: 'ignored: each run lasts 1 s (0.25 s with --quick)',
  metricColumns: { p50Us: 'p50 µs', p99Us: 'p99 µs', readNs: 'read() ns' },
  notes: {
    'redis-xinfo': 'streamLag, lagSource auto on Redis 7: one EVALSHA reading XINFO GROUPS lag; 10k undelivered + 10k pending',
    'redis-count-10k': "streamLag, lagSource 'count' (the Redis 6 path): the script counts from both ends, 10k entries each side",
    'redis-count-100': "streamLag, lagSource 'count': 100 undelivered behind 10k delivered, the scan stops after one batch",
    'redis-ping': 'bare PING on the same client: the round trip alone',
    'amqp-queue-depth': 'queueDepth on a connection: checkQueue on its own channel, 10k ready',
    'amqp-checkqueue-raw': 'bare channel.checkQueue(), no Sluice',
    'nats-jetstream-lag': 'jetStreamLag: one consumers.info() request, 10k pending',
    'nats-info-raw': 'bare jsm.consumers.info(), no Sluice',
  },
  contenders: {
    'redis-xinfo': redisLag('auto', 10_000, 10_000),
    'redis-count-10k': redisLag('count', 10_000, 10_000),
    'redis-count-100': redisLag('count', 10_000, 100),
    'redis-ping': redisPing(),
    'amqp-queue-depth': amqpDepth(),
    'amqp-checkqueue-raw': amqpRaw(),
    'nats-jetstream-lag': natsLag(),
    'nats-info-raw': natsRaw(),
  },
});
