import { randomUUID } from 'node:crypto';
import type { TimerHandle } from '../../core/clock/index.js';
import { ConcurrencyLimiter, type Permit } from '../../core/concurrency-limiter/index.js';
import { ClosedError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import { tagged, toNumber } from './client.js';
import type { RedisConcurrencyLimiterAcquireOptions, RedisConcurrencyLimiterOptions, RedisConcurrencyLimiterStats } from './concurrency-limiter-options.js';
import { Connectivity, nextTurn, type RedisHealthEvents } from './connectivity.js';
import { RedisUnavailableError } from './errors.js';
import { ACQUIRE, EXTEND, extendLease, LeasePermit, RELEASE, releaseLease, type LeaseOwner, type LeaseSource } from './leases.js';
import { resolveConnection, resolveFallback, resolveKey, resolveSubscriber, type ResolvedConnection, type ResolvedFallback } from './options.js';
import { ChannelSubscription } from './subscription.js';

export type { RedisConcurrencyLimiterAcquireOptions, RedisConcurrencyLimiterOptions, RedisConcurrencyLimiterStats } from './concurrency-limiter-options.js';
export { LeasePermit, type LeaseSource } from './leases.js';

const acquireSpec: v.CallOptionSpec<RedisConcurrencyLimiterAcquireOptions> = { signal: 'signal' };

interface LeaseWaiter extends ListNode<LeaseWaiter> {
  resolve: (permit: LeasePermit) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A concurrency limit shared by every process using the same Redis and `key`:
 * at most `limit` permits are held at once, anywhere.
 *
 * Permits are leases with an expiry in a sorted set; every acquire script
 * first purges expired leases, so a holder that crashes gives its permits back
 * by itself `leaseMs` later. Waiters queue locally (first come, first served
 * within a process) and retry when a release is announced on `{key}:released`
 * or when the earliest lease is due to expire, never in a tight loop.
 *
 * Redis down or slower than `timeoutMs`: calls are served by the `fallback`,
 * with the same `'degraded'` / `'recovered'` events as the other Redis components.
 * No lease is left behind by an outage: an acquire the limiter stopped waiting
 * for may still run once Redis answers (a frozen server, a command ioredis
 * resends after reconnecting), so its lease id is released as soon as a late
 * grant arrives, and again when Redis recovers; likewise for permits released
 * while Redis was unavailable. Releasing an id Redis does not hold is a no-op.
 * Answers given without Redis come after one turn of the event loop, so a
 * tight acquire loop still lets timers, I/O and the recovery probe run.
 *
 * @example
 * const writers = new RedisConcurrencyLimiter({ redis, key: 'db-writers', limit: 20, leaseMs: 10_000 });
 * const permit = await writers.acquire({ signal });
 * try {
 *   await writeBatch();
 * } finally {
 *   await permit.release();
 * }
 */
export class RedisConcurrencyLimiter implements LeaseOwner {
  readonly key: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly retryIntervalMs: number;
  readonly fallback: ResolvedFallback;
  private readonly leasesKey: string;
  private readonly channel: string;
  private readonly conn: ResolvedConnection;
  private readonly link: Connectivity;
  private readonly subscription: ChannelSubscription;
  private readonly local: ConcurrencyLimiter | undefined;
  private readonly waiters = new WaiterList<LeaseWaiter>();
  /** Acquire scripts in flight for waiters. */
  private attempts = 0;
  /** The latest attempt was refused: Redis is at the limit, so attempts go one at a time. */
  private full = false;
  /** A release was announced while attempts were in flight: try again at once when they come back refused. */
  private notified = false;
  private retryTimer: TimerHandle | undefined;
  private isClosed = false;
  private heldCount = 0;
  /**
   * Lease ids that may be in Redis with no holder: acquires whose reply was
   * abandoned or failed, and permits whose release did not reach Redis. Each
   * is released on recovery (and at once when a late grant arrives) until a
   * release gets an answer.
   */
  private readonly unreleased = new Set<string>();
  private readonly counters = { acquired: 0, acquiredLocally: 0, rejected: 0, refused: 0, released: 0, releasedLater: 0, lost: 0, extended: 0, attempts: 0 };

  constructor(options: RedisConcurrencyLimiterOptions) {
    const o = v.optionsObject(options, 'RedisConcurrencyLimiter', {
      key: true, limit: true, leaseMs: true, retryIntervalMs: true, subscriber: true, fallback: true, redis: true,
      timeoutMs: true, probeIntervalMs: true, clock: true,
    });
    this.conn = resolveConnection(o);
    this.key = resolveKey('key', o.key);
    this.limit = v.requiredInteger('limit', o.limit, { min: 1 });
    this.leaseMs = v.number('leaseMs', o.leaseMs, 30_000, { min: 1 });
    this.retryIntervalMs = v.number('retryIntervalMs', o.retryIntervalMs, 500, { min: 1 });
    this.fallback = resolveFallback(o.fallback, { mode: 'local', fraction: 0.5 });
    const subscriber = resolveSubscriber(o.subscriber);
    this.leasesKey = tagged(this.key, 'leases');
    this.channel = tagged(this.key, 'released');
    const { redis, timeoutMs, probeIntervalMs, clock } = this.conn;
    this.link = new Connectivity(redis, { timeoutMs, probeIntervalMs, clock, component: 'RedisConcurrencyLimiter', key: this.key, fallback: this.fallback.mode });
    // Waiters between retries send nothing, so they learn of an outage from the link.
    this.link.on('degraded', () => this.moveWaitersToFallback());
    // Registered first, so these releases go out before any acquire made by a 'recovered' listener.
    this.link.on('recovered', () => this.releaseUnreleased());
    this.subscription = new ChannelSubscription(redis, subscriber, this.channel, this.onReleased, this.onReleased);
    if (this.fallback.mode === 'local') {
      const localLimit = Math.max(1, Math.floor(this.limit * this.fallback.fraction));
      this.local = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: localLimit, minLimit: 1, maxLimit: localLimit, clock });
    }
  }

  /** True while Redis is unavailable and the fallback serves calls. */
  get degraded(): boolean {
    return this.link.degraded;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** `acquire()` calls waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Takes a permit if one is free now; never waits for one. One round trip.
   * While callers of this process wait, it resolves undefined without asking
   * (they are first). While degraded: the local limiter, a fail-open permit,
   * or undefined under `'fail-closed'`.
   * Rejects with ClosedError after {@link close}; otherwise resolves within `timeoutMs`.
   *
   * Abort safety: takes no signal; it never waits for a permit, only for one
   * round trip bounded by `timeoutMs`. A lease granted after `close()` is released at once.
   */
  tryAcquire(): Promise<LeasePermit | undefined> {
    if (this.isClosed) return Promise.reject(new ClosedError('RedisConcurrencyLimiter is closed'));
    if (this.link.degraded) {
      const permit = this.tryFallback();
      return nextTurn().then(() => permit);
    }
    if (this.waiters.size !== 0) {
      this.counters.rejected++;
      return Promise.resolve(undefined);
    }
    const id = randomUUID();
    return this.sendAcquire(id).then(
      (reply) => {
        if (toNumber((reply as unknown[])[0]) !== 1) {
          this.counters.rejected++;
          return undefined;
        }
        if (this.isClosed) {
          this.sendRelease(id);
          throw new ClosedError('RedisConcurrencyLimiter closed during tryAcquire()');
        }
        return this.grantRedis(id);
      },
      () => {
        this.unreleased.add(id);
        return this.tryFallback();
      },
    );
  }

  /**
   * Takes a permit, waiting until one is free anywhere. Waiters of this
   * process are served first come, first served; each retry is one round
   * trip, made when a release is announced or the earliest lease expires
   * (at most `retryIntervalMs` apart). While degraded: the local limiter
   * (`'local'`), a permit at once (`'fail-open'`), or a rejection with
   * RedisUnavailableError (`'fail-closed'`); callers already waiting when
   * Redis fails move to the fallback.
   * Rejects with ClosedError after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and has no effect (no lease is asked for), even on a closed
   * limiter (checked before closed). Options of the wrong type or with an
   * unknown key reject with `ERR_SLUICE_INVALID_OPTION` first. If `signal`
   * fires while waiting, the call leaves the queue and rejects with
   * `signal.reason`; a lease granted for it in the same
   * instant goes to the next waiter or is released. Once resolved, the permit
   * is yours to release.
   */
  acquire(options?: RedisConcurrencyLimiterAcquireOptions): Promise<LeasePermit> {
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed) return Promise.reject(new ClosedError('RedisConcurrencyLimiter is closed'));
    if (this.link.degraded) return nextTurn().then(() => this.acquireFallback(signal));
    return new Promise<LeasePermit>((resolve, reject) => {
      const w: LeaseWaiter = { prev: undefined, next: undefined, linked: false, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          this.settle(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.pump();
    });
  }

  /** Subscribes to `'degraded'` or `'recovered'`. Returns the unsubscribe function. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void {
    return this.link.on(event, listener);
  }

  /**
   * Rejects waiting `acquire()` calls with ClosedError, refuses new
   * calls, stops probing and drops the release subscription (closing the
   * connection it opened for it). Permits already granted stay valid until
   * released or expired. Leases left over by an outage are released one last
   * time unless Redis is still unavailable (then they expire after `leaseMs`). Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.cancelRetry();
    if (!this.link.degraded) this.releaseUnreleased();
    this.link.close();
    this.subscription.close();
    for (let w = this.waiters.head; w; w = this.waiters.head) {
      this.settle(w);
      w.reject(new ClosedError('RedisConcurrencyLimiter closed while the caller was waiting for a permit'));
    }
    this.local?.close();
  }

  stats(): RedisConcurrencyLimiterStats {
    const c = this.counters;
    return {
      key: this.key,
      limit: this.limit,
      leaseMs: this.leaseMs,
      held: this.heldCount,
      waiting: this.waiters.size,
      acquired: c.acquired,
      acquiredLocally: c.acquiredLocally,
      rejected: c.rejected,
      refused: c.refused,
      released: c.released,
      releasedLater: c.releasedLater,
      lost: c.lost,
      extended: c.extended,
      attempts: c.attempts,
      notifications: this.subscription.received,
      redis: this.link.stats(),
      local: this.local?.stats(),
    };
  }

  /** @internal */
  [releaseLease](id: string, source: LeaseSource, localPermit: Permit | undefined): Promise<boolean> {
    this.heldCount--;
    if (source !== 'redis') {
      localPermit?.ignore();
      return Promise.resolve(true);
    }
    if (this.link.degraded) {
      this.unreleased.add(id);
      return nextTurn().then(() => false);
    }
    return this.link.run(() => RELEASE.run(this.conn.redis, this.leasesKey, id, this.channel)).then(
      (reply) => {
        if (toNumber(reply) === 1) {
          this.counters.released++;
          return true;
        }
        this.counters.lost++;
        return false;
      },
      () => {
        this.unreleased.add(id);
        return false;
      },
    );
  }

  /** @internal */
  [extendLease](id: string, leaseMs: number | undefined): Promise<boolean> {
    if (this.link.degraded) return nextTurn().then(() => false);
    return this.link.run(() => EXTEND.run(this.conn.redis, this.leasesKey, id, leaseMs ?? this.leaseMs)).then(
      (reply) => {
        if (toNumber(reply) === 1) {
          this.counters.extended++;
          return true;
        }
        this.counters.lost++;
        return false;
      },
      () => false,
    );
  }

  /**
   * Asks Redis for leases on behalf of the waiters. While the last answer
   * was a grant, one attempt per waiter goes out at once (pipelined on the
   * connection); once Redis says full, a single attempt at a time, made when
   * a release is announced or the earliest lease is due to expire.
   */
  private pump(): void {
    if (this.isClosed) return;
    while (this.waiters.size > this.attempts && !(this.full && this.attempts > 0)) {
      if (this.link.degraded) {
        this.moveWaitersToFallback();
        return;
      }
      this.cancelRetry();
      this.attempts++;
      this.notified = false;
      this.counters.attempts++;
      const id = randomUUID();
      this.sendAcquire(id).then(
        (reply) => this.onAttempt(id, reply as unknown[]),
        () => {
          this.attempts--;
          this.unreleased.add(id);
          this.moveWaitersToFallback();
        },
      );
    }
  }

  private onAttempt(id: string, reply: unknown[]): void {
    this.attempts--;
    if (toNumber(reply[0]) === 1) {
      this.full = false;
      // The lease goes to whoever is first now; the waiter it was asked for may have left.
      const w = this.waiters.head;
      if (!w || this.isClosed) {
        this.sendRelease(id);
        return;
      }
      this.settle(w);
      w.resolve(this.grantRedis(id));
      this.pump();
      return;
    }
    this.full = true;
    if (this.isClosed) return;
    // Someone has to wait: from now on, hear releases (subscribing once confirmed triggers a retry, closing the gap).
    this.subscription.start();
    if (this.attempts > 0 || this.waiters.size === 0) return;
    if (this.notified) {
      this.pump();
      return;
    }
    const untilExpiry = toNumber(reply[1]);
    const delay = Math.min(this.retryIntervalMs, untilExpiry > 0 ? untilExpiry : this.retryIntervalMs);
    // Jitter, so processes woken by the same expiry do not all ask at once.
    this.retryTimer = this.conn.clock.schedule(delay * (0.9 + Math.random() * 0.1), this.onRetry);
  }

  private readonly onRetry = (): void => {
    this.retryTimer = undefined;
    this.pump();
  };

  private readonly onReleased = (): void => {
    if (this.attempts > 0) this.notified = true;
    else this.pump();
  };

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) this.conn.clock.cancel(this.retryTimer);
    this.retryTimer = undefined;
  }

  private grantRedis(id: string): LeasePermit {
    this.counters.acquired++;
    this.heldCount++;
    return new LeasePermit(this, id, 'redis', undefined);
  }

  private sendRelease(id: string): void {
    this.link.run(() => RELEASE.run(this.conn.redis, this.leasesKey, id, this.channel)).catch(() => this.unreleased.add(id));
  }

  /**
   * One acquire script for lease `id`. If the limiter stops waiting for the
   * reply, Redis may still grant the lease later: then it is released the
   * moment the grant arrives (a late error leaves it in doubt, so released too).
   */
  private sendAcquire(id: string): Promise<unknown> {
    return this.link.run(
      () => ACQUIRE.run(this.conn.redis, this.leasesKey, this.limit, this.leaseMs, id),
      (late) =>
        late.then(
          (reply) => {
            if (toNumber((reply as unknown[])[0]) === 1) this.releaseLater(id);
            else this.unreleased.delete(id);
          },
          () => this.releaseLater(id),
        ),
    );
  }

  /** Releases a lease nobody holds (or may hold). Sent even while degraded: called when Redis has just answered, or has recovered. */
  private releaseLater(id: string): void {
    this.unreleased.add(id);
    this.link.run(() => RELEASE.run(this.conn.redis, this.leasesKey, id, this.channel)).then(
      (reply) => {
        this.unreleased.delete(id);
        if (toNumber(reply) === 1) this.counters.releasedLater++;
      },
      () => undefined,
    );
  }

  private releaseUnreleased(): void {
    for (const id of this.unreleased) this.releaseLater(id);
  }

  private settle(w: LeaseWaiter): void {
    this.waiters.remove(w);
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    w.onAbort = undefined;
    if (this.waiters.size === 0) this.cancelRetry();
  }

  private moveWaitersToFallback(): void {
    this.cancelRetry();
    for (let w = this.waiters.head; w; w = this.waiters.head) {
      this.settle(w);
      this.acquireFallback(w.signal).then(w.resolve, w.reject);
    }
  }

  private tryFallback(): LeasePermit | undefined {
    switch (this.fallback.mode) {
      case 'local': {
        const permit = this.local!.tryAcquire();
        if (permit) return this.grantLocal(permit);
        this.counters.rejected++;
        return undefined;
      }
      case 'fail-open':
        return this.grantLocal(undefined);
      default:
        this.counters.refused++;
        return undefined;
    }
  }

  private acquireFallback(signal: AbortSignal | undefined): Promise<LeasePermit> {
    if (this.isClosed) return Promise.reject(new ClosedError('RedisConcurrencyLimiter is closed'));
    switch (this.fallback.mode) {
      case 'local':
        return this.local!.acquire({ signal }).then((permit) => this.grantLocal(permit));
      case 'fail-open':
        return Promise.resolve(this.grantLocal(undefined));
      default:
        this.counters.refused++;
        return Promise.reject(new RedisUnavailableError(`RedisConcurrencyLimiter "${this.key}": Redis is unavailable and fallback is 'fail-closed'`, this.link.lastFailure));
    }
  }

  private grantLocal(permit: Permit | undefined): LeasePermit {
    this.counters.acquiredLocally++;
    this.heldCount++;
    return new LeasePermit(this, permit ? 'local' : 'fail-open', permit ? 'local' : 'fail-open', permit);
  }
}
