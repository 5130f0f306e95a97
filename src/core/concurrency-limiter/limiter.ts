import type { Clock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, LimitExceededError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { Fifo, Rejection, pendingResolveInto } from '../../internal/timed-list.js';
import { AimdLimit } from './algorithms/aimd.js';
import { FixedLimit } from './algorithms/fixed.js';
import { Gradient2Limit } from './algorithms/gradient2.js';
import type { LimitAlgorithm, LimitSample } from './algorithms/types.js';
import { VegasLimit } from './algorithms/vegas.js';
import {
  resolveLimiterOptions,
  type ConcurrencyLimiterOptions,
  type LimitAlgorithmName,
  type ResolvedLimiterOptions,
  type ConcurrencyWhenFull,
} from './options.js';

export interface ConcurrencyLimiterAcquireOptions {
  /** Aborting while waiting for a permit rejects with the signal's reason; no permit is taken. */
  signal?: AbortSignal;
}

const acquireSpec: v.CallOptionSpec<ConcurrencyLimiterAcquireOptions> = { signal: 'signal' };

export interface ConcurrencyLimiterStats {
  algorithm: LimitAlgorithmName;
  limit: number;
  inflight: number;
  /** Callers queued in `acquire()` / `run()` under `'wait'`. */
  waiting: number;
  /** Permits granted so far. */
  acquired: number;
  /** `acquire()` calls refused under `'reject'` plus `tryAcquire()` calls that returned undefined. */
  rejected: number;
  /** `acquire()` calls whose signal fired before they got a permit. */
  aborted: number;
  /** Permits released with `success()`. */
  successes: number;
  /** Permits released with `dropped()`. */
  drops: number;
  /** Permits released with `ignore()`. */
  ignored: number;
  /** Lowest the limit has been since construction. */
  lowestLimit: number;
  /** Highest the limit has been since construction. */
  highestLimit: number;
  /** Times the limit changed. */
  limitChanges: number;
  /** Clock time of the last limit change; undefined if it never changed. */
  lastLimitChangeAt: number | undefined;
}

/**
 * A caller queued for a permit. A class with one fixed shape that holds only
 * its promise's `resolve` (rejections go through a `Rejection`), and abort
 * wiring only when the caller passed a signal: a waiter costs no more than a
 * bare pending promise.
 */
class AcquireWaiter {
  prev: AcquireWaiter | undefined = undefined;
  next: AcquireWaiter | undefined = undefined;
  resolve: (permit: Permit | Rejection) => void = noop;
  hooks: AbortHook | undefined = undefined;
}

function noop(): void {}

/** A waiter's abort listener: an object with `handleEvent`, so no closure per waiter. */
class AbortHook {
  constructor(
    readonly limiter: ConcurrencyLimiter,
    readonly waiter: AcquireWaiter,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    this.limiter[waiterAborted](this.waiter);
  }
}

const ONCE = { once: true };
/** Module-private key: only a waiter's abort listener calls it. */
const waiterAborted = Symbol('waiterAborted');

const SUCCESS = 0;
const DROPPED = 1;
const IGNORED = 2;
type Outcome = typeof SUCCESS | typeof DROPPED | typeof IGNORED;

/** Module-private key: only a Permit may hand itself back. */
const release = Symbol('release');

/**
 * The right to run one call. Release it exactly once, with the method that
 * says how the call went; a second release, by any method, is a no-op.
 * Obtained from `acquire()` or `tryAcquire()`, never constructed directly.
 */
export class Permit {
  /**
   * Clock time at which the permit was granted; the call's RTT is measured
   * from here. Always 0 under `'fixed'`, which takes no samples and so never
   * reads the clock.
   */
  readonly startedAt: number;
  /** Permits in use right after this one was granted, itself included. */
  readonly inflightAtStart: number;
  private owner: ConcurrencyLimiter | undefined;

  /** @internal */
  constructor(owner: ConcurrencyLimiter, startedAt: number, inflightAtStart: number) {
    this.owner = owner;
    this.startedAt = startedAt;
    this.inflightAtStart = inflightAtStart;
  }

  /** True once the permit has been released. */
  get released(): boolean {
    return this.owner === undefined;
  }

  /** The call succeeded: releases the permit and feeds its RTT to the algorithm. */
  success(): void {
    this.settle(SUCCESS);
  }

  /**
   * The call failed from overload (timeout, 503, connection refused by a
   * saturated pool...): releases the permit and tells the algorithm to back off.
   */
  dropped(): void {
    this.settle(DROPPED);
  }

  /**
   * The call failed for a reason unrelated to load (bad request, not found,
   * a bug): releases the permit without feeding the algorithm.
   */
  ignore(): void {
    this.settle(IGNORED);
  }

  private settle(outcome: Outcome): void {
    const owner = this.owner;
    if (owner === undefined) return;
    this.owner = undefined;
    owner[release](this, outcome);
  }
}

/**
 * Caps how many calls run at once, with a limit that is fixed or adapts to
 * the latency and failures the calls report.
 *
 * Every call takes a permit (`acquire()`, `tryAcquire()`, or implicitly in
 * `run()`) and gives it back with `success()`, `dropped()` or `ignore()`.
 * Each release other than `ignore()` is a sample: the time from the permit
 * being granted to its release, the number of permits in use when it was
 * granted, and whether the call was dropped. The algorithm turns samples into
 * a new limit, immediately, on the releasing call's stack.
 *
 * When a permit is released or the limit grows, waiting callers are admitted
 * first come, first served. When the limit shrinks below the permits in use,
 * nobody is admitted until enough of them come back.
 *
 * Adaptive limits stay within [minLimit, maxLimit], grow only while at least
 * half the limit was in use when the sampled call started, and move at most
 * once each way per round trip (a call admitted before the last change does
 * not move the limit again). Vegas and Gradient2 briefly lower the limit
 * every `probeMultiplier × limit` samples to re-measure the no-load RTT.
 *
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', maxLimit: 200 });
 * const body = await limiter.run(() => fetch(url).then((r) => r.text()));
 */
export class ConcurrencyLimiter {
  readonly algorithm: LimitAlgorithmName;
  private readonly sampling: boolean;
  readonly whenFull: ConcurrencyWhenFull;
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly name: string;

  private readonly strategy: LimitAlgorithm;
  private readonly clock: Clock;
  private readonly isDropped: ((error: unknown) => boolean) | undefined;
  private readonly waiters = new Fifo<AcquireWaiter>();
  /** Reused for every release, so sampling allocates nothing. */
  private readonly sample: LimitSample = { startedAt: 0, rttMs: 0, inflight: 0, dropped: false };
  private current: number;
  private inflightCount = 0;

  private acquiredCount = 0;
  private rejectedCount = 0;
  private abortedCount = 0;
  private successCount = 0;
  private dropCount = 0;
  private ignoredCount = 0;
  private lowest: number;
  private highest: number;
  private changes = 0;
  private lastChangeAt: number | undefined;

  constructor(options?: ConcurrencyLimiterOptions) {
    const o = resolveLimiterOptions(options);
    this.algorithm = o.algorithm;
    this.sampling = o.algorithm !== 'fixed';
    this.whenFull = o.whenFull;
    this.minLimit = o.minLimit;
    this.maxLimit = o.maxLimit;
    this.name = o.name;
    this.clock = o.clock;
    this.isDropped = o.isDropped;
    this.strategy = createAlgorithm(o);
    this.current = this.lowest = this.highest = this.strategy.limit;
  }

  /** Calls allowed to run at once right now. */
  get limit(): number {
    return this.current;
  }

  /** Permits granted and not yet released. */
  get inflight(): number {
    return this.inflightCount;
  }

  /** Callers queued for a permit. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Takes a permit if one is free and nobody is queued ahead; never waits.
   * @returns the permit, or undefined (counted in `rejected`).
   */
  tryAcquire(): Permit | undefined {
    if (this.isClosed) throw new ClosedError('ConcurrencyLimiter is closed');
    if (this.inflightCount < this.current && this.waiters.size === 0) return this.grant();
    this.rejectedCount++;
    return undefined;
  }

  /**
   * Takes a permit. When none is free: under `'wait'`, queues behind earlier
   * callers until a permit is released or the limit grows; under `'reject'`,
   * rejects with `LimitExceededError`.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even if a permit is free (and before a closed
   * limiter is reported); it is counted in `aborted`. Options of the wrong
   * type or with an unknown key reject with `ERR_SLUICE_INVALID_OPTION`.
   * If it fires while waiting, the caller leaves
   * the queue, holds no permit and the promise rejects with `signal.reason`.
   * Once the promise has resolved the permit is yours: aborting afterwards
   * does not release it.
   */
  acquire(options?: ConcurrencyLimiterAcquireOptions): Promise<Permit> {
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) {
      this.abortedCount++;
      return Promise.reject(signal.reason);
    }
    if (this.isClosed) return Promise.reject(new ClosedError('ConcurrencyLimiter is closed'));
    if (this.inflightCount < this.current && this.waiters.size === 0) return Promise.resolve(this.grant());
    if (this.whenFull === 'reject') {
      this.rejectedCount++;
      return Promise.reject(
        new LimitExceededError(`Concurrency limit reached: ${this.inflightCount} of ${this.current} permits in use (whenFull: reject)`),
      );
    }
    return this.enqueue(signal);
  }

  /**
   * Runs `fn` under a permit and releases it when `fn` settles: `success()`
   * if it returned, otherwise `dropped()`, or `ignore()` when the `isDropped`
   * option says the error is unrelated to load. Resolves or rejects as `fn` did.
   *
   * Abort safety: the signal only covers the wait for a permit. If it fires
   * then, `fn` never runs and the promise rejects with `signal.reason`. Once
   * `fn` has started, cancelling it is up to `fn` (pass it the same signal);
   * its permit is released however it ends.
   */
  async run<T>(fn: () => T | PromiseLike<T>, options?: ConcurrencyLimiterAcquireOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`run(fn): fn must be a function, got ${typeof fn}`);
    const permit = await this.acquire(options);
    let result: Awaited<T>;
    try {
      result = await fn();
    } catch (error) {
      if (this.countsAsDrop(error)) permit.dropped();
      else permit.ignore();
      throw error;
    }
    permit.success();
    return result;
  }

  stats(): ConcurrencyLimiterStats {
    return {
      algorithm: this.algorithm,
      limit: this.current,
      inflight: this.inflightCount,
      waiting: this.waiters.size,
      acquired: this.acquiredCount,
      rejected: this.rejectedCount,
      aborted: this.abortedCount,
      successes: this.successCount,
      drops: this.dropCount,
      ignored: this.ignoredCount,
      lowestLimit: this.lowest,
      highestLimit: this.highest,
      limitChanges: this.changes,
      lastLimitChangeAt: this.lastChangeAt,
    };
  }

  /** @internal Called by {@link Permit} exactly once per permit. */
  [release](permit: Permit, outcome: Outcome): void {
    this.inflightCount--;
    if (outcome === IGNORED) {
      this.ignoredCount++;
    } else {
      if (outcome === SUCCESS) this.successCount++;
      else this.dropCount++;
      if (!this.sampling) {
        if (this.waiters.size !== 0) this.admitWaiters();
        return;
      }
      const now = this.clock.now();
      const sample = this.sample;
      sample.startedAt = permit.startedAt;
      sample.rttMs = now - permit.startedAt;
      sample.inflight = permit.inflightAtStart;
      sample.dropped = outcome === DROPPED;
      const next = this.strategy.update(sample);
      if (next !== this.current) this.changeLimit(next, now);
    }
    if (this.waiters.size !== 0) this.admitWaiters();
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Stops handing out permits: callers still waiting, and later `acquire()`
   * calls, reject with `ClosedError`; `tryAcquire()` throws it.
   * Permits already held stay valid and may still be released (their samples
   * still count). Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (let w = this.waiters.shift(); w; w = this.waiters.shift()) {
      unhook(w);
      w.resolve(new Rejection(new ClosedError('ConcurrencyLimiter closed while waiting for a permit')));
    }
  }

  // ---- internals -------------------------------------------------------------

  private isClosed = false;

  private grant(): Permit {
    this.acquiredCount++;
    // A fixed limit ignores samples, so its hot path skips both clock reads.
    return new Permit(this, this.sampling ? this.clock.now() : 0, ++this.inflightCount);
  }

  private enqueue(signal: AbortSignal | undefined): Promise<Permit> {
    const w = new AcquireWaiter();
    const pending = pendingResolveInto(w) as Promise<Permit>;
    if (signal) {
      w.hooks = new AbortHook(this, w, signal);
      signal.addEventListener('abort', w.hooks, ONCE);
    }
    this.waiters.push(w);
    return pending;
  }

  /** @internal A queued caller's signal fired. */
  [waiterAborted](w: AcquireWaiter): void {
    if (!this.waiters.remove(w)) return;
    const reason = w.hooks!.signal.reason;
    unhook(w);
    this.abortedCount++;
    w.resolve(new Rejection(reason));
  }

  private admitWaiters(): void {
    while (this.waiters.size !== 0 && this.inflightCount < this.current) {
      const w = this.waiters.shift()!;
      unhook(w);
      w.resolve(this.grant());
    }
  }

  private changeLimit(next: number, now: number): void {
    this.current = next;
    this.changes++;
    this.lastChangeAt = now;
    if (next < this.lowest) this.lowest = next;
    if (next > this.highest) this.highest = next;
  }

  private countsAsDrop(error: unknown): boolean {
    if (this.isDropped === undefined) return true;
    try {
      return this.isDropped(error) !== false;
    } catch {
      return true;
    }
  }
}

function createAlgorithm(o: ResolvedLimiterOptions): LimitAlgorithm {
  switch (o.algorithm) {
    case 'aimd':
      return new AimdLimit(o, o);
    case 'vegas':
      return new VegasLimit(o, o);
    case 'gradient2':
      return new Gradient2Limit(o, o);
    default:
      return new FixedLimit(o);
  }
}

function unhook(w: AcquireWaiter): void {
  const hooks = w.hooks;
  if (hooks === undefined) return;
  w.hooks = undefined;
  hooks.signal.removeEventListener('abort', hooks);
}
