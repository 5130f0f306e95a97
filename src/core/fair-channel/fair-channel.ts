import type { Clock } from '../clock/index.js';
import { systemClock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidItemError, InvalidOptionError, OverflowError } from '../errors/index.js';
import type { ChannelState, ReceiveBatchOptions, ReceiveOptions, ReconfigureEvent } from '../channel/index.js';
import { LaneCore, RESOLVED_FALSE, RESOLVED_TRUE } from '../priority-channel/internal/lane-core.js';
import { BlockedProducers, producerGaveUp, type GiveUpListener } from '../../internal/blocked-producers.js';
import { describe } from '../../internal/describe.js';
import { RingState } from '../../internal/ring-buffer.js';
import { checkCapacity, checkWatermarks } from '../../internal/engine/options.js';
import * as v from '../../internal/validate.js';

/**
 * What a `FairChannel` does with an item it has no room for (its key at
 * `perKeyCapacity`, reason `'key-full'`, or the channel at `capacity`).
 * - `'drop-newest'`: the offered item is dropped; `send()` resolves false, `trySend()` returns false.
 * - `'reject'`: the same, but `send()` rejects with `OverflowError` (reason `'rejected'` when the channel is full).
 * - `'block'`: `send()` waits for room, FIFO within its key; a freed slot goes to the waiting keys in
 *   round robin, so a busy key's queued producers do not go ahead of everyone else's. `trySend()`
 *   returns false and the item stays yours (not counted). `maxBlockMs` / `timeoutMs` bound the wait (reason `'timeout'`).
 */
export type FairOverflow = 'drop-newest' | 'reject' | 'block';
export const fairOverflows: readonly FairOverflow[] = ['drop-newest', 'reject', 'block'];

/** Why a `FairChannel` item was dropped; each dropped item is counted under exactly one reason. */
export type FairDropReason = 'key-full' | 'drop-newest' | 'rejected' | 'timeout' | 'aborted' | 'closed';
export const fairDropReasons: readonly FairDropReason[] = ['key-full', 'drop-newest', 'rejected', 'timeout', 'aborted', 'closed'];

function newDrops(): Record<FairDropReason, number> {
  return { 'key-full': 0, 'drop-newest': 0, rejected: 0, timeout: 0, aborted: 0, closed: 0 };
}

export interface FairChannelOptions<T> {
  /**
   * Most items one key may have buffered. This bounds what a busy key can
   * take of the buffer; round robin then bounds what it takes of the receivers.
   * @example new FairChannel<{ tenant: string }>({ perKeyCapacity: 50, key: (job) => job.tenant })
   */
  perKeyCapacity: number;
  /**
   * Most items buffered over all keys together; at least `perKeyCapacity`.
   * @default 1000
   * @example new FairChannel({ capacity: 10_000, perKeyCapacity: 100 })
   */
  capacity?: number;
  /**
   * The key of an item (a tenant id, a host). A per-call `{ key }` overrides it;
   * without either, `send()`/`trySend()` fail with `ERR_SLUICE_INVALID_ARGUMENT`.
   * @default undefined (every call passes `{ key }`)
   * @example new FairChannel<{ host: string }>({ perKeyCapacity: 10, key: (req) => req.host })
   */
  key?: (item: T) => string;
  /**
   * Deficit round robin: each key's turn adds `quantum` to its deficit, and
   * the key is served while its deficit covers the next item's `cost`.
   * @default 1
   * @example new FairChannel({ perKeyCapacity: 10, quantum: 4096, cost: (b: Uint8Array) => b.byteLength })
   */
  quantum?: number;
  /**
   * The cost of an item for the round robin (bytes, rows): keys then share the
   * receivers by cost rather than by item count. Must return a positive finite number.
   * @default every item costs 1
   * @example new FairChannel({ perKeyCapacity: 10, quantum: 4096, cost: (b: Uint8Array) => b.byteLength })
   */
  cost?: (item: T) => number;
  /**
   * What happens to an item there is no room for; see {@link FairOverflow}.
   * @default 'drop-newest'
   * @example new FairChannel({ perKeyCapacity: 10, overflow: 'reject' })
   */
  overflow?: FairOverflow;
  /**
   * Under `'block'`: the longest a `send()` waits for room before it resolves
   * false (reason `'timeout'`). A per-call `timeoutMs` overrides it. Not allowed with other strategies.
   * @default undefined (wait until room, abort or close)
   * @example new FairChannel({ perKeyCapacity: 10, overflow: 'block', maxBlockMs: 250 })
   */
  maxBlockMs?: number;
  /**
   * Fraction of capacity at which the channel becomes `pressured`.
   * @default 0.8
   * @example new FairChannel({ perKeyCapacity: 10, highWatermark: 0.9 })
   */
  highWatermark?: number;
  /**
   * Fraction of capacity at or below which a pressured channel stops being pressured.
   * @default 0.2
   * @example new FairChannel({ perKeyCapacity: 10, lowWatermark: 0.1 })
   */
  lowWatermark?: number;
  /**
   * How many keys `stats().topDroppedKeys` tracks (Space-Saving counters: the
   * memory is fixed however many keys drop).
   * @default 10
   * @example new FairChannel({ perKeyCapacity: 10, topKeys: 20 })
   */
  topKeys?: number;
  /**
   * Time source for `receiveBatch` waits.
   * @default systemClock
   * @example new FairChannel({ perKeyCapacity: 10, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in metrics and on the dashboard.
   * @default 'fair-channel'
   * @example new FairChannel({ perKeyCapacity: 10, name: 'tenant-jobs' })
   */
  name?: string;
}

const optionKeys: v.KnownKeys<FairChannelOptions<unknown>> = {
  perKeyCapacity: true, capacity: true, key: true, quantum: true, cost: true, overflow: true, maxBlockMs: true,
  highWatermark: true, lowWatermark: true, topKeys: true, clock: true, name: true,
};

/** Per-call options of `FairChannel.send()`. */
export interface FairSendOptions {
  /** The item's key; overrides the `key` option. */
  key?: string;
  /** Aborting (or a signal already aborted) drops the item (reason `'aborted'`) and rejects with its reason. */
  signal?: AbortSignal;
  /** Under `'block'`: overrides `maxBlockMs` for this call. `0` means "do not wait". */
  timeoutMs?: number;
}

/** Per-call options of `FairChannel.trySend()`. */
export interface FairTrySendOptions {
  /** The item's key; overrides the `key` option. */
  key?: string;
}

/**
 * What {@link FairChannel.onReconfigure} listeners receive, once per setting a
 * runtime call (`resize()`, `setPerKeyCapacity()`, `setWatermarks()`)
 * changed: the setting, its value before and its value now.
 */
export type FairReconfigureEvent = ReconfigureEvent<'capacity' | 'perKeyCapacity' | 'highWatermark' | 'lowWatermark'>;

/** A key among those that dropped the most (Space-Saving: `dropped` may overstate by at most `error`). */
export interface FairKeyDrops {
  key: string;
  dropped: number;
  error: number;
}

/** `stats()` of a `FairChannel`: totals like a `Channel`'s; per-key detail only for the top droppers. */
export interface FairChannelStats {
  capacity: number;
  perKeyCapacity: number;
  size: number;
  /** Keys holding items now (a key's state is freed when its queue empties). */
  keys: number;
  /** Items buffered by the key holding the most now. */
  largestKeySize: number;
  /** Producers waiting for room under `'block'`; their items are not yet `offered`. */
  waiting: number;
  /** Keys with producers waiting for room. */
  waitingKeys: number;
  /** Sum over producers of the time each spent waiting for room. */
  blockedMs: number;
  /** How long the producer waiting longest has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  utilization: number;
  state: ChannelState;
  pressured: boolean;
  offered: number;
  accepted: number;
  delivered: number;
  dropped: number;
  droppedBy: Record<FairDropReason, number>;
  pressureEvents: number;
  /** `resize()`, `setPerKeyCapacity()` and `setWatermarks()` calls that changed a setting (a call that changes nothing is not counted). Only grows. */
  adjustments: number;
  /** Up to `topKeys` keys by items dropped, most first. */
  topDroppedKeys: FairKeyDrops[];
}

/**
 * One key's queue while it holds items (then in the round-robin list) or has
 * producers waiting for room (then in the waiting list); dropped otherwise.
 */
class KeyLane<T> extends RingState<T> implements GiveUpListener {
  prev: KeyLane<T> | undefined = undefined;
  next: KeyLane<T> | undefined = undefined;
  deficit = 0;
  /** True once this turn's quantum was added. */
  turn = false;
  /** In the round-robin list (it holds items). */
  active = false;
  /** Producers of this key waiting for room, made on the first one. */
  senders: BlockedProducers<T> | undefined = undefined;
  wprev: KeyLane<T> | undefined = undefined;
  wnext: KeyLane<T> | undefined = undefined;
  waitingListed = false;
  constructor(
    readonly owner: FairChannel<T>,
    readonly key: string,
    slots: number,
  ) {
    super(slots);
  }
  get waiting(): number {
    return this.senders === undefined ? 0 : this.senders.size;
  }
  [producerGaveUp](reason: 'timeout' | 'aborted'): void {
    this.owner.producerGaveUp(this, reason);
  }
  get length(): number {
    return this.write - this.read;
  }
  push(item: T): void {
    this.ringPush(item);
  }
  shift(): T {
    return this.ringShift();
  }
  peek(): T {
    return this.ringPeek() as T;
  }
}

/**
 * A bounded channel that shares its receivers fairly among keys (tenants,
 * hosts): deficit round robin over the keys that hold items, a cap per key
 * (`perKeyCapacity`) and one over all (`capacity`). A key sending 100× the
 * others fills only its own queue and gets its turn like any other key.
 *
 * A key's queue and round-robin state exist only while it holds items, so
 * memory follows the keys active now, not every key ever seen. Per-key drop
 * figures are kept for the top droppers only (`stats().topDroppedKeys`).
 *
 * Close and drain as `Channel`'s; accounting: `offered === delivered + size + dropped`.
 *
 * @example
 * const jobs = new FairChannel<{ tenant: string; id: number }>({ capacity: 1000, perKeyCapacity: 100, key: (job) => job.tenant });
 * jobs.trySend({ tenant: 'a', id: 1 });
 * jobs.trySend({ tenant: 'a', id: 2 });
 * jobs.trySend({ tenant: 'b', id: 3 });
 * jobs.tryReceive(); // tenant a's id 1, then b's id 3, then a's id 2
 */
export class FairChannel<T> extends LaneCore<T> {
  readonly overflow: FairOverflow;
  readonly maxBlockMs: number | undefined;
  readonly quantum: number;
  readonly name: string;
  /** Changed at runtime only through {@link setPerKeyCapacity}. */
  private perKey: number;
  private readonly keyOf: ((item: T) => string) | undefined;
  private readonly costOf: ((item: T) => number) | undefined;
  private readonly lanes = new Map<string, KeyLane<T>>();
  /** The round robin: keys holding items; the head is being served. */
  private head: KeyLane<T> | undefined = undefined;
  private tail: KeyLane<T> | undefined = undefined;
  private readonly slots: number;
  private accepted = 0;
  private taken = 0;
  private readonly droppedBy = newDrops();
  private readonly top: SpaceSaving;
  /** Offers at a channel size below this skip the slow path (still subject to the key's cap). */
  private fastBelow = -1;
  /** Keys with producers waiting, in the order their turn to be let in comes. */
  private waitHead: KeyLane<T> | undefined = undefined;
  private waitTail: KeyLane<T> | undefined = undefined;
  private waitingKeys = 0;
  private waiting = 0;

  constructor(options: FairChannelOptions<T>) {
    const o = v.optionsObject(options, 'FairChannel', optionKeys as v.KnownKeys<FairChannelOptions<T>>);
    const capacity = v.integer('capacity', o.capacity, 1000, { min: 1 });
    if (o.perKeyCapacity === undefined) throw new InvalidOptionError('perKeyCapacity', undefined, `an integer >= 1 and <= capacity (${capacity})`);
    const perKeyCapacity = v.requiredInteger('perKeyCapacity', o.perKeyCapacity, { min: 1, max: capacity });
    const quantum = v.number('quantum', o.quantum, 1, { min: 0, minExclusive: true });
    const overflow = v.oneOf('overflow', o.overflow, fairOverflows, 'drop-newest');
    const maxBlockMs = v.optionalNumber('maxBlockMs', o.maxBlockMs, { min: 0 });
    if (maxBlockMs !== undefined && overflow !== 'block') {
      throw new InvalidOptionError('maxBlockMs', maxBlockMs, `no value unless overflow is 'block'`, `overflow is '${overflow}'`);
    }
    const highWatermark = v.number('highWatermark', o.highWatermark, 0.8, { min: 0, max: 1 });
    const lowWatermark = v.number('lowWatermark', o.lowWatermark, Math.min(0.2, highWatermark), { min: 0, max: 1 });
    if (lowWatermark > highWatermark) throw new InvalidOptionError('lowWatermark', lowWatermark, `a fraction <= highWatermark (${highWatermark})`);
    const topKeys = v.integer('topKeys', o.topKeys, 10, { min: 1, max: 1000 });
    const keyOf = v.optionalFunction<(item: T) => string>('key', o.key);
    const costOf = v.optionalFunction<(item: T) => number>('cost', o.cost);
    const clock = o.clock ?? systemClock;
    if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
      throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
    }
    const name = o.name ?? 'fair-channel';
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
    super(capacity, highWatermark, lowWatermark, clock);
    this.perKey = perKeyCapacity;
    this.overflow = overflow;
    this.maxBlockMs = maxBlockMs;
    this.quantum = quantum;
    this.name = name;
    this.keyOf = keyOf;
    this.costOf = costOf;
    this.slots = Math.min(perKeyCapacity, 16);
    this.top = new SpaceSaving(topKeys);
    this.updateSignals();
  }

  /** Most items one key may have buffered. Change it with {@link setPerKeyCapacity}. */
  get perKeyCapacity(): number {
    return this.perKey;
  }
  get pressured(): boolean {
    return this.signals.pressured;
  }
  get utilization(): number {
    return this.size / this.capacity;
  }

  /**
   * Changes the capacity from now on, without a restart. The value is checked
   * like the `capacity` option; a bad one throws and changes nothing. The
   * watermarks stay fractions, so their sizes move with the capacity.
   *
   * When it takes effect: at once, before the call returns.
   * - Grown: producers waiting for room under `'block'` are let in as a freed
   *   slot would let them in (waiting keys in round robin, FIFO within a
   *   key, each under its key's cap), as far as the new capacity allows.
   * - Shrunk below the size: no buffered item is dropped. The channel counts
   *   as full (`state` `'blocked'`, `utilization` above 1 for a while) and
   *   new offers meet the overflow strategy until consumers bring the size
   *   below the new capacity: `'block'` senders wait (`trySend()` returns
   *   false, uncounted), `'drop-newest'` drops and `'reject'` rejects the
   *   offer, each counted under its usual reason.
   * - State and pressure are re-derived at once: a watermark the size now
   *   crosses is reported to `onStateChange`/`onPressureChange` listeners
   *   before this returns.
   *
   * A change counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners; the current capacity does nothing.
   * @throws InvalidOptionError (field `capacity`) unless `capacity` is an
   * integer >= `perKeyCapacity` (as the options require; lower
   * `perKeyCapacity` first); nothing changes then.
   * @example
   * const tenantJobs = new FairChannel<{ tenant: string }>({ capacity: 10_000, perKeyCapacity: 100, key: (job) => job.tenant });
   * tenantJobs.resize(2_000); // memory is short: hold at most 2,000 jobs from now on
   */
  resize(capacity: number): void {
    const next = checkCapacity(capacity);
    if (next < this.perKey) throw new InvalidOptionError('capacity', next, `an integer >= perKeyCapacity (${this.perKey})`);
    this.reconfigure(next, this.highWatermark, this.lowWatermark);
  }

  /**
   * Changes the most items one key may have buffered, from now on. Checked
   * like the `perKeyCapacity` option (an integer from 1 to `capacity`); a
   * bad value throws and changes nothing.
   *
   * When it takes effect: at once, before the call returns. Raised: producers
   * waiting under `'block'` for their key's cap are let in (waiting keys in
   * round robin) while the channel has room. Lowered below what a key holds:
   * none of its items is dropped; its new offers meet the strategy as a full
   * key's (`'key-full'`, or waiting under `'block'`) until consumers bring it
   * below the new cap.
   *
   * A change counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners (setting `'perKeyCapacity'`).
   * @throws InvalidOptionError (field `perKeyCapacity`).
   * @example
   * const tenantJobs = new FairChannel<{ tenant: string }>({ capacity: 1000, perKeyCapacity: 100, key: (job) => job.tenant });
   * tenantJobs.setPerKeyCapacity(20); // one tenant floods: give each at most 20 slots
   */
  setPerKeyCapacity(perKeyCapacity: number): void {
    const next = v.requiredInteger('perKeyCapacity', perKeyCapacity, { min: 1, max: this.capacity });
    const previous = this.perKey;
    if (next === previous) return;
    this.perKey = next;
    this.reconfigure(this.capacity, this.highWatermark, this.lowWatermark, { setting: 'perKeyCapacity', previous, value: next });
  }

  /**
   * Moves both watermarks from now on. Each is checked like its option (a
   * fraction from 0 to 1, `low <= high`); a bad value throws and changes
   * nothing (neither watermark moves).
   *
   * When it takes effect: at once, before the call returns. Pressure and
   * state are re-derived from the current size, and listeners hear a change
   * before this returns.
   *
   * A call that changes either counts once in `stats().adjustments`; each
   * changed watermark is reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `highWatermark` or `lowWatermark`.
   * @example
   * const tenantJobs = new FairChannel<{ tenant: string }>({ perKeyCapacity: 10, key: (job) => job.tenant });
   * tenantJobs.setWatermarks(0.6, 0.3); // pause producers earlier, resume them later
   */
  setWatermarks(highWatermark: number, lowWatermark: number): void {
    const { high, low } = checkWatermarks(highWatermark, lowWatermark);
    this.reconfigure(this.capacity, high, low);
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link resize},
   * {@link setPerKeyCapacity} or {@link setWatermarks}, with the setting, its
   * previous value and its new value. Listeners run synchronously once the
   * change is in effect; one that throws does not stop the others (its error
   * surfaces as an uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const tenantJobs = new FairChannel<{ tenant: string }>({ capacity: 100, perKeyCapacity: 10, key: (job) => job.tenant });
   * const off = tenantJobs.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * tenantJobs.resize(50); // logs "capacity: 100 -> 50"
   * off();
   */
  onReconfigure(listener: (event: FairReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /** Keys holding items now. */
  get keys(): number {
    return this.lanes.size;
  }

  /**
   * Buffers `item` under its key if the key and the channel have room; never waits.
   * @returns false when dropped (counted: `'key-full'`, or `'drop-newest'`/`'rejected'` when the channel is full).
   * @throws ClosedError once closed (counted, reason `'closed'`); InvalidArgumentError
   * when the item has no key (neither `{ key }` nor a `key` option) or the key is not a string (not counted).
   */
  trySend(item: T, options?: FairTrySendOptions): boolean {
    if (item === undefined) throw new InvalidItemError();
    if (options !== undefined) {
      const invalid = callOptionsError(options, 'trySend()', trySendKeys);
      if (invalid !== undefined) throw invalid;
    }
    const key = this.keyFor(item, options?.key, 'trySend()');
    if (this.closed) {
      this.drop(key, 'closed');
      throw new ClosedError();
    }
    const room = this.room(key);
    if (room === Room.yes) {
      this.accept(key, item);
      return true;
    }
    if (this.overflow !== 'block') this.drop(key, room === Room.keyFull ? 'key-full' : this.overflow === 'reject' ? 'rejected' : 'drop-newest');
    return false;
  }

  /**
   * Offers `item` under its key; under `'block'` waits for room (FIFO within
   * the key, round robin between waiting keys).
   * @returns true when buffered; false when dropped, or when the wait timed out (reason `'timeout'`).
   * @throws OverflowError under `'reject'` when there is no room;
   * ClosedError when closed before or during the wait; InvalidArgumentError
   * when the item has no string key (not counted).
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and the item is not buffered (counted, reason `'aborted'`); an
   * abort while waiting does the same. An item already buffered is never taken back.
   */
  send(item: T, options?: FairSendOptions): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    let key: string;
    try {
      if (options !== undefined) {
        const invalid = callOptionsError(options, 'send()', sendKeys);
        if (invalid !== undefined) throw invalid;
      }
      key = this.keyFor(item, options?.key, 'send()');
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      this.drop(key, 'aborted');
      return Promise.reject(signal.reason);
    }
    if (this.closed) {
      this.drop(key, 'closed');
      return Promise.reject(new ClosedError());
    }
    const room = this.room(key);
    if (room === Room.yes) {
      this.accept(key, item);
      return RESOLVED_TRUE;
    }
    if (this.overflow === 'block') return this.waitForRoom(key, item, signal, options?.timeoutMs);
    this.drop(key, room === Room.keyFull ? 'key-full' : this.overflow === 'reject' ? 'rejected' : 'drop-newest');
    if (this.overflow === 'reject') return Promise.reject(new OverflowError(`FairChannel has no room for key ${JSON.stringify(key)} (overflow: reject)`));
    return RESOLVED_FALSE;
  }

  /** Takes the next item in deficit round robin order over the keys; never waits. */
  tryReceive(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.takeOne();
    if (this.size < this.receiveQuietFrom) this.afterTake();
    return item;
  }

  /**
   * Takes the next item, waiting for one if the channel is empty.
   * @returns `undefined` only once the channel is closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once and takes
   * no item; an abort while waiting rejects with `signal.reason` and takes no item.
   */
  override receive(options?: ReceiveOptions): Promise<T | undefined> {
    return super.receive(options);
  }

  /**
   * Takes up to `max` items in round-robin order. Waits for the first one;
   * with `maxWaitMs`, up to that much longer for the batch to fill.
   *
   * Abort safety: a signal that has already fired rejects at once and takes
   * nothing; an abort while waiting rejects with `signal.reason`.
   */
  override receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    return super.receiveBatch(max, options);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.iterator();
  }

  /**
   * Resolves once the channel is closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once; an abort
   * while waiting rejects with `signal.reason`. The channel is unaffected.
   */
  override drained(options?: { signal?: AbortSignal }): Promise<void> {
    return super.drained(options);
  }

  stats(): FairChannelStats {
    const d = this.droppedBy;
    const dropped = d['key-full'] + d['drop-newest'] + d.rejected + d.timeout + d.aborted + d.closed;
    let largest = 0;
    for (const lane of this.lanes.values()) if (lane.length > largest) largest = lane.length;
    let blockedMs = 0;
    let longestBlockedMs = 0;
    for (let lane = this.waitHead; lane !== undefined; lane = lane.wnext) {
      blockedMs += lane.senders!.blockedMs();
      longestBlockedMs = Math.max(longestBlockedMs, lane.senders!.longestBlockedMs());
    }
    return {
      capacity: this.capacity,
      perKeyCapacity: this.perKeyCapacity,
      size: this.size,
      keys: this.lanes.size,
      largestKeySize: largest,
      waiting: this.waiting,
      waitingKeys: this.waitingKeys,
      blockedMs,
      longestBlockedMs,
      utilization: this.size / this.capacity,
      state: this.state,
      pressured: this.signals.pressured,
      offered: this.accepted + dropped,
      accepted: this.accepted,
      delivered: this.taken,
      dropped,
      droppedBy: { ...d },
      pressureEvents: this.signals.pressureEvents,
      adjustments: this.adjustments,
      topDroppedKeys: this.top.list(),
    };
  }

  // LaneCore

  waitingProducers(): number {
    return this.waiting;
  }

  /**
   * Lets in the first waiting key (in round-robin order) that has room under
   * its cap, if the channel has room; that key goes to the back of the line.
   */
  protected admitWaiter(): boolean {
    if (this.size >= this.capacity) return false;
    for (let lane = this.waitHead; lane !== undefined; lane = lane.wnext) {
      if (lane.length >= this.perKeyCapacity) continue;
      const w = lane.senders!.shift()!;
      this.waiting--;
      this.unlistWaiting(lane);
      if (lane.waiting !== 0) this.listWaiting(lane);
      this.push(lane, w.item);
      w.resolve(true);
      return true;
    }
    return false;
  }

  protected releaseProducers(): void {
    for (let lane = this.waitHead; lane !== undefined; lane = this.waitHead) {
      this.unlistWaiting(lane);
      for (let w = lane.senders!.shift(); w; w = lane.senders!.shift()) {
        this.waiting--;
        this.drop(lane.key, 'closed');
        w.reject(new ClosedError('FairChannel closed while the producer was waiting for room'));
      }
      if (!lane.active) this.lanes.delete(lane.key);
    }
  }

  /** A waiting producer's timeout or abort: counted, and the key forgotten if nothing else holds it. */
  producerGaveUp(lane: KeyLane<T>, reason: 'timeout' | 'aborted'): void {
    this.waiting--;
    this.drop(lane.key, reason);
    if (lane.waiting === 0) {
      this.unlistWaiting(lane);
      if (!lane.active) this.lanes.delete(lane.key);
    }
    this.refresh();
  }

  protected capacityChanged(): void {
    // room() and admitWaiter() read capacity and perKeyCapacity directly; the fast-path bound follows in syncLimits().
  }

  protected syncLimits(): void {
    this.fastBelow = this.closed || this.consumersWaiting() ? -1 : this.capacity < this.quietMax ? this.capacity : this.quietMax;
  }

  protected takeOne(): T {
    for (;;) {
      const lane = this.head!;
      if (!lane.turn) {
        lane.turn = true;
        lane.deficit += this.quantum;
      }
      const cost = this.costOf === undefined ? 1 : this.itemCost(lane.peek());
      if (lane.deficit >= cost) {
        const item = lane.shift();
        lane.deficit -= cost;
        this.size--;
        this.taken++;
        if (lane.length === 0) this.retire(lane);
        return item;
      }
      // This turn is spent: the key keeps its deficit and goes to the back.
      lane.turn = false;
      if (lane.next !== undefined) {
        this.unlink(lane);
        this.append(lane);
      }
    }
  }

  private itemCost(item: T): number {
    const c = this.costOf!(item);
    if (!(typeof c === 'number' && c > 0 && c < Infinity)) {
      throw new InvalidArgumentError(`FairChannel cost(item) must return a positive finite number, got ${describe(c)}`);
    }
    return c;
  }

  private keyFor(item: T, given: unknown, where: string): string {
    const key = given !== undefined ? given : this.keyOf !== undefined ? this.keyOf(item) : undefined;
    if (typeof key !== 'string') {
      throw new InvalidArgumentError(
        key === undefined
          ? `${where}: the item has no key; pass { key } or give the channel a key option`
          : `${where}: a key must be a string, got ${describe(key)}`,
      );
    }
    return key;
  }

  private drop(key: string, reason: FairDropReason): void {
    this.droppedBy[reason]++;
    this.top.add(key);
  }

  /** A key whose queue emptied: out of the round robin and, unless producers of it wait, the map, so idle keys cost nothing. */
  private retire(lane: KeyLane<T>): void {
    this.unlink(lane);
    lane.active = false;
    lane.deficit = 0;
    lane.turn = false;
    if (lane.waiting === 0) this.lanes.delete(lane.key);
  }

  private room(key: string): Room {
    const lane = this.lanes.get(key);
    if (lane !== undefined && (lane.length >= this.perKeyCapacity || lane.waiting !== 0)) return Room.keyFull; // FIFO within a key
    // While producers wait and the channel has room, they all wait for their own key's cap (the pump lets
    // anyone else in at once), so a key with room may go ahead.
    if (this.size >= this.capacity) return Room.full;
    return Room.yes;
  }

  private accept(key: string, item: T): void {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new KeyLane<T>(this, key, this.slots);
      this.lanes.set(key, lane);
    }
    this.push(lane, item);
    if (this.size > this.fastBelow) this.afterPush();
  }

  private push(lane: KeyLane<T>, item: T): void {
    if (!lane.active) {
      lane.active = true;
      this.append(lane);
    }
    lane.push(item);
    this.size++;
    this.accepted++;
  }

  private waitForRoom(key: string, item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    const timeout = timeoutMs ?? this.maxBlockMs;
    if (timeout === 0) {
      this.drop(key, 'timeout'); // "do not wait"
      return RESOLVED_FALSE;
    }
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new KeyLane<T>(this, key, this.slots);
      this.lanes.set(key, lane);
    }
    const senders = (lane.senders ??= new BlockedProducers<T>(this.clock, lane));
    this.waiting++;
    if (!lane.waitingListed) this.listWaiting(lane);
    const waiting = senders.wait(item, signal, timeout);
    this.refresh();
    return waiting;
  }

  private listWaiting(lane: KeyLane<T>): void {
    lane.wprev = this.waitTail;
    lane.wnext = undefined;
    if (this.waitTail !== undefined) this.waitTail.wnext = lane;
    else this.waitHead = lane;
    this.waitTail = lane;
    lane.waitingListed = true;
    this.waitingKeys++;
  }

  private unlistWaiting(lane: KeyLane<T>): void {
    if (!lane.waitingListed) return;
    if (lane.wprev !== undefined) lane.wprev.wnext = lane.wnext;
    else this.waitHead = lane.wnext;
    if (lane.wnext !== undefined) lane.wnext.wprev = lane.wprev;
    else this.waitTail = lane.wprev;
    lane.wprev = lane.wnext = undefined;
    lane.waitingListed = false;
    this.waitingKeys--;
  }

  private append(lane: KeyLane<T>): void {
    lane.prev = this.tail;
    lane.next = undefined;
    if (this.tail !== undefined) this.tail.next = lane;
    else this.head = lane;
    this.tail = lane;
  }

  private unlink(lane: KeyLane<T>): void {
    if (lane.prev !== undefined) lane.prev.next = lane.next;
    else this.head = lane.next;
    if (lane.next !== undefined) lane.next.prev = lane.prev;
    else this.tail = lane.prev;
    lane.prev = lane.next = undefined;
  }
}

const enum Room {
  yes,
  keyFull,
  full,
}

const sendKeys = ['key', 'signal', 'timeoutMs'];
const trySendKeys = ['key'];

function callOptionsError(options: unknown, where: string, allowed: readonly string[]): InvalidOptionError | undefined {
  if (options === null || typeof options !== 'object') return new InvalidOptionError(`${where} options`, options, 'an object');
  for (const key in options) {
    if (!Object.hasOwn(options, key)) continue;
    const value = (options as Record<string, unknown>)[key];
    if (!allowed.includes(key)) return v.unknownOptionError(where, key, value, allowed);
    if (key === 'signal' && value !== undefined) {
      const s = value as AbortSignal;
      if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
        return new InvalidOptionError(key, value, 'an AbortSignal', `in ${where}`);
      }
    } else if (key === 'timeoutMs' && value !== undefined && !(typeof value === 'number' && value >= 0 && value !== Infinity)) {
      return new InvalidOptionError(key, value, 'a finite number >= 0 (milliseconds)', `in ${where}`);
    }
  }
  return undefined;
}

/**
 * The Space-Saving algorithm (Metwally et al.): `k` counters find the keys
 * that dropped the most in a stream of drops, in fixed memory. A key not
 * tracked replaces the smallest counter and inherits its count as `error`.
 */
class SpaceSaving {
  private readonly counts = new Map<string, { dropped: number; error: number }>();
  constructor(private readonly k: number) {}

  add(key: string): void {
    const c = this.counts.get(key);
    if (c !== undefined) {
      c.dropped++;
      return;
    }
    if (this.counts.size < this.k) {
      this.counts.set(key, { dropped: 1, error: 0 });
      return;
    }
    let minKey = '';
    let min = Infinity;
    for (const [k, v] of this.counts) {
      if (v.dropped < min) {
        min = v.dropped;
        minKey = k;
      }
    }
    this.counts.delete(minKey);
    this.counts.set(key, { dropped: min + 1, error: min });
  }

  list(): FairKeyDrops[] {
    return [...this.counts].map(([key, c]) => ({ key, dropped: c.dropped, error: c.error })).sort((a, b) => b.dropped - a.dropped);
  }
}
