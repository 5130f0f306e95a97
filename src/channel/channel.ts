import type { Clock, TimerHandle } from '../clock/index.js';
import { ChannelClosedError, InvalidArgumentError, InvalidItemError, OverflowError } from '../errors/index.js';
import { RingBuffer } from '../internal/ring-buffer.js';
import { WaiterList } from '../internal/waiter-list.js';
import { Admit, createPolicy, type BufferPolicy } from './policy.js';
import { ChannelSignals } from './signals.js';
import {
  resolveChannelOptions,
  type ChannelOptions,
  type ChannelState,
  type DropReason,
  type OverflowStrategy,
} from './options.js';
import type { ReceiveWaiter, SendWaiter } from './waiters.js';
import { Receiver, Sender } from './views.js';

export interface SendOptions {
  /** Aborting drops the item (reason `'aborted'`) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Under `'block'`: overrides `maxBlockMs` for this call. `0` means "do not wait". */
  timeoutMs?: number;
}

export interface ReceiveOptions {
  /** Aborting rejects with the signal's reason; no item is taken. */
  signal?: AbortSignal;
}

export interface ReceiveBatchOptions extends ReceiveOptions {
  /** After the first item arrives, how long to wait for the batch to fill. @default 0 */
  maxWaitMs?: number;
}

export interface ChannelStats {
  capacity: number;
  size: number;
  /** Producers waiting for room under `'block'`; their items are not yet `offered`. */
  waiting: number;
  utilization: number;
  state: ChannelState;
  pressured: boolean;
  /** Items whose fate is decided: buffered (now or before) or dropped. */
  offered: number;
  /** Items that entered the buffer, including ones later evicted under `'drop-oldest'`. */
  accepted: number;
  delivered: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Sum over producers of the time each spent waiting for room. */
  blockedMs: number;
  /** Times `pressured` turned on. */
  pressureEvents: number;
}

const RESOLVED_TRUE = Promise.resolve(true);
const RESOLVED_FALSE = Promise.resolve(false);
const RESOLVED_UNDEFINED = Promise.resolve(undefined);

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
 */
export class Channel<T> {
  readonly capacity: number;
  readonly overflow: OverflowStrategy;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  readonly name: string;

  private readonly ring = new RingBuffer<T>();
  private readonly policy: BufferPolicy;
  private readonly clock: Clock;
  private readonly maxBlockMs: number | undefined;
  private readonly senders = new WaiterList<SendWaiter<T>>();
  private readonly receivers = new WaiterList<ReceiveWaiter<T>>();
  /** Batch receivers that have their first item and wait up to maxWaitMs for more. */
  private readonly collectors = new WaiterList<ReceiveWaiter<T>>();
  private readonly signals: ChannelSignals;
  private isClosed = false;
  private drainWaiters: (() => void)[] | undefined;
  private views: { sender: Sender<T>; receiver: Receiver<T> } | undefined;

  private offeredCount = 0;
  private acceptedCount = 0;
  private deliveredCount = 0;
  private blockedTotal = 0;
  private readonly droppedBy: Record<DropReason, number> = {
    'drop-newest': 0,
    'drop-oldest': 0,
    sample: 0,
    rejected: 0,
    timeout: 0,
    aborted: 0,
    closed: 0,
  };

  constructor(options?: ChannelOptions) {
    const o = resolveChannelOptions(options);
    this.capacity = o.capacity;
    this.overflow = o.overflow;
    this.highWatermark = o.highWatermark;
    this.lowWatermark = o.lowWatermark;
    this.name = o.name;
    this.clock = o.clock;
    this.maxBlockMs = o.maxBlockMs;
    this.signals = new ChannelSignals(o.capacity, o.highWatermark * o.capacity, o.lowWatermark * o.capacity);
    this.policy = createPolicy(o.overflow, o.capacity, o.highWatermark * o.capacity, o.sampleEvery);
  }

  get size(): number {
    return this.ring.length;
  }
  get closed(): boolean {
    return this.isClosed;
  }
  get state(): ChannelState {
    return this.signals.state;
  }
  /** On from the high watermark until utilization falls back to the low watermark. */
  get pressured(): boolean {
    return this.signals.pressured;
  }
  get utilization(): number {
    return this.ring.length / this.capacity;
  }

  /**
   * Buffers `item` if the strategy allows it right now; never waits.
   * @returns true when the item is now buffered (under `'drop-oldest'`, always).
   * Under `'block'` a false return means nothing happened: the item is still
   * yours and is not counted. Under the dropping strategies false means it was
   * dropped and counted.
   * @throws ChannelClosedError once closed (counted, reason `'closed'`).
   */
  trySend(item: T): boolean {
    if (item === undefined) throw new InvalidItemError();
    if (this.isClosed) throw this.closedDrop();
    if (this.ring.length < this.policy.admitBelow && this.senders.size === 0) {
      this.accept(item);
      return true;
    }
    switch (this.policy.admit(this.ring.length)) {
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
   * Abort safety: if `signal` fires while waiting, the item is not buffered,
   * is counted as dropped (reason `'aborted'`) and the promise rejects with
   * `signal.reason`. An item already buffered is never taken back.
   */
  send(item: T, options?: SendOptions): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    if (this.isClosed) return Promise.reject(this.closedDrop());
    if (this.ring.length < this.policy.admitBelow && this.senders.size === 0) {
      if (options?.signal?.aborted) return this.abortedDrop(options.signal);
      this.accept(item);
      return RESOLVED_TRUE;
    }
    const signal = options?.signal;
    if (signal?.aborted) return this.abortedDrop(signal);
    switch (this.policy.admit(this.ring.length)) {
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
    if (this.ring.length === 0) return undefined;
    const item = this.ring.shift();
    this.deliveredCount++;
    if (this.senders.size !== 0 || this.isClosed) this.pump();
    else this.signals.update(this.ring.length, this.isClosed);
    return item;
  }

  /**
   * Takes the oldest item, waiting for one if the channel is empty.
   * @returns `undefined` only once the channel is closed and empty.
   *
   * Abort safety: an abort while waiting rejects with `signal.reason` and takes no item.
   */
  receive(options?: ReceiveOptions): Promise<T | undefined> {
    if (this.ring.length !== 0) return Promise.resolve(this.tryReceive());
    if (this.isClosed) return RESOLVED_UNDEFINED;
    return this.waitForItems(0, 1, 0, options?.signal) as Promise<T | undefined>;
  }

  /**
   * Takes up to `max` items. Waits for the first one; then, if `maxWaitMs` is
   * set and fewer than `max` are buffered, waits up to `maxWaitMs` more for the
   * batch to fill (the items stay buffered, and counted in `size`, meanwhile).
   * @returns at most `max` items, oldest first; `[]` only once closed and empty.
   *
   * Abort safety: an abort rejects with `signal.reason`; items that arrived
   * meanwhile stay buffered for the next receiver.
   */
  receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    if (!Number.isSafeInteger(max) || max < 1) {
      return Promise.reject(new InvalidArgumentError(`receiveBatch(max): max must be an integer >= 1, got ${String(max)}`));
    }
    const maxWaitMs = options?.maxWaitMs ?? 0;
    if (!(maxWaitMs >= 0) || !Number.isFinite(maxWaitMs)) {
      return Promise.reject(new InvalidArgumentError(`receiveBatch(): maxWaitMs must be a finite number >= 0, got ${String(maxWaitMs)}`));
    }
    const size = this.ring.length;
    if (size !== 0 && (maxWaitMs === 0 || size >= max || size >= this.capacity || this.isClosed)) {
      return Promise.resolve(this.takeBatch(max));
    }
    if (size === 0 && this.isClosed) return Promise.resolve([]);
    return this.waitForItems(1, max, maxWaitMs, options?.signal) as Promise<T[]>;
  }

  /** Iterates until the channel is closed and empty. Breaking out does not close the channel. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const self = this;
    return {
      next(): Promise<IteratorResult<T>> {
        if (self.ring.length !== 0) return Promise.resolve({ value: self.tryReceive() as T, done: false });
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
      this.settleSender(w, 'closed');
      w.reject(new ChannelClosedError('Channel closed while the producer was waiting for room'));
    }
    this.pump();
  }

  /**
   * Resolves once the channel is closed and empty.
   *
   * Abort safety: an abort rejects with `signal.reason`; the channel is unaffected.
   */
  drained(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.isClosed && this.ring.length === 0) return Promise.resolve();
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.drainWaiters = this.drainWaiters?.filter((r) => r !== done);
        reject(signal!.reason);
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      (this.drainWaiters ??= []).push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `listener(state, previous)` on every state change. Returns an unsubscribe function. */
  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    return this.signals.listen('state', listener);
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
    return {
      capacity: this.capacity,
      size: this.ring.length,
      waiting: this.senders.size,
      utilization: this.ring.length / this.capacity,
      state: this.signals.state,
      pressured: this.signals.pressured,
      offered: this.offeredCount,
      accepted: this.acceptedCount,
      delivered: this.deliveredCount,
      dropped,
      droppedBy: { ...this.droppedBy },
      blockedMs: this.blockedTotal + this.currentBlockedMs(),
      pressureEvents: this.signals.pressureEvents,
    };
  }

  // ---- internals -------------------------------------------------------------

  private accept(item: T): void {
    this.ring.push(item);
    this.offeredCount++;
    this.acceptedCount++;
    if (this.receivers.size !== 0 || this.collectors.size !== 0) this.pump();
    else this.signals.update(this.ring.length, this.isClosed);
  }

  private evictOldest(item: T): void {
    this.ring.shift();
    this.droppedBy['drop-oldest']++;
    this.accept(item);
  }

  private drop(reason: DropReason): void {
    this.offeredCount++;
    this.droppedBy[reason]++;
  }

  private closedDrop(): ChannelClosedError {
    this.drop('closed');
    return new ChannelClosedError();
  }

  private abortedDrop(signal: AbortSignal): Promise<never> {
    this.drop('aborted');
    return Promise.reject(signal.reason);
  }

  private droppedTotal(): number {
    const d = this.droppedBy;
    return d['drop-newest'] + d['drop-oldest'] + d.sample + d.rejected + d.timeout + d.aborted + d.closed;
  }

  private takeBatch(max: number): T[] {
    const out: T[] = [];
    this.ring.drainInto(out, max);
    this.deliveredCount += out.length;
    this.pump();
    return out;
  }

  private currentBlockedMs(): number {
    if (this.senders.size === 0) return 0;
    const now = this.clock.now();
    let sum = 0;
    for (let w = this.senders.head; w; w = w.next) sum += now - w.since;
    return sum;
  }

  private waitForRoom(item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      return Promise.reject(new InvalidArgumentError(`send(): timeoutMs must be a number >= 0, got ${String(timeoutMs)}`));
    }
    if (timeoutMs === 0) {
      this.drop('timeout');
      return RESOLVED_FALSE;
    }
    return new Promise<boolean>((resolve, reject) => {
      const w: SendWaiter<T> = {
        prev: undefined,
        next: undefined,
        linked: false,
        item,
        resolve,
        reject,
        since: this.clock.now(),
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (timeoutMs !== undefined) {
        w.timer = this.clock.schedule(timeoutMs, () => {
          w.timer = undefined;
          this.senders.remove(w);
          this.settleSender(w, 'timeout');
          resolve(false);
        });
      }
      if (signal) {
        w.onAbort = () => {
          this.senders.remove(w);
          this.settleSender(w, 'aborted');
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.senders.push(w);
    });
  }

  /** Clears a sender's timer and listener; `reason` counts its item as dropped. */
  private settleSender(w: SendWaiter<T>, reason: DropReason | undefined): void {
    this.blockedTotal += this.clock.now() - w.since;
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    if (reason) this.drop(reason);
  }

  private waitForItems(kind: 0 | 1, max: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const w: ReceiveWaiter<T> = {
        prev: undefined,
        next: undefined,
        linked: false,
        kind,
        max,
        maxWaitMs,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        w.onAbort = () => {
          this.receivers.remove(w);
          this.collectors.remove(w);
          this.settleReceiver(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (this.ring.length !== 0) this.startCollecting(w); // first item already here
      else this.receivers.push(w);
    });
  }

  private settleReceiver(w: ReceiveWaiter<T>): void {
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  private startCollecting(w: ReceiveWaiter<T>): void {
    this.collectors.push(w);
    w.timer = this.clock.schedule(w.maxWaitMs, () => {
      w.timer = undefined;
      this.collectors.remove(w);
      if (this.ring.length === 0 && !this.isClosed) {
        this.receivers.push(w); // another consumer took the items: wait for a first item again
        return;
      }
      this.settleReceiver(w);
      w.resolve(this.takeBatch(w.max));
    });
  }

  /**
   * Moves items between waiting producers, the buffer and waiting consumers
   * until nothing more can move, then refreshes state and pressure.
   */
  private pump(): void {
    for (;;) {
      // A freed slot goes to the longest-waiting producer, before any later trySend.
      if (this.senders.size !== 0 && this.ring.length < this.capacity) {
        const w = this.senders.shift()!;
        this.settleSender(w, undefined);
        this.ring.push(w.item);
        this.offeredCount++;
        this.acceptedCount++;
        w.resolve(true);
        continue;
      }
      if (this.receivers.size !== 0 && this.ring.length !== 0) {
        const w = this.receivers.shift()!;
        if (w.kind === 0) {
          this.settleReceiver(w);
          this.deliveredCount++;
          w.resolve(this.ring.shift());
        } else if (w.maxWaitMs > 0 && !this.isClosed && this.ring.length < Math.min(w.max, this.capacity)) {
          this.startCollecting(w);
        } else {
          this.settleReceiver(w);
          const out: T[] = [];
          this.ring.drainInto(out, w.max);
          this.deliveredCount += out.length;
          w.resolve(out);
        }
        continue;
      }
      const c = this.collectors.head;
      if (c && (this.isClosed || this.ring.length >= Math.min(c.max, this.capacity))) {
        this.collectors.remove(c);
        this.settleReceiver(c);
        const out: T[] = [];
        this.ring.drainInto(out, c.max);
        this.deliveredCount += out.length;
        c.resolve(out);
        continue;
      }
      break;
    }
    if (this.isClosed && this.ring.length === 0) this.finish();
    this.signals.update(this.ring.length, this.isClosed);
  }

  private finish(): void {
    for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
      this.settleReceiver(w);
      w.resolve(w.kind === 0 ? undefined : []);
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters) for (const done of waiters) done();
  }
}
