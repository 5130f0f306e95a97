import { systemClock, type Clock } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { TokenBucket } from '../token-bucket/index.js';
import { describe } from '../../internal/describe.js';
import { Listeners } from '../../internal/listeners.js';
import type { ReconfigureEvent } from '../../internal/engine/options.js';

export interface AdaptiveRateOptions {
  /**
   * Latency the rate steers towards. Above `targetLatencyMs × 1.2` on average
   * the rate falls; below `targetLatencyMs × 0.8` it rises; in between it holds.
   * A finite number > 0.
   * @example new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 })
   */
  targetLatencyMs: number;
  /**
   * Lowest rate (items/s) the adaptation may reach. A finite number > 0.
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500 })
   */
  minRate: number;
  /**
   * Highest rate (items/s) the adaptation may reach. A finite number >= minRate.
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500 })
   */
  maxRate: number;
  /**
   * Rate at the start, within [minRate, maxRate].
   * @default (minRate + maxRate) / 2
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500, initialRate: 50 })
   */
  initialRate?: number;
  /**
   * Factor applied to the rate by a `record()` that finds latency low. A finite number > 1.
   * @default 1.1
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500, increase: 1.05 })
   */
  increase?: number;
  /**
   * Factor applied to the rate by a `record()` that finds latency high. Strictly between 0 and 1.
   * @default 0.9
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500, decrease: 0.5 })
   */
  decrease?: number;
  /**
   * How many of the latest latencies the average covers. No adjustment happens
   * until at least half of them (rounded up) have been recorded. An integer >= 1.
   * @default 10
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500, window: 50 })
   */
  window?: number;
  /**
   * Most items that may pass back to back after a quiet period (the burst of
   * the internal token bucket). The default is 10 ms worth of `maxRate`, so
   * system-clock timers (about 1 ms resolution) do not cap high rates; set 1
   * for strict one-by-one pacing at low rates. A finite number >= 1.
   * @default Math.max(1, maxRate / 100)
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 1, maxRate: 20, burst: 1 })
   */
  burst?: number;
  /**
   * Adjust the rate at most once per this many ms, from the mean of the
   * latencies recorded during the interval, instead of on every `record()`.
   * The interval closes on the first `record()` after it ends (there is no
   * timer: with no traffic there is nothing to adjust); that interval's mean
   * then enters the window as one sample, so `window` counts intervals. A
   * finite number > 0. The config file's `adaptive.adjustment_interval`.
   * @default undefined (every record() is a sample and may adjust)
   * @example new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, adjustmentIntervalMs: 10_000 })
   */
  adjustmentIntervalMs?: number;
  /**
   * Time source for pacing and `adjustmentIntervalMs`.
   * @default systemClock
   * @example new AdaptiveRate({ targetLatencyMs: 50, minRate: 5, maxRate: 500, clock: new VirtualClock() })
   */
  clock?: Clock;
}

export interface AdaptiveRateAcquireOptions {
  /** Aborting while waiting rejects with `signal.reason` and takes nothing. */
  signal?: AbortSignal;
}

export interface AdaptiveRateStats {
  /** Current rate, items/s. */
  rate: number;
  /** `record()` calls that raised the rate. */
  adjustmentsUp: number;
  /** `record()` calls that lowered the rate. */
  adjustmentsDown: number;
  /** Mean of the latencies in the window; 0 before the first `record()`. */
  averageLatencyMs: number;
  /** Latencies in the window now (at most `window`). */
  samples: number;
  /** Items let through by `acquire()`/`tryAcquire()`. */
  acquired: number;
  /** `acquire()` calls waiting now. */
  waiting: number;
  /** `tryAcquire()` calls that returned false. */
  rejected: number;
  /**
   * `setRate()`/`setRateBounds()` calls that changed a setting (the
   * adaptation's own moves are `adjustmentsUp`/`adjustmentsDown`; `setRateCap()`
   * is not counted). Only grows.
   */
  adjustments: number;
}

/**
 * What {@link AdaptiveRate.onReconfigure} listeners receive, once per setting
 * a `setRate()`/`setRateBounds()` call changed: the setting, its value before
 * and its value now. A `setRateBounds()` that pushes the rate into the new
 * bounds reports the bounds and then `rate`.
 */
export type AdaptiveRateReconfigureEvent = ReconfigureEvent<'rate' | 'minRate' | 'maxRate'>;

/**
 * A rate limiter that tunes its own rate from observed latency: record how
 * long each item took downstream, and the pace slows while latency is above
 * target and speeds up again once it falls below.
 *
 * Every `record()` averages the last `window` latencies (once at least half
 * the window is filled): an average above `targetLatencyMs × 1.2` multiplies
 * the rate by `decrease` (not below `minRate`), one below `targetLatencyMs × 0.8`
 * multiplies it by `increase` (not above `maxRate`). The new rate applies to
 * pacing at once. With `adjustmentIntervalMs`, each interval's mean latency
 * is one sample instead, so the rate changes at most once per interval.
 *
 * @example
 * const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 });
 * await limiter.acquire();
 * const started = performance.now();
 * await write(item);
 * limiter.record(performance.now() - started);
 */
export class AdaptiveRate {
  readonly targetLatencyMs: number;
  readonly increase: number;
  readonly decrease: number;
  readonly window: number;
  /** See {@link AdaptiveRateOptions.adjustmentIntervalMs}. */
  readonly adjustmentIntervalMs: number | undefined;
  private readonly clock: Clock;
  private intervalStart: number | undefined;
  private intervalSum = 0;
  private intervalCount = 0;
  private readonly bucket: TokenBucket;
  private currentRate: number;
  private readonly latencies: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private readonly highMs: number;
  private readonly lowMs: number;
  private readonly minSamples: number;
  private upCount = 0;
  private downCount = 0;
  private cap = Infinity;
  private lowRate: number;
  private highRate: number;
  private adjustmentCount = 0;
  private readonly reconfigureListeners = new Listeners<AdaptiveRateReconfigureEvent>();

  constructor(options: AdaptiveRateOptions) {
    const o = v.optionsObject(options, 'AdaptiveRate', {
      targetLatencyMs: true, minRate: true, maxRate: true, initialRate: true, increase: true, decrease: true,
      window: true, burst: true, adjustmentIntervalMs: true, clock: true,
    });
    this.targetLatencyMs = v.requiredNumber('targetLatencyMs', o.targetLatencyMs, { min: 0, minExclusive: true });
    this.lowRate = v.requiredNumber('minRate', o.minRate, { min: 0, minExclusive: true });
    this.highRate = v.requiredNumber('maxRate', o.maxRate, { min: 0, minExclusive: true });
    if (this.lowRate > this.highRate) {
      throw new InvalidOptionError('minRate', this.lowRate, `a number <= maxRate (${this.highRate})`);
    }
    this.currentRate = v.number('initialRate', o.initialRate, (this.lowRate + this.highRate) / 2, { min: this.lowRate, max: this.highRate });
    this.increase = v.number('increase', o.increase, 1.1, { min: 1, minExclusive: true });
    this.decrease = v.number('decrease', o.decrease, 0.9, { min: 0, minExclusive: true });
    if (this.decrease >= 1) throw new InvalidOptionError('decrease', this.decrease, 'a finite number > 0 and < 1');
    this.window = v.integer('window', o.window, 10, { min: 1 });
    const burst = v.number('burst', o.burst, Math.max(1, this.highRate / 100), { min: 1 });
    this.adjustmentIntervalMs = v.optionalNumber('adjustmentIntervalMs', o.adjustmentIntervalMs, { min: 0, minExclusive: true });
    const clock = resolveClock('clock', o.clock, systemClock);
    this.clock = clock;
    this.latencies = new Float64Array(this.window);
    this.highMs = this.targetLatencyMs * 1.2;
    this.lowMs = this.targetLatencyMs * 0.8;
    this.minSamples = Math.ceil(this.window / 2);
    this.bucket = new TokenBucket({ ratePerSecond: this.currentRate, burst, clock });
  }

  /** Current rate, items/s. */
  get rate(): number {
    return this.currentRate;
  }

  /** Lowest rate the adaptation may reach; change it with {@link setRateBounds}. */
  get minRate(): number {
    return this.lowRate;
  }

  /** Highest rate the adaptation may reach; change it with {@link setRateBounds}. */
  get maxRate(): number {
    return this.highRate;
  }

  /**
   * Sets the current rate from now on; the adaptation goes on from it (the
   * latency window is kept). Checked like the `initialRate` option: a finite
   * number within [minRate, maxRate] (move those with {@link setRateBounds});
   * a bad value throws and changes nothing. Pacing follows at once (under any
   * {@link setRateCap} cap): the head waiter's wake-up is re-timed, so a
   * raised rate admits waiters sooner and a lowered one later. A change counts
   * in `stats().adjustments` and is reported to {@link onReconfigure}
   * listeners; setting the current rate does nothing.
   * @throws InvalidOptionError (field `rate`) for a value outside [minRate, maxRate] or not a finite number.
   * @example
   * const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 });
   * limiter.setRate(50); // start again from 50 items/s after an incident
   */
  setRate(rate: number): void {
    const next = v.requiredNumber('rate', rate, { min: this.lowRate, max: this.highRate });
    const previous = this.currentRate;
    if (next === previous) return;
    this.currentRate = next;
    this.adjustmentCount++;
    this.applyPace(previous);
    this.reconfigureListeners.emit({ setting: 'rate', previous, value: next });
  }

  /**
   * Moves the range the adaptation keeps the rate in. Each bound is checked
   * like its option (`minRate`, `maxRate`: finite numbers > 0, min <= max); an
   * omitted one keeps its value; a bad value throws and changes nothing. A
   * current rate outside the new range moves to the nearest bound at once and
   * pacing follows (waiters re-timed). The burst stays as built (its default
   * was computed from the `maxRate` given to the constructor). A call that
   * changes anything counts once in `stats().adjustments`, and each changed
   * setting is reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `minRate` or `maxRate` for a bad bound, or `bounds` when the argument is not an object.
   * @example
   * const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 });
   * limiter.setRateBounds({ max: 200 }); // never above 200 items/s until raised again
   */
  setRateBounds(bounds: { min?: number; max?: number }): void {
    if (bounds === null || typeof bounds !== 'object') throw new InvalidOptionError('bounds', bounds, 'an object { min?, max? }');
    for (const key of Object.keys(bounds)) {
      if (key !== 'min' && key !== 'max') throw v.unknownOptionError('setRateBounds()', key, (bounds as Record<string, unknown>)[key], ['min', 'max']);
    }
    const min = v.number('minRate', bounds.min, this.lowRate, { min: 0, minExclusive: true });
    const max = v.number('maxRate', bounds.max, this.highRate, { min: 0, minExclusive: true });
    if (min > max) {
      if (bounds.min === undefined) throw new InvalidOptionError('maxRate', max, `a number >= minRate (${min})`);
      throw new InvalidOptionError('minRate', min, `a number <= maxRate (${max})`);
    }
    const events: AdaptiveRateReconfigureEvent[] = [];
    if (min !== this.lowRate) events.push({ setting: 'minRate', previous: this.lowRate, value: min });
    if (max !== this.highRate) events.push({ setting: 'maxRate', previous: this.highRate, value: max });
    if (events.length === 0) return;
    this.lowRate = min;
    this.highRate = max;
    this.adjustmentCount++;
    const previous = this.currentRate;
    const next = Math.min(max, Math.max(min, previous));
    if (next !== previous) {
      this.currentRate = next;
      this.applyPace(previous);
      events.push({ setting: 'rate', previous, value: next });
    }
    this.reconfigureListeners.emit(...events);
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link setRate} or
   * {@link setRateBounds} (not for the adaptation's own moves, nor for
   * {@link setRateCap}). Listeners run synchronously once the change is in
   * effect; one that throws does not stop the others (its error surfaces as an
   * uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 });
   * const off = limiter.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * limiter.setRate(100); // logs "rate: 505 -> 100"
   * off();
   */
  onReconfigure(listener: (event: AdaptiveRateReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /** Hands the pace `min(rate, cap)` to the bucket when it differs from the one for `previousRate`. */
  private applyPace(previousRate: number): void {
    const pace = Math.min(this.currentRate, this.cap);
    if (pace !== Math.min(previousRate, this.cap)) this.bucket.setRate(pace);
  }

  /** Mean of the latencies in the window; 0 before the first `record()`. */
  get averageLatencyMs(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /**
   * Adds one observed latency and, once half the window is filled, adjusts
   * the rate from the window's average (see the class description). With
   * `adjustmentIntervalMs`, latencies are collected instead, and the first
   * `record()` after the interval ends adds their mean as one sample (and may
   * adjust) before starting the next interval with its own latency.
   * @throws InvalidArgumentError unless `latencyMs` is a finite number >= 0.
   */
  record(latencyMs: number): void {
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new InvalidArgumentError(`record(latencyMs): expected a finite number >= 0, got ${describe(latencyMs)}`);
    }
    const interval = this.adjustmentIntervalMs;
    if (interval === undefined) return this.addSample(latencyMs);
    const now = this.clock.now();
    if (this.intervalStart === undefined) this.intervalStart = now;
    else if (now - this.intervalStart >= interval) {
      this.addSample(this.intervalSum / this.intervalCount);
      this.intervalSum = 0;
      this.intervalCount = 0;
      this.intervalStart = now;
    }
    this.intervalSum += latencyMs;
    this.intervalCount++;
  }

  private addSample(latencyMs: number): void {
    if (this.count === this.window) this.sum -= this.latencies[this.next]!;
    else this.count++;
    this.latencies[this.next] = latencyMs;
    this.sum += latencyMs;
    if (++this.next === this.window) {
      this.next = 0;
      // Re-add from scratch once per lap so rounding from the running sum cannot pile up.
      let exact = 0;
      for (let i = 0; i < this.count; i++) exact += this.latencies[i]!;
      this.sum = exact;
    }
    if (this.count < this.minSamples) return;
    const average = this.sum / this.count;
    if (average > this.highMs) this.adapt(Math.max(this.lowRate, this.currentRate * this.decrease), false);
    else if (average < this.lowMs) this.adapt(Math.min(this.highRate, this.currentRate * this.increase), true);
  }

  /**
   * Caps the pace from outside, on top of the latency adaptation: items pass
   * at `min(rate, cap)` per second while the adaptation goes on within
   * [minRate, maxRate] as before (`rate` and `stats().rate` still report the
   * adapted rate). For a `governor()` that slows this limiter under a pressure
   * the latency does not show. `Infinity` lifts the cap. Waiters' wake-ups are
   * re-timed for the new pace at once.
   * @throws InvalidArgumentError unless `ratePerSecond` is a number > 0 (Infinity allowed).
   * @example
   * const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000 });
   * limiter.setRateCap(50); // at most 50 items/s, whatever the latency says
   * limiter.setRateCap(Infinity); // the adaptation alone again
   */
  setRateCap(ratePerSecond: number): void {
    if (typeof ratePerSecond !== 'number' || Number.isNaN(ratePerSecond) || ratePerSecond <= 0) {
      throw new InvalidArgumentError(`setRateCap(ratePerSecond): expected a number > 0 (Infinity for no cap), got ${describe(ratePerSecond)}`);
    }
    const before = Math.min(this.currentRate, this.cap);
    this.cap = ratePerSecond;
    const pace = Math.min(this.currentRate, ratePerSecond);
    if (pace !== before) this.bucket.setRate(pace);
  }

  /**
   * Lets one item through if the current pace allows it now and nobody is waiting; never waits.
   * @throws ClosedError after {@link close}.
   */
  tryAcquire(): boolean {
    return this.bucket.tryAcquire(1);
  }

  /**
   * Waits until the current pace lets one more item through. Waiters are
   * served in order; a rate change re-times the wait of the one at the head.
   * Rejects with ClosedError after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even when the pace allows an item now. Options
   * of the wrong type or with an unknown key reject with
   * `ERR_SLUICE_INVALID_OPTION`. If `signal` fires while waiting, the call
   * leaves the queue, takes nothing and rejects with `signal.reason`; the
   * others keep their places. An abort after the promise resolved changes nothing.
   */
  acquire(options?: AdaptiveRateAcquireOptions): Promise<void> {
    return this.bucket.acquire(1, options);
  }

  /** Rejects every waiting `acquire()` with ClosedError and refuses new calls. Idempotent. */
  close(): void {
    this.bucket.close();
  }

  stats(): AdaptiveRateStats {
    const b = this.bucket.stats();
    return {
      rate: this.currentRate,
      adjustmentsUp: this.upCount,
      adjustmentsDown: this.downCount,
      averageLatencyMs: this.averageLatencyMs,
      samples: this.count,
      acquired: b.acquired,
      waiting: b.waiting,
      rejected: b.rejected,
      adjustments: this.adjustmentCount,
    };
  }

  private adapt(rate: number, up: boolean): void {
    if (rate === this.currentRate) return;
    this.currentRate = rate;
    if (up) this.upCount++;
    else this.downCount++;
    this.bucket.setRate(Math.min(rate, this.cap));
  }
}
