import type { MetricFamily } from './families.js';

/** Label names to values. Sluice always puts `component` first. */
export type MetricLabels = Readonly<Record<string, string>>;

/** One counter or gauge value. */
export interface ScalarMetricSample {
  /** Full name, prefix included, e.g. `'sluice_dropped_total'`. */
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly labels: MetricLabels;
  /** For a counter, the running total since the component was created. */
  readonly value: number;
}

/** One histogram, cumulative, in seconds. */
export interface HistogramMetricSample {
  readonly name: string;
  readonly type: 'histogram';
  readonly help: string;
  readonly labels: MetricLabels;
  /** Bucket upper bounds in seconds, ascending; `+Inf` is implied. */
  readonly buckets: readonly number[];
  /** `cumulativeCounts[i]`: observations `<= buckets[i]`. */
  readonly cumulativeCounts: readonly number[];
  /** Every observation (the `+Inf` bucket). */
  readonly count: number;
  /** Sum of the observations, in seconds. */
  readonly sum: number;
}

export type MetricSample = ScalarMetricSample | HistogramMetricSample;

/** Samples of one collection, grouped by family in emission order. */
export class SampleWriter {
  readonly byFamily = new Map<MetricFamily, MetricSample[]>();

  constructor(private readonly prefix: string) {}

  scalar(family: MetricFamily, labels: MetricLabels, value: number): void {
    this.add(family, { name: this.prefix + family.name, type: family.type as 'counter' | 'gauge', help: family.help, labels, value });
  }

  histogram(family: MetricFamily, labels: MetricLabels, h: Omit<HistogramMetricSample, 'name' | 'type' | 'help' | 'labels'>): void {
    this.add(family, { name: this.prefix + family.name, type: 'histogram', help: family.help, labels, ...h });
  }

  private add(family: MetricFamily, sample: MetricSample): void {
    const list = this.byFamily.get(family);
    if (list) list.push(sample);
    else this.byFamily.set(family, [sample]);
  }
}
