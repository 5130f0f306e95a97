import { ChannelClosedError, InvalidArgumentError, InvalidItemError, OverflowError } from '../errors/index.js';
import { describe } from '../internal/describe.js';
import { RESOLVED_FALSE, RESOLVED_TRUE, RESOLVED_UNDEFINED } from './core.js';
import * as v from '../internal/validate.js';
import { Admit } from './policy.js';
import type { ChannelState, ChannelStats, ReceiveBatchOptions, ReceiveOptions, SendOptions } from './options.js';
import { SpillCore } from './spill.js';
import { Receiver, Sender } from './views.js';

export type { ChannelStats, ReceiveBatchOptions, ReceiveOptions, SendOptions } from './options.js';
export type { ChannelInit, SpillOptions } from './spill-options.js';

const noop = (): void => {};

// Per-call options: checked (keys and types) on the slow path only, before any effect.
const sendSpec: v.CallOptionSpec<SendOptions> = { signal: 'signal', timeoutMs: 'ms' };
const receiveSpec: v.CallOptionSpec<ReceiveOptions> = { signal: 'signal' };
const receiveBatchSpec: v.CallOptionSpec<ReceiveBatchOptions> = { signal: 'signal', maxWaitMs: 'ms' };
const drainedSpec: v.CallOptionSpec<{ signal?: AbortSignal }> = { signal: 'signal' };

/**
 * A bounded, asynchronous hand-off between producers and consumers.
 *
 * ## Close and drain contract
 * - `close()` is idempotent. After it, `send()` rejects and `trySend()` throws
 *   `ChannelClosedError`, each counted as dropped with reason `'closed'`.
 * - Producers still waiting for room are released the same way.
 * - Items already buffered stay receivable; `receive()` yields `undefined` and
 *   `receiveBatch()` yields `[]` only once the channel is closed *and* empty.
 * - `drained()` resolves once the channel is closed and empty.
 *
 * ## Accounting
 * At every moment `offered === delivered + size + dropped`, and `dropped` is
 * the sum of `droppedBy`.
 *
 * ## Spill
 * With `spill: store` (see {@link SpillOptions}) memory is the first tier and
 * the store the second: offers above the high watermark go to the store in
 * batches and come back in order as memory empties.
 * - `capacity`, `utilization` and `state` describe memory; `size` counts every
 *   item (memory, write batches and store) and `stats()` splits it into
 *   `inMemory`, `spillWriting` and `spilled`.
 * - `pressured` turns on at the high watermark as usual and stays on while
 *   anything is outside memory; `stats().spilling` tells the two apart.
 * - `trySend()` returns true once the item is in memory or in a write batch;
 *   `send()` resolves true once it is in memory or committed to the store, and
 *   rejects with the store's error if the append failed (the item is counted as
 *   dropped, reason `'spill-failed'`, as are `trySend()` items of that append).
 * - A closed channel stays `'draining'` until memory and store are empty;
 *   receivers get the stored items too, and `drained()` waits for them.
 * - Once `spillCapacity` is reached, the overflow strategy (`'block'`,
 *   `'drop-newest'` or `'reject'`) applies as to a full channel without spill.
 */
export class Channel<T> extends SpillCore<T> {
  private views: { sender: Sender<T>; receiver: Receiver<T> } | undefined;

  get size(): number {
    return this.ringLength + this.outside;
  }
  get closed(): boolean {
    return this.isClosed;
  }
  get state(): ChannelState {
    return this.signals.stateAt(this.ringLength, this.isClosed, this.outside !== 0);
  }
  /** On from the high watermark until utilization falls back to the low watermark (and, with spill, nothing is outside memory). */
  get pressured(): boolean {
    return this.signals.pressured;
  }
  /** Fill level of memory: with spill, stored items do not count. */
  get utilization(): number {
    return this.ringLength / this.capacity;
  }

  /**
   * Buffers `item` if the strategy allows it right now; never waits.
   * @returns true when the item is now buffered (under `'drop-oldest'`, always).
   * Under `'block'` a false return means nothing happened: the item is still
   * yours and is not counted. Under the dropping strategies false means it was
   * dropped and counted. With spill, true also when the item joined a write
   * batch for the store (held in memory until the append commits).
   * @throws ChannelClosedError once closed (counted, reason `'closed'`).
   */
  trySend(item: T): boolean {
    // Hot path: one comparison (see sendQuietBelow; it is never above the slot
    // count, so no growth check). Kept small so it inlines into the caller's
    // loop; everything else is in trySendSlow().
    if (this.ringLength < this.sendQuietBelow && item !== undefined) {
      this.ringPushFree(item);
      return true;
    }
    return this.trySendSlow(item);
  }

  private trySendSlow(item: T): boolean {
    if (item === undefined) throw new InvalidItemError();
    if (this.ringLength < this.fastLimit) {
      this.accept(item); // open and nobody waiting: at the band's edge or the ring's
      return true;
    }
    if (this.isClosed) throw this.closedDrop();
    if (this.store !== undefined) return this.trySpill(item);
    if (this.ringLength < this.policy.admitBelow && this.senders.size === 0) {
      this.accept(item);
      return true;
    }
    switch (this.policy.admit(this.ringLength)) {
      case Admit.accept:
        this.accept(item);
        return true;
      case Admit.evictOldest:
        this.evictOldest(item);
        return true;
      case Admit.dropNewest:
        this.drop('drop-newest');
        return false;
      case Admit.dropSample:
        this.drop('sample');
        return false;
      case Admit.reject:
        this.drop('rejected');
        return false;
      default:
        return false; // 'block': refused, not offered
    }
  }

  /**
   * Offers `item`, waiting for room under `'block'`.
   * @returns true when buffered; false when dropped by the strategy or when
   * the wait timed out (reason `'timeout'`).
   * @throws OverflowError under `'reject'` when full; ChannelClosedError when closed
   * before or during the wait.
   *
   * With spill: resolves true once the item is in memory or committed to the
   * store; rejects with the store's error when the append carrying it failed
   * (the item is counted as dropped, reason `'spill-failed'`). `timeoutMs`
   * bounds only the wait for room, not the commit.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even when there is room: the item is not buffered and is counted
   * as dropped (reason `'aborted'`), as any aborted offer. If `signal` fires
   * while waiting, the same: the item is not buffered, is counted as dropped
   * (reason `'aborted'`) and the promise rejects with `signal.reason`. An
   * item already buffered is never taken back; with spill, an item already in
   * a write batch is not either: the abort is then ignored and the promise
   * settles with the append, since a commit cannot be taken back.
   *
   * Bad input (`undefined` as item, options of the wrong type or with an
   * unknown key: `ERR_SLUICE_INVALID_OPTION`) rejects before the signal is
   * looked at, and the item is not counted.
   */
  send(item: T, options?: SendOptions): Promise<boolean> {
    // Hot path: with options the call takes the slow path, which checks them.
    if (this.ringLength < this.sendQuietBelow && item !== undefined && options === undefined) {
      this.ringPushFree(item);
      return RESOLVED_TRUE;
    }
    return this.sendSlow(item, options);
  }

  private sendSlow(item: T, options: SendOptions | undefined): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'send()', sendSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return this.abortedDrop(signal);
    }
    if (this.ringLength < this.fastLimit) {
      this.accept(item);
      return RESOLVED_TRUE;
    }
    if (this.isClosed) return Promise.reject(this.closedDrop());
    if (this.store !== undefined) return this.sendSpill(item, options);
    if (this.ringLength < this.policy.admitBelow && this.senders.size === 0) {
      this.accept(item);
      return RESOLVED_TRUE;
    }
    switch (this.policy.admit(this.ringLength)) {
      case Admit.accept:
        this.accept(item);
        return RESOLVED_TRUE;
      case Admit.evictOldest:
        this.evictOldest(item);
        return RESOLVED_TRUE;
      case Admit.dropNewest:
        this.drop('drop-newest');
        return RESOLVED_FALSE;
      case Admit.dropSample:
        this.drop('sample');
        return RESOLVED_FALSE;
      case Admit.reject:
        this.drop('rejected');
        return Promise.reject(new OverflowError());
      default:
        return this.waitForRoom(item, signal, options?.timeoutMs ?? this.maxBlockMs);
    }
  }

  /** Takes the oldest item if there is one; never waits. */
  tryReceive(): T | undefined {
    if (this.ringLength === 0) return undefined;
    const item = this.ringShift();
    if (this.ringLength < this.receiveQuietFrom) this.afterTake();
    return item;
  }

  /**
   * Takes the oldest item, waiting for one if the channel is empty.
   * @returns `undefined` only once the channel is closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes no item, even when one is buffered. An abort while
   * waiting rejects with `signal.reason` and takes no item. Options of the
   * wrong type or with an unknown key reject with `ERR_SLUICE_INVALID_OPTION`.
   */
  receive(options?: ReceiveOptions): Promise<T | undefined> {
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'receive()', receiveSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.ringLength !== 0) return Promise.resolve(this.tryReceive());
    if (this.isClosed && !this.backlogged()) return RESOLVED_UNDEFINED;
    return this.waitForItems(0, 1, 0, signal) as Promise<T | undefined>;
  }

  /**
   * Takes up to `max` items. Waits for the first one; then, if `maxWaitMs` is
   * set and fewer than `max` are buffered, waits up to `maxWaitMs` more for the
   * batch to fill (the items stay buffered, and counted in `size`, meanwhile).
   * @returns at most `max` items, oldest first; `[]` only once closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even when items are buffered. An abort while
   * waiting rejects with `signal.reason`; items that arrived meanwhile stay
   * buffered for the next receiver. A bad `max` rejects with
   * `ERR_SLUICE_INVALID_ARGUMENT`, bad options with `ERR_SLUICE_INVALID_OPTION`.
   */
  receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    if (!Number.isSafeInteger(max) || max < 1) {
      return Promise.reject(new InvalidArgumentError(`receiveBatch(max): max must be an integer >= 1, got ${describe(max)}`));
    }
    let maxWaitMs = 0;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'receiveBatch()', receiveBatchSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      maxWaitMs = options.maxWaitMs ?? 0;
    }
    const size = this.ringLength;
    if (size !== 0 && (maxWaitMs === 0 || size >= max || size >= this.capacity || this.isClosed)) {
      return Promise.resolve(this.takeBatch(max));
    }
    if (size === 0 && this.isClosed && !this.backlogged()) return Promise.resolve([]);
    return this.waitForItems(1, max, maxWaitMs, signal) as Promise<T[]>;
  }

  /** Iterates until the channel is closed and empty. Breaking out does not close the channel. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const self = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the iterator object needs the channel
    return {
      next(): Promise<IteratorResult<T>> {
        if (self.ringLength !== 0) return Promise.resolve({ value: self.tryReceive() as T, done: false });
        return self.receive().then((value) => (value === undefined ? { value: undefined, done: true } : { value, done: false }));
      },
      return(): Promise<IteratorResult<T>> {
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Stops accepting items. See the close and drain contract above. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (let w = this.senders.shift(); w; w = this.senders.shift()) {
      this.drop('closed');
      w.reject(new ChannelClosedError('Channel closed while the producer was waiting for room'));
    }
    this.pump();
  }

  /**
   * Resolves once the channel is closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even when the channel is already drained; an abort while waiting
   * rejects with `signal.reason`. The channel is unaffected either way.
   */
  drained(options?: { signal?: AbortSignal }): Promise<void> {
    const invalid = v.callOptionsError(options, 'drained()', drainedSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed && this.ringLength === 0 && !this.backlogged()) return Promise.resolve();
    return this.drainWaiters.wait(undefined, signal).then(noop);
  }

  /** Calls `listener(state, previous)` on every state change. Returns an unsubscribe function. */
  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    const unsubscribe = this.signals.listen('state', listener);
    // State is tracked only while someone listens: adopt the current one silently
    // and narrow the quiet band so every state change is seen from now on.
    this.updateSignals();
    return unsubscribe;
  }

  /** Calls `listener(pressured)` when pressure turns on or off. Returns an unsubscribe function. */
  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.signals.listen('pressure', listener);
  }

  /** The producer's end: sending, closing and the pressure signal. */
  get sender(): Sender<T> {
    return (this.views ??= { sender: new Sender(this), receiver: new Receiver(this) }).sender;
  }

  /** The consumer's end: receiving, iterating and waiting for the drain. */
  get receiver(): Receiver<T> {
    return (this.views ??= { sender: new Sender(this), receiver: new Receiver(this) }).receiver;
  }

  stats(): ChannelStats {
    const dropped = this.droppedTotal();
    return this.spillStats({
      capacity: this.capacity,
      size: this.ringLength + this.outside,
      waiting: this.senders.size,
      utilization: this.ringLength / this.capacity,
      state: this.state,
      pressured: this.signals.pressured,
      offered: this.acceptedCount + this.refusedCount,
      accepted: this.acceptedCount,
      delivered: this.deliveredCount,
      dropped,
      droppedBy: { ...this.droppedBy },
      blockedMs: this.senders.blockedMs(),
      longestBlockedMs: this.senders.longestBlockedMs(),
      pressureEvents: this.signals.pressureEvents,
    });
  }

}
