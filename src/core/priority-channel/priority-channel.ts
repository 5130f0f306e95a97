import type { Clock } from '../clock/index.js';
import { systemClock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidItemError, InvalidOptionError, OverflowError } from '../errors/index.js';
import type { ChannelReconfigureEvent, ChannelState, ReceiveBatchOptions, ReceiveOptions } from '../channel/index.js';
import { checkCapacity, checkWatermarks } from '../../internal/engine/options.js';
import { BlockedProducers, producerGaveUp, type GiveUpListener } from '../../internal/blocked-producers.js';
import { describe } from '../../internal/describe.js';
import * as v from '../../internal/validate.js';
import { LaneCore, RESOLVED_FALSE, RESOLVED_TRUE, type LaneReconfigureEvent } from './internal/lane-core.js';

/**
 * What a full `PriorityChannel` does with one more item.
 * - `'block'`: `send()` waits for room (FIFO within its level; a freed slot goes to the highest waiting level first);
 *   `trySend()` returns false and the item stays yours (not counted).
 * - `'drop-newest'`: the offered item is dropped (reason `'drop-newest'`).
 * - `'reject'`: `send()` rejects with `OverflowError`, `trySend()` returns false (reason `'rejected'`).
 * - `'shed-lowest'`: the oldest item of the lowest non-empty level *below* the offered item's level is evicted
 *   (counted in that level, reason `'shed'`) and the offered item is buffered; when no lower level holds an item,
 *   the offered item is dropped (reason `'drop-newest'`). Items of the same level never evict each other.
 */
export type PriorityOverflow = 'block' | 'drop-newest' | 'reject' | 'shed-lowest';
export const priorityOverflows: readonly PriorityOverflow[] = ['block', 'drop-newest', 'reject', 'shed-lowest'];

/** Why a `PriorityChannel` item was dropped; every dropped item is counted under exactly one reason, in its level. */
export type PriorityDropReason = 'shed' | 'drop-newest' | 'rejected' | 'timeout' | 'aborted' | 'closed';
export const priorityDropReasons: readonly PriorityDropReason[] = ['shed', 'drop-newest', 'rejected', 'timeout', 'aborted', 'closed'];

function newDrops(): Record<PriorityDropReason, number> {
  return { shed: 0, 'drop-newest': 0, rejected: 0, timeout: 0, aborted: 0, closed: 0 };
}

export interface PriorityChannelOptions<L extends string = string> {
  /**
   * The priority levels, highest first. Receivers take higher levels first
   * (strictly, or by `weights`). At most 30 levels, each a distinct non-empty string.
   * @example new PriorityChannel({ levels: ['critical', 'normal', 'batch'] })
   */
  levels: readonly L[];
  /**
   * Most items buffered over all levels together.
   * @default 1000
   * @example new PriorityChannel({ levels: ['high', 'low'], capacity: 10_000 })
   */
  capacity?: number;
  /**
   * The level of an item sent without `{ priority }`.
   * @default the last (lowest) level
   * @example new PriorityChannel({ levels: ['high', 'normal', 'low'], defaultPriority: 'normal' })
   */
  defaultPriority?: L;
  /**
   * Weighted sharing instead of strict priority: while several levels hold
   * items, receivers take from them in proportion to their weights
   * (weighted round robin over the non-empty levels, in runs: each level's
   * turn serves up to its weight divided by the smallest weight, fractions
   * carried to its next turn), so a lower level is slowed, not starved.
   * Every level needs a positive finite weight.
   * @default undefined (strict priority: a level is served only while every higher one is empty)
   * @example new PriorityChannel({ levels: ['critical', 'batch'], weights: { critical: 4, batch: 1 } })
   */
  weights?: Readonly<Record<L, number>>;
  /**
   * Slots kept for the top level: the other levels are full at `capacity - reserve`.
   * An integer, 0 <= reserve < capacity.
   * @default 0
   * @example new PriorityChannel({ levels: ['critical', 'batch'], capacity: 100, reserve: 10 })
   */
  reserve?: number;
  /**
   * What a full channel does with one more item; see {@link PriorityOverflow}.
   * @default 'block'
   * @example new PriorityChannel({ levels: ['critical', 'batch'], overflow: 'shed-lowest' })
   */
  overflow?: PriorityOverflow;
  /**
   * Fraction of capacity at which the channel becomes `pressured` (and `'critical'`).
   * @default 0.8
   * @example new PriorityChannel({ levels: ['high', 'low'], highWatermark: 0.9, lowWatermark: 0.5 })
   */
  highWatermark?: number;
  /**
   * Fraction of capacity at or below which a pressured channel stops being pressured.
   * @default 0.2
   * @example new PriorityChannel({ levels: ['high', 'low'], lowWatermark: 0.1 })
   */
  lowWatermark?: number;
  /**
   * Under `'block'`: the longest a `send()` waits for room before it resolves
   * false (reason `'timeout'`). A per-call `timeoutMs` overrides it.
   * @default undefined (wait until room, abort or close)
   * @example new PriorityChannel({ levels: ['high', 'low'], maxBlockMs: 250 })
   */
  maxBlockMs?: number;
  /**
   * Time source for timeouts, `receiveBatch` waits and `blockedMs`.
   * @default systemClock
   * @example new PriorityChannel({ levels: ['high', 'low'], clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in metrics and on the dashboard.
   * @default 'priority-channel'
   * @example new PriorityChannel({ levels: ['high', 'low'], name: 'ingest' })
   */
  name?: string;
}

const optionKeys: v.KnownKeys<PriorityChannelOptions> = {
  levels: true, capacity: true, defaultPriority: true, weights: true, reserve: true, overflow: true,
  highWatermark: true, lowWatermark: true, maxBlockMs: true, clock: true, name: true,
};

/** Per-call options of `PriorityChannel.send()`. */
export interface PrioritySendOptions<L extends string = string> {
  /** The item's level; one of `levels`. @default the channel's `defaultPriority` */
  priority?: L;
  /** Aborting drops the item (reason `'aborted'`) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Under `'block'`: overrides `maxBlockMs` for this call. `0` means "do not wait". */
  timeoutMs?: number;
}

/** Per-call options of `PriorityChannel.trySend()`. */
export interface PriorityTrySendOptions<L extends string = string> {
  /** The item's level; one of `levels`. @default the channel's `defaultPriority` */
  priority?: L;
}

const sendKeys = ['priority', 'signal', 'timeoutMs'];
const trySendKeys = ['priority'];

/**
 * Checks a per-call options object (keys and the types of `signal` and
 * `timeoutMs`; `priority` is checked against the levels by the caller) and
 * returns the error instead of throwing. Slow path only.
 */
function callOptionsError(options: unknown, where: string, allowed: readonly string[]): InvalidOptionError | undefined {
  if (options === null || typeof options !== 'object') return new InvalidOptionError(`${where} options`, options, 'an object');
  for (const key in options) {
    if (!Object.hasOwn(options, key)) continue;
    const value = (options as Record<string, unknown>)[key];
    if (!allowed.includes(key)) return v.unknownOptionError(where, key, value, allowed);
    if (value === undefined) continue;
    if (key === 'signal') {
      const s = value as AbortSignal;
      if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
        return new InvalidOptionError(key, value, 'an AbortSignal', `in ${where}`);
      }
    } else if (key === 'timeoutMs' && !(typeof value === 'number' && value >= 0 && value !== Infinity)) {
      return new InvalidOptionError(key, value, 'a finite number >= 0 (milliseconds)', `in ${where}`);
    }
  }
  return undefined;
}

/** One level's figures; `offered === delivered + size + dropped` holds for each. */
export interface PriorityLevelStats {
  size: number;
  /** Producers of this level waiting for room under `'block'`; their items are not yet `offered`. */
  waiting: number;
  offered: number;
  /** Items that entered the buffer, including ones later shed. */
  accepted: number;
  delivered: number;
  dropped: number;
  droppedBy: Record<PriorityDropReason, number>;
}

/** `stats()` of a `PriorityChannel`: the totals read like a `Channel`'s, `levels` splits them by level. */
export interface PriorityChannelStats<L extends string = string> {
  capacity: number;
  size: number;
  waiting: number;
  utilization: number;
  state: ChannelState;
  pressured: boolean;
  offered: number;
  accepted: number;
  delivered: number;
  dropped: number;
  droppedBy: Record<PriorityDropReason, number>;
  blockedMs: number;
  longestBlockedMs: number;
  pressureEvents: number;
  /** `resize()` and `setWatermarks()` calls that changed a setting (a call that changes nothing is not counted). Only grows. */
  adjustments: number;
  /** Per level, highest first (object key order). */
  levels: Record<L, PriorityLevelStats>;
}

/**
 * One level: a ring of its items, its blocked producers and its counters.
 * The ring's fields are public so the channel's hot paths store and take
 * inline; `write` counts the level's accepted items and `read` its taken ones
 * (delivered or shed). They only grow (exact up to 2^53; past 2^31 V8 keeps
 * them as doubles and `& mask` still picks the slot).
 */
class Lane<T> implements GiveUpListener {
  slots: (T | undefined)[];
  mask: number;
  read = 0;
  write = 0;
  /** Offers at a channel size below this are buffered with nothing else to do; -1 closes the fast path. */
  fastBelow = -1;
  /** Weighted round robin: items this level may still take in its current run, fractions carried over. */
  credit = 0;
  refused = 0;
  shed = 0;
  /** `write` when the ring last moved to a fresh array (see {@link emptied}). */
  fresh = 0;
  /** The last per-call options object found valid for this level: a reused constant skips the key walk. */
  checked: object | undefined = undefined;
  /** The same for an object valid for `send()` only (it has `signal` or `timeoutMs`). */
  checkedSend: object | undefined = undefined;
  readonly droppedBy = newDrops();
  readonly senders: BlockedProducers<T>;
  readonly bit: number;

  constructor(
    readonly owner: PriorityChannel<T, string>,
    readonly name: string,
    readonly index: number,
    /** The channel size at which this level is full: capacity, or capacity - reserve below the top (moves with `resize()`). */
    public limit: number,
    readonly weight: number,
    slots: number,
  ) {
    let n = 1;
    while (n < slots) n <<= 1;
    this.slots = new Array<T | undefined>(n);
    this.mask = n - 1;
    this.bit = 1 << index;
    this.senders = new BlockedProducers<T>(owner.clock, this);
  }

  get length(): number {
    return this.write - this.read;
  }
  push(item: T): void {
    if (this.write - this.read > this.mask) this.grow();
    this.slots[this.write & this.mask] = item;
    this.write++;
  }
  shift(): T {
    const i = this.read & this.mask;
    const item = this.slots[i] as T;
    this.slots[i] = undefined;
    this.read++;
    return item;
  }
  /**
   * The lane just emptied. If a ring-full of items went through since the
   * last time, continue in a fresh array, as `Channel`'s ring does: a slot
   * array that has lived through two garbage collections is in the old
   * generation, where every store of a new item pays V8's old-to-new write
   * barrier. At most one allocation per ring-full, none for rings too large
   * to be allocated young.
   */
  emptied(): void {
    this.credit = 0; // an empty level keeps no credit for later (deficit round robin)
    if (this.write - this.fresh > this.mask && this.mask < 8192) {
      this.slots = new Array<T | undefined>(this.mask + 1);
      this.fresh = this.write;
    }
  }

  private grow(): void {
    const old = this.slots;
    const oldMask = this.mask;
    const n = old.length * 2;
    const next = new Array<T | undefined>(n);
    const mask = n - 1;
    for (let k = this.read; k < this.write; k++) next[k & mask] = old[k & oldMask];
    this.slots = next;
    this.mask = mask;
  }

  drop(reason: PriorityDropReason): void {
    this.refused++;
    this.droppedBy[reason]++;
  }

  [producerGaveUp](reason: 'timeout' | 'aborted'): void {
    this.drop(reason);
    this.owner.producerLeft();
  }

  stats(): PriorityLevelStats {
    const accepted = this.write;
    return {
      size: this.write - this.read,
      waiting: this.senders.size,
      offered: accepted + this.refused,
      accepted,
      delivered: this.read - this.shed,
      dropped: this.refused + this.shed,
      droppedBy: { ...this.droppedBy },
    };
  }
}

/**
 * A bounded channel with priority levels: `send(item, { priority })`,
 * receivers take higher levels first (strictly, or in proportion to
 * `weights`), `overflow: 'shed-lowest'` evicts the lowest level's oldest item
 * to make room for a higher one, and `reserve` keeps slots for the top level.
 *
 * A separate class rather than an option of `Channel`: a level per item would
 * put a lookup and a branch on the plain channel's hot path, which every
 * channel would pay (see docs/priorities.md).
 *
 * ## Close and drain contract
 * As `Channel`'s: `close()` is idempotent; afterwards `send()` rejects and
 * `trySend()` throws `ClosedError` (counted, reason `'closed'`, in the item's
 * level); waiting producers are released the same way; buffered items stay
 * receivable in priority order; `receive()` yields `undefined` and
 * `receiveBatch()` `[]` only once closed and empty; `drained()` resolves then.
 *
 * ## Accounting
 * For every level and for the totals, at every moment:
 * `offered === delivered + size + dropped`, `dropped` the sum of `droppedBy`.
 *
 * @example
 * const ch = new PriorityChannel<string>({ levels: ['critical', 'normal', 'batch'], capacity: 100, overflow: 'shed-lowest' });
 * ch.trySend('page me', { priority: 'critical' });
 * ch.trySend('nightly export'); // the last level, 'batch'
 * ch.tryReceive(); // 'page me'
 */
export class PriorityChannel<T, L extends string = string> extends LaneCore<T> {
  readonly levels: readonly L[];
  readonly overflow: PriorityOverflow;
  readonly reserve: number;
  readonly name: string;
  readonly maxBlockMs: number | undefined;
  readonly defaultPriority: L;
  private readonly lanes: Lane<T>[];
  private readonly byName = new Map<string, Lane<T>>();
  private readonly defaultLane: Lane<T>;
  private readonly weighted: boolean;
  /** Weighted round robin: the level whose run it is. */
  private runLane: Lane<T> | undefined = undefined;
  /** Bit i set while level i holds items. */
  private nonEmpty = 0;

  constructor(options: PriorityChannelOptions<L>) {
    const o = v.optionsObject(options, 'PriorityChannel', optionKeys);
    const levels = checkLevels(o.levels);
    const capacity = v.integer('capacity', o.capacity, 1000, { min: 1 });
    const overflow = v.oneOf('overflow', o.overflow, priorityOverflows, 'block');
    const reserve = v.integer('reserve', o.reserve, 0, { min: 0, max: capacity - 1 });
    const highWatermark = v.number('highWatermark', o.highWatermark, 0.8, { min: 0, max: 1 });
    const lowWatermark = v.number('lowWatermark', o.lowWatermark, Math.min(0.2, highWatermark), { min: 0, max: 1 });
    if (lowWatermark > highWatermark) throw new InvalidOptionError('lowWatermark', lowWatermark, `a fraction <= highWatermark (${highWatermark})`);
    const maxBlockMs = v.optionalNumber('maxBlockMs', o.maxBlockMs, { min: 0 });
    if (maxBlockMs !== undefined && overflow !== 'block') {
      throw new InvalidOptionError('maxBlockMs', maxBlockMs, `no value unless overflow is 'block'`, `overflow is '${overflow}'`);
    }
    const defaultPriority = o.defaultPriority ?? levels[levels.length - 1]!;
    if (!levels.includes(defaultPriority)) throw new InvalidOptionError('defaultPriority', defaultPriority, `one of ${levels.join(', ')}`);
    const weights = checkWeights(o.weights, levels);
    const clock = o.clock ?? systemClock;
    if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
      throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
    }
    const name = o.name ?? 'priority-channel';
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
    super(capacity, highWatermark, lowWatermark, clock);
    this.levels = Object.freeze([...levels]) as readonly L[];
    this.overflow = overflow;
    this.reserve = reserve;
    this.name = name;
    this.maxBlockMs = maxBlockMs;
    this.defaultPriority = defaultPriority as L;
    this.weighted = weights !== undefined;
    const slots = Math.min(capacity, 1024);
    // Quanta: weights scaled so the smallest is 1, so every turn serves at least one item.
    const smallest = weights === undefined ? 1 : Math.min(...weights);
    this.lanes = levels.map((level, i) => new Lane<T>(this as PriorityChannel<T, string>, level, i, i === 0 ? capacity : capacity - reserve, (weights?.[i] ?? 1) / smallest, slots));
    for (const lane of this.lanes) this.byName.set(lane.name, lane);
    this.defaultLane = this.byName.get(defaultPriority)!;
    this.updateSignals();
  }

  get pressured(): boolean {
    return this.signals.pressured;
  }
  get utilization(): number {
    return this.size / this.capacity;
  }

  /**
   * Buffers `item` at its level if the strategy allows it right now; never waits.
   * @returns true when buffered (under `'shed-lowest'` possibly by shedding a
   * lower level's item). Under `'block'` false means nothing happened: the
   * item is still yours and is not counted; otherwise false means dropped and counted.
   * @throws ClosedError once closed (counted, reason `'closed'`);
   * InvalidArgumentError (`ERR_SLUICE_INVALID_ARGUMENT`) for a level not in
   * `levels`, naming it and the allowed ones (not counted).
   */
  trySend(item: T, options?: PriorityTrySendOptions<L>): boolean {
    const lane = options === undefined ? this.defaultLane : this.checkedLaneOf(options, false);
    if (lane !== undefined && this.size < lane.fastBelow && item !== undefined) {
      // Store written out (see Lane): no call before the optimizing compiler inlines.
      const write = lane.write;
      if (write - lane.read <= lane.mask) {
        lane.slots[write & lane.mask] = item;
        lane.write = write + 1;
        this.nonEmpty |= lane.bit;
        this.size++;
        return true;
      }
    }
    return this.trySendSlow(item, options);
  }

  private trySendSlow(item: T, options: PriorityTrySendOptions<L> | undefined): boolean {
    if (item === undefined) throw new InvalidItemError();
    let lane = this.defaultLane;
    if (options !== undefined) {
      const invalid = callOptionsError(options, 'trySend()', trySendKeys);
      if (invalid !== undefined) throw invalid;
      lane = this.checkedLane(options.priority, 'trySend()');
      this.remember(lane, options, true);
    }
    if (this.closed) {
      lane.drop('closed');
      throw new ClosedError();
    }
    if (this.size < lane.limit && lane.senders.size === 0) {
      this.accept(lane, item);
      return true;
    }
    switch (this.overflow) {
      case 'shed-lowest':
        if (this.shedBelow(lane)) {
          this.accept(lane, item);
          return true;
        }
        lane.drop('drop-newest');
        return false;
      case 'drop-newest':
        lane.drop('drop-newest');
        return false;
      case 'reject':
        lane.drop('rejected');
        return false;
      default:
        return false; // 'block': refused, not offered
    }
  }

  /**
   * Offers `item` at its level, waiting for room under `'block'`.
   * @returns true when buffered; false when dropped by the strategy or when the wait timed out (reason `'timeout'`).
   * @throws OverflowError under `'reject'` when full; ClosedError when closed
   * before or during the wait; InvalidArgumentError for an unknown level (not counted).
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and the item is not buffered (counted, reason `'aborted'`); an
   * abort while waiting does the same. An item already buffered is never taken back.
   */
  send(item: T, options?: PrioritySendOptions<L>): Promise<boolean> {
    const lane = options === undefined ? this.defaultLane : options.signal === undefined ? this.checkedLaneOf(options, true) : undefined;
    if (lane !== undefined && this.size < lane.fastBelow && item !== undefined) {
      const write = lane.write;
      if (write - lane.read <= lane.mask) {
        lane.slots[write & lane.mask] = item;
        lane.write = write + 1;
        this.nonEmpty |= lane.bit;
        this.size++;
        return RESOLVED_TRUE;
      }
    }
    return this.sendSlow(item, options);
  }

  private sendSlow(item: T, options: PrioritySendOptions<L> | undefined): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    let lane = this.defaultLane;
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    if (options !== undefined) {
      const invalid = callOptionsError(options, 'send()', sendKeys);
      if (invalid !== undefined) return Promise.reject(invalid);
      try {
        lane = this.checkedLane(options.priority, 'send()');
      } catch (error) {
        return Promise.reject(error);
      }
      this.remember(lane, options, callOptionsError(options, 'trySend()', trySendKeys) === undefined);
      signal = options.signal;
      timeoutMs = options.timeoutMs;
    }
    if (signal?.aborted) {
      lane.drop('aborted');
      return Promise.reject(signal.reason);
    }
    if (this.closed) {
      lane.drop('closed');
      return Promise.reject(new ClosedError());
    }
    if (this.size < lane.limit && lane.senders.size === 0) {
      this.accept(lane, item);
      return RESOLVED_TRUE;
    }
    switch (this.overflow) {
      case 'shed-lowest':
        if (this.shedBelow(lane)) {
          this.accept(lane, item);
          return RESOLVED_TRUE;
        }
        lane.drop('drop-newest');
        return RESOLVED_FALSE;
      case 'drop-newest':
        lane.drop('drop-newest');
        return RESOLVED_FALSE;
      case 'reject':
        lane.drop('rejected');
        return Promise.reject(new OverflowError(`PriorityChannel is full for level "${lane.name}" (overflow: reject)`));
      default: {
        const waiting = lane.senders.wait(item, signal, timeoutMs ?? this.maxBlockMs);
        this.refresh();
        return waiting;
      }
    }
  }

  /** Takes the next item: from the highest non-empty level, or by weight. Never waits. */
  tryReceive(): T | undefined {
    const mask = this.nonEmpty;
    if (mask === 0) return undefined;
    const lane = this.weighted ? this.pickWeighted(mask) : this.lanes[31 - Math.clz32(mask & -mask)]!;
    // Lane.shift() written out, as in trySend().
    const read = lane.read;
    const slots = lane.slots;
    const i = read & lane.mask;
    const item = slots[i] as T;
    slots[i] = undefined;
    lane.read = read + 1;
    if (read + 1 === lane.write) {
      this.nonEmpty = mask & ~lane.bit;
      lane.emptied();
    }
    if (--this.size < this.receiveQuietFrom) this.afterTake();
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
   * Takes up to `max` items in the order `tryReceive()` would. Waits for the
   * first one; with `maxWaitMs`, up to that much longer for the batch to fill.
   * @returns `[]` only once closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once and takes
   * nothing; an abort while waiting rejects with `signal.reason`, and items
   * that arrived meanwhile stay buffered.
   */
  override receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    return super.receiveBatch(max, options);
  }

  /** Iterates until the channel is closed and empty. Breaking out does not close the channel. */
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

  /**
   * Changes the capacity from now on, e.g. during an incident, without a
   * restart. The value is checked like the `capacity` option; a bad one
   * throws and changes nothing. The watermarks stay fractions and `reserve`
   * stays a count of slots, so the other levels are full at the new
   * `capacity - reserve`.
   *
   * When it takes effect: at once, before the call returns.
   * - Grown: producers waiting for room under `'block'` are let in as a freed
   *   slot would let them in (highest waiting level first, FIFO within a
   *   level), as far as the new capacity allows.
   * - Shrunk below the size: no buffered item is dropped. The channel counts
   *   as full (`state` `'blocked'`, `utilization` above 1 for a while) and
   *   new offers meet the overflow strategy until consumers bring the size
   *   below the level's limit: `'block'` senders wait (`trySend()` returns
   *   false, uncounted), `'drop-newest'` drops and `'reject'` rejects the
   *   offer, each counted under its usual reason; `'shed-lowest'` sheds one
   *   lower level's item per offer it accepts, as when full, so the size does
   *   not grow but only consumers bring it down.
   * - State and pressure are re-derived at once: a watermark the size now
   *   crosses is reported to `onStateChange`/`onPressureChange` listeners
   *   before this returns.
   *
   * A change counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners; the current capacity does nothing.
   * @throws InvalidOptionError (field `capacity`) unless `capacity` is an
   * integer >= 1 and greater than `reserve` (the top level's slots must leave
   * room for the others, as the options require); nothing changes then.
   * @example
   * const ch = new PriorityChannel<Job>({ levels: ['critical', 'batch'], capacity: 10_000 });
   * ch.resize(2_000); // memory is short: hold at most 2,000 jobs from now on
   */
  resize(capacity: number): void {
    const next = checkCapacity(capacity);
    if (next <= this.reserve) throw new InvalidOptionError('capacity', next, `an integer > reserve (${this.reserve})`);
    this.reconfigure(next, this.highWatermark, this.lowWatermark);
  }

  /**
   * Moves both watermarks from now on. Each is checked like its option (a
   * fraction from 0 to 1, `low <= high`); a bad value throws and changes
   * nothing (neither watermark moves).
   *
   * When it takes effect: at once, before the call returns. Pressure and
   * state are re-derived from the current size: a pressured channel already
   * at or below the new low watermark turns unpressured, an unpressured one
   * at or above the new high watermark turns pressured, and listeners hear it
   * before this returns.
   *
   * A call that changes either counts once in `stats().adjustments`; each
   * changed watermark is reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `highWatermark` or `lowWatermark`.
   * @example
   * const ch = new PriorityChannel<Job>({ levels: ['critical', 'batch'] });
   * ch.setWatermarks(0.6, 0.3); // pause producers earlier, resume them later
   */
  setWatermarks(highWatermark: number, lowWatermark: number): void {
    const { high, low } = checkWatermarks(highWatermark, lowWatermark);
    this.reconfigure(this.capacity, high, low);
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link resize} or
   * {@link setWatermarks}, with the setting, its previous value and its new
   * value. Listeners run synchronously once the change is in effect; one that
   * throws does not stop the others (its error surfaces as an uncaught
   * error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const ch = new PriorityChannel<Job>({ levels: ['critical', 'batch'], capacity: 100 });
   * const off = ch.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * ch.resize(50); // logs "capacity: 100 -> 50"
   * off();
   */
  onReconfigure(listener: (event: ChannelReconfigureEvent) => void): () => void {
    // The lanes report capacity and watermarks only (never a fair channel's perKeyCapacity), all of them channel settings.
    return this.reconfigureListeners.add(listener as (event: LaneReconfigureEvent) => void);
  }

  stats(): PriorityChannelStats<L> {
    const levels = {} as Record<L, PriorityLevelStats>;
    const droppedBy = newDrops();
    let offered = 0;
    let accepted = 0;
    let delivered = 0;
    let dropped = 0;
    let waiting = 0;
    let blockedMs = 0;
    let longestBlockedMs = 0;
    for (const lane of this.lanes) {
      const s = lane.stats();
      levels[lane.name as L] = s;
      offered += s.offered;
      accepted += s.accepted;
      delivered += s.delivered;
      dropped += s.dropped;
      waiting += s.waiting;
      for (const r of priorityDropReasons) droppedBy[r] += s.droppedBy[r];
      blockedMs += lane.senders.blockedMs();
      longestBlockedMs = Math.max(longestBlockedMs, lane.senders.longestBlockedMs());
    }
    return {
      capacity: this.capacity,
      size: this.size,
      waiting,
      utilization: this.size / this.capacity,
      state: this.state,
      pressured: this.signals.pressured,
      offered,
      accepted,
      delivered,
      dropped,
      droppedBy,
      blockedMs,
      longestBlockedMs,
      pressureEvents: this.signals.pressureEvents,
      adjustments: this.adjustments,
      levels,
    };
  }

  // LaneCore

  waitingProducers(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.senders.size;
    return n;
  }

  /** A producer gave up waiting (timeout or abort): its drop is counted; the fast path may reopen. */
  producerLeft(): void {
    this.refresh();
  }

  protected capacityChanged(): void {
    const capacity = this.capacity;
    for (const lane of this.lanes) lane.limit = lane.index === 0 ? capacity : capacity - this.reserve;
  }

  protected syncLimits(): void {
    const closedPath = this.closed || this.consumersWaiting();
    const quietMax = this.quietMax;
    for (const lane of this.lanes) {
      // Below quietMax (not at it): the size after the push must stay in the quiet band.
      lane.fastBelow = closedPath || lane.senders.size !== 0 ? -1 : lane.limit < quietMax ? lane.limit : quietMax;
    }
  }

  protected takeOne(): T {
    const mask = this.nonEmpty;
    const lane = this.weighted ? this.pickWeighted(mask) : this.lanes[31 - Math.clz32(mask & -mask)]!;
    const item = lane.shift();
    if (lane.read === lane.write) {
      this.nonEmpty = mask & ~lane.bit;
      lane.emptied();
    }
    this.size--;
    return item;
  }

  /**
   * Weighted round robin over the non-empty levels, served in runs (deficit
   * round robin with a quantum of the level's scaled weight): the level whose
   * turn it is takes items while it has credit, then the turn passes to the
   * next non-empty level below it (wrapping to the top), which gains its
   * weight in credit. One comparison per item while a run lasts, instead of
   * re-scoring every level on every take; over a round the shares are the
   * weights' all the same, and a level waits at most one round of the others.
   */
  private pickWeighted(mask: number): Lane<T> {
    const run = this.runLane;
    if (run !== undefined && (mask & run.bit) !== 0 && run.credit >= 1) {
      run.credit -= 1;
      return run;
    }
    const lanes = this.lanes;
    // Next non-empty level after the current run's, wrapping to the top.
    const from = run === undefined ? -1 : run.index;
    let later = from >= 29 ? 0 : mask & ~((1 << (from + 1)) - 1);
    if (later === 0) later = mask;
    const next = lanes[31 - Math.clz32(later & -later)]!;
    next.credit += next.weight; // >= 1: weights are scaled so the smallest is 1
    next.credit -= 1;
    this.runLane = next;
    return next;
  }

  protected admitWaiter(): boolean {
    for (const lane of this.lanes) {
      if (lane.senders.size !== 0 && this.size < lane.limit) {
        const w = lane.senders.shift()!;
        lane.push(w.item);
        this.nonEmpty |= lane.bit;
        this.size++;
        w.resolve(true);
        return true;
      }
    }
    return false;
  }

  protected releaseProducers(): void {
    for (const lane of this.lanes) {
      for (let w = lane.senders.shift(); w; w = lane.senders.shift()) {
        lane.drop('closed');
        w.reject(new ClosedError('PriorityChannel closed while the producer was waiting for room'));
      }
    }
  }

  private accept(lane: Lane<T>, item: T): void {
    lane.push(item);
    this.nonEmpty |= lane.bit;
    this.size++;
    this.afterPush();
  }

  /** Evicts the oldest item of the lowest non-empty level below `lane`; false when there is none. */
  private shedBelow(lane: Lane<T>): boolean {
    const mask = this.nonEmpty;
    if (mask === 0) return false;
    const lowest = 31 - Math.clz32(mask);
    if (lowest <= lane.index) return false;
    const victim = this.lanes[lowest]!;
    victim.shift();
    victim.shed++;
    victim.droppedBy.shed++;
    if (victim.length === 0) {
      this.nonEmpty = mask & ~victim.bit;
      victim.emptied();
    }
    this.size--;
    return true;
  }

  /**
   * The level of an options object checked before (each level remembers the
   * last one found valid for it), or undefined: the slow path then checks it.
   * Callers reuse constants (`{ priority: 'critical' }`), so the key walk runs
   * once per constant, not per item; a mutated `priority` is checked again.
   */
  private checkedLaneOf(options: { priority?: string }, forSend: boolean): Lane<T> | undefined {
    const p = options.priority;
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[i]!;
      if (lane.checked === options || (forSend && lane.checkedSend === options)) {
        return (p === undefined ? lane === this.defaultLane : lane.name === p) ? lane : undefined;
      }
    }
    return undefined;
  }

  /** `forTrySend`: the object is valid for `trySend()` too (its only key is `priority`). */
  private remember(lane: Lane<T>, options: object, forTrySend: boolean): void {
    for (const other of this.lanes) {
      if (other.checked === options) other.checked = undefined;
      if (other.checkedSend === options) other.checkedSend = undefined;
    }
    if (forTrySend) lane.checked = options;
    else lane.checkedSend = options;
  }

  private checkedLane(priority: unknown, where: string): Lane<T> {
    const lane = priority === undefined ? this.defaultLane : typeof priority === 'string' ? this.byName.get(priority) : undefined;
    if (lane === undefined) {
      throw new InvalidArgumentError(`${where}: unknown priority ${describe(priority)}; the levels of "${this.name}" are ${this.levels.map((l) => JSON.stringify(l)).join(', ')}`);
    }
    return lane;
  }
}

function checkLevels(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 30) {
    throw new InvalidOptionError('levels', value, 'an array of 1 to 30 distinct non-empty strings, highest priority first');
  }
  const seen = new Set<string>();
  for (const level of value as unknown[]) {
    if (typeof level !== 'string' || level.length === 0) throw new InvalidOptionError('levels', value, 'an array of 1 to 30 distinct non-empty strings', `${describe(level)} is not a non-empty string`);
    if (seen.has(level)) throw new InvalidOptionError('levels', value, 'an array of 1 to 30 distinct non-empty strings', `${JSON.stringify(level)} appears twice`);
    seen.add(level);
  }
  return value as string[];
}

function checkWeights(value: unknown, levels: readonly string[]): number[] | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError('weights', value, `an object with a weight for each of ${levels.join(', ')}`);
  for (const key of Object.keys(value)) {
    if (!levels.includes(key)) throw new InvalidOptionError(`weights.${key}`, (value as Record<string, unknown>)[key], `no such level; the levels are ${levels.join(', ')}`);
  }
  return levels.map((level) => {
    const w = (value as Record<string, unknown>)[level];
    if (w === undefined) throw new InvalidOptionError(`weights.${level}`, w, 'a positive finite number (every level needs a weight)');
    return v.requiredNumber(`weights.${level}`, w, { min: 0, minExclusive: true });
  });
}
