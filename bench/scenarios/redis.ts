import type { Redis } from 'ioredis';
import { defineScenario, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * The distributed limiters' own overhead: acquisitions per second of ONE
 * process against Redis on loopback, with the rate set so high (1,000,000/s)
 * that it never binds. Sluice's RedisTokenBucket (one EVALSHA per acquire)
 * and RedisConcurrencyLimiter (acquire + release: two scripts) side by side
 * with Bottleneck's Redis clustering (`datastore: 'ioredis'`) at the same
 * settings. Each run lasts a fixed time (2 s, 0.5 s with --quick); `n` is ignored.
 *
 * Redis: 127.0.0.1, port from SLUICE_BENCH_REDIS_PORT (default 6379).
 * Libraries are imported inside the contenders, so each worker loads only its own.
 */

const PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);
const RATE = 1_000_000;
const CALLERS = 64;
const LATENCY_CAP = 1 << 20;

interface Acquirer {
  acquire(): Promise<void>;
  /** Checks run after every run; `items` is how many acquisitions completed. */
  checks(items: number): RunOutcome['checks'];
}

let client: Redis | undefined;
async function redisClient(): Promise<Redis> {
  if (client) return client;
  const { Redis } = await import('ioredis');
  client = new Redis({ host: '127.0.0.1', port: PORT });
  await client.ping();
  return client;
}

/** Runs `callers` loops of `acquire()` for the run's duration; reports acquisitions and latency percentiles. */
function timed(callers: number, setup: () => Promise<() => Promise<Acquirer>>): Contender {
  let make: (() => Promise<Acquirer>) | undefined;
  const prepare = async (): Promise<void> => {
    make ??= await setup();
  };
  const run: Contender = async ({ quick }) => {
    await prepare();
    const acquirer = await make!();
    const durationMs = quick ? 500 : 2000;
    const latencies = new Float64Array(LATENCY_CAP);
    let items = 0;
    const end = performance.now() + durationMs;
    const loop = async (): Promise<void> => {
      while (performance.now() < end) {
        const started = performance.now();
        await acquirer.acquire();
        if (items < LATENCY_CAP) latencies[items] = performance.now() - started;
        items++;
      }
    };
    await Promise.all(Array.from({ length: callers }, loop));
    const sorted = latencies.subarray(0, Math.min(items, LATENCY_CAP)).sort();
    const pick = (q: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000));
    return { items, checks: acquirer.checks(items), metrics: { p50Us: pick(0.5), p99Us: pick(0.99) } };
  };
  return Object.assign(run, { prepare });
}

let runs = 0;
const uniqueKey = (name: string) => `sluice-bench:${name}:${process.pid}:${runs++}`;

const sluiceBucket = (callers: number) =>
  timed(callers, async () => {
    const redis = await redisClient();
    const { RedisTokenBucket } = await import('../../src/adapters/redis/index.js');
    return async () => {
      const bucket = new RedisTokenBucket({ redis, key: uniqueKey('bucket'), ratePerSecond: RATE, burst: RATE });
      return {
        acquire: () => bucket.acquire(),
        checks: (items) => [
          { what: 'tokens granted by Redis (not by the local fallback)', expected: items, actual: bucket.stats().acquired },
          { what: 'degradations', expected: 0, actual: bucket.stats().redis.degradations },
        ],
      };
    };
  });

const sluiceLeases = (callers: number) =>
  timed(callers, async () => {
    const redis = await redisClient();
    const { RedisConcurrencyLimiter } = await import('../../src/adapters/redis/index.js');
    return async () => {
      const limiter = new RedisConcurrencyLimiter({ redis, key: uniqueKey('leases'), limit: RATE, leaseMs: 60_000 });
      return {
        acquire: async () => {
          const permit = await limiter.acquire();
          await permit.release();
        },
        checks: (items) => [
          { what: 'leases granted by Redis', expected: items, actual: limiter.stats().acquired },
          { what: 'leases released in Redis', expected: items, actual: limiter.stats().released },
        ],
      };
    };
  });

const bottleneck = (callers: number, name: string, settings: Record<string, unknown>) =>
  timed(callers, async () => {
    const [{ default: Bottleneck }, { Redis }] = await Promise.all([import('bottleneck'), import('ioredis')]);
    // One limiter for every run of the worker: its two connections are set up once, like the shared client above.
    const limiter = new Bottleneck({
      datastore: 'ioredis',
      clientOptions: { host: '127.0.0.1', port: PORT },
      Redis,
      id: `sluice-bench-${name}`,
      clearDatastore: true,
      ...settings,
    } as ConstructorParameters<typeof Bottleneck>[0]);
    limiter.on('error', (error: unknown) => {
      throw error;
    });
    await limiter.ready();
    const noop = () => Promise.resolve();
    return async () => {
      let done = 0;
      return {
        acquire: async () => {
          await limiter.schedule(noop);
          done++;
        },
        checks: (items) => [{ what: 'jobs run by Bottleneck', expected: items, actual: done }],
      };
    };
  });

export default defineScenario({
  name: 'redis',
  description: `distributed limiter overhead: acquisitions/s of one process against Redis on loopback, rate ${RATE.toLocaleString('en-US')}/s (never binding)`,
  baseline: 'bottleneck-mintime',
  defaultN: 1,
  quickN: 1,
  nLabel: 'ignored: each run lasts 2 s (0.5 s with --quick)',
  metricColumns: { p50Us: 'p50 µs', p99Us: 'p99 µs' },
  expectations: [
    { contender: 'sluice-bucket', reference: 'bottleneck-mintime', atLeast: 5 },
    { contender: 'sluice-bucket-serial', reference: 'bottleneck-mintime-serial', atLeast: 5 },
  ],
  notes: {
    'sluice-bucket': `RedisTokenBucket.acquire(), ${CALLERS} callers: one EVALSHA per acquisition`,
    'sluice-bucket-serial': 'RedisTokenBucket.acquire(), one caller at a time: a round trip each',
    'sluice-leases': `RedisConcurrencyLimiter acquire() + release(), ${CALLERS} callers: two scripts per item`,
    'bottleneck-mintime': `Bottleneck datastore 'ioredis', minTime ${1000 / RATE} ms, ${CALLERS} callers of schedule()`,
    'bottleneck-mintime-serial': `Bottleneck datastore 'ioredis', minTime ${1000 / RATE} ms, one caller`,
    'bottleneck-reservoir': `Bottleneck datastore 'ioredis', reservoir ${RATE} refreshed every second, ${CALLERS} callers`,
  },
  contenders: {
    'sluice-bucket': sluiceBucket(CALLERS),
    'sluice-bucket-serial': sluiceBucket(1),
    'sluice-leases': sluiceLeases(CALLERS),
    'bottleneck-mintime': bottleneck(CALLERS, 'mintime', { minTime: 1000 / RATE }),
    'bottleneck-mintime-serial': bottleneck(1, 'mintime-serial', { minTime: 1000 / RATE }),
    'bottleneck-reservoir': bottleneck(CALLERS, 'reservoir', { reservoir: RATE, reservoirRefreshAmount: RATE, reservoirRefreshInterval: 1000 }),
  },
});
