import { systemClock, type Clock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';

/**
 * - `'closed'`: calls run; their outcomes fill the sliding window.
 * - `'open'`: calls are refused at once (`BreakerOpenError`) for `resetAfterMs`.
 * - `'half-open'`: up to `halfOpenProbes` calls run as probes; their outcomes close or re-open the breaker.
 */
export type CircuitBreakerState = 'closed' | 'open' | 'half-open';

/** How the breaker remembers recent calls. */
export type CircuitBreakerWindow = 'count' | 'time';

/** An outcome handed to `record()`. `'ignored'` frees a probe slot and counts as neither. */
export type CircuitBreakerOutcome = 'success' | 'failure' | 'ignored';

export interface CircuitBreakerOptions {
  /**
   * Share of failed calls in the window, from 0 (exclusive) to 1, at or above
   * which the breaker opens (once the window holds `minimumCalls`). 1 opens
   * only when every call in the window failed.
   * @default 0.5
   * @example new CircuitBreaker({ failureRateThreshold: 0.25 })
   */
  failureRateThreshold?: number;
  /**
   * A call that takes this many ms or longer is slow, whether it succeeded or
   * failed. Slow calls open the breaker through `slowCallRateThreshold`: a
   * downstream that answers, but too late, is treated as failing. A number > 0;
   * omitted, no call is slow.
   * @default undefined (slow calls not tracked)
   * @example new CircuitBreaker({ slowCallMs: 2_000, slowCallRateThreshold: 0.8 })
   */
  slowCallMs?: number;
  /**
   * Share of slow calls in the window, from 0 (exclusive) to 1, at or above
   * which the breaker opens. Only meaningful with `slowCallMs`.
   * @default 1
   * @example new CircuitBreaker({ slowCallMs: 500, slowCallRateThreshold: 0.5 })
   */
  slowCallRateThreshold?: number;
  /**
   * `'count'`: the window is the last `windowSize` calls. `'time'`: the calls
   * of the last `windowMs`, kept in `windowBuckets` buckets (a bucket leaves
   * the window whole, so the window spans between `windowMs - windowMs / windowBuckets`
   * and `windowMs`). Either way recording a call is O(1) and nothing runs while idle.
   * @default 'count'
   * @example new CircuitBreaker({ window: 'time', windowMs: 10_000, windowBuckets: 10 })
   */
  window?: CircuitBreakerWindow;
  /**
   * Calls in a `'count'` window. An integer from 1 to 100,000.
   * Only with `window: 'count'`.
   * @default 20
   * @example new CircuitBreaker({ windowSize: 50, minimumCalls: 20 })
   */
  windowSize?: number;
  /**
   * Length of a `'time'` window in ms, > 0. Only with `window: 'time'`.
   * @default 10000
   * @example new CircuitBreaker({ window: 'time', windowMs: 30_000 })
   */
  windowMs?: number;
  /**
   * Buckets a `'time'` window is split into; an integer from 1 to 1000.
   * Only with `window: 'time'`.
   * @default 10
   * @example new CircuitBreaker({ window: 'time', windowMs: 60_000, windowBuckets: 60 })
   */
  windowBuckets?: number;
  /**
   * Calls the window must hold before a rate can open the breaker, so that
   * one failure out of one call does not. An integer >= 1; with a `'count'`
   * window at most `windowSize`.
   * @default 10, or windowSize when that is smaller
   * @example new CircuitBreaker({ minimumCalls: 5 })
   */
  minimumCalls?: number;
  /**
   * How long the breaker stays open, from the outcome that opened it, before
   * it admits probes (half-open). A finite number > 0. The change is computed
   * from the clock when the breaker is next used (a call, `state`, `stats()`),
   * not by a timer, so its listeners hear of it then.
   * @default 30000
   * @example new CircuitBreaker({ resetAfterMs: 5_000 })
   */
  resetAfterMs?: number;
  /**
   * Calls admitted while half-open. The breaker closes once the probes'
   * failure and slow rates are certain to stay under the thresholds, and
   * re-opens once either is certain to reach its threshold (with one probe:
   * its outcome decides). Later calls are refused until then. An integer >= 1.
   * @default 1
   * @example new CircuitBreaker({ halfOpenProbes: 3 })
   */
  halfOpenProbes?: number;
  /**
   * Which errors thrown by `run()`'s function count as failures. Errors for
   * which it returns false count as successes (the downstream answered, e.g.
   * a 404 or a validation error); the error is still rethrown to the caller.
   * @default () => true (every error is a failure)
   * @example new CircuitBreaker({ isFailure: (e) => (e as { status?: number }).status !== 404 })
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Time source for the windows, call durations and the open period.
   * @default systemClock
   * @example new CircuitBreaker({ clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in error messages.
   * @default 'circuit-breaker'
   * @example new CircuitBreaker({ name: 'payments-api' })
   */
  name?: string;
}

/** @internal */
export interface ResolvedCircuitBreakerOptions {
  failureRateThreshold: number;
  slowCallMs: number;
  slowCallRateThreshold: number;
  window: CircuitBreakerWindow;
  windowSize: number;
  windowMs: number;
  windowBuckets: number;
  minimumCalls: number;
  resetAfterMs: number;
  halfOpenProbes: number;
  isFailure: ((error: unknown) => boolean) | undefined;
  clock: Clock;
  name: string;
}

const known: v.KnownKeys<CircuitBreakerOptions> = {
  failureRateThreshold: true, slowCallMs: true, slowCallRateThreshold: true, window: true, windowSize: true, windowMs: true,
  windowBuckets: true, minimumCalls: true, resetAfterMs: true, halfOpenProbes: true, isFailure: true, clock: true, name: true,
};

const windows: readonly CircuitBreakerWindow[] = ['count', 'time'];

/** @internal Validates and fills in defaults; throws InvalidOptionError naming the field. */
export function resolveCircuitBreakerOptions(options: CircuitBreakerOptions | undefined): ResolvedCircuitBreakerOptions {
  const o = v.optionsObject(options, 'CircuitBreaker', known);
  const rate = { min: 0, minExclusive: true, max: 1 };
  const window = v.oneOf('window', o.window, windows, 'count');
  if (window === 'count') {
    if (o.windowMs !== undefined) throw new InvalidOptionError('windowMs', o.windowMs, "undefined with window: 'count'", "set window: 'time' to use it");
    if (o.windowBuckets !== undefined) throw new InvalidOptionError('windowBuckets', o.windowBuckets, "undefined with window: 'count'", "set window: 'time' to use it");
  } else if (o.windowSize !== undefined) {
    throw new InvalidOptionError('windowSize', o.windowSize, "undefined with window: 'time'", 'a time window is sized by windowMs');
  }
  const windowSize = v.integer('windowSize', o.windowSize, 20, { min: 1, max: 100_000 });
  const windowMs = v.number('windowMs', o.windowMs, 10_000, { min: 0, minExclusive: true });
  const windowBuckets = v.integer('windowBuckets', o.windowBuckets, 10, { min: 1, max: 1000 });
  const minimumCalls =
    window === 'count'
      ? v.integer('minimumCalls', o.minimumCalls, Math.min(10, windowSize), { min: 1, max: windowSize })
      : v.integer('minimumCalls', o.minimumCalls, 10, { min: 1 });
  const slowCallMs = o.slowCallMs === undefined ? Infinity : v.requiredNumber('slowCallMs', o.slowCallMs, { min: 0, minExclusive: true });
  const name = o.name === undefined ? 'circuit-breaker' : o.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
  const clock = o.clock ?? systemClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') throw new InvalidOptionError('clock', clock, 'a Clock');
  return {
    failureRateThreshold: v.number('failureRateThreshold', o.failureRateThreshold, 0.5, rate),
    slowCallMs,
    slowCallRateThreshold: v.number('slowCallRateThreshold', o.slowCallRateThreshold, 1, rate),
    window,
    windowSize,
    windowMs,
    windowBuckets,
    minimumCalls,
    resetAfterMs: v.number('resetAfterMs', o.resetAfterMs, 30_000, { min: 0, minExclusive: true }),
    halfOpenProbes: v.integer('halfOpenProbes', o.halfOpenProbes, 1, { min: 1 }),
    isFailure: v.optionalFunction<(error: unknown) => boolean>('isFailure', o.isFailure),
    clock,
    name,
  };
}
