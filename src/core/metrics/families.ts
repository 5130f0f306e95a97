/** Prometheus metric type of a family. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * One metric name Sluice reports, before the prefix is put in front.
 * The whole catalogue is {@link sluiceMetricFamilies}; `docs/metrics.md`
 * maps each entry to the names used in the design documents.
 */
export interface MetricFamily {
  /** Name without the prefix, e.g. `'dropped_total'`. Counters end in `_total`; times are in seconds. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label names of every sample of the family, `'component'` first. */
  readonly labelNames: readonly string[];
}

function family(name: string, type: MetricType, help: string, ...extraLabels: string[]): MetricFamily {
  return Object.freeze({ name, type, help, labelNames: Object.freeze(['component', ...extraLabels]) });
}

/**
 * The catalogue, by role. Each family is emitted only for components whose
 * `stats()` have the fields it is read from (see `docs/metrics.md`).
 */
export const MetricFamilies = {
  bufferSize: family('buffer_size', 'gauge', 'Items buffered now'),
  bufferCapacity: family('buffer_capacity', 'gauge', 'Most items the buffer holds'),
  bufferUtilization: family('buffer_utilization_ratio', 'gauge', 'Buffered items divided by capacity, 0 to 1'),
  bufferFillRate: family('buffer_fill_rate_per_second', 'gauge', 'Items per second by which the buffer grows (negative while it drains), between stats readings'),
  bufferTimeToFull: family('buffer_time_to_full_seconds', 'gauge', 'Seconds until the buffer is full at its current fill rate; 0 when full, +Inf while not filling'),
  bufferBytes: family('buffer_bytes', 'gauge', 'Bytes buffered now, the sum of sizeOf over buffered items (components with maxBytes)'),
  bufferMaxBytes: family('buffer_max_bytes', 'gauge', 'Most bytes the buffer holds (maxBytes)'),
  pressured: family('pressured', 'gauge', '1 while the component signals backpressure upstream, else 0'),
  state: family('state', 'gauge', 'Current state of the component: 1 for the current state, 0 for the others', 'state'),
  waiting: family('waiting', 'gauge', 'Callers waiting now (for room, tokens, credits or a permit)'),
  inflight: family('inflight', 'gauge', 'Operations started and not yet completed'),
  concurrencyLimit: family('concurrency_limit', 'gauge', 'Most operations allowed in flight now (limit or congestion window)'),
  creditsAvailable: family('credits_available', 'gauge', 'Flow-control credits the producer holds now'),
  tokensAvailable: family('tokens_available', 'gauge', 'Rate-limit tokens in the bucket now'),
  rateLimit: family('rate_limit_per_second', 'gauge', 'Current rate limit in items per second'),
  pressure: family('pressure', 'gauge', 'Last pressure reading divided by its threshold; above 1 means over'),
  pressureLevel: family('pressure_level', 'gauge', 'Pressure of one level of a PressureLevels, reading divided by threshold', 'level'),
  pressurePredicted: family('pressure_predicted', 'gauge', 'Pressure a trend expects horizonMs ahead at its slope (what its read() returns); never below the current one'),
  pressureSlope: family('pressure_slope_per_second', 'gauge', 'Change of a trend reading per second over its window (robust fit); in the reading units, 1 = the threshold'),
  timeToThreshold: family('time_to_threshold_seconds', 'gauge', 'Seconds until a trend reading reaches 1 (its threshold) at its slope; 0 when there, +Inf when flat or falling'),
  throttleFactor: family('throttle_factor', 'gauge', 'Share of the maximum rate a governor lets through for the pressure it read: 1 up to pressure 1, halving per threshold above'),
  desiredRate: family('desired_rate_per_second', 'gauge', 'Rate a governor is moving its limiter toward (maxRate times the throttle factor, within minRate and maxRate)'),
  lag: family('lag', 'gauge', 'Messages behind at a broker, by kind: undelivered (not yet delivered to the consumers) or unacked (delivered, not acknowledged); the sum is the backlog', 'kind'),
  consumers: family('consumers', 'gauge', 'Consumers attached to the broker queue a lag source polls'),
  stale: family('stale', 'gauge', '1 while the reading of a polling source is stale (no successful poll for staleAfterMs), else 0'),
  cpuCores: family('cpu_cores', 'gauge', 'Cores the CPU usage is divided by: the cgroup quota when set and lower, else the available cores'),
  cpuQuota: family('cpu_quota_cores', 'gauge', 'The container cgroup CPU quota in cores, when one is set'),
  breakerState: family('breaker_state', 'gauge', 'Circuit breaker state: 1 for the current state, 0 for the others', 'state'),
  lastFlushLatency: family('last_flush_latency_seconds', 'gauge', 'Duration of the last completed flush to the sink'),
  flushInterval: family('flush_interval_seconds', 'gauge', 'Current, adapted interval between flushes'),
  offered: family('offered_total', 'counter', 'Items offered (written): buffered or dropped'),
  accepted: family('accepted_total', 'counter', 'Items that entered the buffer'),
  delivered: family('delivered_total', 'counter', 'Items handed on to the consumer or confirmed by the sink; rate() of it is the throughput'),
  dropped: family('dropped_total', 'counter', 'Items dropped, by reason', 'reason'),
  offeredBytes: family('offered_bytes_total', 'counter', 'Bytes of the items offered: buffered or dropped (components with maxBytes)'),
  deliveredBytes: family('delivered_bytes_total', 'counter', 'Bytes of the items handed on to the consumer (components with maxBytes)'),
  droppedBytes: family('dropped_bytes_total', 'counter', 'Bytes of the items dropped, every reason together (components with maxBytes)'),
  backpressureEvents: family('backpressure_events_total', 'counter', 'Times backpressure switched on'),
  blockedSeconds: family('blocked_seconds_total', 'counter', 'Time callers spent blocked waiting, summed over callers'),
  creditStarvation: family('credit_starvation_total', 'counter', 'Times a producer had to wait for credits'),
  creditStarvationSeconds: family('credit_starvation_seconds_total', 'counter', 'Time producers spent waiting for credits'),
  acquired: family('acquired_total', 'counter', 'Tokens, credits or permits handed out'),
  rejected: family('rejected_total', 'counter', 'Requests for tokens, credits or permits refused without waiting'),
  retried: family('retried_total', 'counter', 'Items sent to the sink again after a failure; an item retried twice counts twice'),
  deadLettered: family('dead_lettered_total', 'counter', 'Items handed to the dead-letter handler'),
  batches: family('batches_total', 'counter', 'Batches started (flush calls or emitted batches)'),
  failedBatches: family('failed_batches_total', 'counter', 'Flush calls that threw, rejected or reported failed items'),
  breakerOpens: family('breaker_opens_total', 'counter', 'Times the circuit breaker opened'),
  completed: family('completed_total', 'counter', 'Operations completed, by outcome (success, dropped, ignored)', 'outcome'),
  longestBlocked: family('longest_blocked_seconds', 'gauge', 'How long the caller waiting longest (for room, tokens, credits or a slot) has been waiting now; 0 when none waits'),
  streamsActive: family('streams_active', 'gauge', 'Streams a StreamPolicy governs now'),
  streams: family('streams_total', 'counter', 'Streams a StreamPolicy was applied to'),
  streamsEnded: family('streams_ended_total', 'counter', 'Streams of a StreamPolicy that ended, by final state', 'state'),
  events: family('events_total', 'counter', 'Other counts a component keeps (stats() fields that only grow), by field name', 'event'),
  durationTotal: family('duration_seconds_total', 'counter', 'Other time totals a component keeps (a *Ms counter in stats()), by field name', 'stat'),
  duration: family('duration_seconds', 'gauge', 'Other durations a component reports (a *Ms field in stats()), by field name without Ms', 'stat'),
  processingLatency: family('processing_latency_seconds', 'histogram', 'Processing time recorded with a LatencyRecorder'),
  stat: family('stat', 'gauge', 'Numeric stats() fields no other family fits (levels and flags in the unit of the component), raw, named as in stats()', 'stat'),
} as const;

/** Every family Sluice can emit, in output order. */
export const sluiceMetricFamilies: readonly MetricFamily[] = Object.freeze(Object.values(MetricFamilies));

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** True when `prefix` keeps every Sluice name a valid Prometheus metric name. */
export function isValidMetricPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && (prefix === '' || metricNamePattern.test(prefix));
}
