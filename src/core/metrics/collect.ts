import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { checkSources } from '../../internal/stats-sources.js';
import { isValidMetricPrefix, MetricFamilies, sluiceMetricFamilies, type MetricFamily } from './families.js';
import type { LatencyRecorder } from './latency.js';
import { mapComponentStats, mapPolicyRegistry, type StateMemory } from './mapping.js';
import { SampleWriter, type MetricSample } from './samples.js';

/**
 * Anything with a `stats()` snapshot: every Sluice component, its views, or
 * your own; an object or a function (pipeline stages, a `dashboardHandler`).
 */
export interface MetricsSource {
  stats(): object;
}

/** Components to report, by the name that becomes their `component` label. */
export type MetricsSources = Readonly<Record<string, MetricsSource>>;

export interface CollectMetricsOptions {
  /**
   * Put in front of every metric name. Must keep names valid Prometheus names
   * (`[a-zA-Z_:][a-zA-Z0-9_:]*`); `''` is allowed.
   * @default 'sluice_'
   * @example collectMetrics({ orders: channel }, { prefix: 'shop_sluice_' })
   */
  prefix?: string;
  /**
   * Processing-latency histograms to export as `processing_latency_seconds`,
   * one series per component name recorded in it (which need not be among
   * `components`). Read at each collection.
   * @default undefined (no latency histogram)
   * @example collectMetrics({ writer }, { latency: new LatencyRecorder() })
   */
  latency?: LatencyRecorder;
}

export interface MetricsCollectorStats {
  components: number;
  /** `collect()` / `collectByFamily()` calls so far. */
  collections: number;
}

export function resolveCollectOptions(
  options: CollectMetricsOptions | undefined,
  component: string,
): { prefix: string; latency: LatencyRecorder | undefined } {
  const o = v.optionsObject(options, component, { prefix: true, latency: true });
  const prefix = o.prefix ?? 'sluice_';
  if (!isValidMetricPrefix(prefix)) {
    throw new InvalidOptionError('prefix', prefix, "a string of letters, digits, '_' and ':' not starting with a digit (or '')");
  }
  if (o.latency !== undefined && typeof (o.latency as Partial<LatencyRecorder> | null)?.entries !== 'function') {
    throw new InvalidOptionError('latency', o.latency, 'a LatencyRecorder');
  }
  return { prefix, latency: o.latency };
}

/**
 * Reads components' `stats()` and maps them to Sluice metric samples. Holds
 * the little memory metrics need between collections (the states each
 * component has been in), so keep one per exporter rather than one per call.
 *
 * When: nothing runs by itself; each `collect()` calls every `stats()` once,
 * synchronously, so all samples of one collection are one consistent snapshot.
 *
 * @example
 * const collector = new MetricsCollector({ orders: channel, db: limiter });
 * for (const sample of collector.collect()) console.log(sample.name, sample.labels, sample);
 */
export class MetricsCollector {
  readonly prefix: string;
  private readonly sources: [string, MetricsSource][];
  private readonly latency: LatencyRecorder | undefined;
  private readonly memory: StateMemory = new Map();
  private collections = 0;

  constructor(components: MetricsSources, options?: CollectMetricsOptions) {
    this.sources = checkSources(components, 'MetricsCollector');
    const o = resolveCollectOptions(options, 'MetricsCollector');
    this.prefix = o.prefix;
    this.latency = o.latency;
  }

  /** Every sample, grouped by family in catalogue order. */
  collect(): MetricSample[] {
    const byFamily = this.collectByFamily();
    const samples: MetricSample[] = [];
    for (const family of sluiceMetricFamilies) {
      const list = byFamily.get(family);
      if (list) for (const sample of list) samples.push(sample);
    }
    return samples;
  }

  /**
   * The same samples keyed by family; families without samples are absent.
   * @throws whatever a component's `stats()` throws.
   */
  collectByFamily(): Map<MetricFamily, MetricSample[]> {
    this.collections++;
    const out = new SampleWriter(this.prefix);
    for (const [name, source] of this.sources) {
      const stats = source.stats();
      if (typeof stats !== 'object' || stats === null) continue;
      if (!mapPolicyRegistry(name, stats as Record<string, unknown>, out, this.memory)) mapComponentStats(name, stats as Record<string, unknown>, out, this.memory);
    }
    if (this.latency) {
      for (const [name, histogram] of this.latency.entries()) {
        const s = histogram.snapshot();
        out.histogram(MetricFamilies.processingLatency, { component: name }, {
          buckets: s.bucketsMs.map((ms) => ms / 1000),
          cumulativeCounts: s.cumulativeCounts,
          count: s.count,
          sum: s.sumMs / 1000,
        });
      }
    }
    return out.byFamily;
  }

  stats(): MetricsCollectorStats {
    return { components: this.sources.length, collections: this.collections };
  }
}

/**
 * One-off collection: every sample for `components` right now. States are
 * reported against the states known for the component type (Channel,
 * PublisherIterator, circuit breakers) plus the current one; keep a
 * {@link MetricsCollector} to also remember states seen earlier.
 * @example
 * const samples = collectMetrics({ orders: channel, credits });
 * const drops = samples.filter((s) => s.name === 'sluice_dropped_total');
 */
export function collectMetrics(components: MetricsSources, options?: CollectMetricsOptions): MetricSample[] {
  return new MetricsCollector(components, options).collect();
}
