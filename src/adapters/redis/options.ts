import type { Clock } from '../../core/clock/index.js';
import { systemClock } from '../../core/clock/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import type { RedisClient, RedisSubscriber } from './client.js';
import { toRedisClient, type NodeRedisClient } from './node-redis.js';

/**
 * What a component does while Redis is unreachable or slower than `timeoutMs`:
 * - `'local'`: decides alone, with a local limiter at `fraction` of the shared
 *   setting (rate, limit). Pick `fraction` ≈ 1 / the number of processes so
 *   the processes together stay near the shared setting.
 * - `'fail-open'`: allows everything; nothing is limited until Redis is back.
 * - `'fail-closed'`: refuses everything: `try*()` say no and waiting calls
 *   reject with `RedisUnavailableError`.
 */
export type FallbackMode = 'local' | 'fail-open' | 'fail-closed';
export const fallbackModes: readonly FallbackMode[] = ['local', 'fail-open', 'fail-closed'];

/** A {@link FallbackMode}, alone or with the fraction the `'local'` mode runs at. */
export type FallbackOption = FallbackMode | { mode: 'local'; fraction?: number } | { mode: 'fail-open' | 'fail-closed' };

export interface ResolvedFallback {
  mode: FallbackMode;
  /** Share of the shared setting the local stand-in gets; 1 unless mode is `'local'`. */
  fraction: number;
}

/** Options every Redis-backed component takes. */
export interface RedisConnectionOptions {
  /**
   * Your Redis client: ioredis (`Redis` or `Cluster`) or node-redis (a
   * connected `createClient()` of the `redis` package, v5 or later; see
   * {@link NodeRedisClient}). Sluice recognises which, sends its commands on
   * it and never closes it.
   * @default none (required)
   * @example new RedisTokenBucket({ redis: new Redis(), key: 'api', ratePerSecond: 100 })
   * @example new RedisTokenBucket({ redis: await createClient().connect(), key: 'api', ratePerSecond: 100 }) // node-redis
   */
  redis: RedisClient | NodeRedisClient;
  /**
   * How long a command may go unanswered before the component stops waiting,
   * serves the call from its fallback and turns degraded. Also applies while
   * ioredis queues commands during a reconnect. Keep it under 1000 so callers
   * notice an outage within a second.
   * @default 500
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 100, timeoutMs: 200 })
   */
  timeoutMs?: number;
  /**
   * While degraded, how often Redis is probed (one PING at a time, only when
   * the client reports its link up); the first answer ends the degradation.
   * @default 1000
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 100, probeIntervalMs: 250 })
   */
  probeIntervalMs?: number;
  /**
   * Time source for timeouts, probes and local waits. Token accrual in Redis
   * uses the Redis server's clock instead, the same for every process.
   * @default systemClock
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 100, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ResolvedConnection {
  redis: RedisClient;
  timeoutMs: number;
  probeIntervalMs: number;
  clock: Clock;
}

export function resolveConnection(o: Partial<RedisConnectionOptions>): ResolvedConnection {
  return {
    redis: resolveRedisClient(o.redis),
    timeoutMs: v.number('timeoutMs', o.timeoutMs, 500, { min: 0, minExclusive: true }),
    probeIntervalMs: v.number('probeIntervalMs', o.probeIntervalMs, 1000, { min: 0, minExclusive: true }),
    clock: resolveClock('clock', o.clock, systemClock),
  };
}

/** A Redis key prefix; braces are refused because Sluice adds its own hash tag around it. */
export function resolveKey(field: string, value: unknown, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || /[{}]/.test(value)) {
    throw new InvalidOptionError(field, value, 'a non-empty string without { or } (Sluice wraps it in a hash tag)');
  }
  return value;
}

export function resolveFallback(value: unknown, fallback: ResolvedFallback): ResolvedFallback {
  if (value === undefined) return fallback;
  if (typeof value === 'string') {
    const mode = v.oneOf('fallback', value, fallbackModes, 'local');
    return { mode, fraction: mode === 'local' ? fallback.fraction : 1 };
  }
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError('fallback', value, `one of ${fallbackModes.join(', ')}, or { mode, fraction? }`);
  }
  const o = value as { mode?: unknown; fraction?: unknown };
  const mode = v.oneOf('fallback.mode', o.mode, fallbackModes, 'local');
  if (mode !== 'local') {
    if (o.fraction !== undefined) throw new InvalidOptionError('fallback.fraction', o.fraction, "no value unless mode is 'local'", `mode is '${mode}'`);
    return { mode, fraction: 1 };
  }
  return { mode, fraction: v.number('fallback.fraction', o.fraction, fallback.fraction, { min: 0, minExclusive: true, max: 1 }) };
}

export function resolveSubscriber(value: unknown): RedisSubscriber | undefined {
  if (value === undefined) return undefined;
  const s = toRedisClient('subscriber', value) as Partial<RedisSubscriber> | null;
  if (s === null || typeof s !== 'object' || typeof s.subscribe !== 'function' || typeof s.on !== 'function') {
    throw new InvalidOptionError('subscriber', value, 'a dedicated ioredis or node-redis connection for pub/sub (with subscribe() and on())');
  }
  return s as RedisSubscriber;
}

/** What the `redis` option (and streamLag's first argument) must be. */
export const REDIS_CLIENT_EXPECTED = 'an ioredis client (Redis or Cluster, an object with call()) or a node-redis client (createClient(), with sendCommand())';

/** The `redis` argument as Sluice uses it (a node-redis client wrapped), or InvalidOptionError. */
export function resolveRedisClient(value: unknown): RedisClient {
  const redis = toRedisClient('redis', value) as RedisClient | null | undefined;
  if (redis === null || typeof redis !== 'object' || typeof redis.call !== 'function') throw new InvalidOptionError('redis', value, REDIS_CLIENT_EXPECTED);
  return redis;
}
