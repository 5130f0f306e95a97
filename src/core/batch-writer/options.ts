import type { Clock } from '../clock/index.js';
import { resolveChannelOptions, type ByteBudgetOptions, type ChannelOptions, type ChannelState, type DropReason, type OverflowStrategy, type ReconfigureEvent, type ResolvedChannelOptions } from '../../internal/engine/options.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { resolveBreakerOptions, type BatchWriterBreakerOptions, type BatchWriterBreakerState, type ResolvedBreakerOptions } from './breaker.js';
import { resolveRetryOptions, type ResolvedRetryOptions, type BatchWriterRetryOptions } from './retry.js';

/** Handed to every `flush()` call. */
export interface BatchFlushContext {
  /** Fires when {@link BatchWriter.abort} is called; a sink that honours it lets the writer stop quickly. */
  signal: AbortSignal;
  /** 0 for the first try of these items, 1 for their first retry, and so on. */
  attempt: number;
}

/** One item a sink could not write, with the reason. */
export interface BatchFailedItem<T> {
  item: T;
  error: unknown;
}

/**
 * What a sink reports: nothing (every item was written) or the items that
 * failed. A throw or rejection fails the whole batch.
 */
export type BatchFlushResult<T> = void | undefined | { failed: readonly BatchFailedItem<T>[] };

export type BatchFlushFunction<T> = (items: T[], context: BatchFlushContext) => BatchFlushResult<T> | PromiseLike<BatchFlushResult<T>>;

export interface BatchDeadLetterInfo {
  /** `errors[i]` is the last error reported for `items[i]`. */
  errors: unknown[];
  /** Sink calls these items went through, the first try included. */
  attempts: number;
}

/**
 * Receives items the writer gave up on. `error` is the last error: the thrown
 * value when the whole batch failed, or, for a partial failure, the one error
 * all the items share, else an `AggregateError` of the distinct errors.
 */
export type BatchDeadLetterFunction<T> = (items: T[], error: unknown, info: BatchDeadLetterInfo) => void | PromiseLike<void>;

/** Why the writer counted an item as dropped: the channel's reasons plus the writer's own. */
export type BatchWriterDropReason = DropReason | 'flush-failed' | 'dead-letter-failed';

/**
 * `maxBytes` and `sizeOf` ({@link ByteBudgetOptions}) bound the buffer in
 * front of the sink in bytes as well as items, as on `Channel`; a buffer full
 * by bytes also makes a batch due, so producers blocked by the byte budget
 * need not wait for the interval.
 */
export interface BatchWriterOptions<T> extends ChannelOptions, ByteBudgetOptions<T> {
  /**
   * Writes one batch to the sink. Called with at most `batchSize` items, oldest
   * first, and never while another call is running (one flush in flight at a
   * time, so the sink sees items in order). Resolve with nothing when every
   * item was written, or with `{ failed }` listing the items that were not;
   * throw or reject to fail the whole batch. Do not modify `items`: the writer
   * reads it again to match the failed entries.
   * @example new BatchWriter({ flush: (rows) => db.insertMany('events', rows) })
   */
  flush: BatchFlushFunction<T>;
  /**
   * Most items buffered in front of the sink; beyond it writes meet `overflow`.
   * A batch in flight or waiting for a retry no longer takes room here, so
   * memory stays within `capacity + batchSize` items.
   * @default 1000
   * @example new BatchWriter({ flush, capacity: 10_000 })
   */
  capacity?: number;
  /**
   * What a write does when the buffer is full; same strategies as `Channel`.
   * `'block'` makes producers wait for the sink, which is the backpressure you
   * want when no item may be lost.
   * @default 'block'
   * @example new BatchWriter({ flush, overflow: 'drop-oldest' }) // telemetry: keep the newest
   */
  overflow?: OverflowStrategy;
  /**
   * A flush starts as soon as this many items are buffered, and no flush sends
   * more. An integer from 1 to `capacity`.
   * @default 100 (or `capacity`, if smaller)
   * @example new BatchWriter({ flush, batchSize: 500 })
   */
  batchSize?: number;
  /**
   * Shortest flush interval, and the one the writer starts with. A partial batch
   * is flushed once the interval has passed since the later of two moments: the
   * arrival of the oldest unflushed item, and the end of the previous flush.
   * Must be > 0.
   * @default 100
   * @example new BatchWriter({ flush, minFlushIntervalMs: 50 })
   */
  minFlushIntervalMs?: number;
  /**
   * Longest flush interval the adaptation may reach. Must be >= `minFlushIntervalMs`.
   * @default 30000
   * @example new BatchWriter({ flush, maxFlushIntervalMs: 5_000 })
   */
  maxFlushIntervalMs?: number;
  /**
   * Sink latency the interval adapts to. After every sink call the interval is
   * multiplied by 1.5 if the call took longer than this, by 0.75 if it took
   * less than half of it, then clamped to the min/max bounds; so a slow sink
   * gets fewer, larger batches. Must be > 0.
   * @default 500
   * @example new BatchWriter({ flush, targetLatencyMs: 200 })
   */
  targetLatencyMs?: number;
  /**
   * Retry failed items with exponential backoff before giving up on them.
   * Without it a failed item goes straight to `deadLetter`.
   * @default undefined (no retries)
   * @example new BatchWriter({ flush, retry: { attempts: 5, initialDelayMs: 200, maxDelayMs: 10_000 } })
   */
  retry?: BatchWriterRetryOptions;
  /**
   * Circuit breaker around the sink: after `failureThreshold` consecutive failed
   * flushes, nothing is sent for `resetAfterMs`, and items wait in the buffer.
   * @default undefined (no breaker)
   * @example new BatchWriter({ flush, breaker: { failureThreshold: 3, resetAfterMs: 5_000 } })
   */
  breaker?: BatchWriterBreakerOptions;
  /**
   * Where items go once their retries are exhausted. May be async; the next
   * flush waits for it. If it throws, the items are counted as dropped with
   * reason `'dead-letter-failed'`. Without it they are counted as dropped with
   * reason `'flush-failed'`.
   * @default undefined
   * @example new BatchWriter({ flush, deadLetter: (items, error) => fs.appendFile('dead.jsonl', lines(items)) })
   */
  deadLetter?: BatchDeadLetterFunction<T>;
  /**
   * Time source for flush intervals, retry delays, the breaker and latency.
   * @default systemClock
   * @example new BatchWriter({ flush, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in logs (`shutdownOn`) and metrics.
   * @default 'batch-writer'
   * @example new BatchWriter({ flush, name: 'events-to-postgres' })
   */
  name?: string;
}

export interface BatchWriterWriteOptions {
  /** Aborting while waiting for room drops the item (reason `'aborted'`) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Under `'block'`: the longest this call waits for room; overrides `maxBlockMs`. */
  timeoutMs?: number;
}

export interface BatchWriterDrainOptions {
  /**
   * Longest the drain waits. What is not flushed by then stays buffered and the
   * writer keeps working on it; the report says how much.
   * @default undefined (wait until everything is settled)
   */
  timeoutMs?: number;
  /** Aborting rejects the drain with the signal's reason; the writer stays closed and keeps draining. */
  signal?: AbortSignal;
}

/** What {@link BatchWriter.drain} achieved. Counts are for the duration of the drain call. */
export interface BatchWriterDrainReport {
  flushed: number;
  deadLettered: number;
  dropped: number;
  /** Items still buffered or in flight when the report was made; 0 unless `timedOut`. */
  remaining: number;
  timedOut: boolean;
}

export interface BatchWriterBreakerStats {
  state: BatchWriterBreakerState;
  consecutiveFailures: number;
  /** Times the breaker opened (re-opening after a failed probe included). */
  opens: number;
}

/**
 * Counters of a writer. At every moment
 * `written === flushed + buffered + inFlight + dropped + deadLettered`,
 * and `dropped` is the sum of `droppedBy`.
 */
/**
 * What {@link BatchWriter.onReconfigure} listeners receive: the setting that
 * changed, its value before and its value now.
 */
export type BatchWriterReconfigureEvent = ReconfigureEvent<'batchSize' | 'flushIntervalMs' | 'maxBytes'>;

export interface BatchWriterStats {
  capacity: number;
  state: ChannelState;
  pressured: boolean;
  /** Items whose fate the writer has decided: buffered (now or before) or dropped at the door. */
  written: number;
  /** Producers waiting for room under `'block'`; their items are not yet `written`. */
  waiting: number;
  /** Items the sink confirmed. */
  flushed: number;
  /** Items sent to the sink again after a failure; an item retried twice counts twice. */
  retried: number;
  /** Items `deadLetter` accepted. */
  deadLettered: number;
  dropped: number;
  droppedBy: Record<BatchWriterDropReason, number>;
  /** Items waiting in the buffer, plus items waiting for a retry. */
  buffered: number;
  /** Items in the running `flush()` call or in a running `deadLetter()` call. */
  inFlight: number;
  /** `flush()` calls started. */
  batches: number;
  /** `flush()` calls that threw, rejected, or reported failed items. */
  failedBatches: number;
  /** Duration of the last completed `flush()` call; 0 before the first one. */
  lastFlushLatencyMs: number;
  /** The current, adapted flush interval. */
  flushIntervalMs: number;
  /** `setBatchSize()`/`setFlushInterval()`/`setMaxBytes()` calls that changed a setting. Only grows. */
  adjustments: number;
  /** With `maxBytes` only: bytes in the buffer (not those in flight or waiting for a retry), the sum of `sizeOf`; what `maxBytes` bounds. */
  bytes?: number;
  /** With `maxBytes` only: the byte budget of the buffer. */
  maxBytes?: number;
  /**
   * With `maxBytes` only: the byte side of the accounting, each the bytes of
   * the items counted in the item field of the same name. At every moment
   * `writtenBytes === flushedBytes + bufferedBytes + inFlightBytes + droppedBytes + deadLetteredBytes`.
   * An item's size is measured once, when it is written; the items of a
   * partly failed batch are measured again (their `sizeOf` should not change).
   */
  writtenBytes?: number;
  /** With `maxBytes` only: bytes of the items the sink confirmed. */
  flushedBytes?: number;
  /** With `maxBytes` only: bytes of `buffered`: `bytes` plus the items waiting for a retry. */
  bufferedBytes?: number;
  /** With `maxBytes` only: bytes of `inFlight`. */
  inFlightBytes?: number;
  /** With `maxBytes` only: bytes of `dropped`, every reason (`too-large` included). */
  droppedBytes?: number;
  /** With `maxBytes` only: bytes of `deadLettered`. */
  deadLetteredBytes?: number;
  breaker: BatchWriterBreakerStats;
}

export interface ResolvedWriterOptions<T> {
  channel: ResolvedChannelOptions;
  flush: BatchFlushFunction<T>;
  batchSize: number;
  minFlushIntervalMs: number;
  maxFlushIntervalMs: number;
  targetLatencyMs: number;
  retry: ResolvedRetryOptions | undefined;
  breaker: ResolvedBreakerOptions | undefined;
  deadLetter: BatchDeadLetterFunction<T> | undefined;
}

export function resolveWriterOptions<T>(options: BatchWriterOptions<T>): ResolvedWriterOptions<T> {
  const o = v.optionsObject(options, 'BatchWriter', {
    flush: true, capacity: true, overflow: true, batchSize: true, minFlushIntervalMs: true, maxFlushIntervalMs: true,
    targetLatencyMs: true, retry: true, breaker: true, deadLetter: true, clock: true, name: true, highWatermark: true,
    lowWatermark: true, sampleEvery: true, maxBlockMs: true, maxBytes: true, sizeOf: true,
  });
  const flush = v.requiredFunction<BatchFlushFunction<T>>('flush', o.flush);
  const channel = resolveChannelOptions({ ...o, name: o.name ?? 'batch-writer' }, null);
  const batchSize = v.integer('batchSize', o.batchSize, Math.min(100, channel.capacity), { min: 1 });
  if (batchSize > channel.capacity) {
    // A batch that can never fill would leave every flush to the timer.
    throw new InvalidOptionError('batchSize', batchSize, `an integer from 1 to capacity (${channel.capacity})`);
  }
  const minFlushIntervalMs = v.number('minFlushIntervalMs', o.minFlushIntervalMs, 100, { min: 0, minExclusive: true });
  const maxFlushIntervalMs = v.number('maxFlushIntervalMs', o.maxFlushIntervalMs, Math.max(30_000, minFlushIntervalMs), { min: 0, minExclusive: true });
  if (maxFlushIntervalMs < minFlushIntervalMs) {
    throw new InvalidOptionError('maxFlushIntervalMs', maxFlushIntervalMs, `a finite number >= minFlushIntervalMs (${minFlushIntervalMs})`);
  }
  const targetLatencyMs = v.number('targetLatencyMs', o.targetLatencyMs, 500, { min: 0, minExclusive: true });
  return {
    channel,
    flush,
    batchSize,
    minFlushIntervalMs,
    maxFlushIntervalMs,
    targetLatencyMs,
    retry: resolveRetryOptions(o.retry),
    breaker: resolveBreakerOptions(o.breaker),
    deadLetter: v.optionalFunction<BatchDeadLetterFunction<T>>('deadLetter', o.deadLetter),
  };
}
