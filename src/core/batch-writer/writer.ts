import type { Clock, TimerHandle } from '../clock/index.js';
import type { ChannelState, OverflowStrategy } from '../channel/index.js';
import { Breaker, type BatchWriterBreakerState } from './breaker.js';
import { WriterBuffer } from './buffer.js';
import { readFailures, wholeBatchFailed, type Failures } from './failures.js';
import {
  resolveWriterOptions,
  type BatchWriterOptions,
  type BatchWriterStats,
  type BatchDeadLetterFunction,
  type BatchWriterDrainOptions,
  type BatchWriterDrainReport,
  type BatchFlushFunction,
  type BatchWriterWriteOptions,
  type BatchWriterReconfigureEvent,
} from './options.js';
import { retryDelay, type ResolvedRetryOptions } from './retry.js';
import { SettleWaiters } from '../../internal/settle-waiters.js';
import { AdaptiveInterval } from './interval.js';
import * as v from '../../internal/validate.js';
import { Listeners } from '../../internal/listeners.js';
import { checkMaxBytes } from '../../internal/engine/options.js';
import { InvalidArgumentError } from '../errors/index.js';

const writeSpec: v.CallOptionSpec<BatchWriterWriteOptions> = { signal: 'signal', timeoutMs: 'ms' };
const drainedSpec: v.CallOptionSpec<{ signal?: AbortSignal }> = { signal: 'signal' };
const drainSpec: v.CallOptionSpec<BatchWriterDrainOptions> = { signal: 'signal', timeoutMs: 'maxMs' };

/**
 * Batches items in front of a slow sink (a database, an HTTP API) with
 * backpressure, retries, a circuit breaker and a drain for shutdown.
 *
 * ## When a flush happens
 * One flush runs at a time. The next one starts:
 * - at once, when `batchSize` items are buffered (inside the `write()` that filled the batch);
 * - when the flush interval has passed since the later of: the arrival of the
 *   oldest unflushed item, and the end of the previous flush. The interval
 *   starts at `minFlushIntervalMs` and adapts to the sink's latency (see `targetLatencyMs`);
 * - at once, back to back, after `close()`: partial batches no longer wait;
 * - at once when the breaker turns half-open (the probe); if nothing is
 *   buffered then, the next item written is sent as the probe.
 *
 * ## Failures
 * Failed items (a whole batch that threw, or the `failed` subset) are retried
 * alone, ahead of newer items, after an exponential backoff; meanwhile they
 * count as `buffered`. When their attempts are used up they go to `deadLetter`,
 * or are counted as dropped (`'flush-failed'`). Every sink call that fails costs
 * its items one attempt, including the failure that opens the breaker and a
 * failed probe; time spent waiting for an open breaker costs none. While the
 * breaker is open, a pending retry waits for the half-open probe instead of its
 * backoff timer, and is itself the probe.
 *
 * ## Accounting
 * At every moment `written === flushed + buffered + inFlight + dropped + deadLettered`.
 * With `maxBytes`, the same in bytes: `writtenBytes === flushedBytes + bufferedBytes + inFlightBytes + droppedBytes + deadLetteredBytes`.
 *
 * @example
 * const writer = new BatchWriter<Row>({
 *   flush: (events) => db.insert('events', events),
 *   capacity: 10_000,
 *   retry: { attempts: 5 },
 *   breaker: { failureThreshold: 3, resetAfterMs: 10_000 },
 *   deadLetter: (events, error) => saveForLater(events, error),
 * });
 * await writer.write(event); // waits while the buffer is full
 * shutdownOn(writer);        // SIGTERM/SIGINT: drain, then exit
 */
export class BatchWriter<T> {
  readonly name: string;
  readonly capacity: number;
  readonly overflow: OverflowStrategy;
  private currentBatchSize: number;
  private readonly maxIntervalMs: number;
  private intervalArmedAt = 0;
  private adjustmentCount = 0;
  private readonly reconfigureListeners = new Listeners<BatchWriterReconfigureEvent>();

  /** `declare`d: assigned once in the constructor, so V8 knows its class on the `write()` path (see `Channel`'s `buffer`). */
  private declare readonly buffer: WriterBuffer<T>;
  private readonly clock: Clock;
  private readonly sink: BatchFlushFunction<T>;
  private readonly deadLetter: BatchDeadLetterFunction<T> | undefined;
  private readonly retry: ResolvedRetryOptions | undefined;
  private readonly breaker: Breaker;
  private readonly interval: AdaptiveInterval;
  private readonly controller = new AbortController();
  private readonly settleWaiters: SettleWaiters;

  private intervalTimer: TimerHandle | undefined;
  private intervalDue = false;
  private retryTimer: TimerHandle | undefined;
  /** Failed items waiting for their next attempt (and their bytes, with `maxBytes`); they go before anything in the buffer. */
  private pendingRetry: { items: T[]; attempt: number; bytes: number } | undefined;
  /** A flush (and the dead-lettering after it) is running. */
  private busy = false;
  private isClosed = false;
  private isAborted = false;

  private flushedCount = 0;
  private retriedCount = 0;
  private deadLetteredCount = 0;
  private inFlightCount = 0;
  private batchCount = 0;
  private failedBatchCount = 0;
  private lastLatencyMs = 0;
  private readonly ownDrops = { 'flush-failed': 0, 'dead-letter-failed': 0, aborted: 0 };
  /** Built with `maxBytes`: the byte counters below are kept (all stay 0 without). */
  private readonly countsBytes: boolean;
  private flushedBytes = 0;
  private inFlightBytes = 0;
  private deadLetteredBytes = 0;
  /** Bytes of the writer's own drops (the buffer counts its own). */
  private ownDroppedBytes = 0;
  /** `takenBytes` when a take began, while it runs: listeners called meanwhile see the bytes taken so far in flight. */
  private takeStartBytes: number | undefined;

  private readonly onIntervalTimer = (): void => {
    this.intervalTimer = undefined;
    this.intervalDue = true;
    this.pump();
  };
  private readonly onRetryTimer = (): void => {
    this.retryTimer = undefined;
    this.pump();
  };

  constructor(options: BatchWriterOptions<T>) {
    const o = resolveWriterOptions(options);
    this.buffer = new WriterBuffer<T>(o.channel);
    this.name = o.channel.name;
    this.capacity = o.channel.capacity;
    this.overflow = o.channel.overflow;
    this.clock = o.channel.clock;
    this.currentBatchSize = o.batchSize;
    this.maxIntervalMs = o.maxFlushIntervalMs;
    this.sink = o.flush;
    this.deadLetter = o.deadLetter;
    this.retry = o.retry;
    this.interval = new AdaptiveInterval(o.minFlushIntervalMs, o.maxFlushIntervalMs, o.targetLatencyMs);
    this.breaker = new Breaker(o.breaker, this.clock, () => this.pump());
    this.settleWaiters = new SettleWaiters(this.clock);
    this.countsBytes = o.channel.maxBytes !== undefined;
  }

  /** Most items one flush sends; a full batch flushes at once. Change it with {@link setBatchSize}. */
  get batchSize(): number {
    return this.currentBatchSize;
  }

  /**
   * Sets the batch size from now on. Checked like the `batchSize` option: an
   * integer from 1 to `capacity`; a bad value throws and changes nothing. A
   * running flush keeps its batch. Lowered to or below what is buffered, a
   * full batch flushes at once (when no flush is running; else right after
   * it), which makes room for producers blocked under `'block'`. A change
   * counts in `stats().adjustments` and is reported to {@link onReconfigure}
   * listeners; setting the current size does nothing.
   * @throws InvalidOptionError (field `batchSize`) for a value that is not an integer from 1 to capacity.
   * @example
   * const writer = new BatchWriter({ flush: async (rows: string[]) => void rows, batchSize: 500 });
   * writer.setBatchSize(100); // smaller inserts while the database is under load
   */
  setBatchSize(batchSize: number): void {
    const next = v.requiredInteger('batchSize', batchSize, { min: 1, max: this.capacity });
    const previous = this.currentBatchSize;
    if (next === previous) return;
    this.currentBatchSize = next;
    this.adjustmentCount++;
    if (!this.isClosed) this.pump();
    this.reconfigureListeners.emit({ setting: 'batchSize', previous, value: next });
  }

  /**
   * Sets the flush interval's base from now on: the shortest interval, which
   * the adaptation starts from and shrinks back to (the `minFlushIntervalMs`
   * option). The adaptation restarts from it: the interval is `ms` at once and
   * grows again after slow sink calls, up to `maxFlushIntervalMs` as built.
   * Checked like `minFlushIntervalMs`: a finite number > 0 and <=
   * `maxFlushIntervalMs`; a bad value throws and changes nothing. A partial
   * batch already waiting is flushed `ms` after its interval started (at once
   * if that is past). A change counts in `stats().adjustments` and is reported
   * to {@link onReconfigure} listeners (`previous` is the interval in use
   * before); a call that changes neither the base nor the interval does nothing.
   * @throws InvalidOptionError (field `flushIntervalMs`) for a bad value.
   * @example
   * const writer = new BatchWriter({ flush: async (rows: string[]) => void rows });
   * writer.setFlushInterval(1_000); // partial batches at most once a second
   */
  setFlushInterval(ms: number): void {
    const next = v.requiredNumber('flushIntervalMs', ms, { min: 0, minExclusive: true, max: this.maxIntervalMs });
    const previous = this.interval.ms;
    if (next === previous && next === this.interval.base) return;
    this.interval.reset(next);
    this.adjustmentCount++;
    if (this.intervalTimer !== undefined) {
      // Re-time the partial batch waiting now from the moment its interval started.
      this.clock.cancel(this.intervalTimer);
      this.intervalTimer = undefined;
      const left = this.intervalArmedAt + next - this.clock.now();
      if (left <= 0) this.onIntervalTimer();
      else this.intervalTimer = this.clock.schedule(left, this.onIntervalTimer);
    }
    this.reconfigureListeners.emit({ setting: 'flushIntervalMs', previous, value: next });
  }

  /** The buffer's byte budget (`maxBytes`), or undefined for a writer that counts items only. Change it with {@link setMaxBytes}. */
  get maxBytes(): number | undefined {
    return this.buffer.maxBytes;
  }

  /**
   * Changes the byte budget of a writer built with `maxBytes`, from now on,
   * with `Channel.setMaxBytes()`'s rule. Checked like the option (an integer
   * >= 1, field `maxBytes`); a bad value throws and changes nothing. Raised,
   * producers waiting for room whose items now fit are let in, oldest first.
   * Lowered below the bytes buffered, nothing buffered is dropped: writes meet
   * the overflow strategy until flushes bring the bytes below the new budget,
   * an item larger than it is dropped as `'too-large'`, and a batch is due at
   * once when the bytes are now at or above the high watermark. A change
   * counts in `stats().adjustments` and is reported to {@link onReconfigure}
   * listeners (setting `'maxBytes'`); setting the current budget does nothing.
   *
   * A writer built without `maxBytes` counts items only; it cannot take a
   * byte budget later (this throws).
   * @throws InvalidOptionError (field `maxBytes`) for a bad value; InvalidArgumentError on a writer built without `maxBytes`.
   * @example
   * const writer = new BatchWriter<string>({ flush: async (lines) => void lines, maxBytes: 32 * 1024 * 1024 });
   * writer.setMaxBytes(8 * 1024 * 1024); // the heap is tight: buffer 8 MB from now on
   */
  setMaxBytes(maxBytes: number): void {
    if (!this.countsBytes) {
      throw new InvalidArgumentError('setMaxBytes(maxBytes): the writer was built without maxBytes; give it a maxBytes option at construction');
    }
    const next = checkMaxBytes(maxBytes);
    const previous = this.buffer.maxBytes!;
    if (next === previous) return;
    this.buffer.setMaxBytes(next);
    this.adjustmentCount++;
    // Lowered, the bytes may now press: the batch is due at once.
    if (!this.isClosed) this.pump();
    this.reconfigureListeners.emit({ setting: 'maxBytes', previous, value: next });
  }

  /**
   * Calls `listener(event)` after every change made by {@link setBatchSize},
   * {@link setFlushInterval} or {@link setMaxBytes} (not for the interval's own adaptation: see
   * `stats().flushIntervalMs`). Listeners run synchronously once the change is
   * in effect; one that throws does not stop the others (its error surfaces as
   * an uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const writer = new BatchWriter({ flush: async (rows: string[]) => void rows });
   * const off = writer.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * writer.setBatchSize(50); // logs "batchSize: 100 -> 50"
   * off();
   */
  onReconfigure(listener: (event: BatchWriterReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /** The buffer's fill level; after `close()`, `'draining'` until every item is settled, then `'closed'`. */
  get state(): ChannelState {
    if (!this.isClosed) return this.buffer.state;
    return this.isSettled() ? 'closed' : 'draining';
  }

  /** On from the high watermark until the buffer falls back to the low watermark. */
  get pressured(): boolean {
    return this.buffer.pressured;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get breakerState(): BatchWriterBreakerState {
    return this.breaker.state;
  }

  /**
   * Buffers `item` for the sink, waiting for room under `'block'`; the other
   * strategies behave as in `Channel.send()`.
   * @returns true when buffered; false when dropped by the strategy or when the wait timed out.
   * @throws (rejects) OverflowError under `'reject'` when full; ClosedError once closed.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even with room: the item is not buffered and is counted as
   * dropped (reason `'aborted'`). If `signal` fires while the call waits for
   * room, the same. An item already buffered is never taken back. Options of
   * the wrong type or with an unknown key reject with
   * `ERR_SLUICE_INVALID_OPTION`; the item is not counted.
   */
  write(item: T, options?: BatchWriterWriteOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'write()', writeSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
    }
    const result = this.buffer.send(item, options);
    if (!this.busy) this.pump();
    return result;
  }

  /**
   * Buffers `item` if the strategy allows it right now; never waits.
   * Under `'block'` a false return means nothing happened: the item is still yours and is not counted.
   * @throws ClosedError once closed (counted, reason `'closed'`).
   */
  tryWrite(item: T): boolean {
    const accepted = this.buffer.trySend(item);
    if (accepted && !this.busy) this.pump();
    return accepted;
  }

  /**
   * Stops intake: later writes fail with ClosedError (counted, reason
   * `'closed'`), and so do producers waiting for room. What is buffered is
   * flushed in full batches, back to back, without waiting for the interval.
   * Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.buffer.close();
    this.pump();
    this.checkSettled();
  }

  /**
   * Resolves once the writer is closed and every item has been flushed,
   * dead-lettered or dropped with a reason. Does not close the writer.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even when everything is settled; an abort while waiting rejects
   * with `signal.reason`. The writer is unaffected either way.
   */
  async drained(options?: { signal?: AbortSignal }): Promise<void> {
    const invalid = v.callOptionsError(options, 'drained()', drainedSpec);
    if (invalid !== undefined) throw invalid;
    await this.waitSettled(undefined, options?.signal);
  }

  /**
   * Closes the writer and waits, at most `timeoutMs`, until everything is
   * settled. Items not flushed in time are not discarded: they stay counted as
   * `buffered` or `inFlight`, the writer keeps working on them, and the report's
   * `remaining` says how many there are. Call {@link abort} to give up on them.
   * @throws (rejects) InvalidOptionError when `timeoutMs` is not a number >= 0
   * or an option is unknown; the writer is then not closed.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and does not close the writer. An abort while waiting rejects with
   * `signal.reason`; the writer stays closed and keeps flushing; nothing
   * buffered is lost.
   */
  async drain(options?: BatchWriterDrainOptions): Promise<BatchWriterDrainReport> {
    const invalid = v.callOptionsError(options, 'drain()', drainSpec);
    if (invalid !== undefined) throw invalid;
    const timeoutMs = options?.timeoutMs;
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const flushed = this.flushedCount;
    const deadLettered = this.deadLetteredCount;
    const dropped = this.droppedTotal();
    this.close();
    const settled = await this.waitSettled(timeoutMs === Infinity ? undefined : timeoutMs, signal);
    return {
      flushed: this.flushedCount - flushed,
      deadLettered: this.deadLetteredCount - deadLettered,
      dropped: this.droppedTotal() - dropped,
      remaining: this.bufferedCount() + this.inFlightCount,
      timedOut: !settled,
    };
  }

  /**
   * Stops now: closes the writer, counts everything buffered or waiting for a
   * retry as dropped (reason `'aborted'`), and fires the `signal` handed to the
   * running `flush()`. That batch counts as `inFlight` until the sink settles:
   * flushed if it succeeded, else dropped (reason `'aborted'`) without retry or
   * dead-lettering. Idempotent.
   */
  abort(reason?: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.close();
    this.cancelTimers();
    const retry = this.pendingRetry;
    if (retry !== undefined) {
      this.pendingRetry = undefined;
      this.ownDrops.aborted += retry.items.length;
      this.ownDroppedBytes += retry.bytes;
    }
    const n = this.buffer.size;
    if (n !== 0) {
      // Counted before taking, so a listener called while the buffer empties sees consistent stats.
      this.ownDrops.aborted += n;
      if (this.countsBytes) this.ownDroppedBytes += this.buffer.bytes;
      this.buffer.take(n);
    }
    this.controller.abort(reason);
    this.checkSettled();
  }

  /** Calls `listener(pressured)` when pressure turns on or off. Returns an unsubscribe function. */
  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.buffer.onPressureChange(listener);
  }

  /** Calls `listener(state, previous)` when the breaker changes state. Returns an unsubscribe function. */
  onBreakerChange(listener: (state: BatchWriterBreakerState, previous: BatchWriterBreakerState) => void): () => void {
    return this.breaker.listen(listener);
  }

  stats(): BatchWriterStats {
    return {
      capacity: this.capacity,
      state: this.state,
      pressured: this.buffer.pressured,
      written: this.buffer.offered,
      waiting: this.buffer.waiting,
      flushed: this.flushedCount,
      retried: this.retriedCount,
      deadLettered: this.deadLetteredCount,
      dropped: this.droppedTotal(),
      droppedBy: this.buffer.droppedByWith(this.ownDrops),
      buffered: this.bufferedCount(),
      inFlight: this.inFlightCount,
      batches: this.batchCount,
      failedBatches: this.failedBatchCount,
      lastFlushLatencyMs: this.lastLatencyMs,
      flushIntervalMs: this.interval.ms,
      adjustments: this.adjustmentCount,
      breaker: { state: this.breaker.state, consecutiveFailures: this.breaker.consecutiveFailures, opens: this.breaker.opens },
      ...(this.countsBytes ? this.byteStats() : {}),
    };
  }

  private byteStats(): Pick<BatchWriterStats, 'bytes' | 'maxBytes' | 'writtenBytes' | 'flushedBytes' | 'bufferedBytes' | 'inFlightBytes' | 'droppedBytes' | 'deadLetteredBytes'> {
    const buffer = this.buffer;
    const bytes = buffer.bytes;
    return {
      bytes,
      maxBytes: buffer.maxBytes!,
      writtenBytes: buffer.writtenBytes,
      flushedBytes: this.flushedBytes,
      bufferedBytes: bytes + (this.pendingRetry?.bytes ?? 0),
      inFlightBytes: this.inFlightBytes + (this.takeStartBytes === undefined ? 0 : buffer.takenBytes - this.takeStartBytes),
      droppedBytes: buffer.droppedBytes + this.ownDroppedBytes,
      deadLetteredBytes: this.deadLetteredBytes,
    };
  }

  /** Starts a flush if one is due and allowed, otherwise makes sure the interval timer runs. */
  private pump(): void {
    if (this.busy || this.isAborted) return;
    const retry = this.pendingRetry;
    if (retry !== undefined) {
      // Retried items go first and alone: no newer item overtakes them.
      if (this.retryTimer === undefined && !this.breaker.isOpen) {
        this.pendingRetry = undefined;
        this.inFlightCount += retry.items.length;
        this.inFlightBytes += retry.bytes;
        this.dispatch(retry.items, retry.attempt, retry.bytes);
      }
      return;
    }
    const size = this.buffer.size;
    if (size === 0 || this.breaker.isOpen) return;
    if (size >= this.batchSize || this.isClosed || this.intervalDue || this.breaker.state === 'half-open' || this.buffer.bytesPressed) {
      const n = size < this.batchSize ? size : this.batchSize;
      // Counted before taking: producers let in while the buffer empties may trigger listeners.
      this.inFlightCount += n;
      if (!this.countsBytes) {
        this.dispatch(this.buffer.take(n), 0, 0);
        return;
      }
      // The batch's bytes: what left the buffer across the take (no sizeOf call).
      const before = (this.takeStartBytes = this.buffer.takenBytes);
      const batch = this.buffer.take(n);
      this.takeStartBytes = undefined;
      const bytes = this.buffer.takenBytes - before;
      this.inFlightBytes += bytes;
      this.dispatch(batch, 0, bytes);
    } else if (this.intervalTimer === undefined) {
      this.intervalArmedAt = this.clock.now();
      this.intervalTimer = this.clock.schedule(this.interval.ms, this.onIntervalTimer);
    }
  }

  private dispatch(batch: T[], attempt: number, bytes: number): void {
    this.busy = true;
    this.intervalDue = false;
    if (this.intervalTimer !== undefined) {
      this.clock.cancel(this.intervalTimer);
      this.intervalTimer = undefined;
    }
    this.batchCount++;
    if (attempt > 0) this.retriedCount += batch.length;
    void this.runFlush(batch, attempt, bytes);
  }

  private async runFlush(batch: T[], attempt: number, bytes: number): Promise<void> {
    const started = this.clock.now();
    let failures: Failures<T> | undefined;
    let threw = false;
    try {
      failures = readFailures(batch, await this.sink(batch, { signal: this.controller.signal, attempt }));
    } catch (error) {
      threw = true;
      failures = wholeBatchFailed(batch, error);
    }
    this.lastLatencyMs = this.clock.now() - started;
    this.interval.observe(this.lastLatencyMs);
    const succeeded = batch.length - (failures?.items.length ?? 0);
    this.inFlightCount -= succeeded;
    this.flushedCount += succeeded;
    const failedBytes = failures === undefined ? 0 : this.bytesOf(failures.items, batch, bytes);
    this.inFlightBytes -= bytes - failedBytes;
    this.flushedBytes += bytes - failedBytes;
    if (failures !== undefined) this.failedBatchCount++;
    // A partial failure means the sink answered: only a throw counts against the breaker.
    if (threw) this.breaker.recordFailure();
    else this.breaker.recordSuccess();
    if (failures !== undefined) await this.settleFailures(failures, attempt, failedBytes);
    this.busy = false;
    this.pump();
    this.checkSettled();
  }

  /**
   * Bytes of `failed`, the failed items of `batch` (of `batchBytes`): all of
   * them when the whole batch failed, else measured again (a failure path).
   */
  private bytesOf(failed: T[], batch: T[], batchBytes: number): number {
    if (!this.countsBytes || failed.length === 0) return 0;
    if (failed.length === batch.length) return batchBytes;
    let sum = 0;
    try {
      for (const item of failed) sum += this.buffer.measure(item);
    } catch {
      // sizeOf measured these items at the write; one that now throws must not stall the writer.
      return batchBytes;
    }
    // Nor may a sizeOf that changed since the write break the accounting.
    return sum < batchBytes ? sum : batchBytes;
  }

  private async settleFailures(failures: Failures<T>, attempt: number, bytes: number): Promise<void> {
    const n = failures.items.length;
    if (this.isAborted) {
      this.inFlightCount -= n;
      this.inFlightBytes -= bytes;
      this.ownDrops.aborted += n;
      this.ownDroppedBytes += bytes;
      return;
    }
    const retry = this.retry;
    if (retry !== undefined && attempt < retry.attempts) {
      this.inFlightCount -= n;
      this.inFlightBytes -= bytes;
      this.pendingRetry = { items: failures.items, attempt: attempt + 1, bytes };
      // With the breaker open the retry waits for the half-open probe instead of a timer.
      if (!this.breaker.isOpen) this.retryTimer = this.clock.schedule(retryDelay(retry, attempt + 1), this.onRetryTimer);
      return;
    }
    if (this.deadLetter === undefined) {
      this.inFlightCount -= n;
      this.ownDrops['flush-failed'] += n;
      this.inFlightBytes -= bytes;
      this.ownDroppedBytes += bytes;
      return;
    }
    // Items in a running deadLetter() stay inFlight, their bytes too.
    try {
      await this.deadLetter(failures.items, failures.error, { errors: failures.errors, attempts: attempt + 1 });
      this.inFlightCount -= n;
      this.deadLetteredCount += n;
      this.inFlightBytes -= bytes;
      this.deadLetteredBytes += bytes;
    } catch {
      this.inFlightCount -= n;
      this.ownDrops['dead-letter-failed'] += n;
      this.inFlightBytes -= bytes;
      this.ownDroppedBytes += bytes;
    }
  }

  private isSettled(): boolean {
    return this.isClosed && !this.busy && this.pendingRetry === undefined && this.buffer.size === 0;
  }

  private checkSettled(): void {
    if (!this.isSettled()) return;
    this.cancelTimers();
    this.settleWaiters.resolveAll();
  }

  /** Resolves true once settled, false when `timeoutMs` passes first. */
  private waitSettled(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isSettled()) return Promise.resolve(true);
    return this.settleWaiters.wait(timeoutMs, signal);
  }

  private cancelTimers(): void {
    if (this.intervalTimer !== undefined) this.clock.cancel(this.intervalTimer);
    if (this.retryTimer !== undefined) this.clock.cancel(this.retryTimer);
    this.intervalTimer = this.retryTimer = undefined;
    this.breaker.stop();
  }

  private bufferedCount(): number {
    return this.buffer.size + (this.pendingRetry?.items.length ?? 0);
  }

  private droppedTotal(): number {
    const own = this.ownDrops;
    return this.buffer.dropped + own['flush-failed'] + own['dead-letter-failed'] + own.aborted;
  }
}
