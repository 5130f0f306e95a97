import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import { resolvePressure } from '../../internal/pressure.js';
import { governedSetRate, type GovernedRateSettable } from '../../internal/governed-rate.js';
import { InvalidOptionError } from '../errors/index.js';
import { throttleFactor } from './levels.js';
import type { Pressure, PressureLike } from './sources.js';

/** A limiter whose rate can be set: `TokenBucket`, `sluice/redis` `RedisTokenBucket`, or anything with `setRate()`. */
export interface RateSettable {
  setRate(ratePerSecond: number): void;
}

/** A limiter whose own rate adapts and can be capped from outside: `AdaptiveRate`, or anything with `setRateCap()`. */
export interface RateCappable {
  setRateCap(ratePerSecond: number): void;
}

/** What a {@link governor} drives. When an object has both methods, `setRateCap()` is used. */
export type GovernedLimiter = RateSettable | RateCappable;

export interface GovernorOptions {
  /**
   * The pressure the rate follows: 1 = at the threshold. Read every `intervalMs`.
   * A `trend()` of the pressure makes the governor act before the threshold is reached.
   * @default none (required)
   * @example governor({ pressure: channelPressure(jobs), target: new TokenBucket({ ratePerSecond: 500 }), minRate: 10, maxRate: 500 })
   */
  pressure: PressureLike;
  /**
   * The limiter whose rate is set: a `TokenBucket` or `RedisTokenBucket`
   * (their rate, as `setRate()` sets it, but not counted in their
   * `stats().adjustments` nor reported to their `onReconfigure` listeners:
   * those are the operator's changes; this governor's `stats().adjustments`
   * counts its own), any object with `setRate()`, or an `AdaptiveRate`
   * (`setRateCap()`: its own latency adaptation goes on under the cap).
   * @default none (required)
   * @example governor({ pressure, target: new AdaptiveRate({ targetLatencyMs: 50, minRate: 10, maxRate: 500 }), minRate: 10, maxRate: 500 })
   */
  target: GovernedLimiter;
  /**
   * Lowest rate set, in items/s, however high the pressure. A finite number > 0.
   * @default none (required)
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500 })
   */
  minRate: number;
  /**
   * Rate set while the pressure is at most 1, in items/s. A finite number >= minRate.
   * @default none (required)
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500 })
   */
  maxRate: number;
  /**
   * How often the pressure is read and the rate adjusted, in milliseconds. The timer is unref'd.
   * @default 1000
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500, intervalMs: 250 })
   */
  intervalMs?: number;
  /**
   * Most the rate falls in one interval, as a factor: 0.5 lets it at most halve
   * per interval on its way down to the rate the pressure asks for. Strictly between 0 and 1.
   * @default 0.5
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500, decrease: 0.8 })
   */
  decrease?: number;
  /**
   * Most the rate rises in one interval, in items/s: the way back up is
   * additive, so a producer is let go gradually once the pressure falls. A finite number > 0.
   * @default (maxRate - minRate) / 10, or maxRate / 10 when they are equal
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500, increaseStep: 25 })
   */
  increaseStep?: number;
  /**
   * Time source for the adjustment timer.
   * @default systemClock
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500, clock }), minRate: 5, maxRate: 500, clock })
   */
  clock?: Clock;
  /**
   * Name shown in stats.
   * @default 'governor'
   * @example governor({ pressure, target: new TokenBucket({ ratePerSecond: 500 }), minRate: 5, maxRate: 500, name: 'ingest' })
   */
  name?: string;
}

export interface GovernorStats {
  name: string;
  /** Rate last set on the target, items/s. */
  rate: number;
  /** Pressure at the last adjustment (NaN before a good reading). */
  pressure: number;
  /** `throttleFactor(pressure)`: the share of `maxRate` the pressure asks for. */
  throttleFactor: number;
  /** `maxRate × throttleFactor`, within [minRate, maxRate]: where the rate is heading. */
  desiredRate: number;
  /** Times the rate on the target was changed (the initial setting included). */
  adjustments: number;
  decreases: number;
  increases: number;
  /** Adjustment intervals run. */
  ticks: number;
  /** Pressure reads that threw or gave no number, and target calls that threw; the rate was left as it was. */
  errors: number;
  /** The last such failure, as thrown; a read that gave no number is an `InvalidOptionError` (code `ERR_SLUICE_INVALID_OPTION`, field `pressure`). */
  lastError: unknown;
  closed: boolean;
}

// Changes smaller than this share of the rate are not worth a call (and keep a noisy pressure from nudging the rate every tick); the bounds are always reached exactly.
const DEAD_BAND = 0.01;

/**
 * Sets a limiter's rate from a pressure reading: the rate the pressure asks
 * for is `maxRate × throttleFactor(pressure)` (the factor {@link pressureLevels}
 * reports: 1 up to pressure 1, then halving for each further threshold's
 * worth), kept within [minRate, maxRate]. The governor applies it for you.
 *
 * When: the pressure is read at creation, which sets the target straight to the
 * rate it asks for, then every `intervalMs` (unref'd timer). Later changes are
 * smoothed: on the way down the rate falls at most by the factor `decrease` per
 * interval (multiplicative decrease), on the way up it rises at most
 * `increaseStep` per interval (additive increase), and changes under 1% of
 * the rate are skipped, so a noisy pressure does not make the rate flap.
 * A pressure that throws, or a target whose setter throws, is counted in
 * `stats().errors` and leaves the rate as it was; nothing is thrown.
 *
 * Across processes: give each producer's governor a pressure that reads the
 * shared figure (for example the highest reading of a `sluice/redis`
 * `PressureCoordinator`, kept current by its `onChange()`), and every
 * producer slows when a consumer group elsewhere falls behind.
 */
export class Governor {
  readonly name: string;
  readonly minRate: number;
  readonly maxRate: number;
  readonly intervalMs: number;
  readonly decrease: number;
  readonly increaseStep: number;
  private readonly pressure: Pressure;
  private readonly apply: (rate: number) => void;
  private readonly clock: Clock;
  private currentRate: number;
  private lastPressure = Number.NaN;
  private desired: number;
  private timer: TimerHandle | undefined;
  private isClosed = false;
  private readonly counters = { adjustments: 0, decreases: 0, increases: 0, ticks: 0, errors: 0 };
  private lastFailure: unknown = undefined;

  constructor(options: GovernorOptions) {
    const o = v.optionsObject(options, 'governor', {
      pressure: true, target: true, minRate: true, maxRate: true, intervalMs: true, decrease: true, increaseStep: true, clock: true, name: true,
    });
    if (o.pressure === undefined) throw new v.InvalidOptionError('pressure', o.pressure, 'a Pressure (an object with read()) or a function returning a number');
    this.pressure = resolvePressure('pressure', o.pressure);
    const target = o.target as Partial<RateSettable & RateCappable> | undefined;
    if (target !== null && typeof target === 'object' && typeof target.setRateCap === 'function') {
      this.apply = (rate) => target.setRateCap!(rate);
    } else if (target !== null && typeof target === 'object' && typeof (target as Partial<GovernedRateSettable>)[governedSetRate] === 'function') {
      // TokenBucket, RedisTokenBucket: the governor's moves are not operator adjustments (see governed-rate.ts).
      this.apply = (rate) => (target as GovernedRateSettable)[governedSetRate](rate);
    } else if (target !== null && typeof target === 'object' && typeof target.setRate === 'function') {
      this.apply = (rate) => target.setRate!(rate);
    } else {
      throw new v.InvalidOptionError('target', target, 'a limiter with setRate(ratePerSecond) (TokenBucket, RedisTokenBucket) or setRateCap(ratePerSecond) (AdaptiveRate)');
    }
    this.minRate = v.requiredNumber('minRate', o.minRate, { min: 0, minExclusive: true });
    this.maxRate = v.requiredNumber('maxRate', o.maxRate, { min: 0, minExclusive: true });
    if (this.minRate > this.maxRate) throw new v.InvalidOptionError('minRate', this.minRate, `a number <= maxRate (${this.maxRate})`);
    this.intervalMs = v.number('intervalMs', o.intervalMs, 1000, { min: 1 });
    this.decrease = v.number('decrease', o.decrease, 0.5, { min: 0, minExclusive: true });
    if (this.decrease >= 1) throw new v.InvalidOptionError('decrease', this.decrease, 'a finite number > 0 and < 1');
    const span = this.maxRate - this.minRate;
    this.increaseStep = v.number('increaseStep', o.increaseStep, (span > 0 ? span : this.maxRate) / 10, { min: 0, minExclusive: true });
    const clock = (o.clock ?? systemClock) as Clock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
      throw new v.InvalidOptionError('clock', o.clock, 'a Clock with now(), schedule() and cancel()');
    }
    this.clock = clock;
    const name = o.name ?? 'governor';
    if (typeof name !== 'string' || name.length === 0) throw new v.InvalidOptionError('name', o.name, 'a non-empty string');
    this.name = name;
    // First setting: straight to what the pressure asks for (maxRate when it cannot be read).
    this.currentRate = this.maxRate;
    this.desired = this.maxRate;
    const pressure = this.readPressure();
    if (pressure !== undefined) this.desired = this.desiredFor(pressure);
    this.set(this.desired, true);
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  }

  /** Rate last set on the target, items/s. */
  get rate(): number {
    return this.currentRate;
  }

  /**
   * Stops adjusting. The target keeps the last rate set (an `AdaptiveRate`
   * keeps its cap: `setRateCap(Infinity)` lifts it); neither the target nor
   * the pressure is closed, they are not the governor's. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  stats(): GovernorStats {
    const c = this.counters;
    return {
      name: this.name,
      rate: this.currentRate,
      pressure: this.lastPressure,
      throttleFactor: Number.isNaN(this.lastPressure) ? 1 : throttleFactor(this.lastPressure),
      desiredRate: this.desired,
      adjustments: c.adjustments,
      decreases: c.decreases,
      increases: c.increases,
      ticks: c.ticks,
      errors: c.errors,
      lastError: this.lastFailure,
      closed: this.isClosed,
    };
  }

  private desiredFor(pressure: number): number {
    const rate = this.maxRate * throttleFactor(pressure);
    return rate < this.minRate ? this.minRate : rate > this.maxRate ? this.maxRate : rate;
  }

  private readPressure(): number | undefined {
    let pressure: number;
    try {
      pressure = this.pressure.read();
    } catch (error) {
      this.fail(error);
      return undefined;
    }
    if (typeof pressure !== 'number' || Number.isNaN(pressure)) {
      // Coded like sizeOf's bad result: the option is fine, what it returned is not; the reading is quoted, not thrown.
      this.fail(new InvalidOptionError('pressure', pressure, 'a pressure whose read() returns a number (NaN is not one)', `governor "${this.name}"`));
      return undefined;
    }
    this.lastPressure = pressure;
    return pressure;
  }

  private fail(error: unknown): void {
    this.counters.errors++;
    this.lastFailure = error;
  }

  private set(rate: number, initial = false): void {
    const previous = this.currentRate;
    try {
      this.apply(rate);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.currentRate = rate;
    this.counters.adjustments++;
    if (initial) return;
    if (rate < previous) this.counters.decreases++;
    else this.counters.increases++;
  }

  private adjust(): void {
    const pressure = this.readPressure();
    if (pressure === undefined) return;
    const desired = this.desiredFor(pressure);
    this.desired = desired;
    const rate = this.currentRate;
    let next = rate;
    if (desired < rate) next = Math.max(desired, rate * this.decrease);
    else if (desired > rate) next = Math.min(desired, rate + this.increaseStep);
    if (next === rate) return;
    const atBound = next === this.minRate || next === this.maxRate;
    if (!atBound && Math.abs(next - rate) < rate * DEAD_BAND) return;
    this.set(next);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.isClosed) return;
    this.counters.ticks++;
    this.adjust();
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  };
}

/**
 * Builds a {@link Governor}: a producer's rate limiter slowed by a pressure,
 * and let go gradually once the pressure falls.
 *
 * @example
 * const jobs = new Channel<string>({ capacity: 1000, highWatermark: 0.8 });
 * const bucket = new TokenBucket({ ratePerSecond: 500 });
 * const filling = trend(channelPressure(jobs), { horizonMs: 5000 }); // act 5 s ahead
 * const gov = governor({ pressure: filling, target: bucket, minRate: 10, maxRate: 500 });
 * // The producer paces itself with `await bucket.acquire()`; the governor sets the pace.
 * console.log(gov.stats().rate); // 500 while the channel is below its high watermark
 * gov.close();
 * filling.close();
 */
export function governor(options: GovernorOptions): Governor {
  return new Governor(options);
}
