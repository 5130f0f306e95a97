import type { Clock } from '../clock/index.js';
import { ChannelClosedError } from '../errors/index.js';
import { RingState } from '../internal/ring-buffer.js';
import { WaiterList } from '../internal/waiter-list.js';
import { BlockedProducers, producerGaveUp } from '../internal/blocked-producers.js';
import { SettleWaiters } from '../internal/settle-waiters.js';
import { createPolicy, type BufferPolicy } from './policy.js';
import { ChannelSignals, NEVER } from './signals.js';
import { channelInitKeys } from './spill-options.js';
import { newDropCounts, resolveChannelOptions, type ChannelOptions, type DropReason, type OverflowStrategy } from './options.js';
import type { ReceiveWaiter, SendWaiter } from './waiters.js';

export const RESOLVED_TRUE = Promise.resolve(true);
export const RESOLVED_FALSE = Promise.resolve(false);
export const RESOLVED_UNDEFINED = Promise.resolve(undefined);

/**
 * The machinery under {@link Channel}: the buffer (a ring held in the
 * channel's own fields, see {@link RingState}), the waiting producers and
 * consumers, the counters, and the pump that moves items between them.
 * Not public API; `Channel` adds the user-facing methods on top.
 */
export abstract class ChannelCore<T> extends RingState<T> {
  readonly capacity: number;
  readonly overflow: OverflowStrategy;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  readonly name: string;

  protected readonly policy: BufferPolicy;
  protected readonly clock: Clock;
  protected readonly maxBlockMs: number | undefined;
  protected readonly senders: BlockedProducers<T>;
  protected readonly receivers = new WaiterList<ReceiveWaiter<T>>();
  /** Batch receivers that have their first item and wait up to maxWaitMs for more. */
  protected readonly collectors = new WaiterList<ReceiveWaiter<T>>();
  protected readonly signals: ChannelSignals;
  protected isClosed = false;
  /**
   * Offers at sizes below this take the fast path. It is the policy's
   * threshold while nobody waits and the channel is open, and -1 otherwise,
   * so the hot path tests one number instead of four conditions.
   */
  protected fastLimit: number;
  /**
   * What `fastLimit` is while nobody waits and the channel is open: the
   * policy's threshold, or a spill's (-1 while items are spilled).
   */
  protected fastCeiling: number;
  /** Items counted in `size` but held outside the ring: a spill's write batches and store. */
  protected outside = 0;
  /** True while a spill store's earlier contents are being counted: it may hold items. */
  protected counting = false;
  /** Copies of the signals' quiet band: sizes at which nothing can change. */
  protected quietMin = 0;
  protected quietMax = -1;
  /**
   * The two numbers the hot paths test, folded from the above so each side
   * makes one comparison per item: an offer at a size below `sendQuietBelow`
   * is buffered with nothing else to do (fast path open, and the size stays in
   * the quiet band); a take that leaves the size at or above
   * `receiveQuietFrom` needs nothing else either (no waiter to let in, band
   * unchanged). Kept current by {@link syncHotLimits}.
   */
  protected sendQuietBelow = -1;
  protected receiveQuietFrom = NEVER;
  /** Callers of `drained()`. */
  protected readonly drainWaiters: SettleWaiters;

  /**
   * The hot path keeps no counter of its own: the ring's `write` index counts
   * every item that entered memory, so `accepted` is that plus the items
   * accepted elsewhere (into a spill's write batch or store, or found in the
   * store at start). `offered` is `accepted + refusedCount`, and every
   * accepted item is either still held (`size`), dropped after acceptance
   * (evicted, or lost with a failed spill append) or delivered: see
   * {@link deliveredCount}.
   */
  protected get acceptedCount(): number {
    return this.write + this.acceptedOffRing;
  }
  /**
   * Items accepted without entering the ring (a spill's write batch, the store),
   * less the ring pushes that were no new acceptance (such items moving into memory).
   */
  protected acceptedOffRing = 0;
  /** Items dropped at the moment they were offered (every reason but eviction and spill failure). */
  protected refusedCount = 0;
  protected readonly droppedBy: Record<DropReason, number> = newDropCounts();

  constructor(options?: ChannelOptions) {
    const o = resolveChannelOptions(options, channelInitKeys);
    // Up to 1024 slots up front: typical channels never grow on the hot path; large ones grow by doubling.
    super(Math.min(o.capacity, 1024));
    this.capacity = o.capacity;
    this.overflow = o.overflow;
    this.highWatermark = o.highWatermark;
    this.lowWatermark = o.lowWatermark;
    this.name = o.name;
    this.clock = o.clock;
    this.senders = new BlockedProducers<T>(o.clock, this);
    this.drainWaiters = new SettleWaiters(o.clock);
    this.maxBlockMs = o.maxBlockMs;
    this.signals = new ChannelSignals(o.capacity, o.highWatermark * o.capacity, o.lowWatermark * o.capacity);
    this.policy = createPolicy(o.overflow, o.capacity, o.highWatermark * o.capacity, o.sampleEvery);
    this.fastCeiling = this.policy.admitBelow;
    this.fastLimit = this.fastCeiling;
    this.updateSignals();
  }

  /** A waiting producer timed out or was aborted. */
  [producerGaveUp](reason: 'timeout' | 'aborted'): void {
    this.drop(reason);
    this.refreshFastPath();
  }

  /** Recomputes state and pressure (telling listeners) and the quiet band. */
  protected updateSignals(): void {
    const signals = this.signals;
    signals.update(this.ringLength, this.isClosed, this.outside !== 0);
    this.quietMin = signals.quietMin;
    this.quietMax = signals.quietMax;
    this.syncHotLimits();
  }

  /** Call after any change to the waiter lists or to `isClosed`. */
  protected refreshFastPath(): void {
    this.fastLimit = this.currentFastLimit();
    this.syncHotLimits();
  }

  private currentFastLimit(): number {
    return this.isClosed || this.senders.size !== 0 || this.receivers.size !== 0 || this.collectors.size !== 0 ? -1 : this.fastCeiling;
  }

  protected syncHotLimits(): void {
    // Below quietMax (not at it): the size after the push must still be in the
    // band. And below the ring's slot count: the hot path stores without growing it.
    const below = this.fastLimit < this.quietMax ? this.fastLimit : this.quietMax;
    const slots = this.slotMask + 1;
    this.sendQuietBelow = below < slots ? below : slots;
    this.receiveQuietFrom = this.fastLimit < 0 ? NEVER : this.quietMin;
  }

  /** After items were taken: lets waiting producers in, or updates the signals if the size left the band. */
  protected afterTake(): void {
    if (this.fastLimit < 0) this.pump(); // producers waiting for the freed slots, or closed
    else if (this.ringLength < this.quietMin) this.updateSignals();
  }

  /** True while items may be held outside memory, so an empty ring does not mean an empty channel. */
  protected backlogged(): boolean {
    return this.outside !== 0 || this.counting;
  }

  protected accept(item: T): void {
    this.ringPush(item);
    if (this.receivers.size !== 0 || this.collectors.size !== 0) this.pump();
    else if (this.ringLength > this.quietMax) this.updateSignals();
    else this.syncHotLimits(); // the push may have grown the ring, raising sendQuietBelow
  }

  protected evictOldest(item: T): void {
    this.ringShift();
    this.droppedBy['drop-oldest']++;
    this.accept(item);
  }

  protected drop(reason: DropReason): void {
    this.refusedCount++;
    this.droppedBy[reason]++;
  }

  protected closedDrop(): ChannelClosedError {
    this.drop('closed');
    return new ChannelClosedError();
  }

  protected abortedDrop(signal: AbortSignal): Promise<never> {
    this.drop('aborted');
    return Promise.reject(signal.reason);
  }

  /** Accepted items that are neither held any more nor dropped after acceptance. */
  protected get deliveredCount(): number {
    const d = this.droppedBy;
    return this.acceptedCount - this.ringLength - this.outside - d['drop-oldest'] - d['spill-failed'];
  }

  protected droppedTotal(): number {
    const d = this.droppedBy;
    return d['drop-newest'] + d['drop-oldest'] + d.sample + d.rejected + d.timeout + d.aborted + d.closed + d['spill-failed'];
  }

  protected takeBatch(max: number): T[] {
    const out: T[] = [];
    this.ringDrainInto(out, max);
    if (this.ringLength < this.receiveQuietFrom) this.afterTake();
    return out;
  }

  protected waitForRoom(item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    const waiting = this.senders.wait(item, signal, timeoutMs);
    if (this.senders.size !== 0) {
      this.fastLimit = -1;
      this.syncHotLimits();
    }
    return waiting;
  }

  protected waitForItems(kind: 0 | 1, max: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<unknown> {
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
          this.refreshFastPath();
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (this.ringLength !== 0) this.startCollecting(w); // first item already here
      else this.receivers.push(w);
      this.fastLimit = -1;
      this.syncHotLimits();
    });
  }

  protected settleReceiver(w: ReceiveWaiter<T>): void {
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  protected startCollecting(w: ReceiveWaiter<T>): void {
    this.collectors.push(w);
    w.timer = this.clock.schedule(w.maxWaitMs, () => {
      w.timer = undefined;
      this.collectors.remove(w);
      if (this.ringLength === 0 && (!this.isClosed || this.backlogged())) {
        this.receivers.push(w); // another consumer took the items (or they are still spilled): wait for a first item again
        return;
      }
      this.settleReceiver(w);
      this.refreshFastPath();
      w.resolve(this.takeBatch(w.max));
    });
  }

  /**
   * Moves items between waiting producers, the buffer and waiting consumers
   * until nothing more can move, then refreshes state and pressure.
   */
  protected pump(): void {
    for (;;) {
      // A freed slot goes to the longest-waiting producer, before any later trySend.
      if (this.senders.size !== 0 && this.hasRoomForWaiter()) {
        this.admitWaiter(this.senders.shift()!);
        continue;
      }
      if (this.receivers.size !== 0 && this.ringLength !== 0) {
        const w = this.receivers.shift()!;
        if (w.kind === 0) {
          this.settleReceiver(w);
          w.resolve(this.ringShift());
        } else if (w.maxWaitMs > 0 && !this.isClosed && this.ringLength < Math.min(w.max, this.capacity)) {
          this.startCollecting(w);
        } else {
          this.settleReceiver(w);
          const out: T[] = [];
          this.ringDrainInto(out, w.max);
          w.resolve(out);
        }
        continue;
      }
      const c = this.collectors.head;
      // Once closed a collector takes what memory has, unless only spilled items are left to wait for.
      if (c && (this.isClosed ? this.ringLength !== 0 || !this.backlogged() : this.ringLength >= Math.min(c.max, this.capacity))) {
        this.collectors.remove(c);
        this.settleReceiver(c);
        const out: T[] = [];
        this.ringDrainInto(out, c.max);
        c.resolve(out);
        continue;
      }
      break;
    }
    if (this.isClosed && this.ringLength === 0 && !this.backlogged()) this.finish();
    this.fastLimit = this.currentFastLimit();
    // Inside the quiet band nothing listeners or pressure care about moved. Closing
    // changes the state at any size; a spill's backlog empties the band itself.
    const size = this.ringLength;
    if (this.isClosed || size < this.quietMin || size > this.quietMax) this.updateSignals();
    else this.syncHotLimits();
  }

  protected hasRoomForWaiter(): boolean {
    return this.ringLength < this.capacity;
  }

  /** Takes a waiting producer's item; the producer is already off the list. */
  protected admitWaiter(w: SendWaiter<T>): void {
    this.ringPush(w.item);
    w.resolve(true);
  }

  protected finish(): void {
    for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
      this.settleReceiver(w);
      w.resolve(w.kind === 0 ? undefined : []);
    }
    this.drainWaiters.resolveAll();
  }
}

