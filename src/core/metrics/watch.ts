import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { checkSources } from '../../internal/stats-sources.js';
import { MetricsCollector, type CollectMetricsOptions, type MetricsSources } from './collect.js';
import type { HistogramMetricSample, MetricLabels, MetricSample } from './samples.js';

/**
 * Where pushed metrics go: StatsD, OpenTelemetry, a log line, a test array.
 * Names arrive with the prefix, in base units, Prometheus style.
 */
export interface MetricsSink {
  /** The current value of a gauge. */
  gauge(name: string, help: string, labels: MetricLabels, value: number): void;
  /** A counter's running total since the component was created (not the increase since the last report). */
  counter(name: string, help: string, labels: MetricLabels, total: number): void;
  /**
   * A cumulative histogram (buckets in seconds). Optional: a sink without it
   * gets the histogram as counters instead, `<name>_bucket{le}` (with
   * `le="+Inf"`), `<name>_sum` and `<name>_count`, so nothing is left out.
   */
  histogram?(name: string, help: string, labels: MetricLabels, histogram: HistogramMetricSample): void;
}

function checkSink(sink: unknown, caller: string): MetricsSink {
  const s = sink as Partial<MetricsSink> | null;
  if (typeof s !== 'object' || s === null || typeof s.gauge !== 'function' || typeof s.counter !== 'function') {
    throw new InvalidArgumentError(`${caller}: sink must be an object with gauge() and counter() methods, got ${String(sink)}`);
  }
  if (s.histogram !== undefined && typeof s.histogram !== 'function') {
    throw new InvalidArgumentError(`${caller}: sink.histogram must be a function when present, got ${String(s.histogram)}`);
  }
  return sink as MetricsSink;
}

/**
 * Hands each sample to `sink`, in order.
 * @throws InvalidArgumentError for a sink without gauge() and counter(); whatever the sink throws.
 * @example reportMetrics(collectMetrics({ orders: channel }), statsdSink);
 */
export function reportMetrics(samples: readonly MetricSample[], sink: MetricsSink): void {
  checkSink(sink, 'reportMetrics()');
  for (const sample of samples) {
    if (sample.type === 'histogram') {
      if (sink.histogram) sink.histogram(sample.name, sample.help, sample.labels, sample);
      else histogramAsCounters(sample, sink);
    } else if (sample.type === 'gauge') {
      sink.gauge(sample.name, sample.help, sample.labels, sample.value);
    } else {
      sink.counter(sample.name, sample.help, sample.labels, sample.value);
    }
  }
}

function histogramAsCounters(h: HistogramMetricSample, sink: MetricsSink): void {
  for (let i = 0; i < h.buckets.length; i++) {
    sink.counter(`${h.name}_bucket`, h.help, { ...h.labels, le: String(h.buckets[i]) }, h.cumulativeCounts[i]!);
  }
  sink.counter(`${h.name}_bucket`, h.help, { ...h.labels, le: '+Inf' }, h.count);
  sink.counter(`${h.name}_sum`, h.help, h.labels, h.sum);
  sink.counter(`${h.name}_count`, h.help, h.labels, h.count);
}

export interface WatchComponentsOptions extends CollectMetricsOptions {
  /**
   * Time between two reports. The first report is one interval after the
   * call; `stop()` sends a last one.
   * @default 10000
   * @example watchComponents({ orders: channel }, sink, { intervalMs: 1000 })
   */
  intervalMs?: number;
  /**
   * Time source for the report timer. The timer is unref'd: it never keeps the process alive.
   * @default systemClock
   * @example watchComponents({ orders: channel }, sink, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Aborting stops the watcher, as `stop()` does (last report included).
   * @default undefined
   * @example watchComponents({ orders: channel }, sink, { signal: shutdown.signal })
   */
  signal?: AbortSignal;
  /**
   * Called when a timed or final report fails (a `stats()` or the sink threw).
   * The watcher keeps its schedule. A manual `report()` throws instead.
   * @default emits a process warning (code `SLUICE_METRICS_REPORT_FAILED`)
   * @example watchComponents(components, sink, { onError: (error) => logger.warn({ error }, 'metrics push failed') })
   */
  onError?: (error: unknown) => void;
}

export interface MetricsWatcherStats {
  /** Reports handed to the sink in full. */
  reports: number;
  /** Reports that threw part way (passed to `onError`, or thrown by a manual `report()`). */
  failedReports: number;
  stopped: boolean;
}

/** Handle returned by {@link watchComponents}. */
export interface MetricsWatcher {
  /** Collects and pushes now, off schedule. Throws what `stats()` or the sink throws. */
  report(): void;
  /** Cancels the timer and pushes a last report, so totals up to now reach the sink. Idempotent. */
  stop(): void;
  stats(): MetricsWatcherStats;
}

function warn(error: unknown): void {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.emitWarning(`Sluice metrics report failed: ${detail}`, { code: 'SLUICE_METRICS_REPORT_FAILED' });
}

/**
 * Pushes the metrics of `components` to `sink` every `intervalMs`: the push
 * counterpart of `registerSluiceMetrics()` for backends that do not scrape.
 * Same names and labels as {@link collectMetrics}.
 *
 * When: the first report is one interval after the call, then one per
 * interval, then a last one at `stop()` or when `signal` aborts.
 *
 * @throws InvalidArgumentError for bad components or sink; InvalidOptionError for bad options.
 * @example
 * const watcher = watchComponents({ orders: channel, db: limiter }, {
 *   gauge: (name, _help, labels, value) => statsd.gauge(name, value, labels),
 *   counter: (name, _help, labels, total) => statsd.gauge(name, total, labels),
 * }, { intervalMs: 5000 });
 * process.on('SIGTERM', () => watcher.stop());
 */
export function watchComponents(components: MetricsSources, sink: MetricsSink, options?: WatchComponentsOptions): MetricsWatcher {
  checkSink(sink, 'watchComponents()');
  checkSources(components, 'watchComponents()');
  const o = v.optionsObject(options, 'watchComponents', {
    intervalMs: true, clock: true, signal: true, onError: true, prefix: true, latency: true,
  });
  const collector = new MetricsCollector(components, { prefix: o.prefix, latency: o.latency });
  const intervalMs = v.number('intervalMs', o.intervalMs, 10_000, { min: 0, minExclusive: true });
  const clock = o.clock ?? systemClock;
  if (typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
  }
  const signal = o.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  const onError = v.optionalFunction<(error: unknown) => void>('onError', o.onError) ?? warn;

  let reports = 0;
  let failedReports = 0;
  let stopped = false;
  let timer: TimerHandle | undefined;

  const report = (): void => {
    try {
      reportMetrics(collector.collect(), sink);
    } catch (error) {
      failedReports++;
      throw error;
    }
    reports++;
  };
  const reportOrWarn = (): void => {
    try {
      report();
    } catch (error) {
      onError(error);
    }
  };
  const tick = (): void => {
    timer = undefined;
    try {
      reportOrWarn();
    } finally {
      if (!stopped) timer = clock.schedule(intervalMs, tick, { unref: true });
    }
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clock.cancel(timer);
    timer = undefined;
    signal?.removeEventListener('abort', stop);
    reportOrWarn();
  };

  if (signal?.aborted) {
    stopped = true; // never started: nothing to report on
  } else {
    signal?.addEventListener('abort', stop, { once: true });
    timer = clock.schedule(intervalMs, tick, { unref: true });
  }
  return {
    report,
    stop,
    stats: () => ({ reports, failedReports, stopped }),
  };
}
