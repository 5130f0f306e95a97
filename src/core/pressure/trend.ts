import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import { describe } from '../../internal/describe.js';
import { resolvePressure } from '../../internal/pressure.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Pressure, PressureLike } from './sources.js';

export interface TrendOptions {
  /**
   * How far back the slope looks, in milliseconds. Longer windows ignore
   * short bursts and react later; shorter ones react sooner and see more noise.
   * Must hold at least two samples (`windowMs >= 2 × sampleEveryMs`) and at
   * most 100,000.
   * @default 10_000
   * @example trend(channelPressure(jobs), { windowMs: 30_000 })
   */
  windowMs?: number;
  /**
   * How often the source is sampled into the window, in milliseconds. The
   * timer is unref'd: it never keeps the process alive.
   * @default windowMs / 20 (500 with the default window)
   * @example trend(channelPressure(jobs), { windowMs: 10_000, sampleEveryMs: 250 })
   */
  sampleEveryMs?: number;
  /**
   * How far ahead `read()` looks, in milliseconds: it returns the reading
   * expected this long from now at the current slope (never less than the
   * current reading). 0 makes `read()` the current reading.
   * @default windowMs
   * @example trend(channelPressure(jobs), { horizonMs: 5_000 }) // act 5 s before the buffer is full
   */
  horizonMs?: number;
  /**
   * Time source for the sampling timer and the sample times.
   * @default systemClock
   * @example trend(() => queue.length / 1000, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name shown in stats.
   * @default 'trend:' + the source's name, or 'trend'
   * @example trend(channelPressure(jobs), { name: 'jobs-trend' })
   */
  name?: string;
}

/** Snapshot of a {@link Trend}. */
export interface TrendStats {
  name: string;
  /** The source's latest reading (from a sample or a `read()`); 0 before the first good one. */
  current: number;
  /** Change of the reading per second over the window (Theil–Sen estimate); 0 until the samples span half the window. */
  slope: number;
  /** Milliseconds until the reading reaches 1 at `slope`: 0 when already there, `Infinity` when flat or falling. */
  timeToThresholdMs: number;
  /** What `read()` returns now: `max(current, current + slope × horizonMs / 1000)`. */
  predicted: number;
  /** Samples taken since creation (failed reads not included). */
  samples: number;
  /** Samples in the window now (the ones the slope is computed from). */
  windowSamples: number;
  /** Reads of the source that threw or returned something other than a number (NaN included); the last good reading was kept. */
  errors: number;
  /** The last such failure, `undefined` before the first: what the source threw, as is, or an `InvalidArgumentError` (code `ERR_SLUICE_INVALID_ARGUMENT`) for a reading that was no number. */
  lastError: unknown;
  closed: boolean;
}

/** Most points of the window the slope is computed from: at most 32 × 31 / 2 = 496 pairs per sample. */
const MAX_POINTS = 32;
const MAX_WINDOW_SAMPLES = 100_000;

/**
 * A {@link Pressure} that reads ahead: it samples a source on a timer, fits
 * the slope of the readings over the last `windowMs`, and `read()` returns the
 * reading expected `horizonMs` from now, never less than the current one. Load
 * shedding or throttling fed by it starts while a buffer is still filling,
 * before it is full.
 *
 * When: the source is sampled at creation and every `sampleEveryMs` (unref'd
 * timer) into a fixed ring of samples, and the slope is recomputed after each
 * sample; it stays 0 until the samples span half the window, since a slope
 * from a few samples close together is mostly noise. `read()` reads the source live and adds `slope × horizonMs`; it
 * never throws: a source that throws (or returns no number) keeps the last good
 * reading and counts an error in `stats()`. An `Infinity` reading is passed
 * through but not put in the window.
 *
 * The trend does not own its source: `close()` stops the trend's own timer
 * and leaves the source open (close a probe you passed in yourself).
 */
export class Trend implements Pressure {
  readonly name: string;
  readonly windowMs: number;
  readonly sampleEveryMs: number;
  readonly horizonMs: number;
  private readonly source: Pressure;
  private readonly clock: Clock;
  // The ring: sample times and values, oldest at `head`.
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  // Scratch for the pairwise slopes, allocated once.
  private readonly slopes: Float64Array;
  private currentValue = 0;
  private slopePerMs = 0;
  private sampleCount = 0;
  private errorCount = 0;
  private lastFailure: unknown = undefined;
  private isClosed = false;
  private timer: TimerHandle | undefined;

  constructor(source: PressureLike, options?: TrendOptions) {
    this.source = resolvePressure('source', source);
    const o = v.optionsObject(options, 'trend', { windowMs: true, sampleEveryMs: true, horizonMs: true, clock: true, name: true });
    this.windowMs = v.number('windowMs', o.windowMs, 10_000, { min: 0, minExclusive: true });
    this.sampleEveryMs = v.number('sampleEveryMs', o.sampleEveryMs, this.windowMs / 20, { min: 0, minExclusive: true });
    if (this.windowMs < 2 * this.sampleEveryMs) {
      throw new v.InvalidOptionError('sampleEveryMs', this.sampleEveryMs, `a number <= windowMs / 2 (${this.windowMs / 2}), so the window holds at least two samples`);
    }
    const capacity = Math.floor(this.windowMs / this.sampleEveryMs) + 1;
    if (capacity > MAX_WINDOW_SAMPLES) {
      throw new v.InvalidOptionError('sampleEveryMs', this.sampleEveryMs, `a number >= windowMs / ${MAX_WINDOW_SAMPLES} (${this.windowMs / MAX_WINDOW_SAMPLES}), so the window holds at most ${MAX_WINDOW_SAMPLES} samples`);
    }
    this.horizonMs = v.number('horizonMs', o.horizonMs, this.windowMs, { min: 0 });
    const clock = (o.clock ?? systemClock) as Clock;
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
      throw new v.InvalidOptionError('clock', o.clock, 'a Clock with now(), schedule() and cancel()');
    }
    this.clock = clock;
    const fallbackName = typeof source !== 'function' && typeof this.source.name === 'string' && this.source.name.length > 0 ? `trend:${this.source.name}` : 'trend';
    const name = o.name ?? fallbackName;
    if (typeof name !== 'string' || name.length === 0) throw new v.InvalidOptionError('name', o.name, 'a non-empty string');
    this.name = name;
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    const points = Math.min(capacity, MAX_POINTS);
    this.slopes = new Float64Array((points * (points - 1)) / 2);
    this.sample();
    this.timer = this.clock.schedule(this.sampleEveryMs, this.tick, { unref: true });
  }

  /**
   * The reading expected `horizonMs` from now: `max(current, current + slope × horizonMs / 1000)`,
   * with `current` read from the source now. Never throws (see the class description).
   * After {@link close} it returns the current reading alone.
   */
  read(): number {
    const current = this.readSource();
    if (this.isClosed) return current;
    const ahead = current + this.slopePerMs * this.horizonMs;
    return ahead > current ? ahead : current;
  }

  /** Change of the reading per second over the window; 0 until the samples span half the window (warm-up). */
  get slope(): number {
    return this.slopePerMs * 1000;
  }

  /** Milliseconds until the latest reading reaches 1 at the current slope: 0 when it is there already, `Infinity` when flat or falling. */
  get timeToThresholdMs(): number {
    const current = this.currentValue;
    if (current >= 1) return 0;
    if (!(this.slopePerMs > 0)) return Infinity;
    return (1 - current) / this.slopePerMs;
  }

  /** Stops sampling. Leaves the source open: it is not the trend's (close it yourself if it needs it). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  stats(): TrendStats {
    const current = this.currentValue;
    const ahead = current + this.slopePerMs * this.horizonMs;
    return {
      name: this.name,
      current,
      slope: this.slope,
      timeToThresholdMs: this.timeToThresholdMs,
      predicted: this.isClosed || !(ahead > current) ? current : ahead,
      samples: this.sampleCount,
      windowSamples: this.count,
      errors: this.errorCount,
      lastError: this.lastFailure,
      closed: this.isClosed,
    };
  }

  /** The source's reading now, or the last good one when it fails. */
  private readSource(): number {
    let value: number;
    try {
      value = this.source.read();
    } catch (error) {
      this.errorCount++;
      this.lastFailure = error;
      return this.currentValue;
    }
    if (typeof value !== 'number' || Number.isNaN(value)) {
      this.errorCount++;
      // Coded: the source is trend()'s argument, and its reading is quoted briefly in the message.
      this.lastFailure = new InvalidArgumentError(`trend "${this.name}": source.read() returned ${describe(value)}; expected a number (NaN is not one)`);
      return this.currentValue;
    }
    this.currentValue = value;
    return value;
  }

  private sample(): void {
    const before = this.errorCount;
    const value = this.readSource();
    if (this.errorCount !== before || !Number.isFinite(value)) return;
    const capacity = this.times.length;
    const at = (this.head + this.count) % capacity;
    this.times[at] = this.clock.now();
    this.values[at] = value;
    if (this.count < capacity) this.count++;
    else this.head = (this.head + 1) % capacity;
    this.sampleCount++;
    this.slopePerMs = this.fitSlope();
  }

  /**
   * Theil–Sen: the median of the slopes between pairs of samples. Chosen over
   * least squares because a median ignores outliers without a tuning knob (up
   * to ~29% of the points may be wild before it moves), which least squares
   * with trimming needs a residual threshold for; and because its cost is
   * bounded here: at most {@link MAX_POINTS} samples, evenly spaced over the
   * window (oldest and newest included), so at most 496 pairs per sample,
   * whatever the window length. The pairs go into a scratch array allocated
   * once; the median is found in place (quickselect). Returns units per ms.
   */
  private fitSlope(): number {
    const n = this.count;
    if (n < 2) return 0;
    const capacity = this.times.length;
    // Warm-up: a slope from a few samples close together is mostly noise, so none until they span half the window.
    const newest = (this.head + n - 1) % capacity;
    if (this.times[newest]! - this.times[this.head]! < this.windowMs / 2) return 0;
    const points = n < MAX_POINTS ? n : MAX_POINTS;
    const slopes = this.slopes;
    let pairs = 0;
    for (let a = 0; a < points; a++) {
      const ia = (this.head + Math.round((a * (n - 1)) / (points - 1))) % capacity;
      const ta = this.times[ia]!;
      const va = this.values[ia]!;
      for (let b = a + 1; b < points; b++) {
        const ib = (this.head + Math.round((b * (n - 1)) / (points - 1))) % capacity;
        const dt = this.times[ib]! - ta;
        if (dt > 0) slopes[pairs++] = (this.values[ib]! - va) / dt;
      }
    }
    if (pairs === 0) return 0;
    return median(slopes, pairs);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.isClosed) return;
    this.sample();
    this.timer = this.clock.schedule(this.sampleEveryMs, this.tick, { unref: true });
  };
}

/** Median of `a[0..n)`, reordering it in place (quickselect, no allocation). */
function median(a: Float64Array, n: number): number {
  const k = n >> 1;
  const upper = select(a, n, k);
  if (n & 1) return upper;
  // Even count: the lower middle is the largest of the k values select() left before index k.
  let lower = a[0]!;
  for (let i = 1; i < k; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

/** Puts the k-th smallest of `a[0..n)` at index k, smaller ones before it, and returns it. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/**
 * Wraps a {@link Pressure} (or a `() => number`) so that it reads ahead:
 * `read()` returns the reading expected `horizonMs` from now at the slope seen
 * over the last `windowMs`, never less than the current reading. The result is
 * itself a Pressure, so `loadShed`, {@link pressureLevels} or a
 * `PressureCoordinator` can take it in place of the source. See {@link Trend}.
 *
 * @example
 * const jobs = new Channel<string>({ capacity: 1000, highWatermark: 0.8 });
 * const filling = trend(channelPressure(jobs), { windowMs: 10_000, horizonMs: 5_000 });
 * const { slope, timeToThresholdMs } = filling.stats();
 * console.log(`pressure rises ${slope}/s; at the threshold in ${timeToThresholdMs} ms`);
 * filling.close();
 */
export function trend(source: PressureLike, options?: TrendOptions): Trend {
  return new Trend(source, options);
}
