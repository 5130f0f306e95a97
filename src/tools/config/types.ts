import type { LagThreshold, QueueDepthThreshold } from '../../core/alerts/index.js';
import type { OverflowStrategy } from '../../core/channel/index.js';
import type { CircuitBreakerWindow } from '../../core/circuit-breaker/index.js';
import type { ConcurrencyWhenFull, LimitAlgorithmName } from '../../core/concurrency-limiter/index.js';
import type { FairOverflow } from '../../core/fair-channel/index.js';
import type { PriorityOverflow } from '../../core/priority-channel/index.js';

// The configuration after validation: camelCase, units resolved (ms, items/s,
// fractions). The file itself uses the seed's snake_case keys; each field
// below names its key. Durations accept `250ms`, `5s`, `1h30m` or a number of
// ms; rates `1000/s`, `60/min` or a number per second; fractions `0.8` or `"80%"`.

/** A queue's strategy: a Channel's, a PriorityChannel's (`shed-lowest`) or a FairChannel's. */
export type QueueStrategy = OverflowStrategy | PriorityOverflow | FairOverflow;

/** Key `priorities` of a queue: the queue is built as a {@link PriorityChannel}. */
export interface PrioritiesConfig {
  /**
   * Key `levels`: the level names, highest first (1 to 30, distinct). Required.
   * @default none (required)
   * @example priorities: { levels: [critical, normal, batch] }
   */
  levels: string[];
  /**
   * Key `weights`: a weight > 0 for every level; receivers then share among
   * the non-empty levels in proportion, so the lowest is slowed, not starved.
   * @default undefined (strict priority)
   * @example weights: { critical: 8, normal: 3, batch: 1 }
   */
  weights: Record<string, number> | undefined;
  /**
   * Key `reserve`: slots kept for the top level (an integer < capacity).
   * @default 0
   * @example reserve: 100
   */
  reserve: number | undefined;
  /**
   * Key `default`: the level of an item sent without `{ priority }`.
   * @default the last level
   * @example default: normal
   */
  defaultPriority: string | undefined;
}

/**
 * Key `fairness` of a queue: the queue is built as a {@link FairChannel}. A
 * file cannot hold a key function, so producers pass the key with each item:
 * `send(item, { key: tenantId })`.
 */
export interface FairnessConfig {
  /** Key `per_key_capacity`: most items one key may have buffered (at most capacity). Required. @default none @example per_key_capacity: 50 */
  perKeyCapacity: number;
  /** Key `quantum`: deficit round robin's share per key and turn. @default 1 @example quantum: 4 */
  quantum: number | undefined;
  /** Key `top_keys`: keys tracked in `stats().topDroppedKeys`. @default 10 @example top_keys: 20 */
  topKeys: number | undefined;
}

/** One `queues.<name>` entry: a {@link Channel} (a {@link PriorityChannel} with `priorities`, a {@link FairChannel} with `fairness`). */
export interface QueueConfig {
  /**
   * Key `capacity`, or the seed's `size`. Required.
   * @default none (required)
   * @example queues: { input_queue: { capacity: 10000 } }
   */
  capacity: number;
  /**
   * Key `strategy` (or `overflow`): block, drop-newest, drop-oldest, sample, reject;
   * with `priorities`: block, drop-newest, reject, shed-lowest; with `fairness`: drop-newest, reject, block.
   * The seed's underscore spellings (`drop_oldest`, `shed_lowest`) are accepted too.
   * @default 'block' ('drop-newest' with fairness)
   * @example queues: { processing_queue: { capacity: 5000, strategy: drop_oldest } }
   */
  strategy: QueueStrategy;
  /**
   * Key `high_watermark`: fraction of capacity at which the channel becomes pressured.
   * @default 0.8
   * @example high_watermark: 0.8  # or "80%"
   */
  highWatermark: number;
  /**
   * Key `low_watermark`: fraction at or below which pressure is released.
   * @default 0.2 (at most high_watermark)
   * @example low_watermark: 0.6
   */
  lowWatermark: number;
  /**
   * Key `sample_every`: under `sample`, one offer in this many is kept above the high watermark.
   * @default 10
   * @example sample_every: 20
   */
  sampleEvery: number;
  /**
   * Key `timeout` (seed) or `max_block`: under `block`, the longest `send()` waits for room.
   * @default undefined (waits until room, abort or close)
   * @example timeout: 5s
   */
  maxBlockMs: number | undefined;
  /**
   * Key `max_bytes`: the byte budget (Channel `maxBytes`), in bytes. The file
   * takes `64MB`, `512KiB`, `1GB` or a number of bytes: KB/MB/GB are powers
   * of 1000, KiB/MiB/GiB powers of 1024. An item is admitted only while both
   * `capacity` and `max_bytes` hold; one larger than it is dropped as
   * `too-large`. Items are measured by the default `sizeOf` (UTF-8 bytes of
   * a string, `byteLength` of a Buffer or typed array); other items need a
   * Channel built in code with `sizeOf`. Plain queues only (not with
   * `priorities` or `fairness`). Reloadable through `setMaxBytes()`; it cannot
   * be added to or removed from a running queue. `sluice simulate` models
   * items, not their sizes: it ignores `max_bytes`.
   * @default undefined (items only)
   * @example queues: { log_lines: { capacity: 100000, max_bytes: 64MiB, strategy: drop_oldest } }
   */
  maxBytes?: number;
  /**
   * Key `priorities`: levels, weights, reserve and default level; the queue becomes a PriorityChannel.
   * @default undefined (a plain Channel)
   * @example queues: { requests: { capacity: 1000, strategy: shed_lowest, priorities: { levels: [critical, batch] } } }
   */
  priorities?: PrioritiesConfig;
  /**
   * Key `fairness`: per-key capacity and quantum; the queue becomes a FairChannel.
   * @default undefined (a plain Channel)
   * @example queues: { jobs: { capacity: 1000, fairness: { per_key_capacity: 50 } } }
   */
  fairness?: FairnessConfig;
}

/**
 * One `writers.<name>` entry: the settings of a {@link BatchWriter}. A file
 * cannot hold the sink (your code), so `fromConfig(config, { sinks })` builds
 * a writer only for a name it is given a sink for. `batch_size` and
 * `flush_interval` are reloadable (`setBatchSize()`, `setFlushInterval()`);
 * a key left out takes the BatchWriter default.
 */
export interface WriterConfig {
  /** Key `capacity` (or the seed's `size`): items buffered in front of the sink. @default 1000 @example writers: { events: { capacity: 10000 } } */
  capacity: number | undefined;
  /** Key `strategy` (or `overflow`): what a write does while the buffer is full; a Channel's strategies. @default 'block' @example strategy: drop_oldest */
  strategy: OverflowStrategy | undefined;
  /** Key `high_watermark`: fraction of capacity at which the writer is pressured. @default 0.8 @example high_watermark: 0.8 */
  highWatermark: number | undefined;
  /** Key `low_watermark`: fraction at or below which pressure is released. @default 0.2 @example low_watermark: 0.5 */
  lowWatermark: number | undefined;
  /** Key `sample_every` (strategy sample only). @default 10 @example sample_every: 20 */
  sampleEvery: number | undefined;
  /** Key `timeout` (strategy block only): the longest `write()` waits for room. @default undefined (no limit) @example timeout: 5s */
  maxBlockMs: number | undefined;
  /**
   * Key `batch_size`: a flush starts once this many items are buffered and
   * sends no more; an integer from 1 to capacity. Reloadable.
   * @default 100 (or capacity, if smaller)
   * @example batch_size: 1000
   */
  batchSize: number | undefined;
  /**
   * Key `flush_interval` (the seed's `minFlushIntervalMs`): the shortest
   * flush interval, which the writer starts from and a partial batch waits
   * at most. Reloadable: the adaptation restarts from the new value.
   * @default 100 (ms)
   * @example flush_interval: 250ms
   */
  flushIntervalMs: number | undefined;
  /** Key `max_flush_interval`: longest interval the adaptation reaches (>= flush_interval). @default 30s (or flush_interval if longer) @example max_flush_interval: 5s */
  maxFlushIntervalMs: number | undefined;
  /** Key `target_latency`: sink latency the interval adapts to. @default 500ms @example target_latency: 200ms */
  targetLatencyMs: number | undefined;
  /**
   * Key `max_bytes`: the buffer's byte budget (BatchWriter `maxBytes`), as
   * for a queue: `64MB` (10^6), `512KiB` (2^10) or a number of bytes. A batch
   * is due once the bytes reach the high watermark. Reloadable through
   * `setMaxBytes()`; it cannot be added to or removed from a running writer.
   * @default undefined (items only)
   * @example writers: { events: { capacity: 10000, max_bytes: 32MiB } }
   */
  maxBytes: number | undefined;
}

/** The seed's single `flow_control` section, built as a component named `flow_control`. */
export type FlowControlConfig =
  | {
      /**
       * Key `type: credit_based`: a {@link Credits} with `initial_credits` (required) and `max_credits`.
       * @default none (required)
       * @example flow_control: { type: credit_based, initial_credits: 1000 }
       */
      type: 'credit-based';
      initialCredits: number;
      /** Key `max_credits`. @default Infinity @example max_credits: 1000 */
      maxCredits: number | undefined;
      /**
       * Key `min_credits` (seed): the replenish threshold, Credits' `minCredits`.
       * When the credits left fall below it the Credits turns low
       * (`stats().low`) and its `onLow()` listeners run, so the consumer can
       * grant the next batch before producers run dry; it does not limit
       * producers. An integer >= 0, at most `max_credits`.
       * @default 0 (never low)
       * @example min_credits: 100
       */
      minCredits: number | undefined;
      /**
       * Key `credit_timeout` (seed): longest `acquire()` waits for credits, then
       * it rejects with a `TimeoutError` DOMException and takes nothing (Credits' `acquireTimeoutMs`).
       * @default undefined (waits until credits arrive, the signal aborts or it is closed)
       * @example credit_timeout: 30s
       */
      creditTimeoutMs: number | undefined;
    }
  | {
      /**
       * Key `type: rate_based`: a {@link TokenBucket} with `rate` (required) and `burst`.
       * @default none (required)
       * @example flow_control: { type: rate_based, rate: 500/s, burst: 50 }
       */
      type: 'rate-based';
      ratePerSecond: number;
      /** Key `burst`. @default one second's worth of tokens @example burst: 50 */
      burst: number | undefined;
    }
  | {
      /**
       * Key `type: adaptive`: the {@link AdaptiveRate} described by the `adaptive` section (which is then required).
       * @default none (required)
       * @example flow_control: { type: adaptive }
       */
      type: 'adaptive';
    };

/** The `adaptive` section: an {@link AdaptiveRate}. */
export interface AdaptiveConfig {
  /** Key `target_latency_ms` (seed) or `target_latency` (a duration). Required. @default none @example target_latency_ms: 100 */
  targetLatencyMs: number;
  /** Key `min_rate`: slowest pace. @default 1/s (or max_rate, if that is lower) @example min_rate: 10/s */
  minRate: number;
  /** Key `max_rate`: fastest pace. @default 1000/s (or min_rate, if that is higher) @example max_rate: 1000/s */
  maxRate: number;
  /**
   * Key `adjustment_interval` (seed): adjust the rate once per interval, from
   * the mean latency recorded during it, instead of on every `record()`;
   * `window` then counts intervals.
   * @default undefined (adjusts on every record())
   * @example adjustment_interval: 10s
   */
  adjustmentIntervalMs: number | undefined;
  /** Key `initial_rate`. @default (min_rate + max_rate) / 2 @example initial_rate: 200/s */
  initialRate: number | undefined;
  /** Key `increase_rate` (seed): factor when latency is low, > 1. @default 1.1 @example increase_rate: 1.1 */
  increase: number | undefined;
  /** Key `decrease_rate` (seed): factor when latency is high, in (0, 1). @default 0.9 @example decrease_rate: 0.9 */
  decrease: number | undefined;
  /** Key `window`: latencies averaged. @default 10 @example window: 20 */
  window: number | undefined;
  /** Key `burst`. @default max_rate / 100 @example burst: 1 */
  burst: number | undefined;
}

/** A `rate_limits.<name>` entry: a {@link TokenBucket}. */
export interface RateLimitConfig {
  /** Key `rate`. Required. @default none @example rate: 500/s */
  ratePerSecond: number;
  /** Key `burst`. @default one second's worth @example burst: 50 */
  burst: number | undefined;
}

/** A `credits.<name>` entry: a {@link Credits}. */
export interface CreditsConfig {
  /** Key `initial`. Required. @default none @example initial: 100 */
  initial: number;
  /** Key `max`. @default Infinity @example max: 100 */
  max: number | undefined;
}

/** A `concurrency.<name>` entry: a {@link ConcurrencyLimiter}. */
export interface ConcurrencyConfig {
  /** Key `algorithm`: fixed, aimd, vegas, gradient2. @default 'fixed' @example algorithm: aimd */
  algorithm: LimitAlgorithmName;
  /** Key `initial_limit`. @default 20 @example initial_limit: 10 */
  initialLimit: number | undefined;
  /** Key `min_limit`. @default 1 @example min_limit: 2 */
  minLimit: number | undefined;
  /** Key `max_limit`. @default 1000 @example max_limit: 200 */
  maxLimit: number | undefined;
  /** Key `when_full`: wait or reject. @default 'wait' @example when_full: reject */
  whenFull: ConcurrencyWhenFull | undefined;
  /** Key `backoff_ratio` (aimd, gradient2). @default 0.9 @example backoff_ratio: 0.75 */
  backoffRatio: number | undefined;
  /** Key `timeout` (aimd): a slower call counts as a drop. @default 5s @example timeout: 250ms */
  timeoutMs: number | undefined;
  /**
   * Key `max_waiting`: callers that may wait at once; one more is refused at
   * once with `LimitExceededError` (the bulkhead pattern). Only with `when_full: wait`.
   * @default undefined (no bound)
   * @example max_waiting: 50
   */
  maxWaiting: number | undefined;
  /**
   * Key `partitions`: each named partition's guaranteed share of the limit,
   * each in (0, 1], adding up to at most 1. Callers pass `acquire({ partition })`.
   * @default undefined (one first-come, first-served pool)
   * @example partitions: { critical: 0.6, batch: 0.2 }
   */
  partitions: Record<string, number> | undefined;
}

/** A `bulkheads.<name>` entry: `bulkhead()`, a fixed {@link ConcurrencyLimiter} with a bounded wait queue. */
export interface BulkheadConfig {
  /** Key `concurrency`: calls that may run at once. Required. @default none @example concurrency: 10 */
  concurrency: number;
  /** Key `max_waiting`: calls that may wait at once; one more is refused. Required. @default none @example max_waiting: 20 */
  maxWaiting: number;
}

/** A `breakers.<name>` entry: a {@link CircuitBreaker}. */
export interface BreakerConfig {
  /** Key `window`: count or time. @default 'count' @example window: time */
  window: CircuitBreakerWindow;
  /** Key `window_size` (count): calls in the window. @default 20 @example window_size: 50 */
  windowSize: number | undefined;
  /** Key `window_duration` (time): the window's length. @default 10s @example window_duration: 30s */
  windowMs: number | undefined;
  /** Key `window_buckets` (time). @default 10 @example window_buckets: 30 */
  windowBuckets: number | undefined;
  /** Key `minimum_calls`: calls the window holds before a rate counts. @default 10 (or window_size when smaller) @example minimum_calls: 20 */
  minimumCalls: number | undefined;
  /** Key `failure_rate_threshold`: a fraction in (0, 1] or "50%". @default 0.5 @example failure_rate_threshold: 0.5 */
  failureRateThreshold: number | undefined;
  /** Key `slow_call_duration`: a call this long is slow. @default undefined (not tracked) @example slow_call_duration: 2s */
  slowCallMs: number | undefined;
  /** Key `slow_call_rate_threshold`: a fraction in (0, 1]. @default 1 @example slow_call_rate_threshold: 0.8 */
  slowCallRateThreshold: number | undefined;
  /** Key `reset_after`: how long it stays open before probing. @default 30s @example reset_after: 5s */
  resetAfterMs: number | undefined;
  /** Key `half_open_probes`: calls admitted while half-open. @default 1 @example half_open_probes: 3 */
  halfOpenProbes: number | undefined;
}

/** The `monitoring` section: alerts on every queue and limiter. */
export interface MonitoringConfig {
  /** Key `metrics_interval` (seed): time between alert evaluations. @default 1s (AlertMonitor's default) @example metrics_interval: 10s */
  intervalMs: number | undefined;
  /**
   * Key `alert_thresholds` (seed): `queue_depth` (fraction, "90%" or `{ items: N }`),
   * `drop_rate` (fraction or "1%"), `blocked_time` (a duration: the longest a producer is currently blocked),
   * `lag` (`{ items: N }` or `{ pressure: P }`: a lag source's backlog), `slope` (a trend's change per
   * second, e.g. `0.05/s`), `time_to_full` (a duration: fires when a queue will be full within it at
   * its current fill rate, before it is full).
   * @default {} (no alerts)
   * @example alert_thresholds: { queue_depth: 0.9, drop_rate: 0.01, blocked_time: 500ms, time_to_full: 30s }
   */
  thresholds: { queueDepth?: QueueDepthThreshold; dropRate?: number; blockedTime?: number; lag?: LagThreshold; slope?: number; timeToFull?: number };
  /** Key `alert_for`: how long a threshold must be crossed before firing. @default 0 @example alert_for: 30s */
  forMs: number | undefined;
  /** Key `alert_window`: span over which drop_rate is measured. @default 60s @example alert_window: 5m */
  windowMs: number | undefined;
  /** Key `resolve_ratio`: resolve below threshold × this. @default 0.9 @example resolve_ratio: 0.8 */
  resolveRatio: number | undefined;
}

/** Workload for `sluice simulate`, per queue (after applying `simulation.queues.<name>` over the defaults). */
export interface WorkloadConfig {
  /** Key `arrival_rate`: Poisson arrivals. @default none (give it here or with --arrival-rate) @example arrival_rate: 1000/s */
  arrivalRate: number | undefined;
  /** Key `service_time`: mean per item and consumer. @default none (here or --service-time) @example service_time: 0.9ms */
  serviceTimeMs: number | undefined;
  /** Key `service_distribution`: exponential or fixed. @default 'exponential' @example service_distribution: fixed */
  serviceDistribution: 'exponential' | 'fixed' | undefined;
  /** Key `consumers`. @default 1 @example consumers: 4 */
  consumers: number | undefined;
}

/** The `simulation` section. */
export interface SimulationConfig extends WorkloadConfig {
  /** Key `seed`. @default 1 @example seed: 42 */
  seed: number | undefined;
  /** Key `duration`. @default 1h @example duration: 10m */
  durationMs: number | undefined;
  /** Key `queues`: per-queue overrides of the workload. @default {} @example queues: { input_queue: { arrival_rate: 500/s } } */
  queues: Record<string, WorkloadConfig>;
}

/** A validated configuration file. */
export interface SluiceConfig {
  queues: Record<string, QueueConfig>;
  /** Key `writers`: BatchWriter settings by name. @default {} */
  writers: Record<string, WriterConfig>;
  flowControl: FlowControlConfig | undefined;
  adaptive: AdaptiveConfig | undefined;
  rateLimits: Record<string, RateLimitConfig>;
  credits: Record<string, CreditsConfig>;
  concurrency: Record<string, ConcurrencyConfig>;
  bulkheads: Record<string, BulkheadConfig>;
  breakers: Record<string, BreakerConfig>;
  monitoring: MonitoringConfig | undefined;
  simulation: SimulationConfig | undefined;
  /** Things worth knowing that are not errors, one sentence each: e.g. a default used for a rate the file left out. */
  warnings: string[];
}
