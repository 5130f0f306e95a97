import type { Permit } from '../../core/concurrency-limiter/index.js';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { LUA_NOW_MS, LuaScript } from './client.js';

/** Where a permit came from: a Redis lease, the local stand-in, or nothing (`'fail-open'`). */
export type LeaseSource = 'redis' | 'local' | 'fail-open';

// Purges expired leases, then grants one if fewer than `limit` remain.
// Reply: { granted, ms until the earliest lease expires (when refused) }.
// The key expires a second after its last lease, so nothing is left behind.
export const ACQUIRE = new LuaScript(
  `
local limit = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
${LUA_NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[3])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now) + 1000)
  return { 1, 0 }
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, math.ceil(tonumber(first[2]) - now) }
`,
  1,
);

export const RELEASE = new LuaScript(
  `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], ARGV[1]) end
return removed
`,
  1,
);

export const EXTEND = new LuaScript(
  `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
${LUA_NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now) + 1000)
return 1
`,
  1,
);

/** Package-private keys: only a LeasePermit hands its lease back or extends it. */
export const releaseLease = Symbol('releaseLease');
export const extendLease = Symbol('extendLease');

/**
 * One permit of a {@link RedisConcurrencyLimiter}. Release it once when done;
 * extend it from jobs that may outlive `leaseMs`. Neither method ever waits
 * on Redis longer than `timeoutMs`, and neither rejects.
 */
export class LeasePermit {
  private isReleased = false;

  /** @internal */
  constructor(
    private readonly owner: LeaseOwner,
    /** The lease's member in `{key}:leases` (a random UUID), or a local marker. */
    readonly id: string,
    readonly source: LeaseSource,
    private readonly localPermit: Permit | undefined,
  ) {}

  get released(): boolean {
    return this.isReleased;
  }

  /**
   * Gives the permit back. For a Redis lease, one round trip removes it and
   * announces the release to waiters in every process.
   * @returns true when the lease was still held and is now free; false when
   * it had already expired (someone else may hold the slot now), when Redis did
   * not answer (the limiter then releases it once Redis answers again, or it
   * expires by itself after `leaseMs`), or when the permit was already
   * released. Local and fail-open permits resolve true.
   *
   * Abort safety: takes no signal; the round trip is bounded by `timeoutMs`
   * and, if it fails, the release is retried when Redis recovers.
   */
  release(): Promise<boolean> {
    if (this.isReleased) return Promise.resolve(false);
    this.isReleased = true;
    return this.owner[releaseLease](this.id, this.source, this.localPermit);
  }

  /**
   * Pushes the lease's expiry to `leaseMs` from now (Redis server time).
   * @returns true when extended; false when the lease was already gone, the
   * permit was released, or Redis did not answer. Local and fail-open permits
   * do not expire and resolve true.
   * Rejects with InvalidArgumentError when `leaseMs` is not a finite number > 0.
   *
   * Abort safety: takes no signal; the round trip is bounded by `timeoutMs`.
   * On false, assume the lease may be lost and stop relying on it.
   */
  extend(leaseMs?: number): Promise<boolean> {
    if (leaseMs !== undefined && (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0)) {
      return Promise.reject(new InvalidArgumentError(`extend(leaseMs): expected a finite number > 0, got ${String(leaseMs)}`));
    }
    if (this.isReleased) return Promise.resolve(false);
    if (this.source !== 'redis') return Promise.resolve(true);
    return this.owner[extendLease](this.id, leaseMs);
  }
}

/** What a permit needs from its limiter. */
export interface LeaseOwner {
  [releaseLease](id: string, source: LeaseSource, localPermit: Permit | undefined): Promise<boolean>;
  [extendLease](id: string, leaseMs: number | undefined): Promise<boolean>;
}
