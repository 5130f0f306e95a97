/**
 * `sluice/otel`: Sluice components as OpenTelemetry metrics.
 *
 * `@opentelemetry/api` is an optional peer dependency and is never imported
 * here, not even for types: you pass your own `Meter`, and Sluice creates
 * observable instruments on it through the small structural interface
 * {@link OtelMeterLike}, which the API's `Meter` (1.3 and later) satisfies.
 * The vocabulary is the one of `sluice/prometheus` (`docs/metrics.md`); names
 * and units are in `docs/otel.md`.
 * @module
 */
import { InvalidArgumentError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import { MetricsCollector, sluiceMetricFamilies, type MetricFamily, type MetricsSources } from '../../core/metrics/index.js';

/** Attributes of one observation; Sluice's are the metric labels (`component`, `reason`, `state`, ...). */
export type OtelAttributes = Record<string, string>;

/** An observable instrument, as far as Sluice needs one (it only passes it back to the meter). */
export type OtelObservableLike = object;

/** What a batch observable callback receives; the API's `BatchObservableResult` fits. */
export interface OtelBatchObservableResultLike {
  observe(observable: any, value: number, attributes?: any): void;
}

/** The options an instrument is created with; a subset of the API's `MetricOptions`. */
export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
}

/**
 * The parts of an `@opentelemetry/api` `Meter` used here;
 * `metrics.getMeter('my-service')` and `meterProvider.getMeter(...)` fit.
 */
export interface OtelMeterLike {
  createObservableGauge(name: string, options?: OtelInstrumentOptions): any;
  createObservableCounter(name: string, options?: OtelInstrumentOptions): any;
  addBatchObservableCallback(callback: (result: OtelBatchObservableResultLike) => void | Promise<void>, observables: any[]): void;
  removeBatchObservableCallback(callback: (result: OtelBatchObservableResultLike) => void | Promise<void>, observables: any[]): void;
}

export interface RegisterSluiceInstrumentsOptions {
  /**
   * Put in front of every instrument name. Must keep names valid Prometheus
   * names (`[a-zA-Z_:][a-zA-Z0-9_:]*`), so that a Prometheus exporter keeps
   * them as they are; `''` is allowed.
   * @default 'sluice_'
   * @example registerSluiceInstruments(meter, { orders: channel }, { prefix: 'shop_' })
   */
  prefix?: string;
}

/** One instrument `registerSluiceInstruments()` creates. */
export interface SluiceInstrumentDescription {
  /**
   * Instrument name, prefix included, e.g. `'sluice_dropped'`: a counter has no
   * `_total` (exporters add it), except `duration_seconds_total`, whose name
   * without it is the gauge `duration_seconds`.
   */
  readonly name: string;
  /** `'gauge'`: an ObservableGauge; `'counter'`: an ObservableCounter (monotonic, cumulative totals). */
  readonly kind: 'gauge' | 'counter';
  /** UCUM unit as OpenTelemetry's semantic conventions write it: `s`, `1`, `{item}`, `{item}/s`, ... (`''` for raw values). */
  readonly unit: string;
  readonly description: string;
  /** Attribute keys of every observation, `component` first. */
  readonly attributes: readonly string[];
  /** The Prometheus family it carries (`docs/metrics.md`), prefix included. */
  readonly prometheusName: string;
}

/**
 * Units of the families whose unit is not in their name; annotations (`{...}`)
 * say what is counted. The unit `1` is kept for names ending in `_ratio`:
 * a Prometheus exporter that appends units (OpenTelemetry's compatibility
 * spec) adds nothing to a name that already ends in the unit (`_seconds`,
 * `_ratio`, `_per_second`) and nothing for an annotation, so the scraped
 * names stay those of sluice/prometheus.
 */
const annotatedUnits: Readonly<Record<string, string>> = {
  buffer_size: '{item}',
  buffer_capacity: '{item}',
  buffer_bytes: '{byte}',
  buffer_max_bytes: '{byte}',
  pressured: '{flag}',
  state: '{state}',
  waiting: '{caller}',
  inflight: '{operation}',
  concurrency_limit: '{operation}',
  credits_available: '{credit}',
  tokens_available: '{token}',
  pressure: '{threshold}',
  pressure_level: '{threshold}',
  pressure_predicted: '{threshold}',
  pressure_slope_per_second: '{threshold}/s',
  throttle_factor: '{factor}',
  lag: '{message}',
  consumers: '{consumer}',
  stale: '{flag}',
  cpu_cores: '{core}',
  cpu_quota_cores: '{core}',
  breaker_state: '{state}',
  offered_total: '{item}',
  accepted_total: '{item}',
  delivered_total: '{item}',
  dropped_total: '{item}',
  offered_bytes_total: '{byte}',
  delivered_bytes_total: '{byte}',
  dropped_bytes_total: '{byte}',
  backpressure_events_total: '{event}',
  credit_starvation_total: '{event}',
  acquired_total: '{permit}',
  rejected_total: '{request}',
  retried_total: '{item}',
  dead_lettered_total: '{item}',
  batches_total: '{batch}',
  failed_batches_total: '{batch}',
  breaker_opens_total: '{event}',
  completed_total: '{operation}',
  streams_active: '{stream}',
  streams_total: '{stream}',
  streams_ended_total: '{stream}',
  events_total: '{event}',
  stat: '',
};

/** The unit of a family: from the table, else from its name (`_seconds` is `s`, `_ratio` is `1`, `_per_second` is `{item}/s`), else none. */
function unitOf(family: MetricFamily): string {
  const known = annotatedUnits[family.name];
  if (known !== undefined) return known;
  const base = family.name.replace(/_total$/, '');
  if (base.endsWith('_seconds')) return 's';
  if (base.endsWith('_ratio')) return '1';
  if (base.endsWith('_per_second')) return '{item}/s';
  return '';
}

/** The families OpenTelemetry gets: all but histograms (there is no observable histogram). */
const instrumentFamilies = sluiceMetricFamilies.filter((f) => f.type !== 'histogram');

const familyNames = new Set(sluiceMetricFamilies.map((f) => f.name));

/**
 * A counter's name without `_total` (OpenTelemetry names carry no type suffix;
 * a Prometheus exporter adds it back), unless that is another family's name
 * (`duration_seconds_total` beside the gauge `duration_seconds`): such a counter keeps it.
 */
function instrumentName(family: MetricFamily): string {
  if (family.type !== 'counter' || !family.name.endsWith('_total')) return family.name;
  const stripped = family.name.slice(0, -'_total'.length);
  return familyNames.has(stripped) ? family.name : stripped;
}

/**
 * The instruments {@link registerSluiceInstruments} creates, with the given
 * prefix (default `'sluice_'`), in catalogue order: the table of `docs/otel.md`.
 * @throws InvalidOptionError for a bad prefix.
 * @example
 * for (const i of describeSluiceInstruments()) console.log(i.name, i.kind, i.unit, i.attributes.join(','));
 */
export function describeSluiceInstruments(options?: RegisterSluiceInstrumentsOptions): SluiceInstrumentDescription[] {
  const prefix = new MetricsCollector({}, { prefix: v.optionsObject(options, 'describeSluiceInstruments', { prefix: true }).prefix }).prefix;
  return instrumentFamilies.map((family) => ({
    name: prefix + instrumentName(family),
    kind: family.type === 'counter' ? 'counter' : 'gauge',
    unit: unitOf(family),
    description: family.help,
    attributes: family.labelNames,
    prometheusName: prefix + family.name,
  }));
}

function checkMeter(meter: unknown): OtelMeterLike {
  const m = meter as Partial<OtelMeterLike> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.createObservableGauge !== 'function' ||
    typeof m.createObservableCounter !== 'function' ||
    typeof m.addBatchObservableCallback !== 'function' ||
    typeof m.removeBatchObservableCallback !== 'function'
  ) {
    throw new InvalidArgumentError(
      'registerSluiceInstruments(): meter must be an OpenTelemetry Meter (createObservableGauge, createObservableCounter, addBatchObservableCallback, ' +
        `removeBatchObservableCallback; @opentelemetry/api 1.3 or later), got ${String(meter)}`,
    );
  }
  return meter as OtelMeterLike;
}

/**
 * Creates one observable instrument per Sluice metric family on `meter`
 * (gauges as ObservableGauge, counters as ObservableCounter with their
 * running totals) and one batch callback that reports them all, with the
 * labels as attributes (`component`, and `reason`, `state`, `kind`, ... where
 * relevant). Names are the Prometheus family names, counters without
 * `_total`; units follow OpenTelemetry's semantic conventions (`docs/otel.md`).
 *
 * When: nothing runs in the background. Each collection of the meter's
 * provider (a periodic reader's export, a Prometheus exporter's scrape)
 * calls every component's `stats()` once; all instruments of that collection
 * come from that one snapshot. The set of components is fixed at this call.
 *
 * Not reported: the processing-latency histogram (OpenTelemetry has no
 * observable histogram). Record latency with a synchronous
 * `meter.createHistogram(..., { unit: 's' })` instead.
 *
 * A component whose `stats()` throws fails that collection's callback; the
 * SDK reports the error and the other meters' instruments as usual.
 *
 * @returns a function that removes the callback: no `stats()` is read and no
 *   new value is observed from then on (the API cannot delete instruments; with
 *   cumulative temporality the SDK may go on exporting the last values); idempotent.
 * @throws InvalidArgumentError for a non-meter or bad components;
 *   InvalidOptionError for bad options (nothing is created then).
 * @example
 * import { metrics } from '@opentelemetry/api';
 * import { registerSluiceInstruments } from 'sluice/otel';
 * const meter = metrics.getMeter('orders-service');
 * const unregister = registerSluiceInstruments(meter, { orders: channel, db: limiter, upstream: credits });
 */
export function registerSluiceInstruments(meter: OtelMeterLike, components: MetricsSources, options?: RegisterSluiceInstrumentsOptions): () => void {
  const m = checkMeter(meter);
  const o = v.optionsObject(options, 'registerSluiceInstruments', { prefix: true });
  const collector = new MetricsCollector(components, { prefix: o.prefix });
  const descriptions = describeSluiceInstruments({ prefix: collector.prefix });

  const instruments = new Map<MetricFamily, unknown>();
  instrumentFamilies.forEach((family, i) => {
    const d = descriptions[i]!;
    const options: OtelInstrumentOptions = { description: d.description, unit: d.unit };
    instruments.set(family, d.kind === 'counter' ? m.createObservableCounter(d.name, options) : m.createObservableGauge(d.name, options));
  });
  const observables = [...instruments.values()];

  const callback = (result: OtelBatchObservableResultLike): void => {
    for (const [family, samples] of collector.collectByFamily()) {
      const instrument = instruments.get(family);
      if (instrument === undefined) continue;
      for (const sample of samples) {
        if (sample.type === 'histogram') continue;
        result.observe(instrument, sample.value, { ...sample.labels });
      }
    }
  };
  m.addBatchObservableCallback(callback, observables);

  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    m.removeBatchObservableCallback(callback, observables);
  };
}
