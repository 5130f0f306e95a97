import { InvalidArgumentError } from '../../core/errors/index.js';
import type { HistogramSnapshot } from '../../core/metrics/index.js';

/**
 * The `q`-quantile of a cumulative histogram, interpolated linearly within the
 * bucket it falls in (as Prometheus' `histogram_quantile` does). Observations
 * above the last bound can only be placed at it, so a quantile landing in the
 * `+Inf` bucket returns the last bound: read it as "at least".
 * @returns undefined when the histogram holds no observation.
 * @throws InvalidArgumentError unless `q` is within [0, 1].
 * @example histogramPercentile(recorder.histogram('writer').snapshot(), 0.99)
 */
export function histogramPercentile(snapshot: HistogramSnapshot, q: number): number | undefined {
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
    throw new InvalidArgumentError(`histogramPercentile(snapshot, q): q must be a number from 0 to 1, got ${String(q)}`);
  }
  const { bucketsMs, cumulativeCounts, count } = snapshot;
  if (!(count > 0)) return undefined;
  const rank = q * count;
  let below = 0;
  for (let i = 0; i < bucketsMs.length; i++) {
    const cumulative = cumulativeCounts[i] ?? below;
    if (cumulative >= rank && cumulative > below) {
      const lower = i === 0 ? 0 : bucketsMs[i - 1]!;
      const upper = bucketsMs[i]!;
      return lower + ((upper - lower) * (rank - below)) / (cumulative - below);
    }
    below = cumulative;
  }
  return bucketsMs[bucketsMs.length - 1];
}

/** The observations of `later` that are not in `earlier`, as a histogram of their own. */
export function histogramDelta(later: HistogramSnapshot, earlier: HistogramSnapshot | undefined): HistogramSnapshot {
  if (!earlier || earlier.bucketsMs.length !== later.bucketsMs.length || earlier.count > later.count) return later;
  const cumulativeCounts = later.cumulativeCounts.map((n, i) => n - (earlier.cumulativeCounts[i] ?? 0));
  return { bucketsMs: later.bucketsMs, cumulativeCounts, count: later.count - earlier.count, sumMs: later.sumMs - earlier.sumMs };
}
