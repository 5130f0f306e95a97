/**
 * Metrics for every Sluice component, without a metrics library: map
 * components' `stats()` to Prometheus-style samples (pull), push them to any
 * {@link MetricsSink} on a timer, and record processing latency in
 * allocation-free histograms. `sluice/prometheus` exposes the same samples
 * through prom-client. Names and their origin: `docs/metrics.md`.
 * @module
 */
export { MetricFamilies, sluiceMetricFamilies } from './families.js';
export type { MetricFamily, MetricType } from './families.js';
export { MetricsCollector, collectMetrics } from './collect.js';
export type { CollectMetricsOptions, MetricsCollectorStats, MetricsSource, MetricsSources } from './collect.js';
export type { HistogramMetricSample, MetricLabels, MetricSample, ScalarMetricSample } from './samples.js';
export { LatencyHistogram, LatencyRecorder, defaultLatencyBucketsMs } from './latency.js';
export type { HistogramSnapshot, LatencyHistogramStats, LatencyRecorderOptions, LatencyRecorderStats } from './latency.js';
export { reportMetrics, watchComponents } from './watch.js';
export type { MetricsSink, MetricsWatcher, MetricsWatcherStats, WatchComponentsOptions } from './watch.js';
