import type { ConcurrencyLimiterStats } from '../../core/concurrency-limiter/index.js';
import type { RedisSubscriber } from './client.js';
import type { NodeRedisClient } from './node-redis.js';
import type { RedisHealthStats } from './connectivity.js';
import type { FallbackOption, RedisConnectionOptions } from './options.js';

export interface RedisConcurrencyLimiterOptions extends RedisConnectionOptions {
  /**
   * Name of the shared limiter. Leases live in the sorted set `{key}:leases`
   * (scored by expiry) and releases are announced on the channel `{key}:released`.
   * @default none (required)
   * @example new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20 })
   */
  key: string;
  /**
   * Most permits held at once across every process. An integer >= 1.
   * @default none (required)
   * @example new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20 })
   */
  limit: number;
  /**
   * How long a permit lasts unless released or extended. A holder that
   * crashes gives its permits back this long after it last took or extended
   * them: the next acquire purges expired leases atomically. Pick it above the
   * longest normal hold, or call `permit.extend()` from long jobs.
   * @default 30000
   * @example new RedisConcurrencyLimiter({ redis, key: 'exports', limit: 4, leaseMs: 120_000 })
   */
  leaseMs?: number;
  /**
   * Longest a waiting `acquire()` goes without asking Redis again. Waiters
   * normally retry when a release is announced (pub/sub) or when the earliest
   * lease expires, whichever comes first; this bounds the wait when a
   * notification is missed (e.g. while the subscriber reconnects), and how
   * long a waiter takes to notice a frozen Redis (this plus `timeoutMs`; a
   * dropped connection is noticed at once). Retries are spread over the last
   * 10% of the interval so processes do not ask in step.
   * @default 500
   * @example new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20, retryIntervalMs: 250 })
   */
  retryIntervalMs?: number;
  /**
   * A dedicated connection for the release notifications. Without one the
   * limiter `duplicate()`s `redis` the first time a caller finds the limit
   * reached, and closes it in `close()`. Yours is left open.
   * @default undefined (a duplicate of `redis`)
   * @example new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20, subscriber: redis.duplicate() })
   */
  subscriber?: RedisSubscriber | NodeRedisClient;
  /**
   * What serves calls while Redis is down or slower than `timeoutMs`. With
   * `'local'`, a local fixed ConcurrencyLimiter of
   * `max(1, floor(limit × fraction))` permits.
   * @default { mode: 'local', fraction: 0.5 }
   * @example new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20, fallback: 'fail-closed' })
   */
  fallback?: FallbackOption;
}

export interface RedisConcurrencyLimiterAcquireOptions {
  /**
   * Aborting while waiting rejects with `signal.reason`; a lease granted meanwhile is released.
   * @default undefined (wait until served, closed, or degraded to a refusing fallback)
   * @example limiter.acquire({ signal: AbortSignal.timeout(2000) })
   */
  signal?: AbortSignal;
}

export interface RedisConcurrencyLimiterStats {
  key: string;
  limit: number;
  leaseMs: number;
  /** Permits this process holds now (any source). */
  held: number;
  /** `acquire()` calls waiting now. */
  waiting: number;
  /** Leases granted by Redis. */
  acquired: number;
  /** Permits granted while degraded (local limiter or `'fail-open'`). */
  acquiredLocally: number;
  /** `tryAcquire()` calls that returned undefined. */
  rejected: number;
  /** Calls refused because Redis was unavailable under `'fail-closed'`. */
  refused: number;
  /** `release()` calls that removed their lease from Redis. */
  released: number;
  /**
   * Leases removed after the fact, once Redis answered again: granted to an
   * acquire whose reply came after the limiter stopped waiting, or held by a
   * permit whose `release()` could not reach Redis.
   */
  releasedLater: number;
  /** `release()` or `extend()` calls that found their lease already gone (expired, purged). */
  lost: number;
  /** `extend()` calls that extended their lease. */
  extended: number;
  /** Acquire scripts sent for waiters (first tries and retries). */
  attempts: number;
  /** Release announcements received. */
  notifications: number;
  redis: RedisHealthStats;
  local: ConcurrencyLimiterStats | undefined;
}
