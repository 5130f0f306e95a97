import { AlertMonitor, type AlertMonitorOptions, type StatsSource } from '../../core/alerts/index.js';
import { AdaptiveRate } from '../../core/adaptive-rate/index.js';
import { BatchWriter, type BatchFlushFunction } from '../../core/batch-writer/index.js';
import { Channel } from '../../core/channel/index.js';
import { CircuitBreaker } from '../../core/circuit-breaker/index.js';
import type { Clock } from '../../core/clock/index.js';
import { bulkhead, ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import { Credits } from '../../core/credits/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import { FairChannel } from '../../core/fair-channel/index.js';
import { PriorityChannel } from '../../core/priority-channel/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { ConfigError, describeValue } from './errors.js';
import type { SluiceConfig } from './types.js';

export type ComponentKind = 'Channel' | 'PriorityChannel' | 'FairChannel' | 'BatchWriter' | 'TokenBucket' | 'Credits' | 'AdaptiveRate' | 'ConcurrencyLimiter' | 'Bulkhead' | 'CircuitBreaker';

/** What `fromConfig()` will construct for one entry of the file. */
export interface ComponentSpec {
  name: string;
  kind: ComponentKind;
  /** Where in the file it is defined, e.g. `queues.input_queue`. */
  path: string;
  /** The constructor options (without `clock`, and for a BatchWriter without `flush`), exactly as they will be passed. */
  options: Record<string, unknown>;
}

/** The alert monitor `fromConfig()` will construct (not start). */
export interface AlertSpec {
  components: string[];
  options: Omit<AlertMonitorOptions, 'components' | 'clock' | 'log'>;
}

export interface BuildOptions<T = unknown> {
  /**
   * Clock handed to every component.
   * @default systemClock
   * @example fromConfig(config, { clock: new VirtualClock() }) // dry run: no real timers
   */
  clock?: Clock;
  /**
   * Where the alert monitor's transition lines go (`false`: nowhere).
   * @default console.warn
   * @example fromConfig(config, { alertLog: (line) => logger.warn(line) })
   */
  alertLog?: ((line: string) => void) | false;
  /**
   * More components for the alert monitor to watch, by name, beside the ones
   * the file builds: the lag sources (`streamLag`, `queueDepth`,
   * `jetStreamLag`) the file's `alert_thresholds.lag` is meant for, trends
   * for `slope` and `time_to_full`, or anything else with `stats()`. Built
   * and closed by you; a name the file also uses is refused.
   * @default {} (only the file's components)
   * @example fromConfig(config, { watch: { jobs_trend: trend(pressure) } }) // or a lag source: { billing: streamLag(redis, { stream, group, threshold }) }
   */
  watch?: Record<string, StatsSource>;
  /**
   * The sink of each `writers.<name>` entry to build, by name: a writer
   * needs code to write its batches, which a file cannot hold, so only the
   * writers given a sink here are built (into `writers` and `components`,
   * watched by the alerts and reloadable by `watchConfig()`). A name the file
   * has no writer for is refused. A writer without a sink is not built: build
   * it yourself from the same settings, `componentSpecs(config)` has them.
   * @default {} (no writer built)
   * @example fromConfig(config, { sinks: { events: (rows: Row[]) => db.insertMany('events', rows) } })
   */
  sinks?: Record<string, BatchFlushFunction<T>>;
  /**
   * The `sizeOf` of each queue or writer that has `max_bytes`, by name: how
   * many bytes one item counts against the budget. Without one, strings count
   * their UTF-8 bytes and Buffers, typed arrays and ArrayBuffers their
   * `byteLength`, and any other item is refused with an error naming `sizeOf`
   * (a file cannot hold a function). A name that is not a queue or writer of
   * the file with `max_bytes` is refused before anything is built.
   * @default {} (the default sizer everywhere)
   * @example fromConfig(config, { sizers: { events: (event: { body: string }) => Buffer.byteLength(event.body) + 64 } })
   */
  sizers?: Record<string, (item: T) => number>;
}

export type Component = Channel<unknown> | PriorityChannel<unknown> | FairChannel<unknown> | BatchWriter<unknown> | TokenBucket | Credits | AdaptiveRate | ConcurrencyLimiter | CircuitBreaker;

export interface BuiltComponents<T = unknown> {
  /** The queues without `priorities` or `fairness`. */
  channels: Record<string, Channel<T>>;
  /** The queues with `priorities`: `send(item, { priority: 'critical' })`. */
  priorityChannels: Record<string, PriorityChannel<T>>;
  /** The queues with `fairness`: `send(item, { key: tenantId })` (a file cannot hold a key function). */
  fairChannels: Record<string, FairChannel<T>>;
  /** The `writers` entries given a sink in `options.sinks` (the others are not built). */
  writers: Record<string, BatchWriter<T>>;
  tokenBuckets: Record<string, TokenBucket>;
  credits: Record<string, Credits>;
  adaptiveRates: Record<string, AdaptiveRate>;
  /** The `concurrency` entries and the `bulkheads` (each a fixed ConcurrencyLimiter with `maxWaiting`). */
  concurrencyLimiters: Record<string, ConcurrencyLimiter>;
  /** The `breakers` entries. */
  breakers: Record<string, CircuitBreaker>;
  /** Every component by its name; names are unique across sections. */
  components: Record<string, Channel<T> | PriorityChannel<T> | FairChannel<T> | BatchWriter<T> | TokenBucket | Credits | AdaptiveRate | ConcurrencyLimiter | CircuitBreaker>;
  /** Watches every component but the breakers (and those given in `watch`) when `monitoring.alert_thresholds` has a threshold. Not started: call `alerts.start()`. */
  alerts: AlertMonitor | undefined;
  /** Stops the alerts and closes every component. Idempotent. */
  close(): void;
}

// Constructor option → key in the file, to point errors from the constructors at the right line.
const KEYS: Record<ComponentKind, Record<string, string>> = {
  Channel: { capacity: 'capacity', overflow: 'strategy', highWatermark: 'high_watermark', lowWatermark: 'low_watermark', sampleEvery: 'sample_every', maxBlockMs: 'timeout', maxBytes: 'max_bytes' },
  PriorityChannel: {
    capacity: 'capacity',
    overflow: 'strategy',
    highWatermark: 'high_watermark',
    lowWatermark: 'low_watermark',
    maxBlockMs: 'timeout',
    levels: 'priorities.levels',
    weights: 'priorities.weights',
    reserve: 'priorities.reserve',
    defaultPriority: 'priorities.default',
  },
  FairChannel: {
    capacity: 'capacity',
    overflow: 'strategy',
    highWatermark: 'high_watermark',
    lowWatermark: 'low_watermark',
    maxBlockMs: 'timeout',
    perKeyCapacity: 'fairness.per_key_capacity',
    quantum: 'fairness.quantum',
    topKeys: 'fairness.top_keys',
  },
  BatchWriter: {
    capacity: 'capacity',
    overflow: 'strategy',
    highWatermark: 'high_watermark',
    lowWatermark: 'low_watermark',
    sampleEvery: 'sample_every',
    maxBlockMs: 'timeout',
    batchSize: 'batch_size',
    minFlushIntervalMs: 'flush_interval',
    flushIntervalMs: 'flush_interval',
    maxFlushIntervalMs: 'max_flush_interval',
    targetLatencyMs: 'target_latency',
    maxBytes: 'max_bytes',
  },
  TokenBucket: { ratePerSecond: 'rate', burst: 'burst' },
  Credits: { initial: 'initial', max: 'max' },
  AdaptiveRate: {
    targetLatencyMs: 'target_latency_ms',
    minRate: 'min_rate',
    maxRate: 'max_rate',
    initialRate: 'initial_rate',
    increase: 'increase_rate',
    decrease: 'decrease_rate',
    window: 'window',
    burst: 'burst',
    adjustmentIntervalMs: 'adjustment_interval',
  },
  ConcurrencyLimiter: {
    algorithm: 'algorithm',
    initialLimit: 'initial_limit',
    minLimit: 'min_limit',
    maxLimit: 'max_limit',
    whenFull: 'when_full',
    backoffRatio: 'backoff_ratio',
    timeoutMs: 'timeout',
    maxWaiting: 'max_waiting',
    partitions: 'partitions',
  },
  Bulkhead: { concurrency: 'concurrency', maxWaiting: 'max_waiting' },
  CircuitBreaker: {
    window: 'window',
    windowSize: 'window_size',
    windowMs: 'window_duration',
    windowBuckets: 'window_buckets',
    minimumCalls: 'minimum_calls',
    failureRateThreshold: 'failure_rate_threshold',
    slowCallMs: 'slow_call_duration',
    slowCallRateThreshold: 'slow_call_rate_threshold',
    resetAfterMs: 'reset_after',
    halfOpenProbes: 'half_open_probes',
  },
};
const FLOW_CREDIT_KEYS: Record<string, string> = { initial: 'initial_credits', max: 'max_credits', minCredits: 'min_credits', acquireTimeoutMs: 'credit_timeout' };
const ALERT_KEYS: Record<string, string> = {
  intervalMs: 'metrics_interval',
  windowMs: 'alert_window',
  forMs: 'alert_for',
  resolveRatio: 'resolve_ratio',
  'thresholds.queueDepth': 'alert_thresholds.queue_depth',
  'thresholds.queueDepth.utilization': 'alert_thresholds.queue_depth',
  'thresholds.queueDepth.items': 'alert_thresholds.queue_depth.items',
  'thresholds.dropRate': 'alert_thresholds.drop_rate',
  'thresholds.blockedTime': 'alert_thresholds.blocked_time',
  'thresholds.lag': 'alert_thresholds.lag',
  'thresholds.lag.items': 'alert_thresholds.lag.items',
  'thresholds.lag.pressure': 'alert_thresholds.lag.pressure',
  'thresholds.slope': 'alert_thresholds.slope',
  'thresholds.timeToFull': 'alert_thresholds.time_to_full',
};

/** The key in the file for a constructor option of `spec`, e.g. `rate` for a TokenBucket's `ratePerSecond`. */
export function optionKey(spec: Pick<ComponentSpec, 'kind' | 'path'>, option: string): string {
  const keys = spec.path === 'flow_control' && spec.kind === 'Credits' ? FLOW_CREDIT_KEYS : KEYS[spec.kind];
  return keys[option] ?? option;
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The components a configuration describes, in file order, with the exact constructor options. Builds nothing. */
export function componentSpecs(config: SluiceConfig): { components: ComponentSpec[]; alerts: AlertSpec | undefined } {
  const out: ComponentSpec[] = [];
  for (const [name, q] of Object.entries(config.queues)) {
    const common = { name, capacity: q.capacity, overflow: q.strategy, highWatermark: q.highWatermark, lowWatermark: q.lowWatermark, maxBlockMs: q.maxBlockMs };
    if (q.priorities) {
      const p = q.priorities;
      out.push({ name, kind: 'PriorityChannel', path: `queues.${name}`, options: defined({ ...common, levels: p.levels, weights: p.weights, reserve: p.reserve, defaultPriority: p.defaultPriority }) });
    } else if (q.fairness) {
      const f = q.fairness;
      out.push({ name, kind: 'FairChannel', path: `queues.${name}`, options: defined({ ...common, perKeyCapacity: f.perKeyCapacity, quantum: f.quantum, topKeys: f.topKeys }) });
    } else {
      out.push({ name, kind: 'Channel', path: `queues.${name}`, options: defined({ ...common, sampleEvery: q.strategy === 'sample' ? q.sampleEvery : undefined, maxBytes: q.maxBytes }) });
    }
  }
  for (const [name, w] of Object.entries(config.writers)) {
    out.push({
      name,
      kind: 'BatchWriter',
      path: `writers.${name}`,
      options: defined({
        name,
        capacity: w.capacity,
        overflow: w.strategy,
        highWatermark: w.highWatermark,
        lowWatermark: w.lowWatermark,
        sampleEvery: w.sampleEvery,
        maxBlockMs: w.maxBlockMs,
        batchSize: w.batchSize,
        minFlushIntervalMs: w.flushIntervalMs,
        maxFlushIntervalMs: w.maxFlushIntervalMs,
        targetLatencyMs: w.targetLatencyMs,
        maxBytes: w.maxBytes,
      }),
    });
  }
  const adaptiveOptions = (a: NonNullable<SluiceConfig['adaptive']>) =>
    defined({
      targetLatencyMs: a.targetLatencyMs,
      minRate: a.minRate,
      maxRate: a.maxRate,
      initialRate: a.initialRate,
      increase: a.increase,
      decrease: a.decrease,
      window: a.window,
      burst: a.burst,
      adjustmentIntervalMs: a.adjustmentIntervalMs,
    });
  const f = config.flowControl;
  if (f?.type === 'credit-based') out.push({ name: 'flow_control', kind: 'Credits', path: 'flow_control', options: defined({ initial: f.initialCredits, max: f.maxCredits, minCredits: f.minCredits, acquireTimeoutMs: f.creditTimeoutMs }) });
  if (f?.type === 'rate-based') out.push({ name: 'flow_control', kind: 'TokenBucket', path: 'flow_control', options: defined({ ratePerSecond: f.ratePerSecond, burst: f.burst }) });
  if (f?.type === 'adaptive' && config.adaptive) out.push({ name: 'flow_control', kind: 'AdaptiveRate', path: 'adaptive', options: adaptiveOptions(config.adaptive) });
  if (config.adaptive && f?.type !== 'adaptive') out.push({ name: 'adaptive', kind: 'AdaptiveRate', path: 'adaptive', options: adaptiveOptions(config.adaptive) });
  for (const [name, r] of Object.entries(config.rateLimits)) out.push({ name, kind: 'TokenBucket', path: `rate_limits.${name}`, options: defined({ ratePerSecond: r.ratePerSecond, burst: r.burst }) });
  for (const [name, c] of Object.entries(config.credits)) out.push({ name, kind: 'Credits', path: `credits.${name}`, options: defined({ initial: c.initial, max: c.max }) });
  for (const [name, c] of Object.entries(config.concurrency)) {
    out.push({
      name,
      kind: 'ConcurrencyLimiter',
      path: `concurrency.${name}`,
      options: defined({
        name,
        algorithm: c.algorithm,
        initialLimit: c.initialLimit,
        minLimit: c.minLimit,
        maxLimit: c.maxLimit,
        whenFull: c.whenFull,
        backoffRatio: c.backoffRatio,
        timeoutMs: c.timeoutMs,
        maxWaiting: c.maxWaiting,
        partitions: c.partitions,
      }),
    });
  }
  for (const [name, b] of Object.entries(config.bulkheads)) out.push({ name, kind: 'Bulkhead', path: `bulkheads.${name}`, options: { name, concurrency: b.concurrency, maxWaiting: b.maxWaiting } });
  for (const [name, b] of Object.entries(config.breakers)) {
    out.push({
      name,
      kind: 'CircuitBreaker',
      path: `breakers.${name}`,
      options: defined({
        name,
        window: b.window,
        windowSize: b.windowSize,
        windowMs: b.windowMs,
        windowBuckets: b.windowBuckets,
        minimumCalls: b.minimumCalls,
        failureRateThreshold: b.failureRateThreshold,
        slowCallMs: b.slowCallMs,
        slowCallRateThreshold: b.slowCallRateThreshold,
        resetAfterMs: b.resetAfterMs,
        halfOpenProbes: b.halfOpenProbes,
      }),
    });
  }
  return { components: out, alerts: alertSpec(config, alertNames(out)) };
}

/**
 * The components an alert monitor watches: all but the breakers (whose stats
 * carry no queue, drop or wait figures) and the writers, which are built, and
 * watched, only when given a sink.
 */
function alertNames(specs: readonly ComponentSpec[]): string[] {
  return specs.filter((s) => s.kind !== 'CircuitBreaker' && s.kind !== 'BatchWriter').map((s) => s.name);
}

/** The alert monitor over `names`, when the file has thresholds and there is something to watch. */
function alertSpec(config: SluiceConfig, names: string[]): AlertSpec | undefined {
  const m = config.monitoring;
  return m && Object.keys(m.thresholds).length > 0 && names.length > 0
    ? { components: names, options: defined({ thresholds: m.thresholds, intervalMs: m.intervalMs, windowMs: m.windowMs, forMs: m.forMs, resolveRatio: m.resolveRatio }) as AlertSpec['options'] }
    : undefined;
}

/** `options.sizers`, checked before anything is built: a function for a queue or writer of the file with `max_bytes`, by name. */
function sizersOption<T>(sizers: unknown, specs: readonly ComponentSpec[]): Record<string, (item: T) => number> {
  if (sizers === undefined) return {};
  if (sizers === null || typeof sizers !== 'object' || Array.isArray(sizers)) {
    throw new InvalidOptionError('sizers', sizers, 'an object of sizeOf functions by queue or writer name, e.g. { events: (item) => item.body.length }');
  }
  const budgeted = specs.filter((s) => (s.kind === 'Channel' || s.kind === 'BatchWriter') && (s.options as { maxBytes?: number }).maxBytes !== undefined).map((s) => s.name);
  for (const [name, sizeOf] of Object.entries(sizers)) {
    if (!budgeted.includes(name)) throw new InvalidOptionError(`sizers.${name}`, name, `the name of a queue or writer with max_bytes in the file (${budgeted.join(', ') || 'none has max_bytes'})`);
    if (typeof sizeOf !== 'function') throw new InvalidOptionError(`sizers.${name}`, sizeOf, 'a function (item) => number of bytes');
  }
  return sizers as Record<string, (item: T) => number>;
}

/** `options.sinks`, checked before anything is built: a function for a writer of the file, by name. */
function sinksOption<T>(sinks: unknown, specs: readonly ComponentSpec[]): Record<string, BatchFlushFunction<T>> {
  if (sinks === undefined) return {};
  if (sinks === null || typeof sinks !== 'object' || Array.isArray(sinks)) throw new InvalidOptionError('sinks', sinks, 'an object of flush functions by writer name, e.g. { events: (rows) => db.insert(rows) }');
  const writers = specs.filter((s) => s.kind === 'BatchWriter').map((s) => s.name);
  for (const [name, sink] of Object.entries(sinks)) {
    if (!writers.includes(name)) throw new InvalidOptionError(`sinks.${name}`, name, `the name of a writer in the file (writers has ${writers.join(', ') || 'none'})`);
    if (typeof sink !== 'function') throw new InvalidOptionError(`sinks.${name}`, sink, 'a flush function (items, context) => void | Promise<void>');
  }
  return sinks as Record<string, BatchFlushFunction<T>>;
}

/** `options.watch`, checked before anything is built. */
function watchOption(watch: unknown, specs: readonly ComponentSpec[]): Record<string, StatsSource> {
  if (watch === undefined) return {};
  if (watch === null || typeof watch !== 'object' || Array.isArray(watch)) throw new InvalidOptionError('watch', watch, 'an object of named components, e.g. { billing_lag: lag }');
  for (const [name, source] of Object.entries(watch)) {
    const path = specs.find((s) => s.name === name)?.path;
    if (path !== undefined) throw new InvalidOptionError(`watch.${name}`, name, `a name the file does not use (${path} is built under it)`);
    if ((typeof source !== 'object' && typeof source !== 'function') || source === null || typeof (source as StatsSource).stats !== 'function') {
      throw new InvalidOptionError(`watch.${name}`, typeof source === 'function' ? 'a function without stats()' : source, 'an object or function with a stats() method');
    }
  }
  return watch as Record<string, StatsSource>;
}

/**
 * Builds the components a validated configuration describes and returns them by name.
 * Nothing starts: channels are empty, limiters full, the alert monitor (if any)
 * waits for `alerts.start()`. A `writers` entry is built only when
 * `options.sinks` has its sink (a file cannot hold the code that writes a batch).
 *
 * @throws InvalidOptionError (field `sinks.<name>` or `watch.<name>`) for a sink the file has no writer for, or a bad `watch` entry.
 * @throws ConfigError if a constructor rejects an option the schema let through,
 *   with the path of the key in the file. Components built before it are closed.
 * @example
 * const { channels, priorityChannels, fairChannels, alerts } = fromConfig(await loadConfig('sluice.yaml'));
 * alerts?.start();
 * await channels.input_queue?.send(job);
 * await priorityChannels.requests?.send(job, { priority: 'critical' });
 * await fairChannels.jobs?.send(job, { key: 'tenant-42' }); // the file cannot name a key function
 * // A writer's sink is code: the file's writers.events settings, your flush.
 * const { writers } = fromConfig(config, { sinks: { events: (rows: Row[]) => db.insertMany('events', rows) } });
 * await writers.events?.write({ id: 1, body: 'hello' });
 */
export function fromConfig<T = unknown>(config: SluiceConfig, options: BuildOptions<T> = {}): BuiltComponents<T> {
  const { components: specs } = componentSpecs(config);
  const watch = watchOption(options.watch, specs);
  const sinks = sinksOption<T>(options.sinks, specs);
  const sizers = sizersOption<T>(options.sizers, specs);
  const alerts = alertSpec(config, [...alertNames(specs), ...Object.keys(sinks), ...Object.keys(watch)]);

  const clock = options.clock;
  const built: BuiltComponents<T> = {
    channels: {},
    priorityChannels: {},
    fairChannels: {},
    writers: {},
    tokenBuckets: {},
    credits: {},
    adaptiveRates: {},
    concurrencyLimiters: {},
    breakers: {},
    components: {},
    alerts: undefined,
    close() {
      built.alerts?.stop();
      // A CircuitBreaker holds no timers and has nothing to close.
      for (const c of Object.values(built.components)) if (!(c instanceof CircuitBreaker)) c.close();
    },
  };
  for (const spec of specs) {
    const sizeOf = sizers[spec.name];
    const o = clock || sizeOf ? { ...spec.options, ...(clock ? { clock } : {}), ...(sizeOf ? { sizeOf } : {}) } : spec.options;
    try {
      switch (spec.kind) {
        case 'Channel':
          built.components[spec.name] = built.channels[spec.name] = new Channel<T>(o);
          break;
        case 'BatchWriter': {
          // Built only with its sink (see BuildOptions.sinks); the file holds its settings alone.
          const flush = sinks[spec.name];
          if (flush) built.components[spec.name] = built.writers[spec.name] = new BatchWriter<T>({ ...(o as object), flush });
          break;
        }
        case 'TokenBucket':
          built.components[spec.name] = built.tokenBuckets[spec.name] = new TokenBucket(o as never);
          break;
        case 'Credits':
          built.components[spec.name] = built.credits[spec.name] = new Credits(o as never);
          break;
        case 'AdaptiveRate':
          built.components[spec.name] = built.adaptiveRates[spec.name] = new AdaptiveRate(o as never);
          break;
        case 'PriorityChannel':
          built.components[spec.name] = built.priorityChannels[spec.name] = new PriorityChannel<T>(o as never);
          break;
        case 'FairChannel':
          built.components[spec.name] = built.fairChannels[spec.name] = new FairChannel<T>(o as never);
          break;
        case 'ConcurrencyLimiter':
          built.components[spec.name] = built.concurrencyLimiters[spec.name] = new ConcurrencyLimiter(o as never);
          break;
        case 'Bulkhead':
          built.components[spec.name] = built.concurrencyLimiters[spec.name] = bulkhead(o as never);
          break;
        case 'CircuitBreaker':
          built.components[spec.name] = built.breakers[spec.name] = new CircuitBreaker(o as never);
          break;
      }
    } catch (error) {
      built.close();
      const keys = spec.path === 'flow_control' && spec.kind === 'Credits' ? FLOW_CREDIT_KEYS : KEYS[spec.kind];
      throw asConfigError(error, spec.path, keys);
    }
  }
  if (alerts) {
    try {
      built.alerts = new AlertMonitor({ ...alerts.options, components: { ...built.components, ...watch }, ...(clock ? { clock } : {}), ...(options.alertLog !== undefined ? { log: options.alertLog } : {}) });
    } catch (error) {
      built.close();
      throw asConfigError(error, 'monitoring', ALERT_KEYS);
    }
  }
  return built;
}

function asConfigError(error: unknown, path: string, keys: Record<string, string>): unknown {
  if (!(error instanceof InvalidOptionError)) return error;
  const full = `${path}.${keys[error.field] ?? error.field}`;
  const allowed = error.allowed.startsWith('no value ') ? `allowed ${error.allowed.slice('no value '.length)}` : error.allowed;
  return new ConfigError([{ path: full, message: `${full}: ${describeValue(error.value)} is not ${allowed}` }]);
}
