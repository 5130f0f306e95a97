import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { describe } from '../../internal/describe.js';

export interface PollSizerOptions {
  /**
   * Most records one poll may fetch; also the answer before any history exists.
   * An integer >= 1.
   * @default 500
   * @example new PollSizer({ maxPollRecords: 100 })
   */
  maxPollRecords?: number;
  /**
   * Time the consumer has between polls before the broker considers it dead
   * (Kafka's `max.poll.interval.ms`). A finite number > 0.
   * @default 300000 (5 minutes)
   * @example new PollSizer({ maxPollIntervalMs: 60_000 })
   */
  maxPollIntervalMs?: number;
  /**
   * Fraction of the remaining interval a batch is sized to fill, leaving the
   * rest as margin for slow items. In (0, 1].
   * @default 0.8
   * @example new PollSizer({ safety: 0.5 })
   */
  safety?: number;
  /**
   * How many of the latest per-item processing times the average covers. An integer >= 1.
   * @default 100
   * @example new PollSizer({ window: 20 })
   */
  window?: number;
}

export interface PollSizerStats {
  /** Processing times in the window now (at most `window`). */
  samples: number;
  /** Mean of the processing times in the window; 0 before the first `record()`. */
  averageMsPerItem: number;
  /** `next()` calls so far. */
  polls: number;
  /** What the latest `next()` returned; 0 before the first call. */
  lastSize: number;
}

/**
 * Sizes each poll so the fetched records can be processed before the poll
 * interval runs out, from a moving average of per-item processing time.
 *
 * `next(msSinceLastPoll)` returns `maxPollRecords` while no time has been
 * recorded (or all recorded times are 0); otherwise
 * `floor((maxPollIntervalMs - msSinceLastPoll) / averageMsPerItem × safety)`,
 * clamped to [1, maxPollRecords]. At least one record is always fetched, so a
 * consumer past its interval still makes progress.
 *
 * @example
 * const sizer = new PollSizer({ maxPollIntervalMs: 60_000 });
 * const batch = await consumer.fetch(sizer.next(performance.now() - lastPoll));
 * for (const msg of batch) {
 *   const t0 = performance.now();
 *   await handle(msg);
 *   sizer.record(performance.now() - t0);
 * }
 */
export class PollSizer {
  readonly maxPollRecords: number;
  readonly maxPollIntervalMs: number;
  readonly safety: number;
  readonly window: number;
  private readonly times: Float64Array;
  private nextSlot = 0;
  private count = 0;
  private sum = 0;
  private pollCount = 0;
  private lastResult = 0;

  constructor(options?: PollSizerOptions) {
    const o = v.optionsObject(options, 'PollSizer', { maxPollRecords: true, maxPollIntervalMs: true, safety: true, window: true });
    this.maxPollRecords = v.integer('maxPollRecords', o.maxPollRecords, 500, { min: 1 });
    this.maxPollIntervalMs = v.number('maxPollIntervalMs', o.maxPollIntervalMs, 300_000, { min: 0, minExclusive: true });
    this.safety = v.number('safety', o.safety, 0.8, { min: 0, minExclusive: true, max: 1 });
    this.window = v.integer('window', o.window, 100, { min: 1 });
    this.times = new Float64Array(this.window);
  }

  /** Mean of the processing times in the window; 0 before the first `record()`. */
  get averageMsPerItem(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /**
   * Adds how long one item took to process. The oldest time leaves the
   * average once `window` times are held.
   * @throws InvalidArgumentError unless `msPerItem` is a finite number >= 0.
   */
  record(msPerItem: number): void {
    if (typeof msPerItem !== 'number' || !Number.isFinite(msPerItem) || msPerItem < 0) {
      throw new InvalidArgumentError(`record(msPerItem): expected a finite number >= 0, got ${describe(msPerItem)}`);
    }
    if (this.count === this.window) this.sum -= this.times[this.nextSlot]!;
    else this.count++;
    this.times[this.nextSlot] = msPerItem;
    this.sum += msPerItem;
    if (++this.nextSlot === this.window) {
      this.nextSlot = 0;
      // Re-add from scratch once per lap so rounding from the running sum cannot pile up.
      let exact = 0;
      for (let i = 0; i < this.count; i++) exact += this.times[i]!;
      this.sum = exact;
    }
  }

  /**
   * How many records to fetch now (see the class description for the formula).
   * @param msSinceLastPoll time already used of the current poll interval.
   * @throws InvalidArgumentError unless `msSinceLastPoll` is a finite number >= 0.
   */
  next(msSinceLastPoll = 0): number {
    if (typeof msSinceLastPoll !== 'number' || !Number.isFinite(msSinceLastPoll) || msSinceLastPoll < 0) {
      throw new InvalidArgumentError(`next(msSinceLastPoll): expected a finite number >= 0, got ${describe(msSinceLastPoll)}`);
    }
    this.pollCount++;
    const average = this.averageMsPerItem;
    let size = this.maxPollRecords;
    if (average > 0) {
      const fits = Math.floor(((this.maxPollIntervalMs - msSinceLastPoll) / average) * this.safety);
      size = fits < 1 ? 1 : fits > this.maxPollRecords ? this.maxPollRecords : fits;
    }
    this.lastResult = size;
    return size;
  }

  stats(): PollSizerStats {
    return {
      samples: this.count,
      averageMsPerItem: this.averageMsPerItem,
      polls: this.pollCount,
      lastSize: this.lastResult,
    };
  }
}
