import { AdaptiveRate, type AdaptiveRateOptions } from '../adaptive-rate/index.js';
import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import { Credits, type CreditsAcquireOptions, type CreditsOptions } from '../credits/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../internal/validate.js';

// The seed template has two keys the core components express differently:
// flow_control.credit_timeout (Credits.acquire() takes an AbortSignal instead)
// and adaptive.adjustment_interval (AdaptiveRate adjusts on every record()).
// fromConfig() builds these subclasses when a file sets them, so the keys do
// what they say without widening the core classes.

export interface TimedCreditsOptions extends CreditsOptions {
  /**
   * Longest an `acquire()` waits for credits; then it rejects with a
   * `DOMException` named `TimeoutError` (as `AbortSignal.timeout()` does) and
   * takes nothing. The file's `flow_control.credit_timeout`.
   * @default undefined (waits until credits, abort or close)
   * @example new TimedCredits({ initial: 1000, acquireTimeoutMs: 30_000 })
   */
  acquireTimeoutMs?: number;
}

/** {@link Credits} whose `acquire()` gives up after `acquireTimeoutMs`. */
export class TimedCredits extends Credits {
  readonly acquireTimeoutMs: number | undefined;
  private readonly timers: Clock;

  constructor(options: TimedCreditsOptions) {
    const [acquireTimeoutMs, rest] = split(options, 'acquireTimeoutMs');
    super(rest);
    this.acquireTimeoutMs = v.optionalNumber('acquireTimeoutMs', acquireTimeoutMs, { min: 0, minExclusive: true });
    this.timers = options.clock ?? systemClock;
  }

  /**
   * As {@link Credits.acquire}, but a wait longer than `acquireTimeoutMs`
   * leaves the queue and rejects with a `TimeoutError` DOMException.
   */
  override acquire(n = 1, options?: CreditsAcquireOptions): Promise<void> {
    const timeoutMs = this.acquireTimeoutMs;
    // No timer when the call will not wait (or fail at once): the common case costs nothing.
    if (timeoutMs === undefined || this.closed || options?.signal?.aborted || (this.waiting === 0 && this.available >= n)) return super.acquire(n, options);
    const controller = new AbortController();
    const outer = options?.signal;
    const forward = () => controller.abort(outer!.reason);
    outer?.addEventListener('abort', forward, { once: true });
    const timer: TimerHandle = this.timers.schedule(timeoutMs, () => {
      controller.abort(new DOMException(`Credits.acquire(): no credits within ${timeoutMs} ms (credit_timeout)`, 'TimeoutError'));
    });
    const done = () => {
      this.timers.cancel(timer);
      outer?.removeEventListener('abort', forward);
    };
    return super.acquire(n, { signal: controller.signal }).then(done, (error: unknown) => {
      done();
      throw error;
    });
  }
}

export interface IntervalAdaptiveRateOptions extends AdaptiveRateOptions {
  /**
   * Adjust the rate at most once per this many ms, from the mean latency
   * recorded during the interval, instead of on every `record()`. `window`
   * then counts intervals. The file's `adaptive.adjustment_interval`.
   * @default undefined (adjusts on every record())
   * @example new IntervalAdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, adjustmentIntervalMs: 10_000 })
   */
  adjustmentIntervalMs?: number;
}

/**
 * {@link AdaptiveRate} that collects latencies for `adjustmentIntervalMs` and
 * then records their mean as one sample. The interval closes on the first
 * `record()` after it ends (no timer): with no traffic there is nothing to adjust.
 */
export class IntervalAdaptiveRate extends AdaptiveRate {
  readonly adjustmentIntervalMs: number | undefined;
  private readonly timeSource: Clock;
  private intervalStart: number | undefined;
  private intervalSum = 0;
  private intervalCount = 0;

  constructor(options: IntervalAdaptiveRateOptions) {
    const [adjustmentIntervalMs, rest] = split(options, 'adjustmentIntervalMs');
    super(rest);
    this.adjustmentIntervalMs = v.optionalNumber('adjustmentIntervalMs', adjustmentIntervalMs, { min: 0, minExclusive: true });
    this.timeSource = options.clock ?? systemClock;
  }

  override record(latencyMs: number): void {
    const interval = this.adjustmentIntervalMs;
    if (interval === undefined) return super.record(latencyMs);
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new InvalidArgumentError(`record(latencyMs): expected a finite number >= 0, got ${String(latencyMs)}`);
    }
    const now = this.timeSource.now();
    if (this.intervalStart === undefined) this.intervalStart = now;
    else if (now - this.intervalStart >= interval) {
      super.record(this.intervalSum / this.intervalCount);
      this.intervalSum = 0;
      this.intervalCount = 0;
      this.intervalStart = now;
    }
    this.intervalSum += latencyMs;
    this.intervalCount++;
  }
}

/** The subclass's own option, and the rest for the base constructor (which validates them, and refuses a non-object). */
function split<T extends object, K extends keyof T>(options: T, key: K): [T[K] | undefined, Omit<T, K>] {
  if (options === null || typeof options !== 'object') return [undefined, options];
  const { [key]: value, ...rest } = options;
  return [value, rest];
}
