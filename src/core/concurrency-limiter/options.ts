import type { Clock } from '../clock/index.js';
import { systemClock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import type { AimdSettings } from './algorithms/aimd.js';
import type { Gradient2Settings } from './algorithms/gradient2.js';
import type { VegasSettings } from './algorithms/vegas.js';

/** How the limit moves. See {@link ConcurrencyLimiterBaseOptions.algorithm}. */
export type LimitAlgorithmName = 'fixed' | 'aimd' | 'vegas' | 'gradient2';
export const limitAlgorithms: readonly LimitAlgorithmName[] = ['fixed', 'aimd', 'vegas', 'gradient2'];

/** What `acquire()` does when every permit is in use. */
export type ConcurrencyWhenFull = 'reject' | 'wait';
export const whenFullModes: readonly ConcurrencyWhenFull[] = ['reject', 'wait'];

export interface ConcurrencyLimiterBaseOptions {
  /**
   * How the limit moves:
   * - `'fixed'`: never; a plain semaphore of `initialLimit` permits.
   * - `'aimd'`: +1 on a good sample, × `backoffRatio` on a drop or a call slower than `timeoutMs`.
   *   Does not measure the downstream: it settles where calls reach `timeoutMs`, so set that just
   *   above the no-load RTT (1.5×).
   * - `'vegas'`: once per round trip, estimates the queue it builds downstream from the mean RTT of
   *   `limit` calls against the no-load RTT (the median RTT of a probe); grows while that queue is
   *   short, shrinks when it is long. Keeps the mean RTT within 1.5× the no-load RTT: settles a few
   *   permits above the downstream's concurrency.
   * - `'gradient2'`: once per round trip, shrinks by tolerance × no-load RTT / mean RTT; grows by
   *   `queueSize` while the mean RTT is within tolerance. Settles near tolerance × the downstream's
   *   concurrency: more queueing (and latency) than Vegas.
   *
   * Adaptive limits change when a permit is released with `success()` or
   * `dropped()`, never on a timer; `ignore()` leaves them alone. A change
   * happens at most once each way per round trip: a call admitted before the
   * last change does not move the limit again.
   * @default 'fixed'
   * @example new ConcurrencyLimiter({ algorithm: 'vegas', maxLimit: 200 })
   */
  algorithm?: LimitAlgorithmName;
  /**
   * The limit at construction. Must lie within [minLimit, maxLimit].
   * @default 20, clamped into [minLimit, maxLimit]
   * @example new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 8 })
   */
  initialLimit?: number;
  /**
   * The lowest an adaptive limit may go. Keeps a few calls flowing, so the
   * limiter can still see the downstream recover.
   * @default 1
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', minLimit: 4 })
   */
  minLimit?: number;
  /**
   * The highest an adaptive limit may go.
   * @default 1000
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', maxLimit: 200 })
   */
  maxLimit?: number;
  /**
   * What `acquire()` and `run()` do when every permit is in use:
   * - `'wait'`: queue, first come first served, until a permit is released or the limit grows
   *   (no timeout of its own: pass a `signal` to give up);
   * - `'reject'`: reject at once with `LimitExceededError` (code `ERR_SLUICE_LIMIT_EXCEEDED`).
   * `tryAcquire()` never waits either way.
   * @default 'wait'
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', whenFull: 'reject' })
   */
  whenFull?: ConcurrencyWhenFull;
  /**
   * With `whenFull: 'wait'`: the most callers that may wait for a permit at
   * once. A caller arriving when that many already wait is rejected at once
   * with `LimitExceededError` (counted in `rejected`), so a slow downstream
   * holds at most `limit + maxWaiting` callers: the bulkhead pattern (see
   * {@link bulkhead}). `0` waits for nobody, like `whenFull: 'reject'`.
   * @default Infinity (every caller waits)
   * @example new ConcurrencyLimiter({ initialLimit: 10, maxWaiting: 50 })
   */
  maxWaiting?: number;
  /**
   * Decides, for an error thrown inside `run()`, whether the call failed from
   * overload (`true`: the permit is released as `dropped()` and the limit may
   * shrink) or for an unrelated reason (`false`: released as `ignore()`, no
   * sample). Called once per error, after the call finished. If it throws,
   * the call counts as dropped.
   * @default undefined (every error counts as dropped)
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', isDropped: (e) => (e as Error).name === 'TimeoutError' || (e as { status?: number }).status === 503 })
   */
  isDropped?: (error: unknown) => boolean;
  /**
   * Time source for round-trip times.
   * @default systemClock
   * @example new ConcurrencyLimiter({ algorithm: 'vegas', clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Splits the limit between named classes of callers, as Netflix's
   * partitioned limiter does: each name gets a share (a fraction of the limit,
   * > 0 and <= 1; the shares add up to at most 1), and a call says which it
   * belongs to with `acquire({ partition })`, `tryAcquire({ partition })` or
   * `run(fn, { partition })`. Calls without `partition` share the remainder
   * (1 minus the shares; 0 makes them pure borrowers).
   *
   * A partition is guaranteed `ceil(share × limit)` permits, following an
   * adaptive limit as it moves: while it holds fewer, it is admitted even when
   * the limiter is full. While the limiter is below its limit any partition
   * may borrow the idle permits; once it is full, a partition at or above its
   * share waits (`'wait'`, first come, first served across partitions) or is
   * rejected (`'reject'`). So a busy class cannot push another below its
   * share, and idle shares are not wasted. The price, as in Netflix's: a
   * partition reclaiming its share while others hold borrowed permits takes
   * the limiter over its limit until those come back (by at most the
   * guaranteed shares). `stats().partitions` reports each partition.
   * @default undefined (no partitions: one first-come, first-served pool)
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', partitions: { checkout: 0.6, search: 0.3 } })
   */
  partitions?: Record<string, number>;
  /**
   * Name used in metrics and on the dashboard.
   * @default 'concurrency-limiter'
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', name: 'payments-api' })
   */
  name?: string;
}

export interface FixedLimiterOptions extends ConcurrencyLimiterBaseOptions {
  algorithm?: 'fixed';
}

export interface AimdLimiterOptions extends ConcurrencyLimiterBaseOptions {
  algorithm: 'aimd';
  /**
   * Factor applied to the limit on a drop or a too-slow call; the limit
   * always falls by at least 1.
   * @default 0.9
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', backoffRatio: 0.75 })
   */
  backoffRatio?: number;
  /**
   * A call that succeeds but takes longer than this (ms, permit granted to
   * released) counts as a drop. Set it below the caller's own timeout so the
   * limit backs off before calls start failing.
   * @default 5000
   * @example new ConcurrencyLimiter({ algorithm: 'aimd', timeoutMs: 30 })
   */
  timeoutMs?: number;
}

export interface VegasLimiterOptions extends ConcurrencyLimiterBaseOptions {
  algorithm: 'vegas';
  /**
   * Every `probeMultiplier × limit` samples the no-load RTT is measured
   * again, so a downstream that became slower for good is not mistaken for a
   * queue forever. The probe happens on a release: the limit drops to half
   * the estimated bandwidth-delay product (at least a quarter of the limit)
   * until up to 10 calls admitted at that level complete; their median RTT
   * becomes the no-load RTT and the limit returns. While probes confirm the
   * estimate (within 10%) the interval doubles after each, up to 8 times
   * this; it returns to `probeMultiplier × limit` when a probe moves the
   * estimate (checked again one round trip later), when the limit falls
   * below 3/4 of where the last probe left it, or when a round trip is more
   * than 10% faster than the estimate. Costs 0.5% of throughput at the
   * default in simulation (4% on a real server without the back-off).
   * @default 30
   * @example new ConcurrencyLimiter({ algorithm: 'vegas', probeMultiplier: 60 })
   */
  probeMultiplier?: number;
  /**
   * Weight of each new estimate against the current limit, in (0, 1]. 1 applies
   * every step in full.
   * @default 1
   * @example new ConcurrencyLimiter({ algorithm: 'vegas', smoothing: 0.5 })
   */
  smoothing?: number;
}

export interface Gradient2LimiterOptions extends ConcurrencyLimiterBaseOptions {
  algorithm: 'gradient2';
  /**
   * Every `probeMultiplier × limit` samples the no-load RTT is measured
   * again (see `'vegas'`). Gradient2 uses it to cap the long-term RTT at the
   * no-load RTT, so the average cannot learn a queue as normal.
   * @default 30
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', probeMultiplier: 60 })
   */
  probeMultiplier?: number;
  /**
   * Number of samples the long-term RTT average spans (exponential moving
   * average with factor 2 / (longWindow + 1), after a 10-sample warm-up).
   * @default 600
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', longWindow: 1000 })
   */
  longWindow?: number;
  /**
   * How much slower than the long-term RTT a call may be before the limit
   * shrinks: the gradient is min(1, tolerance × longRtt / the round trip's mean RTT), floored at 0.5.
   * @default 1.5
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', tolerance: 2 })
   */
  tolerance?: number;
  /**
   * Headroom added to the limit once per round trip while the mean RTT is within tolerance.
   * @default 4
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', queueSize: 8 })
   */
  queueSize?: number;
  /**
   * Weight of each new estimate against the current limit, in (0, 1].
   * @default 0.2
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', smoothing: 0.1 })
   */
  smoothing?: number;
  /**
   * Factor applied to the limit on a drop. Netflix's Gradient2 ignores drops,
   * so a downstream that times out every call lets its limit creep up; this
   * one backs off instead.
   * @default 0.9
   * @example new ConcurrencyLimiter({ algorithm: 'gradient2', backoffRatio: 0.8 })
   */
  backoffRatio?: number;
}

export type ConcurrencyLimiterOptions = FixedLimiterOptions | AimdLimiterOptions | VegasLimiterOptions | Gradient2LimiterOptions;

export type ResolvedLimiterOptions = {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  whenFull: ConcurrencyWhenFull;
  maxWaiting: number;
  isDropped: ((error: unknown) => boolean) | undefined;
  clock: Clock;
  name: string;
  /** Partition names and shares, validated, in the order given. */
  partitions: ReadonlyArray<readonly [string, number]> | undefined;
} & (
  | { algorithm: 'fixed' }
  | ({ algorithm: 'aimd' } & AimdSettings)
  | ({ algorithm: 'vegas' } & VegasSettings)
  | ({ algorithm: 'gradient2' } & Gradient2Settings)
);

/** Options that only one algorithm understands; given to another they are a mistake. */
const algorithmOnly: Record<string, readonly LimitAlgorithmName[]> = {
  backoffRatio: ['aimd', 'gradient2'],
  timeoutMs: ['aimd'],
  probeMultiplier: ['vegas', 'gradient2'],
  smoothing: ['vegas', 'gradient2'],
  longWindow: ['gradient2'],
  tolerance: ['gradient2'],
  queueSize: ['gradient2'],
};

const DEFAULT_INITIAL_LIMIT = 20;

export function resolveLimiterOptions(options: ConcurrencyLimiterOptions | undefined): ResolvedLimiterOptions {
  const o = v.optionsObject(options, 'ConcurrencyLimiter', {
    algorithm: true, initialLimit: true, minLimit: true, maxLimit: true, whenFull: true, isDropped: true, clock: true,
    name: true, maxWaiting: true, backoffRatio: true, timeoutMs: true, probeMultiplier: true, smoothing: true, longWindow: true,
    tolerance: true, queueSize: true, partitions: true,
  }) as Record<string, unknown>;
  const algorithm = v.oneOf('algorithm', o.algorithm, limitAlgorithms, 'fixed');
  for (const [field, owners] of Object.entries(algorithmOnly)) {
    if (o[field] !== undefined && !owners.includes(algorithm)) {
      throw new InvalidOptionError(field, o[field], `no value unless algorithm is ${owners.map((a) => `'${a}'`).join(' or ')}`, `algorithm is '${algorithm}'`);
    }
  }
  const minLimit = v.integer('minLimit', o.minLimit, 1, { min: 1 });
  const maxLimit = v.integer('maxLimit', o.maxLimit, Math.max(1000, minLimit), { min: 1 });
  if (minLimit > maxLimit) throw new InvalidOptionError('minLimit', minLimit, `an integer <= maxLimit (${maxLimit})`);
  const initialLimit = v.integer(
    'initialLimit',
    o.initialLimit,
    Math.min(maxLimit, Math.max(minLimit, DEFAULT_INITIAL_LIMIT)),
    { min: minLimit, max: maxLimit },
  );
  const whenFull = v.oneOf('whenFull', o.whenFull, whenFullModes, 'wait');
  if (o.maxWaiting !== undefined && whenFull === 'reject') {
    throw new InvalidOptionError('maxWaiting', o.maxWaiting, "no value unless whenFull is 'wait'", "whenFull is 'reject': nobody waits");
  }
  const maxWaiting = o.maxWaiting ?? Infinity;
  if (maxWaiting !== Infinity && (typeof maxWaiting !== 'number' || !Number.isSafeInteger(maxWaiting) || maxWaiting < 0)) {
    throw new InvalidOptionError('maxWaiting', maxWaiting, 'an integer >= 0, or Infinity');
  }
  const isDropped = v.optionalFunction<(error: unknown) => boolean>('isDropped', o.isDropped);
  const clock = (o.clock ?? systemClock) as Clock;
  if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name === undefined ? 'concurrency-limiter' : o.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
  const partitions = resolvePartitions(o.partitions);
  const base = { initialLimit, minLimit, maxLimit, whenFull, maxWaiting, isDropped, clock, name, partitions };

  switch (algorithm) {
    case 'aimd':
      return {
        ...base,
        algorithm,
        backoffRatio: backoffRatio(o.backoffRatio),
        timeoutMs: v.number('timeoutMs', o.timeoutMs, 5000, { min: 0, minExclusive: true }),
      };
    case 'vegas':
      return {
        ...base,
        algorithm,
        probeMultiplier: v.integer('probeMultiplier', o.probeMultiplier, 30, { min: 1 }),
        smoothing: v.number('smoothing', o.smoothing, 1, { min: 0, minExclusive: true, max: 1 }),
      };
    case 'gradient2':
      return {
        ...base,
        algorithm,
        longWindow: v.integer('longWindow', o.longWindow, 600, { min: 1 }),
        tolerance: v.number('tolerance', o.tolerance, 1.5, { min: 1 }),
        queueSize: v.number('queueSize', o.queueSize, 4, { min: 0 }),
        smoothing: v.number('smoothing', o.smoothing, 0.2, { min: 0, minExclusive: true, max: 1 }),
        backoffRatio: backoffRatio(o.backoffRatio),
        probeMultiplier: v.integer('probeMultiplier', o.probeMultiplier, 30, { min: 1 }),
      };
    default:
      return { ...base, algorithm: 'fixed' };
  }
}

/** In [0.5, 1): below 0.5 one drop wipes out most of the limit; 1 would never back off. */
function backoffRatio(value: unknown): number {
  const ratio = v.number('backoffRatio', value, 0.9, { min: 0.5, max: 1 });
  if (ratio === 1) throw new InvalidOptionError('backoffRatio', ratio, 'a finite number >= 0.5 and < 1');
  return ratio;
}

const SHARES_EXAMPLE = 'an object of partition names to shares, e.g. { critical: 0.6, batch: 0.2 }';

/** `partitions`: a non-empty object of shares, each in (0, 1], adding up to at most 1. */
function resolvePartitions(value: unknown): ReadonlyArray<readonly [string, number]> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError('partitions', value, SHARES_EXAMPLE);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new InvalidOptionError('partitions', value, SHARES_EXAMPLE, 'it has no partitions');
  const result: [string, number][] = [];
  let sum = 0;
  for (const [name, share] of entries) {
    if (name.length === 0) throw new InvalidOptionError('partitions', value, 'non-empty partition names');
    const checked = v.requiredNumber(`partitions.${name}`, share, { min: 0, minExclusive: true, max: 1 });
    sum += checked;
    result.push([name, checked]);
  }
  if (sum > 1 + 1e-9) {
    throw new InvalidOptionError('partitions', value, 'shares adding up to at most 1', `they add up to ${Math.round(sum * 1e6) / 1e6}`);
  }
  return result;
}
