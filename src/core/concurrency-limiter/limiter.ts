import type { Clock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError, LimitExceededError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { Fifo, Rejection, pendingResolveInto } from '../../internal/timed-list.js';
import { Listeners } from '../../internal/listeners.js';
import type { ReconfigureEvent } from '../../internal/engine/options.js';
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
  /**
   * With the `partitions` option: the partition this call belongs to, one of
   * its names. Omitted, the call belongs to the unpartitioned remainder (see
   * `partitions`). A name the limiter was not given rejects with
   * `InvalidOptionError` (code `ERR_SLUICE_INVALID_OPTION`, field `partition`)
   * naming it and the allowed ones; so does any name on a limiter built
   * without `partitions`.
   */
  partition?: string;
}

export interface ConcurrencyLimiterTryAcquireOptions {
  /** See {@link ConcurrencyLimiterAcquireOptions.partition}; an unknown name throws. */
  partition?: string;
}

/** One partition of a limiter built with `partitions`, as `stats()` reports it. */
export interface ConcurrencyLimiterPartitionStats {
  /** The configured fraction of the limit (for the unpartitioned remainder: 1 minus the shares). */
  share: number;
  /**
   * Permits guaranteed to this partition now: `ceil(share × limit)`, moving
   * with an adaptive limit (0 for a remainder of 0, which only borrows).
   */
  limit: number;
  /** Permits this partition holds, borrowed ones included. */
  inflight: number;
  /** Callers of this partition queued under `'wait'`. */
  waiting: number;
  /** Permits granted to this partition so far. */
  acquired: number;
  /** This partition's refused `acquire()` calls (`'reject'`) and `tryAcquire()` calls that returned undefined. */
  rejected: number;
  /** This partition's `acquire()` calls whose signal fired before they got a permit. */
  aborted: number;
}

/**
 * A caller's options as one pass over its keys, without an object per call:
 * `signal` must be an AbortSignal, `partition` is checked against the
 * limiter's partitions by the caller, anything else is an unknown key.
 */
function acquireOptionsError(value: unknown, where: string, allowed: readonly string[]): InvalidOptionError | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') return new InvalidOptionError(`${where} options`, value, 'an object');
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const given = (value as Record<string, unknown>)[key];
    if (key === 'partition') {
      if (given !== undefined && typeof given !== 'string') return new InvalidOptionError('partition', given, 'a partition name (string)', `in ${where}`);
    } else if (key === 'signal' && allowed.includes('signal')) {
      if (given !== undefined && !isSignal(given)) return new InvalidOptionError('signal', given, 'an AbortSignal', `in ${where}`);
    } else {
      return v.unknownOptionError(where, key, given, allowed);
    }
  }
  return undefined;
}

function isSignal(value: unknown): value is AbortSignal {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

const acquireKeys = ['signal', 'partition'] as const;
const tryAcquireKeys = ['partition'] as const;

/**
 * A partition's state. Netflix's AbstractPartitionedLimiter: a partition
 * holding fewer than its `limit` permits is admitted even when the limiter as
 * a whole is full; one at or over it is admitted only while the whole is not.
 */
class Partition {
  limit = 0;
  inflight = 0;
  acquired = 0;
  rejected = 0;
  aborted = 0;
  readonly waiters = new Fifo<AcquireWaiter>();
  constructor(
    readonly name: string | undefined,
    readonly share: number,
  ) {}

  setLimit(total: number): void {
    // Rounded up, as Netflix does: the guarantees may add up to a little more than the limit.
    this.limit = this.share === 0 ? 0 : Math.ceil(total * this.share - 1e-9);
  }

  stats(): ConcurrencyLimiterPartitionStats {
    return {
      share: this.share,
      limit: this.limit,
      inflight: this.inflight,
      waiting: this.waiters.size,
      acquired: this.acquired,
      rejected: this.rejected,
      aborted: this.aborted,
    };
  }
}

/**
 * What {@link ConcurrencyLimiter.onReconfigure} listeners receive, once per
 * setting a `setLimit()`/`setLimits()` call changed: the setting, its value
 * before and its value now. A `setLimits()` that pushes the limit into the new
 * bounds reports the bounds and then `limit`.
 */
export type ConcurrencyLimiterReconfigureEvent = ReconfigureEvent<'limit' | 'minLimit' | 'maxLimit'>;

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
  /** Times the limit changed, by the algorithm or by {@link ConcurrencyLimiter.setLimit}/{@link ConcurrencyLimiter.setLimits}. */
  limitChanges: number;
  /** `setLimit()`/`setLimits()` calls that changed a setting (a call that changes nothing is not counted). Only grows. */
  adjustments: number;
  /** Clock time of the last limit change; undefined if it never changed. */
  lastLimitChangeAt: number | undefined;
  /** Only with the `partitions` option: each named partition. */
  partitions?: Record<string, ConcurrencyLimiterPartitionStats>;
  /** Only with the `partitions` option: calls made without a `partition`. */
  unpartitioned?: ConcurrencyLimiterPartitionStats;
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
  /** Partitioned limiters only: the caller's partition and its place in the arrival order. */
  part: Partition | undefined = undefined;
  seq = 0;
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
  /** The partition it counts against, for a partitioned limiter. */
  private readonly part: Partition | undefined;

  /** @internal */
  constructor(owner: ConcurrencyLimiter, startedAt: number, inflightAtStart: number, part?: Partition) {
    this.owner = owner;
    this.startedAt = startedAt;
    this.inflightAtStart = inflightAtStart;
    this.part = part;
  }

  /** The partition the permit was granted to; undefined for an unpartitioned call or limiter. */
  get partition(): string | undefined {
    return this.part?.name;
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
    owner[release](this, outcome, this.part);
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
 * With `partitions`, named classes of callers each get a guaranteed share of
 * the limit and may borrow idle permits (see the option, and
 * docs/priorities-limits.md).
 *
 * Adaptive limits stay within [minLimit, maxLimit], grow only while at least
 * half the limit was in use when the sampled call started, and move at most
 * once each way per round trip (a call admitted before the last change does
 * not move the limit again). Vegas and Gradient2 briefly lower the limit
 * every `probeMultiplier × limit` samples to re-measure the no-load RTT, up
 * to 8 times less often while the probes confirm it.
 *
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', maxLimit: 200 });
 * const body = await limiter.run(() => fetch(url).then((r) => r.text()));
 */
export class ConcurrencyLimiter {
  readonly algorithm: LimitAlgorithmName;
  private readonly sampling: boolean;
  readonly whenFull: ConcurrencyWhenFull;
  /** Most callers that may wait for a permit at once (`Infinity`: no bound). */
  readonly maxWaiting: number;
  readonly name: string;
  private lowBound: number;
  private highBound: number;
  private adjustmentCount = 0;
  private readonly reconfigureListeners = new Listeners<ConcurrencyLimiterReconfigureEvent>();

  private readonly strategy: LimitAlgorithm;
  private readonly clock: Clock;
  private readonly isDropped: ((error: unknown) => boolean) | undefined;
  private readonly waiters = new Fifo<AcquireWaiter>();
  /** Reused for every release, so sampling allocates nothing. */
  private readonly sample: LimitSample = { startedAt: 0, rttMs: 0, inflight: 0, dropped: false };
  private current: number;
  private inflightCount = 0;
  /** With `partitions`: the named ones in the order given, then the unpartitioned remainder. */
  private readonly parts: Partition[] | undefined;
  private readonly partByName: Map<string, Partition> | undefined;
  private readonly rest: Partition | undefined;
  /** Callers queued in all partitions. */
  private partWaiting = 0;
  /** Arrival order of partitioned waiters, so borrowing follows first come, first served across partitions. */
  private seq = 0;

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
    this.maxWaiting = o.maxWaiting;
    this.lowBound = o.minLimit;
    this.highBound = o.maxLimit;
    this.name = o.name;
    this.clock = o.clock;
    this.isDropped = o.isDropped;
    this.strategy = createAlgorithm(o);
    this.current = this.lowest = this.highest = this.strategy.limit;
    if (o.partitions !== undefined) {
      this.partByName = new Map();
      this.parts = [];
      let sum = 0;
      for (const [name, share] of o.partitions) {
        const part = new Partition(name, share);
        this.partByName.set(name, part);
        this.parts.push(part);
        sum += share;
      }
      const remainder = 1 - sum;
      this.rest = new Partition(undefined, remainder < 1e-9 ? 0 : remainder);
      this.parts.push(this.rest);
      for (const part of this.parts) part.setLimit(this.current);
    }
  }

  /** The partition names given in the `partitions` option, in order (empty without it). */
  get partitionNames(): string[] {
    return this.partByName === undefined ? [] : [...this.partByName.keys()];
  }

  /** Calls allowed to run at once right now. */
  get limit(): number {
    return this.current;
  }

  /** Lowest the limit may be; change it with {@link setLimits}. */
  get minLimit(): number {
    return this.lowBound;
  }

  /** Highest the limit may be; change it with {@link setLimits}. */
  get maxLimit(): number {
    return this.highBound;
  }

  /**
   * Sets the limit of a `'fixed'` limiter from now on. The value is checked
   * like the `initialLimit` option: an integer within [minLimit, maxLimit]
   * (move those with {@link setLimits}); a bad value throws and changes
   * nothing. A raised limit admits waiting callers at once, first come, first
   * served; a lowered one lets the calls in flight finish and admits nobody
   * until fewer than the new limit run. Partition guarantees follow the new
   * limit. A change counts in `stats().adjustments` and `stats().limitChanges`
   * and is reported to {@link onReconfigure} listeners; setting the current
   * limit does nothing.
   *
   * Adaptive limiters set their own limit: on them this throws; bound it with
   * {@link setLimits} instead (`setLimits({ min: n, max: n })` pins it at `n`).
   * @throws InvalidOptionError (field `limit`) for a value that is not an integer within [minLimit, maxLimit].
   * @throws InvalidArgumentError on an adaptive limiter.
   * @example
   * const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 8 });
   * limiter.setLimit(16); // up to 16 waiting callers are admitted now
   */
  setLimit(limit: number): void {
    if (this.algorithm !== 'fixed') {
      throw new InvalidArgumentError(
        `setLimit(limit): the '${this.algorithm}' algorithm sets its own limit; bound it with setLimits({ min, max }) instead`,
      );
    }
    const next = v.requiredInteger('limit', limit, { min: this.lowBound, max: this.highBound });
    const previous = this.current;
    if (next === previous) return;
    (this.strategy as FixedLimit).limit = next;
    this.adjustmentCount++;
    this.changeLimit(next, this.clock.now());
    if (next > previous && (this.waiters.size !== 0 || this.partWaiting !== 0)) this.admitWaiters();
    this.reconfigureListeners.emit({ setting: 'limit', previous, value: next });
  }

  /**
   * Moves the bounds the limit stays within, for any algorithm: an adaptive
   * limit adapts within [min, max] from now on, and a `'fixed'` limit may be
   * set within them. Each bound is checked like its option (`minLimit`,
   * `maxLimit`: integers >= 1, min <= max); an omitted one keeps its value; a
   * bad value throws and changes nothing. A limit outside the new bounds is
   * moved to the nearest one at once (raised: waiting callers are admitted;
   * lowered: calls in flight finish, nobody is admitted until fewer than the
   * new limit run). A call that changes anything counts once in
   * `stats().adjustments` (and in `limitChanges` when the limit moved), and
   * each changed setting is reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `minLimit` or `maxLimit` for a bad bound, or `limits` when the argument is not an object.
   * @example
   * const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', maxLimit: 200 });
   * limiter.setLimits({ max: 50 }); // the downstream is struggling: adapt within [1, 50]
   * limiter.setLimits({ min: 10, max: 10 }); // pin the limit at 10
   */
  setLimits(limits: { min?: number; max?: number }): void {
    if (limits === null || typeof limits !== 'object') throw new InvalidOptionError('limits', limits, 'an object { min?, max? }');
    for (const key of Object.keys(limits)) {
      if (key !== 'min' && key !== 'max') throw v.unknownOptionError('setLimits()', key, (limits as Record<string, unknown>)[key], ['min', 'max']);
    }
    const min = v.integer('minLimit', limits.min, this.lowBound, { min: 1 });
    const max = v.integer('maxLimit', limits.max, this.highBound, { min: 1 });
    if (min > max) throw new InvalidOptionError(limits.min === undefined ? 'maxLimit' : 'minLimit', limits.min === undefined ? max : min, limits.min === undefined ? `an integer >= minLimit (${min})` : `an integer <= maxLimit (${max})`);
    const events: ConcurrencyLimiterReconfigureEvent[] = [];
    if (min !== this.lowBound) events.push({ setting: 'minLimit', previous: this.lowBound, value: min });
    if (max !== this.highBound) events.push({ setting: 'maxLimit', previous: this.highBound, value: max });
    if (events.length === 0) return;
    this.lowBound = min;
    this.highBound = max;
    this.adjustmentCount++;
    const previous = this.current;
    const next = this.strategy.setBounds(min, max);
    if (next !== previous) {
      this.changeLimit(next, this.clock.now());
      if (next > previous && (this.waiters.size !== 0 || this.partWaiting !== 0)) this.admitWaiters();
      events.push({ setting: 'limit', previous, value: next });
    }
    this.reconfigureListeners.emit(...events);
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link setLimit} or
   * {@link setLimits} (not for the algorithm's own moves: see
   * `stats().limitChanges`). Listeners run synchronously once the change is in
   * effect; one that throws does not stop the others (its error surfaces as an
   * uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 8 });
   * const off = limiter.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * limiter.setLimit(4); // logs "limit: 8 -> 4"
   * off();
   */
  onReconfigure(listener: (event: ConcurrencyLimiterReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /** Permits granted and not yet released. */
  get inflight(): number {
    return this.inflightCount;
  }

  /** Callers queued for a permit. */
  get waiting(): number {
    return this.parts === undefined ? this.waiters.size : this.partWaiting;
  }

  /**
   * Takes a permit if one is free and nobody is queued ahead; never waits.
   * With `partitions`, "free" means: the limiter is below its limit, or the
   * caller's partition holds fewer permits than its guaranteed share.
   * @returns the permit, or undefined (counted in `rejected`).
   * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) for bad
   *   options or a `partition` the limiter does not have, naming the allowed ones.
   * @example
   * const permit = limiter.tryAcquire({ partition: 'batch' });
   * if (permit === undefined) log.warn('busy: try later');
   * else permit.success();
   */
  tryAcquire(options?: ConcurrencyLimiterTryAcquireOptions): Permit | undefined {
    let part: Partition | undefined;
    if (options !== undefined) {
      const invalid = acquireOptionsError(options, 'tryAcquire()', tryAcquireKeys);
      if (invalid !== undefined) throw invalid;
      const found = this.partitionFor(options.partition, 'tryAcquire()');
      if (found instanceof InvalidOptionError) throw found;
      part = found;
    }
    if (this.isClosed) throw new ClosedError('ConcurrencyLimiter is closed');
    if (this.parts !== undefined) {
      part ??= this.rest!;
      // No waiter is ever admissible (see admitPartitioned), so a caller that is has nobody ahead.
      if (this.inflightCount < this.current || part.inflight < part.limit) return this.grant(part);
      part.rejected++;
    } else if (this.inflightCount < this.current && this.waiters.size === 0) {
      return this.grant();
    }
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
   *
   * With `partitions`, pass `{ partition }`: a partition holding fewer
   * permits than its guaranteed share is admitted at once even when the
   * limiter is full; one at or above its share is admitted only while the
   * limiter is below its limit, and otherwise waits or is rejected. An
   * unknown `partition` rejects with `ERR_SLUICE_INVALID_OPTION`.
   */
  acquire(options?: ConcurrencyLimiterAcquireOptions): Promise<Permit> {
    let signal: AbortSignal | undefined;
    let part: Partition | undefined;
    if (options !== undefined) {
      const invalid = acquireOptionsError(options, 'acquire()', acquireKeys);
      if (invalid !== undefined) return Promise.reject(invalid);
      const found = this.partitionFor(options.partition, 'acquire()');
      if (found instanceof InvalidOptionError) return Promise.reject(found);
      part = found;
      signal = options.signal;
    }
    if (this.parts !== undefined) part ??= this.rest!;
    if (signal?.aborted) {
      this.abortedCount++;
      if (part !== undefined) part.aborted++;
      return Promise.reject(signal.reason);
    }
    if (this.isClosed) return Promise.reject(new ClosedError('ConcurrencyLimiter is closed'));
    if (part !== undefined) {
      if (this.inflightCount < this.current || part.inflight < part.limit) return Promise.resolve(this.grant(part));
    } else if (this.inflightCount < this.current && this.waiters.size === 0) {
      return Promise.resolve(this.grant());
    }
    // The bulkhead: with whenFull 'wait', a queue already at maxWaiting refuses like 'reject'.
    if (this.whenFull === 'reject' || this.waiting >= this.maxWaiting) {
      this.rejectedCount++;
      const why = this.whenFull === 'reject' ? 'whenFull: reject' : `${this.waiting} waiting, maxWaiting ${this.maxWaiting}`;
      if (part !== undefined) {
        part.rejected++;
        return Promise.reject(
          new LimitExceededError(
            `Concurrency limit reached: ${this.inflightCount} of ${this.current} permits in use, partition ${part.name === undefined ? '(none)' : `"${part.name}"`} holds ${part.inflight} of its ${part.limit} (${why})`,
          ),
        );
      }
      return Promise.reject(
        new LimitExceededError(`Concurrency limit reached: ${this.inflightCount} of ${this.current} permits in use (${why})`),
      );
    }
    return this.enqueue(signal, part);
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
      waiting: this.waiting,
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
      adjustments: this.adjustmentCount,
      ...(this.parts === undefined ? undefined : this.partitionStats()),
    };
  }

  private partitionStats(): Pick<ConcurrencyLimiterStats, 'partitions' | 'unpartitioned'> {
    const partitions: Record<string, ConcurrencyLimiterPartitionStats> = {};
    for (const [name, part] of this.partByName!) partitions[name] = part.stats();
    return { partitions, unpartitioned: this.rest!.stats() };
  }

  /** @internal Called by {@link Permit} exactly once per permit. */
  [release](permit: Permit, outcome: Outcome, part: Partition | undefined): void {
    this.inflightCount--;
    if (part !== undefined) part.inflight--;
    if (outcome === IGNORED) {
      this.ignoredCount++;
    } else {
      if (outcome === SUCCESS) this.successCount++;
      else this.dropCount++;
      if (!this.sampling) {
        if (this.waiters.size !== 0 || this.partWaiting !== 0) this.admitWaiters();
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
    if (this.waiters.size !== 0 || this.partWaiting !== 0) this.admitWaiters();
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
    if (this.parts === undefined) return;
    for (const part of this.parts) {
      for (let w = part.waiters.shift(); w; w = part.waiters.shift()) {
        this.partWaiting--;
        unhook(w);
        w.resolve(new Rejection(new ClosedError('ConcurrencyLimiter closed while waiting for a permit')));
      }
    }
  }

  // ---- internals -------------------------------------------------------------

  private isClosed = false;

  private grant(part?: Partition): Permit {
    this.acquiredCount++;
    if (part !== undefined) {
      part.acquired++;
      part.inflight++;
    }
    // A fixed limit ignores samples, so its hot path skips both clock reads.
    return new Permit(this, this.sampling ? this.clock.now() : 0, ++this.inflightCount, part);
  }

  /**
   * The partition named by a call's `partition` option: undefined when none
   * was given, the error when the name is not one of the limiter's.
   */
  private partitionFor(name: string | undefined, where: string): Partition | InvalidOptionError | undefined {
    if (name === undefined) return undefined;
    const part = this.partByName?.get(name);
    if (part !== undefined) return part;
    const names = this.partitionNames;
    if (names.length === 0) {
      return new InvalidOptionError('partition', name, 'no value: this limiter was built without partitions', `in ${where}`);
    }
    return new InvalidOptionError('partition', name, `one of ${names.map((n) => `"${n}"`).join(', ')} (or none, for the unpartitioned remainder)`, `in ${where}`);
  }

  private enqueue(signal: AbortSignal | undefined, part: Partition | undefined): Promise<Permit> {
    const w = new AcquireWaiter();
    const pending = pendingResolveInto(w) as Promise<Permit>;
    if (signal) {
      w.hooks = new AbortHook(this, w, signal);
      signal.addEventListener('abort', w.hooks, ONCE);
    }
    if (part !== undefined) {
      w.part = part;
      w.seq = ++this.seq;
      part.waiters.push(w);
      this.partWaiting++;
    } else {
      this.waiters.push(w);
    }
    return pending;
  }

  /** @internal A queued caller's signal fired. */
  [waiterAborted](w: AcquireWaiter): void {
    const part = w.part;
    if (part !== undefined) {
      if (!part.waiters.remove(w)) return;
      this.partWaiting--;
      part.aborted++;
    } else if (!this.waiters.remove(w)) {
      return;
    }
    const reason = w.hooks!.signal.reason;
    unhook(w);
    this.abortedCount++;
    w.resolve(new Rejection(reason));
  }

  private admitWaiters(): void {
    if (this.parts !== undefined) {
      this.admitPartitioned(this.parts);
      return;
    }
    while (this.waiters.size !== 0 && this.inflightCount < this.current) {
      const w = this.waiters.shift()!;
      unhook(w);
      w.resolve(this.grant());
    }
  }

  /**
   * Admits, oldest first, every waiter that may go: any while the limiter is
   * below its limit, then only those whose partition is below its share.
   * Afterwards no waiter is admissible, which is what lets acquire() and
   * tryAcquire() skip looking at the queues.
   */
  private admitPartitioned(parts: Partition[]): void {
    for (;;) {
      const full = this.inflightCount >= this.current;
      let best: Partition | undefined;
      let bestSeq = Infinity;
      for (const part of parts) {
        const head = part.waiters.head;
        if (head === undefined || head.seq >= bestSeq || (full && part.inflight >= part.limit)) continue;
        best = part;
        bestSeq = head.seq;
      }
      if (best === undefined) return;
      const w = best.waiters.shift()!;
      this.partWaiting--;
      unhook(w);
      w.resolve(this.grant(best));
    }
  }

  private changeLimit(next: number, now: number): void {
    if (this.parts !== undefined) for (const part of this.parts) part.setLimit(next);
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
