import { InvalidArgumentError, InvalidItemError, OverflowError } from '../../core/errors/index.js';
import { describe } from '../describe.js';
import { RingState } from '../ring-buffer.js';
import * as v from '../validate.js';
import { WaiterList, type ListNode } from '../waiter-list.js';
import type { TimerHandle } from '../../core/clock/index.js';
import type { SendWaiter } from '../blocked-producers.js';
import { ChannelEngine, type EngineOwner } from './engine.js';
import { Admit } from './policy.js';
import { NEVER } from './signals.js';
import { ByteBudget, Sized } from './bytes.js';
import { FillRate, timeToFullMs } from './fill-rate.js';
import type { ChannelState, ChannelStats, ReceiveBatchOptions, ReceiveOptions, ResolvedChannelOptions, SendOptions } from './options.js';

export const RESOLVED_TRUE = Promise.resolve(true);
export const RESOLVED_FALSE = Promise.resolve(false);
const RESOLVED_UNDEFINED = Promise.resolve(undefined);

/** What became of a byte-bounded offer (see MemoryBuffer.placeBytes). */
const enum Placed {
  buffered,
  dropped,
  rejected,
  block,
}

// Per-call options: checked (keys and types) on the slow path only, before any effect.
const sendSpec: v.CallOptionSpec<SendOptions> = { signal: 'signal', timeoutMs: 'ms' };
const receiveSpec: v.CallOptionSpec<ReceiveOptions> = { signal: 'signal' };
const receiveBatchSpec: v.CallOptionSpec<ReceiveBatchOptions> = { signal: 'signal', maxWaitMs: 'ms' };

/**
 * How long a grown ring must stay at most a quarter full before it shrinks.
 * Not an option: a user expects a drained channel to give its memory back,
 * and a ring refilled within this period keeps its size, so nothing to tune.
 */
export const SHRINK_AFTER_MS = 30_000;

/** A consumer waiting for items: `kind` 0 for `receive()`, 1 for `receiveBatch()`. */
export interface ReceiveWaiter<T> extends ListNode<ReceiveWaiter<T>> {
  kind: 0 | 1;
  max: number;
  maxWaitMs: number;
  resolve(value: T | undefined | T[]): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A second tier behind memory (a channel's spill). The memory buffer consults
 * it only on slow paths: an offer the fast path refused, a freed slot while
 * producers wait, a pump while items are outside memory. Without a tier those
 * places cost one `undefined` check each, and the fast paths none.
 */
export interface OverflowTier<T> {
  /** `trySend()` past the fast path, the channel open. */
  trySend(item: T): boolean;
  /** `send()` past the fast path, the channel open, options already checked. */
  send(item: T, options: SendOptions | undefined): Promise<boolean>;
  /** Whether a waiting producer can be let in now (into memory or into the tier). */
  hasRoomForWaiter(): boolean;
  /** Takes a waiting producer's item, already off the queue. */
  admitWaiter(w: SendWaiter<T>): void;
  /** Memory changed while items are outside it: bring some back if it runs low. */
  refill(): void;
  /** Adds the tier's own figures to a stats object. */
  addStats(stats: ChannelStats): ChannelStats;
  /** The engine's capacity or watermarks changed at runtime: re-derive the tier's thresholds and `fastCeiling`. */
  reconfigured(): void;
}

/**
 * The memory tier of a channel: the ring (held in this object's own fields,
 * see {@link RingState}), the waiting consumers, the fast-path limits and the
 * pump that moves items between producers, ring and consumers. Admission,
 * signals, blocked producers, drain waiters and drop accounting are the
 * {@link ChannelEngine}'s; this class owns only what is specific to items in
 * memory. `Channel` and `BatchWriter` each hold one.
 *
 * Fields set by the constructor are `declare`d (see {@link RingState}'s
 * `slotMask`): created by that one assignment, each keeps a small-integer or
 * known-class field, which the hot paths read without a check.
 *
 * Why the ring stays in this object rather than in the engine: the hot paths
 * (`trySend`, `tryReceive`, `takeBatch`) touch only this object's fields, one
 * hidden class for every channel, so they inline into the caller's loop; the
 * engine is reached only when something has to be decided.
 */
export class MemoryBuffer<T> extends RingState<T> implements EngineOwner {
  declare readonly engine: ChannelEngine<T>;
  /** The engine's capacity, copied here for the slow paths; changed only by {@link reconfigure}. */
  declare capacity: number;
  readonly receivers = new WaiterList<ReceiveWaiter<T>>();
  /** Batch receivers that have their first item and wait up to maxWaitMs for more. */
  readonly collectors = new WaiterList<ReceiveWaiter<T>>();
  /** A second tier (spill), set once by the tier itself; undefined for a memory-only channel. */
  tier: OverflowTier<T> | undefined = undefined;
  /**
   * Offers at sizes below this take the fast path. It is the policy's
   * threshold while nobody waits and the channel is open, and -1 otherwise,
   * so the slow path tests one number instead of four conditions.
   */
  declare fastLimit: number;
  /**
   * What `fastLimit` is while nobody waits and the channel is open: the
   * policy's threshold, or a tier's (-1 while items are outside memory).
   */
  declare fastCeiling: number;
  /** Items counted in `size` but held outside the ring: a tier's write batches and store. */
  outside = 0;
  /** True while a tier's earlier contents are being counted: it may hold items. */
  counting = false;
  /** Copies of the signals' quiet band: sizes at which nothing can change. */
  private quietMin = 0;
  private quietMax = -1;
  /**
   * The two numbers the hot paths test, folded from the above so each side
   * makes one comparison per item: an offer at a size below `sendQuietBelow`
   * is buffered with nothing else to do (fast path open, and the size stays in
   * the quiet band); a take that leaves the size at or above
   * `receiveQuietFrom` needs nothing else either (no waiter to let in, band
   * unchanged). Kept current by {@link syncHotLimits}. Read by `Channel`'s
   * copy of the hot paths too, as are the ring fields below.
   */
  sendQuietBelow = -1;
  receiveQuietFrom = NEVER;
  /*
   * The ring's fields, public here (protected in RingState) for `Channel`,
   * whose `trySend` and `tryReceive` are copies of this class's: see there
   * why. `declare`: no field of its own, the ring's are these.
   */
  declare write: number;
  declare read: number;
  declare slots: (T | undefined)[];
  declare slotMask: number;
  /**
   * Items accepted without entering the ring (a tier's write batch, its store),
   * less the ring pushes that were no new acceptance (such items moving into memory).
   */
  acceptedOffRing = 0;
  /** The slot count the ring starts with; it never shrinks below it. */
  private declare readonly startSlots: number;
  /**
   * Shrinking a grown ring (see {@link checkShrink}) without looking at the
   * hot path: while the ring is above its starting size, offers at sizes at or
   * above `shrinkLevel` (a power of two) take the slow path, which doubles the
   * level past the size. So the size has stayed at most `shrinkLevel` since the
   * period began, at the cost of one slow offer per doubling per period.
   * `NEVER` while the ring is at its starting size or the watch is parked.
   */
  private shrinkLevel = NEVER;
  /** The period's end, while watching. */
  private shrinkTimer: TimerHandle | undefined = undefined;
  /** Pushes plus takes (`ringBase * 2 + write + read`) when the period began: unchanged means no item moved. */
  private shrinkMark = 0;
  /**
   * An idle grown ring that could not shrink stops its timer, so it never
   * keeps a timer running, a `VirtualClock.runAll()` looping or an abandoned
   * channel reachable; the next take reaches the slow path
   * (`receiveQuietFrom`) and resumes watching.
   */
  private shrinkParked = false;
  /** Readings of the fill level left by stats() calls; made by the first call. */
  private fillRate: FillRate | undefined = undefined;
  /**
   * With `maxBytes`: the byte side (see {@link ByteBudget}); undefined for a
   * channel that counts items only. Chosen at construction and never
   * switched: a byte-bounded buffer keeps its quiet band empty (see
   * {@link updateSignals}), so `sendQuietBelow` stays -1 and `receiveQuietFrom`
   * `NEVER`, and every offer and take reaches the slow paths, which are the
   * only places that look at this field. A buffer without it runs the same
   * hot path as before byte budgets existed.
   */
  declare readonly budget: ByteBudget | undefined;

  constructor(o: ResolvedChannelOptions) {
    // Up to 1024 slots up front: typical channels never grow on the hot path; large ones grow by doubling.
    super(Math.min(o.capacity, 1024));
    this.startSlots = this.slotMask + 1;
    this.capacity = o.capacity;
    this.engine = new ChannelEngine<T>(o, this);
    this.budget = o.maxBytes === undefined ? undefined : new ByteBudget(o.maxBytes, o.sizeOf!);
    this.fastCeiling = this.engine.policy.admitBelow;
    this.fastLimit = this.fastCeiling;
    this.updateSignals();
  }

  /** Slots the ring holds now (a power of two); for tests and measurements. */
  get ringSlots(): number {
    return this.slotMask + 1;
  }

  /** Items in memory. */
  get memorySize(): number {
    return this.write - this.read;
  }
  /** Every item held: memory plus what a tier holds outside it. */
  get size(): number {
    return this.write - this.read + this.outside;
  }
  get state(): ChannelState {
    return this.engine.signals.stateAt(this.level(), this.engine.closed, this.outside !== 0);
  }

  /**
   * The fill level signals and utilization read: items in memory, or with
   * `maxBytes` the fuller of items and bytes (scaled to `capacity`).
   */
  private level(): number {
    const budget = this.budget;
    if (budget === undefined) return this.ringLength;
    budget.sync(this.ringBase + this.read);
    return budget.level(this.ringLength, this.capacity);
  }

  /** With `maxBytes`: bytes in memory now; 0 without. */
  get bytes(): number {
    const budget = this.budget;
    if (budget === undefined) return 0;
    budget.sync(this.ringBase + this.read);
    return budget.bytes;
  }

  /** Fill level of memory: with `maxBytes`, the fuller of the item and the byte bound. */
  get utilization(): number {
    return this.level() / this.capacity;
  }

  /**
   * The hot path keeps no counter of its own: the ring's `ringBase + write`
   * counts every item that entered memory, so `accepted` is that plus the items
   * accepted elsewhere (into a tier). `offered` is `accepted + refused`, and
   * every accepted item is either still held (`size`), dropped after
   * acceptance (evicted, or lost with a failed spill append) or delivered: see
   * {@link deliveredCount}.
   */
  get acceptedCount(): number {
    return this.ringBase + this.write + this.acceptedOffRing;
  }
  get offeredCount(): number {
    return this.ringBase + this.write + this.acceptedOffRing + this.engine.refused;
  }
  /** Accepted items that are neither held any more nor dropped after acceptance. */
  get deliveredCount(): number {
    const d = this.engine.droppedBy;
    return this.acceptedCount - this.ringLength - this.outside - d['drop-oldest'] - d['spill-failed'];
  }

  // EngineOwner
  producerLeft(item: unknown): void {
    if (this.budget !== undefined) this.budget.gaveUp(item);
    this.refreshFastPath();
  }
  /** Recomputes state and pressure (telling listeners) and the quiet band. */
  updateSignals(): void {
    const signals = this.engine.signals;
    signals.update(this.level(), this.engine.closed, this.outside !== 0);
    if (this.budget === undefined) {
      this.quietMin = signals.quietMin;
      this.quietMax = signals.quietMax;
    } else {
      // Bytes move the level without moving the item count: no quiet band, so
      // every offer and take comes through the slow path and updates signals.
      this.quietMin = NEVER;
      this.quietMax = -1;
    }
    this.syncHotLimits();
  }
  isDrained(): boolean {
    return this.engine.closed && this.ringLength === 0 && !this.backlogged();
  }
  drainRefusal(): undefined {
    return undefined;
  }

  /**
   * Buffers `item` if the strategy allows it right now; never waits. See `Channel.trySend`.
   */
  trySend(item: T): boolean {
    // Hot path: one comparison (see sendQuietBelow; it is never above the slot
    // count, so no growth check). Kept small so it inlines into the caller's
    // loop; everything else is in trySendSlow().
    // The push is written out rather than calling ringPushFree(): before the
    // optimizing compiler inlines it, every call costs, and a short-lived
    // process (a CLI, a benchmark run from cold) spends much of its time there.
    const write = this.write;
    if (write - this.read < this.sendQuietBelow && item !== undefined) {
      this.slots[write & this.slotMask] = item;
      this.write = write + 1;
      return true;
    }
    return this.trySendSlow(item);
  }

  /** `trySend()` past the one-comparison fast path (also `Channel.trySend`'s). */
  trySendSlow(item: T): boolean {
    if (item === undefined) throw new InvalidItemError();
    if (this.budget !== undefined) return this.trySendBytes(item, this.budget);
    if (this.ringLength < this.fastLimit) {
      this.accept(item); // open and nobody waiting: at the band's edge or the ring's
      return true;
    }
    const engine = this.engine;
    if (engine.closed) throw engine.closedDrop();
    if (this.tier !== undefined) return this.tier.trySend(item);
    switch (engine.admit(this.ringLength)) {
      case Admit.accept:
        this.accept(item);
        return true;
      case Admit.evictOldest:
        this.evictOldest(item);
        return true;
      case Admit.dropNewest:
        engine.drop('drop-newest');
        return false;
      case Admit.dropSample:
        engine.drop('sample');
        return false;
      case Admit.reject:
        engine.drop('rejected');
        return false;
      default:
        return false; // 'block': refused, not offered
    }
  }

  /** Offers `item`, waiting for room under `'block'`. See `Channel.send`. */
  send(item: T, options?: SendOptions): Promise<boolean> {
    // Hot path: with options the call takes the slow path, which checks them.
    const write = this.write;
    if (write - this.read < this.sendQuietBelow && item !== undefined && options === undefined) {
      this.slots[write & this.slotMask] = item; // ringPushFree(), written out as in trySend()
      this.write = write + 1;
      return RESOLVED_TRUE;
    }
    return this.sendSlow(item, options);
  }

  private sendSlow(item: T, options: SendOptions | undefined): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'send()', sendSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
    }
    return this.offer(item, options);
  }

  /**
   * `send()` for a caller that has already checked `options` itself, naming
   * its own method in the error (`BatchWriter.write()`): the same offer
   * without walking the options object a second time per item.
   */
  sendChecked(item: T, options: SendOptions | undefined): Promise<boolean> {
    if (options === undefined) return this.send(item);
    if (item === undefined) return Promise.reject(new InvalidItemError());
    return this.offer(item, options);
  }

  /** The slow path of an offer: `item` is defined and `options` checked. */
  private offer(item: T, options: SendOptions | undefined): Promise<boolean> {
    if (this.budget !== undefined) return this.offerBytes(item, options, this.budget);
    const engine = this.engine;
    const signal = options?.signal;
    if (signal?.aborted) return engine.abortedDrop(signal);
    if (this.ringLength < this.fastLimit) {
      this.accept(item);
      return RESOLVED_TRUE;
    }
    if (engine.closed) return Promise.reject(engine.closedDrop());
    if (this.tier !== undefined) return this.tier.send(item, options);
    switch (engine.admit(this.ringLength)) {
      case Admit.accept:
        this.accept(item);
        return RESOLVED_TRUE;
      case Admit.evictOldest:
        this.evictOldest(item);
        return RESOLVED_TRUE;
      case Admit.dropNewest:
        engine.drop('drop-newest');
        return RESOLVED_FALSE;
      case Admit.dropSample:
        engine.drop('sample');
        return RESOLVED_FALSE;
      case Admit.reject:
        engine.drop('rejected');
        return Promise.reject(new OverflowError());
      default:
        return this.waitForRoom(item, signal, options?.timeoutMs);
    }
  }

  /**
   * The admission of a byte-bounded offer, after `sizeOf` (`n` bytes): the
   * policy's decision as if the buffer were full when the bytes do not fit,
   * else at the fuller of the two levels (so sampling starts at the high
   * watermark of either bound). Open channel, `n <= maxBytes`.
   */
  private admitBytes(n: number, budget: ByteBudget): number {
    const size = this.ringLength;
    if (!budget.fits(n)) return this.engine.policy.admit(size > this.capacity ? size : this.capacity);
    return this.engine.admit(budget.level(size, this.capacity));
  }

  /**
   * A sized offer to an open channel, decided and done: buffered (after any
   * evictions), dropped and counted, refused under `'reject'` (counted; the
   * caller throws or rejects), or left to wait under `'block'` (nothing done).
   * Shared by {@link trySendBytes} and {@link offerBytes}, which differ only
   * in how they answer.
   */
  private placeBytes(item: T, n: number, budget: ByteBudget): Placed {
    const engine = this.engine;
    if (n > budget.maxBytes) {
      engine.drop('too-large');
      budget.refused(n);
      return Placed.dropped;
    }
    switch (this.admitBytes(n, budget)) {
      case Admit.accept:
        this.acceptBytes(item, n, budget);
        return Placed.buffered;
      case Admit.evictOldest:
        this.evictBytes(item, n, budget);
        return Placed.buffered;
      case Admit.dropNewest:
        engine.drop('drop-newest');
        budget.refused(n);
        return Placed.dropped;
      case Admit.dropSample:
        engine.drop('sample');
        budget.refused(n);
        return Placed.dropped;
      case Admit.reject:
        engine.drop('rejected');
        budget.refused(n);
        return Placed.rejected;
      default:
        return Placed.block;
    }
  }

  /** `trySend()` with `maxBytes` (every byte-bounded offer comes here). */
  private trySendBytes(item: T, budget: ByteBudget): boolean {
    budget.sync(this.ringBase + this.read);
    const n = budget.measure(item); // a bad size throws before anything is counted
    const engine = this.engine;
    if (engine.closed) {
      budget.refused(n);
      throw engine.closedDrop();
    }
    // 'block': refused, not offered; 'reject' answers false here, as without maxBytes.
    return this.placeBytes(item, n, budget) === Placed.buffered;
  }

  /** `send()` with `maxBytes`: `item` defined, `options` checked. */
  private offerBytes(item: T, options: SendOptions | undefined, budget: ByteBudget): Promise<boolean> {
    budget.sync(this.ringBase + this.read);
    let n: number;
    try {
      n = budget.measure(item);
    } catch (error) {
      return Promise.reject(error); // bad input: nothing admitted, nothing counted
    }
    const engine = this.engine;
    const signal = options?.signal;
    if (signal?.aborted) {
      budget.refused(n);
      return engine.abortedDrop(signal);
    }
    if (engine.closed) {
      budget.refused(n);
      return Promise.reject(engine.closedDrop());
    }
    switch (this.placeBytes(item, n, budget)) {
      case Placed.buffered:
        return RESOLVED_TRUE;
      case Placed.dropped:
        return RESOLVED_FALSE;
      case Placed.rejected:
        return Promise.reject(new OverflowError());
      default:
        // The size rides with the item, so a producer that gives up is counted in bytes without another sizeOf call.
        return this.waitForRoom(new Sized(item, n) as unknown as T, signal, options?.timeoutMs);
    }
  }

  private acceptBytes(item: T, n: number, budget: ByteBudget): void {
    this.ringPush(item);
    budget.pushed(n);
    if (this.receivers.size !== 0 || this.collectors.size !== 0) this.pump();
    else this.updateSignals();
  }

  /**
   * `'drop-oldest'` with `maxBytes`: evicts oldest items until the new one
   * fits both bounds, or (after a shrink left the buffer over a bound) until
   * taking it in grows neither the item count nor the bytes held: a shrink
   * alone never costs a buffered item.
   */
  private evictBytes(item: T, n: number, budget: ByteBudget): void {
    const beforeItems = this.ringLength;
    const beforeBytes = budget.bytes;
    const droppedBy = this.engine.droppedBy;
    while (this.ringLength !== 0) {
      this.ringShift();
      budget.evicted();
      droppedBy['drop-oldest']++;
      const items = this.ringLength;
      if ((items < this.capacity && budget.fits(n)) || (items < beforeItems && budget.bytes + n <= beforeBytes)) break;
    }
    this.acceptBytes(item, n, budget);
  }

  /** Takes the oldest item if there is one; never waits. */
  tryReceive(): T | undefined {
    const read = this.read;
    const write = this.write;
    if (write === read) return undefined;
    // ringShift(), written out as in trySend().
    const slots = this.slots;
    const i = read & this.slotMask;
    const item = slots[i] as T;
    slots[i] = undefined; // release for GC
    this.read = read + 1;
    if (write - read - 1 < this.receiveQuietFrom) this.afterTake();
    return item;
  }

  /** See `Channel.receive`. */
  receive(options?: ReceiveOptions): Promise<T | undefined> {
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'receive()', receiveSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.ringLength !== 0) return Promise.resolve(this.tryReceive());
    if (this.engine.closed && !this.backlogged()) return RESOLVED_UNDEFINED;
    return this.waitForItems(0, 1, 0, signal) as Promise<T | undefined>;
  }

  /** See `Channel.receiveBatch`. */
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
    if (size !== 0 && (maxWaitMs === 0 || this.batchReady(max) || this.engine.closed)) {
      return Promise.resolve(this.takeBatch(max));
    }
    if (size === 0 && this.engine.closed && !this.backlogged()) return Promise.resolve([]);
    return this.waitForItems(1, max, maxWaitMs, signal) as Promise<T[]>;
  }

  /**
   * Whether a batch receiver waiting up to `maxWaitMs` for more items should
   * take what is there now: it has `max`, or no more can come before a take
   * (full; with `maxBytes`, also full by bytes or producers waiting for room).
   */
  private batchReady(max: number): boolean {
    const size = this.ringLength;
    if (size >= max || size >= this.capacity) return true;
    return this.budget !== undefined && (this.engine.senders.size !== 0 || this.level() >= this.capacity);
  }

  /** Stops accepting items; buffered ones stay receivable. Idempotent. */
  close(): void {
    if (this.engine.close()) this.pump();
  }

  /** Removes up to `max` items, oldest first, letting waiting producers in behind them. */
  takeBatch(max: number): T[] {
    const out = this.ringTake(max);
    if (this.write - this.read < this.receiveQuietFrom) this.afterTake();
    return out;
  }

  stats(): ChannelStats {
    const engine = this.engine;
    const signals = engine.signals;
    // With maxBytes, the fill level of the fuller bound (in items of capacity), so time to full is right when bytes bind.
    const inMemory = this.budget === undefined ? this.ringLength : this.level();
    const fillRatePerSec = (this.fillRate ??= new FillRate()).ratePerSec(engine.clock.now(), inMemory);
    const stats: ChannelStats = {
      capacity: this.capacity,
      size: this.ringLength + this.outside,
      waiting: engine.senders.size,
      utilization: this.utilization,
      state: this.state,
      pressured: signals.pressured,
      offered: this.offeredCount,
      accepted: this.acceptedCount,
      delivered: this.deliveredCount,
      dropped: engine.droppedTotal(),
      droppedBy: { ...engine.droppedBy },
      blockedMs: engine.senders.blockedMs(),
      longestBlockedMs: engine.senders.longestBlockedMs(),
      pressureEvents: signals.pressureEvents,
      adjustments: engine.adjustments,
      fillRatePerSec,
      timeToFullMs: timeToFullMs(inMemory, this.capacity, fillRatePerSec),
    };
    const budget = this.budget;
    if (budget !== undefined) {
      // level() above synced the budget with the ring.
      stats.bytes = budget.bytes;
      stats.maxBytes = budget.maxBytes;
      stats.offeredBytes = budget.offeredBytes;
      stats.deliveredBytes = budget.deliveredBytes;
      stats.droppedBytes = budget.droppedBytes;
    }
    return this.tier === undefined ? stats : this.tier.addStats(stats);
  }

  /**
   * `Channel.resize()` and `setWatermarks()`, with values already checked:
   * applied together, so nothing runs between the new capacity and the new
   * limits. A grown buffer lets waiting producers in at once (oldest first);
   * a shrunk one keeps every item and refuses offers (by the policy, which
   * now sees a full buffer) until the size is below the new capacity. Signals
   * are re-derived at once, so a crossed threshold is heard before this
   * returns; then `onReconfigure` listeners hear one event per changed setting.
   */
  reconfigure(capacity: number, highWatermark: number, lowWatermark: number): void {
    const engine = this.engine;
    const events = engine.reconfigure(capacity, highWatermark, lowWatermark);
    if (events.length === 0) return;
    this.capacity = capacity;
    if (this.tier === undefined) this.fastCeiling = engine.policy.admitBelow;
    else this.tier.reconfigured();
    this.fastLimit = this.currentFastLimit();
    if (!engine.closed) this.pump();
    this.updateSignals(); // the quiet band was derived from the old thresholds
    engine.reconfigureListeners.emit(...events);
  }

  /**
   * `Channel.setMaxBytes()`, value already checked, on a buffer built with
   * `maxBytes`: as {@link reconfigure}, at once. Lowered below the bytes held,
   * nothing is dropped; offers meet the strategy until consumers bring the
   * bytes down. Raised, waiting producers whose items now fit are let in.
   */
  setMaxBytes(maxBytes: number): void {
    const budget = this.budget!;
    const previous = budget.maxBytes;
    if (maxBytes === previous) return;
    budget.maxBytes = maxBytes;
    const engine = this.engine;
    engine.adjustments++;
    if (!engine.closed) this.pump();
    this.updateSignals();
    engine.reconfigureListeners.emit({ setting: 'maxBytes', previous, value: maxBytes });
  }

  /** Call after any change to the waiter lists or to the engine's `closed`. */
  refreshFastPath(): void {
    this.fastLimit = this.currentFastLimit();
    this.syncHotLimits();
  }

  private currentFastLimit(): number {
    const engine = this.engine;
    return engine.closed || engine.senders.size !== 0 || this.receivers.size !== 0 || this.collectors.size !== 0 ? -1 : this.fastCeiling;
  }

  private syncHotLimits(): void {
    // Below quietMax (not at it): the size after the push must still be in the
    // band. And below the ring's slot count: the hot path stores without growing it.
    // And below shrinkLevel, raised here past the size: the period's peak stays known.
    const below = this.fastLimit < this.quietMax ? this.fastLimit : this.quietMax;
    const slots = this.slotMask + 1;
    const size = this.write - this.read;
    while (this.shrinkLevel <= size) this.shrinkLevel *= 2;
    const level = this.shrinkLevel;
    const limit = below < slots ? below : slots;
    this.sendQuietBelow = limit < level ? limit : level;
    const from = this.fastLimit < 0 ? NEVER : this.quietMin;
    // Parked: the next take (a size below this one) comes to afterTake() to resume the watch.
    this.receiveQuietFrom = this.shrinkParked && from < size ? size : from;
  }

  protected override ringGrow(): void {
    super.ringGrow();
    if (this.shrinkTimer === undefined) this.watchShrink();
  }

  /** Starts a shrink period: the level just past the current size, the timer, the mark. */
  private watchShrink(): void {
    this.shrinkParked = false;
    let level = this.startSlots > 1 ? this.startSlots >> 1 : 1;
    const size = this.write - this.read;
    while (level <= size) level *= 2;
    this.shrinkLevel = level;
    this.shrinkMark = this.ringBase * 2 + this.write + this.read;
    this.shrinkTimer = this.engine.clock.schedule(SHRINK_AFTER_MS, () => this.checkShrink(), { unref: true });
  }

  /**
   * The end of a shrink period. The size stayed at most `shrinkLevel` all
   * along, so a ring of twice that (never below the starting size) holds the
   * period's peak with room to spare; reallocate to it if that is smaller,
   * i.e. if the ring stayed at most a quarter full. A ring refilled within
   * the period raised the level and keeps its size: no thrash.
   */
  private checkShrink(): void {
    this.shrinkTimer = undefined;
    const level = this.shrinkLevel;
    const target = level * 2 > this.startSlots ? level * 2 : this.startSlots;
    if (target < this.slotMask + 1) this.ringResize(target);
    if (this.slotMask + 1 <= this.startSlots) this.stopShrinkWatch();
    else if (this.ringBase * 2 + this.write + this.read === this.shrinkMark) {
      // Nothing moved: another period would reach the same level. Park until the next take.
      this.shrinkLevel = NEVER;
      this.shrinkParked = true;
    } else this.watchShrink();
    this.syncHotLimits();
  }

  private stopShrinkWatch(): void {
    if (this.shrinkTimer !== undefined) this.engine.clock.cancel(this.shrinkTimer);
    this.shrinkTimer = undefined;
    this.shrinkLevel = NEVER;
    this.shrinkParked = false;
  }

  /** After items were taken: lets waiting producers in, or updates the signals if the size left the band (also `Channel.tryReceive`'s). */
  afterTake(): void {
    if (this.fastLimit < 0) this.pump(); // producers waiting for the freed slots, or closed
    else if (this.shrinkParked) {
      this.watchShrink();
      this.updateSignals();
    } else if (this.ringLength < this.quietMin) this.updateSignals();
  }

  /** True while items may be held outside memory, so an empty ring does not mean an empty channel. */
  backlogged(): boolean {
    return this.outside !== 0 || this.counting;
  }

  /** Buffers an admitted item and serves waiting consumers. */
  accept(item: T): void {
    this.ringPush(item);
    if (this.receivers.size !== 0 || this.collectors.size !== 0) this.pump();
    else if (this.ringLength > this.quietMax) this.updateSignals();
    else this.syncHotLimits(); // the push may have grown the ring, raising sendQuietBelow
  }

  /** Pushes an item that was accepted earlier (a tier's) into memory; the caller pumps. */
  pushBack(item: T): void {
    this.ringPush(item);
  }

  private evictOldest(item: T): void {
    this.ringShift();
    this.engine.droppedBy['drop-oldest']++;
    this.accept(item);
  }

  /** Queues a producer for room (`timeoutMs` undefined: the channel's `maxBlockMs`) and closes the fast path behind it. */
  waitForRoom(item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    const senders = this.engine.senders;
    const waiting = this.engine.waitForRoom(item, signal, timeoutMs);
    if (senders.size !== 0) {
      this.fastLimit = -1;
      this.syncHotLimits();
    }
    return waiting;
  }

  private waitForItems(kind: 0 | 1, max: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.write === this.read) this.ringRestart();
    const waiting = this.queueReceiver(kind, max, maxWaitMs, signal); // receive() and receiveBatch() turned an aborted signal away
    if (this.tier !== undefined && this.outside !== 0) this.tier.refill();
    return waiting;
  }

  private queueReceiver(kind: 0 | 1, max: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<unknown> {
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

  private settleReceiver(w: ReceiveWaiter<T>): void {
    if (w.timer !== undefined) this.engine.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  private startCollecting(w: ReceiveWaiter<T>): void {
    this.collectors.push(w);
    w.timer = this.engine.clock.schedule(w.maxWaitMs, () => {
      w.timer = undefined;
      this.collectors.remove(w);
      if (this.ringLength === 0 && (!this.engine.closed || this.backlogged())) {
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
   * until nothing more can move, then refreshes state and pressure; with a
   * tier holding items, lets it refill memory.
   */
  pump(): void {
    const engine = this.engine;
    const senders = engine.senders;
    const tier = this.tier;
    const budget = this.budget;
    for (;;) {
      // A freed slot goes to the longest-waiting producer, before any later trySend.
      if (budget !== undefined) {
        budget.sync(this.ringBase + this.read);
        if (senders.size !== 0 && this.ringLength < this.capacity && budget.fits((senders.peek()!.item as unknown as Sized<T>).bytes)) {
          const w = senders.shift()!;
          const sized = w.item as unknown as Sized<T>;
          this.ringPush(sized.item);
          budget.pushed(sized.bytes);
          w.resolve(true);
          continue;
        }
      } else if (senders.size !== 0 && (tier === undefined ? this.ringLength < this.capacity : tier.hasRoomForWaiter())) {
        const w = senders.shift()!;
        if (tier === undefined) {
          this.ringPush(w.item);
          w.resolve(true);
        } else tier.admitWaiter(w);
        continue;
      }
      if (this.receivers.size !== 0 && this.ringLength !== 0) {
        const w = this.receivers.shift()!;
        if (w.kind === 0) {
          this.settleReceiver(w);
          w.resolve(this.ringShift());
        } else if (w.maxWaitMs > 0 && !engine.closed && !this.batchReady(w.max)) {
          this.startCollecting(w);
        } else {
          this.settleReceiver(w);
          w.resolve(this.ringTake(w.max));
        }
        continue;
      }
      const c = this.collectors.head;
      // Once closed a collector takes what memory has, unless only spilled items are left to wait for.
      if (c && (engine.closed ? this.ringLength !== 0 || !this.backlogged() : this.batchReady(c.max))) {
        this.collectors.remove(c);
        this.settleReceiver(c);
        c.resolve(this.ringTake(c.max));
        continue;
      }
      break;
    }
    if (engine.closed && this.ringLength === 0 && !this.backlogged()) this.finish();
    else if (this.shrinkParked) this.watchShrink(); // items moved: a parked ring may shrink again
    this.fastLimit = this.currentFastLimit();
    // Inside the quiet band nothing listeners or pressure care about moved. Closing
    // changes the state at any size; a spill's backlog empties the band itself.
    const size = this.ringLength;
    if (engine.closed || size < this.quietMin || size > this.quietMax) this.updateSignals();
    else this.syncHotLimits();
    if (tier !== undefined && this.outside !== 0) tier.refill();
  }

  private finish(): void {
    // Closed and empty for good: give a grown ring back now rather than after a period.
    if (this.slotMask + 1 > this.startSlots) {
      this.ringResize(this.startSlots);
      this.stopShrinkWatch();
    }
    for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
      this.settleReceiver(w);
      w.resolve(w.kind === 0 ? undefined : []);
    }
    this.engine.drainWaiters.resolveAll();
  }
}
