/**
 * `sluice/prometheus`: Sluice components on a prom-client registry.
 *
 * prom-client is an optional peer dependency and is never imported here, not
 * even for types: you pass your own registry, and Sluice registers plain
 * collector objects on it (prom-client's registry takes any object with
 * `name`, `help`, `type`, `get()` and `reset()`). So it works with whichever
 * prom-client copy (v13 to v15) your app resolves, with no duplicate-module
 * surprises. Metric names and their origin: `docs/metrics.md`.
 * @module
 */
import { InvalidArgumentError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import {
  MetricsCollector,
  sluiceMetricFamilies,
  type LatencyRecorder,
  type MetricFamily,
  type MetricLabels,
  type MetricSample,
  type MetricsSources,
} from '../../core/metrics/index.js';

/** The parts of a prom-client `Registry` used here; `new Registry()` and the default `register` fit. */
export interface PrometheusRegistryLike {
  registerMetric(metric: any): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

export interface RegisterSluiceMetricsOptions {
  /**
   * Put in front of every metric name. Must keep names valid Prometheus names; `''` is allowed.
   * Use different prefixes to register two sets of components on one registry
   * (or, better, register them all in one call).
   * @default 'sluice_'
   * @example registerSluiceMetrics(register, { orders: channel }, { prefix: 'shop_' })
   */
  prefix?: string;
  /**
   * Processing-latency histograms to expose as `<prefix>processing_latency_seconds{component}`.
   * @default undefined (the histogram family is registered but has no series)
   * @example registerSluiceMetrics(register, { orders: channel }, { latency: new LatencyRecorder() })
   */
  latency?: LatencyRecorder;
}

/** One sample line as prom-client's registry formats it. */
interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

// How prom-client's AggregatorRegistry merges cluster workers: sums for counts
// (and for rates and sizes, which add up across workers), the mean for ratios,
// the max for 0/1 flags (1 if any worker is in that state) and for figures
// every worker reads from the same place (a broker's lag, a container's CPU
// quota), the min for times until something fills (the soonest worker).
const averaged = new Set(['buffer_utilization_ratio', 'pressure', 'pressure_level', 'pressure_slope_per_second', 'pressure_predicted', 'throttle_factor']);
const maxed = new Set(['pressured', 'state', 'breaker_state', 'lag', 'consumers', 'stale', 'cpu_quota_cores']);
const minimum = new Set(['buffer_time_to_full_seconds', 'time_to_threshold_seconds']);

/** A family as prom-client's registry sees it; values are read when the registry asks. */
class FamilyCollector {
  // prom-client renames counters in OpenMetrics mode (drops `_total`), so `name` must stay writable.
  name: string;
  readonly help: string;
  readonly type: MetricFamily['type'];
  readonly aggregator: 'sum' | 'average' | 'max' | 'min';

  constructor(
    private readonly family: MetricFamily,
    prefix: string,
    private readonly read: () => Map<MetricFamily, MetricSample[]>,
  ) {
    this.name = prefix + family.name;
    this.help = family.help;
    this.type = family.type;
    this.aggregator = averaged.has(family.name) ? 'average' : maxed.has(family.name) ? 'max' : minimum.has(family.name) ? 'min' : 'sum';
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: PromValue[] } {
    const values: PromValue[] = [];
    for (const sample of this.read().get(this.family) ?? []) {
      if (sample.type !== 'histogram') {
        values.push({ value: sample.value, labels: { ...sample.labels } });
        continue;
      }
      for (let i = 0; i < sample.buckets.length; i++) {
        values.push({ value: sample.cumulativeCounts[i]!, labels: withLe(sample.labels, sample.buckets[i]!), metricName: `${this.name}_bucket` });
      }
      values.push({ value: sample.count, labels: withLe(sample.labels, '+Inf'), metricName: `${this.name}_bucket` });
      values.push({ value: sample.sum, labels: { ...sample.labels }, metricName: `${this.name}_sum` });
      values.push({ value: sample.count, labels: { ...sample.labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** `registry.resetMetrics()` calls it; the values belong to the components, so there is nothing to reset. */
  reset(): void {}
}

function withLe(labels: MetricLabels, le: number | string): Record<string, string | number> {
  return { ...labels, le };
}

function checkRegistry(registry: unknown): PrometheusRegistryLike {
  const r = registry as Partial<PrometheusRegistryLike> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.registerMetric !== 'function' ||
    typeof r.getSingleMetric !== 'function' ||
    typeof r.removeSingleMetric !== 'function'
  ) {
    throw new InvalidArgumentError(
      `registerSluiceMetrics(): registry must be a prom-client Registry (registerMetric, getSingleMetric, removeSingleMetric), got ${String(registry)}`,
    );
  }
  return registry as PrometheusRegistryLike;
}

/**
 * Registers every Sluice metric family on `registry`, labelled by component
 * name (`component`), and by reason, state, outcome or level where relevant.
 *
 * When: nothing runs in the background. Each scrape (`registry.metrics()`)
 * calls every component's `stats()` once; all families of that scrape come
 * from that one snapshot. The set of components is fixed at this call.
 *
 * All families are registered, whether or not a component feeds them; a
 * family without series shows only its HELP and TYPE lines.
 *
 * @returns a function that removes exactly these metrics from the registry; idempotent.
 * @throws InvalidArgumentError for a non-registry, bad components, or a name
 *   already taken in the registry (nothing is registered then);
 *   InvalidOptionError for bad options.
 * @example
 * import { Registry } from 'prom-client';
 * import { registerSluiceMetrics } from 'sluice/prometheus';
 * const registry = new Registry();
 * const unregister = registerSluiceMetrics(registry, { orders: channel, db: limiter, upstream: credits });
 * http.createServer(async (req, res) => {
 *   res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
 * });
 */
export function registerSluiceMetrics(
  registry: PrometheusRegistryLike,
  components: MetricsSources,
  options?: RegisterSluiceMetricsOptions,
): () => void {
  const r = checkRegistry(registry);
  const o = v.optionsObject(options, 'registerSluiceMetrics', { prefix: true, latency: true });
  const collector = new MetricsCollector(components, { prefix: o.prefix, latency: o.latency });

  // prom-client asks each family in turn, synchronously, within one scrape:
  // the first asks collect, the others reuse that snapshot until the microtask
  // queue turns over.
  let snapshot: Map<MetricFamily, MetricSample[]> | undefined;
  const read = (): Map<MetricFamily, MetricSample[]> => {
    if (snapshot === undefined) {
      snapshot = collector.collectByFamily();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };

  const collectors = sluiceMetricFamilies.map((family) => new FamilyCollector(family, collector.prefix, read));
  const taken = collectors.filter((c) => r.getSingleMetric(c.name) !== undefined).map((c) => c.name);
  if (taken.length > 0) {
    throw new InvalidArgumentError(
      `registerSluiceMetrics(): the registry already has ${taken.join(', ')}; call the earlier unregister function or pass another prefix`,
    );
  }
  const names = collectors.map((c) => c.name);
  collectors.forEach((c) => r.registerMetric(c));

  return () => {
    collectors.forEach((c, i) => {
      const name = names[i]!;
      if (r.getSingleMetric(name) === c) r.removeSingleMetric(name);
    });
  };
}
