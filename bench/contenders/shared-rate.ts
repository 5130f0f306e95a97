/**
 * The three ways of sharing one rate through Redis that the `shared-rate`
 * scenario compares, behind one interface: `acquire()` resolves once this
 * caller may go (one token per call), waiting if the shared rate says so.
 *
 * - `sluice`: `RedisTokenBucket.acquire()` (sluice/redis). The calls made in
 *   one turn of the event loop share one EVALSHA, which serves them in call
 *   order (one token each); when the bucket is short the script reserves the
 *   token and the caller sleeps locally for the time Redis names. Default fallback (local
 *   bucket while Redis is down); the runs check it never degraded.
 * - `sluice-prefetch`: the same with `prefetch: { tokens: 20 }` (at most the
 *   burst): the process takes up to 20 tokens ahead of its calls, when the
 *   shared bucket has them, and hands them out without a round trip; a
 *   refill goes out in the background once half are used. This is the one
 *   contender that holds tokens locally (an opt-in with a documented
 *   trade-off: see the option's TSDoc).
 * - `rlf`: rate-limiter-flexible `RateLimiterRedis.consume(key, 1)`, fixed
 *   window of `points = rate` per `duration = 1` s (its model). A refused call
 *   sleeps `msBeforeNext` and tries again (the pattern its docs give). No
 *   `inMemoryBlockOnConsumed`, no insurance limiter: every call asks Redis.
 * - `bottleneck`: Bottleneck `schedule()` with `datastore: 'ioredis'`
 *   (clustering: the limiter state is in Redis) and `minTime = 1000 / rate`
 *   ms, its way of expressing a rate; no `maxConcurrent`, no reservoir.
 *
 * Apart from `sluice-prefetch`, none of them holds tokens locally. Every limiter uses its own key prefix
 * (`sluice-bench-sr-…`, unique per run); {@link cleanup} deletes them.
 */
import type { Redis } from 'ioredis';

export type PeerKind = 'sluice' | 'sluice-prefetch' | 'rlf' | 'bottleneck';
export const PEERS: readonly PeerKind[] = ['sluice', 'sluice-prefetch', 'rlf', 'bottleneck'];

/** `prefetch.tokens` of the `sluice-prefetch` kind (at most the burst). */
export const PREFETCH_TOKENS = 20;

export const REDIS_PORT = Number(process.env.SLUICE_BENCH_REDIS_PORT ?? 6379);

export interface SharedLimiter {
  /** Resolves when the caller holds one token of the shared rate. */
  acquire(): Promise<void>;
  /**
   * Throws if the limiter did something other than what was measured (e.g.
   * degraded to a local fallback), or, given `granted`, if its own count of
   * grants differs from the callers'.
   */
  verify(granted?: number): void;
  /** Stops timers and closes connections the limiter opened itself (never the shared client). */
  close(): Promise<void>;
}

export async function connect(): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: '127.0.0.1', port: REDIS_PORT });
  await client.ping();
  return client;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A limiter of kind `kind` named `name` (the same name in every process
 * shares the rate), `ratePerSecond` tokens a second. `burst` is Sluice's
 * bucket size (the others have no separate burst: rate-limiter-flexible lets
 * a whole window's `points` through at once, Bottleneck none).
 */
export async function createLimiter(kind: PeerKind, redis: Redis, name: string, ratePerSecond: number, burst: number): Promise<SharedLimiter> {
  switch (kind) {
    case 'sluice':
    case 'sluice-prefetch': {
      const { RedisTokenBucket } = await import('../../src/adapters/redis/index.js');
      const prefetch = kind === 'sluice-prefetch' ? { tokens: Math.min(PREFETCH_TOKENS, Math.floor(burst)) } : undefined;
      const bucket = new RedisTokenBucket({ redis, key: name, ratePerSecond, burst, prefetch });
      return {
        acquire: () => bucket.acquire(),
        verify: (granted) => {
          const s = bucket.stats();
          if (granted !== undefined && s.acquired !== granted) throw new Error(`RedisTokenBucket: Redis granted ${s.acquired} tokens, callers saw ${granted}`);
          if (s.redis.degradations !== 0 || s.acquiredLocally !== 0) throw new Error(`RedisTokenBucket degraded ${s.redis.degradations} time(s), ${s.acquiredLocally} tokens granted locally`);
        },
        close: async () => bucket.close(),
      };
    }
    case 'rlf': {
      const { RateLimiterRedis, RateLimiterRes } = await import('rate-limiter-flexible');
      const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: name, points: ratePerSecond, duration: 1 });
      let consumed = 0;
      return {
        acquire: async () => {
          for (;;) {
            try {
              await limiter.consume('k', 1);
              consumed++;
              return;
            } catch (rejection) {
              if (!(rejection instanceof RateLimiterRes)) throw rejection;
              await sleep(Math.max(1, rejection.msBeforeNext));
            }
          }
        },
        verify: (granted) => {
          if (granted !== undefined && consumed !== granted) throw new Error(`rate-limiter-flexible: ${consumed} consumed, callers saw ${granted}`);
        },
        close: async () => {},
      };
    }
    case 'bottleneck': {
      const [{ default: Bottleneck }, { Redis }] = await Promise.all([import('bottleneck'), import('ioredis')]);
      const limiter = new Bottleneck({
        datastore: 'ioredis',
        clientOptions: { host: '127.0.0.1', port: REDIS_PORT },
        Redis,
        id: name,
        minTime: 1000 / ratePerSecond,
      } as ConstructorParameters<typeof Bottleneck>[0]);
      let failure: unknown;
      limiter.on('error', (error: unknown) => (failure ??= error));
      await limiter.ready();
      const noop = () => Promise.resolve();
      let ran = 0;
      return {
        acquire: async () => {
          await limiter.schedule(noop);
          ran++;
        },
        verify: (granted) => {
          if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
          if (granted !== undefined && ran !== granted) throw new Error(`Bottleneck: ${ran} jobs ran, callers saw ${granted}`);
        },
        close: async () => {
          await limiter.disconnect(true);
        },
      };
    }
  }
}

/** Deletes every key whose name contains `name` (all three libraries put it in their keys). */
export async function cleanup(redis: Redis, name: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${name}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
