import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';

/** Upper bounds (ms) of the default latency buckets: 1 ms to 10 s. */
export const defaultLatencyBucketsMs: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000]);

/** Cumulative view of a {@link LatencyHistogram}, Prometheus style. */
export interface HistogramSnapshot {
  /** Upper bounds in ms, ascending; an implicit `+Inf` bucket follows. */
  bucketsMs: readonly number[];
  /** `cumulativeCounts[i]`: observations `<= bucketsMs[i]`. Same length as `bucketsMs`. */
  cumulativeCounts: number[];
  /** Every observation: the `+Inf` bucket. */
  count: number;
  sumMs: number;
}

export interface LatencyHistogramStats {
  count: number;
  sumMs: number;
  /** `sumMs / count`; 0 before the first observation. */
  meanMs: number;
}

export interface LatencyRecorderOptions {
  /**
   * Upper bounds of the histogram buckets in milliseconds: finite, > 0,
   * strictly ascending, at most 64. An observation lands in the first bucket
   * whose bound is >= it; anything above the last bound lands in `+Inf`.
   * Exported in seconds (`le="0.025"` for 25 ms).
   * @default defaultLatencyBucketsMs (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
   * @example new LatencyRecorder({ bucketsMs: [5, 20, 100, 500, 2000] })
   */
  bucketsMs?: readonly number[];
}

const MAX_BUCKETS = 64;

function resolveBuckets(value: unknown): readonly number[] {
  if (value === undefined) return defaultLatencyBucketsMs;
  const allowed = `an array of 1 to ${MAX_BUCKETS} finite numbers > 0, strictly ascending`;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BUCKETS) {
    throw new InvalidOptionError('bucketsMs', value, allowed);
  }
  let previous = 0;
  for (const bound of value as unknown[]) {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      throw new InvalidOptionError('bucketsMs', value, allowed, `offending bound ${String(bound)}`);
    }
    previous = bound;
  }
  return Object.freeze([...(value as number[])]);
}

/**
 * A fixed-bucket histogram of durations in ms. `record()` allocates nothing:
 * it bumps one slot of a preallocated array.
 */
export class LatencyHistogram {
  readonly bucketsMs: readonly number[];
  private readonly bounds: Float64Array;
  /** Per-bucket (not cumulative) counts; the last slot is `+Inf`. */
  private readonly counts: Float64Array;
  private observations = 0;
  private sumMs = 0;

  /** Prefer {@link LatencyRecorder.histogram}, which names the histogram for export. */
  constructor(options?: LatencyRecorderOptions) {
    this.bucketsMs = resolveBuckets(v.optionsObject(options, 'LatencyHistogram', { bucketsMs: true }).bucketsMs);
    this.bounds = Float64Array.from(this.bucketsMs);
    this.counts = new Float64Array(this.bucketsMs.length + 1);
  }

  /**
   * Adds one observation of `ms` milliseconds.
   * @throws InvalidArgumentError unless `ms` is a finite number >= 0.
   */
  record(ms: number): void {
    if (typeof ms !== 'number' || !(ms >= 0 && ms <= Number.MAX_VALUE)) {
      throw new InvalidArgumentError(`record(ms): ms must be a finite number >= 0, got ${String(ms)}`);
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]!) i++;
    this.counts[i]!++;
    this.observations++;
    this.sumMs += ms;
  }

  snapshot(): HistogramSnapshot {
    const cumulativeCounts: number[] = new Array<number>(this.bounds.length);
    let running = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      running += this.counts[i]!;
      cumulativeCounts[i] = running;
    }
    return { bucketsMs: this.bucketsMs, cumulativeCounts, count: this.observations, sumMs: this.sumMs };
  }

  stats(): LatencyHistogramStats {
    return { count: this.observations, sumMs: this.sumMs, meanMs: this.observations === 0 ? 0 : this.sumMs / this.observations };
  }
}

export interface LatencyRecorderStats {
  /** Component names with a histogram. */
  components: number;
  /** Observations over every histogram. */
  observations: number;
}

/**
 * Processing-latency histograms, one per component name, exported as
 * `sluice_processing_latency_seconds{component}` by `collectMetrics()`,
 * `watchComponents()` and `registerSluiceMetrics()` (option `latency`).
 *
 * Feed it where the work is timed, e.g. around a BatchWriter's sink call or a
 * pipeline stage. Time with the component's clock, so virtual-time tests see
 * virtual latencies. For a hot loop, take the histogram once with
 * {@link histogram} and call its `record()`, which skips the name lookup.
 *
 * Component names become label values: keep them few and fixed (one per
 * component, never per request or per item).
 *
 * @example
 * const latency = new LatencyRecorder();
 * const writes = latency.histogram('orders-writer');
 * const sink = async (batch: Row[]) => {
 *   const startedAt = clock.now();
 *   try { await db.insert(batch); } finally { writes.record(clock.now() - startedAt); }
 * };
 * registerSluiceMetrics(registry, { orders: channel }, { latency });
 */
export class LatencyRecorder {
  readonly bucketsMs: readonly number[];
  private readonly histograms = new Map<string, LatencyHistogram>();

  constructor(options?: LatencyRecorderOptions) {
    this.bucketsMs = resolveBuckets(v.optionsObject(options, 'LatencyRecorder', { bucketsMs: true }).bucketsMs);
  }

  /**
   * The histogram of `component`, created on first use with this recorder's buckets.
   * @throws InvalidArgumentError unless `component` is a non-empty string.
   */
  histogram(component: string): LatencyHistogram {
    const existing = this.histograms.get(component);
    if (existing) return existing;
    if (typeof component !== 'string' || component.length === 0) {
      throw new InvalidArgumentError(`histogram(component): component must be a non-empty string, got ${String(component)}`);
    }
    const created = new LatencyHistogram({ bucketsMs: this.bucketsMs });
    this.histograms.set(component, created);
    return created;
  }

  /**
   * Adds one observation of `ms` milliseconds to `component`'s histogram.
   * Allocates nothing once the component has a histogram.
   * @throws InvalidArgumentError for an empty name, or unless `ms` is a finite number >= 0.
   */
  record(component: string, ms: number): void {
    (this.histograms.get(component) ?? this.histogram(component)).record(ms);
  }

  /** Histograms by component name, in creation order. */
  entries(): IterableIterator<[string, LatencyHistogram]> {
    return this.histograms.entries();
  }

  stats(): LatencyRecorderStats {
    let observations = 0;
    for (const h of this.histograms.values()) observations += h.stats().count;
    return { components: this.histograms.size, observations };
  }
}
