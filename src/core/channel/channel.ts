import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { describe } from '../../internal/describe.js';
import { MemoryBuffer } from '../../internal/engine/memory.js';
import type { ChannelReconfigureEvent, ChannelState, ChannelStats, OverflowStrategy, ReceiveBatchOptions, ReceiveOptions, SendOptions } from './options.js';
import { checkCapacity, checkMaxBytes, checkWatermarks, resolveChannelOptions } from './options.js';
import { SpillTier } from './spill.js';
import { channelInitKeys, resolveSpillOptions, type ChannelInit } from './spill-options.js';
import { Receiver, Sender } from './views.js';

export type { ChannelReconfigureEvent, ChannelStats, ReceiveBatchOptions, ReceiveOptions, SendOptions } from './options.js';
export type { ChannelInit, SpillOptions } from './spill-options.js';

/**
 * A bounded, asynchronous hand-off between producers and consumers.
 *
 * ## Close and drain contract
 * - `close()` is idempotent. After it, `send()` rejects and `trySend()` throws
 *   `ClosedError`, each counted as dropped with reason `'closed'`.
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
export class Channel<T> {
  readonly overflow: OverflowStrategy;
  readonly name: string;
  /** With `spill`: most items outside memory; `Infinity` when unbounded or without spill. */
  readonly spillCapacity: number;
  /**
   * Everything a channel does is its memory buffer's (on the shared channel
   * engine); this class is the public face. Composition, not inheritance: the
   * same buffer serves BatchWriter, and the spill is a tier the buffer consults
   * only on slow paths.
   *
   * `declare`d, so the compiled class defines no field for it and the
   * constructor's one assignment creates it. A field defined first (as
   * `undefined`) and assigned after is one V8 marks as mutable and of unknown
   * type, so every hot-path call (`trySend`, `tryReceive`) re-checked the
   * buffer's hidden class before reaching its ring; Maglev-compiled code,
   * which a short-lived process runs most of the time, did not inline the
   * buffer's method either. Assigned once, the field's class is known.
   */
  private declare readonly buffer: MemoryBuffer<T>;
  private declare readonly spill: SpillTier<T> | undefined;
  private views: { sender: Sender<T>; receiver: Receiver<T> } | undefined;

  constructor(options?: ChannelInit<T>) {
    const o = resolveChannelOptions(options, channelInitKeys);
    const spill = resolveSpillOptions(options, o.overflow);
    if (o.maxBytes !== undefined && spill.store !== undefined) {
      throw new InvalidOptionError('maxBytes', o.maxBytes, 'no value with spill (a spilling channel bounds items only)', 'spill is set');
    }
    this.overflow = o.overflow;
    this.name = o.name;
    this.spillCapacity = spill.spillCapacity;
    this.buffer = new MemoryBuffer<T>(o);
    this.spill = spill.store === undefined ? undefined : new SpillTier<T>(this.buffer, { ...spill, store: spill.store });
  }

  /** Most items the channel buffers (in memory, with spill). Change it with {@link resize}. */
  get capacity(): number {
    return this.buffer.capacity;
  }
  /** Fraction of capacity at which the channel becomes pressured. Change it with {@link setWatermarks}. */
  get highWatermark(): number {
    return this.buffer.engine.highWatermark;
  }
  /** Fraction of capacity at or below which a pressured channel stops being pressured. Change it with {@link setWatermarks}. */
  get lowWatermark(): number {
    return this.buffer.engine.lowWatermark;
  }

  get size(): number {
    return this.buffer.size;
  }
  get closed(): boolean {
    return this.buffer.engine.closed;
  }
  get state(): ChannelState {
    return this.buffer.state;
  }
  /** On from the high watermark until utilization falls back to the low watermark (and, with spill, nothing is outside memory). */
  get pressured(): boolean {
    return this.buffer.engine.signals.pressured;
  }
  /** Fill level of memory: with spill, stored items do not count; with `maxBytes`, the fuller of items and bytes. */
  get utilization(): number {
    return this.buffer.utilization;
  }
  /** The byte budget (`maxBytes`), or undefined for a channel that counts items only. Change it with {@link setMaxBytes}. */
  get maxBytes(): number | undefined {
    return this.buffer.budget?.maxBytes;
  }
  /** With `maxBytes`: bytes buffered now (the sum of `sizeOf` over buffered items); 0 without. */
  get bytes(): number {
    return this.buffer.bytes;
  }

  /**
   * Buffers `item` if the strategy allows it right now; never waits.
   * @returns true when the item is now buffered (under `'drop-oldest'`, always).
   * Under `'block'` a false return means nothing happened: the item is still
   * yours and is not counted. Under the dropping strategies false means it was
   * dropped and counted. With spill, true also when the item joined a write
   * batch for the store (held in memory until the append commits).
   * @throws ClosedError once closed (counted, reason `'closed'`).
   */
  trySend(item: T): boolean {
    // A copy of MemoryBuffer.trySend's fast path (keep the two alike), so a
    // hand-off is one call deep, not two. Before V8's optimizing compilers have
    // inlined the buffer's method, which is most of a short-lived process's
    // life (a CLI, a cold benchmark run, a server's first seconds), each call
    // costs: measured in fresh processes (1,000,000 items through capacity
    // 1024, medians of 30, loaded machine), 0.95x -> 1.02x a hand-written
    // channel on wall time, 0.89x -> 0.95x on CPU time, and 1.3x the
    // wrapper's speed in the baseline tier alone.
    const b = this.buffer;
    const write = b.write;
    if (write - b.read < b.sendQuietBelow && item !== undefined) {
      b.slots[write & b.slotMask] = item;
      b.write = write + 1;
      return true;
    }
    return b.trySendSlow(item);
  }

  /**
   * Offers `item`, waiting for room under `'block'`.
   * @returns true when buffered; false when dropped by the strategy or when
   * the wait timed out (reason `'timeout'`).
   * @throws OverflowError under `'reject'` when full; ClosedError when closed
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
    return this.buffer.send(item, options);
  }

  /** Takes the oldest item if there is one; never waits. */
  tryReceive(): T | undefined {
    // A copy of MemoryBuffer.tryReceive (keep the two alike); see trySend.
    const b = this.buffer;
    const read = b.read;
    const write = b.write;
    if (write === read) return undefined;
    const slots = b.slots;
    const i = read & b.slotMask;
    const item = slots[i] as T;
    slots[i] = undefined; // release for GC
    b.read = read + 1;
    if (write - read - 1 < b.receiveQuietFrom) b.afterTake();
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
    return this.buffer.receive(options);
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
    return this.buffer.receiveBatch(max, options);
  }

  /** Iterates until the channel is closed and empty. Breaking out does not close the channel. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const buffer = this.buffer;
    return {
      next(): Promise<IteratorResult<T>> {
        if (buffer.memorySize !== 0) return Promise.resolve({ value: buffer.tryReceive() as T, done: false });
        return buffer.receive().then((value) => (value === undefined ? { value: undefined, done: true } : { value, done: false }));
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
    this.buffer.close();
  }

  /**
   * Resolves once the channel is closed and empty.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even when the channel is already drained; an abort while waiting
   * rejects with `signal.reason`. The channel is unaffected either way.
   */
  drained(options?: { signal?: AbortSignal }): Promise<void> {
    return this.buffer.engine.drained(options);
  }

  /** Calls `listener(state, previous)` on every state change. Returns an unsubscribe function. */
  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    return this.buffer.engine.onStateChange(listener);
  }

  /** Calls `listener(pressured)` when pressure turns on or off. Returns an unsubscribe function. */
  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.buffer.engine.onPressureChange(listener);
  }

  /**
   * Calls `listener(error)` for every failed store call (append, lease, ack,
   * size) of the spill. The channel keeps going: a failed append drops its
   * items (reason `'spill-failed'`), a failed lease is retried with backoff
   * (10 ms doubling to 1 s), a failed ack is repeated with the next one (if
   * none follows, those items stay in the store and a later channel on it
   * delivers them again). Failures are also counted in `stats().spillErrors`.
   * Without `spill` no store call is ever made, so the listener is never called.
   * Returns an unsubscribe function.
   */
  onSpillError(listener: (error: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`onSpillError(listener): listener must be a function, got ${describe(listener)}`);
    return this.spill === undefined ? noop : this.spill.onSpillError(listener);
  }

  /**
   * Changes the capacity from now on, e.g. during an incident, without a
   * restart. The value is checked like the `capacity` option; a bad one
   * throws and changes nothing. The watermarks stay fractions, so their sizes
   * move with the capacity.
   *
   * When it takes effect: at once, before the call returns.
   * - Grown: producers waiting for room under `'block'` are let in, oldest
   *   first, as far as the new capacity allows.
   * - Shrunk below the size: no buffered item is dropped. The channel counts
   *   as full (`state` `'blocked'`, `utilization` above 1 for a while) and
   *   new offers meet the overflow strategy until consumers bring the size
   *   below the new capacity: `'block'` senders wait (`trySend()` returns
   *   false, uncounted), `'drop-newest'` and `'sample'` drop the offer,
   *   `'reject'` rejects it, each counted under its usual reason;
   *   `'drop-oldest'` evicts one oldest item per offer, as when full, so the
   *   size does not grow but only consumers bring it down.
   * - State and pressure are re-derived at once: a watermark the size now
   *   crosses is reported to `onStateChange`/`onPressureChange` listeners
   *   before this returns.
   * - With `spill`, memory spills from the new high watermark and refills at
   *   the new low one.
   *
   * A change counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners; the current capacity does nothing.
   * @throws InvalidOptionError (field `capacity`) unless `capacity` is an integer >= 1.
   * @example
   * const channel = new Channel<Job>({ capacity: 10_000 });
   * channel.resize(2_000); // memory is short: hold at most 2,000 jobs from now on
   */
  resize(capacity: number): void {
    const next = checkCapacity(capacity);
    this.buffer.reconfigure(next, this.highWatermark, this.lowWatermark);
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
   * before this returns. Under `'sample'`, sampling starts at the new high
   * watermark; with `spill`, spilling does too.
   *
   * A call that changes either counts once in `stats().adjustments`; each
   * changed watermark is reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `highWatermark` or `lowWatermark`.
   * @example
   * const channel = new Channel<Job>({ capacity: 10_000 });
   * channel.setWatermarks(0.6, 0.3); // pause producers earlier, resume them later
   */
  setWatermarks(highWatermark: number, lowWatermark: number): void {
    const { high, low } = checkWatermarks(highWatermark, lowWatermark);
    this.buffer.reconfigure(this.capacity, high, low);
  }

  /**
   * Changes the byte budget of a channel built with `maxBytes`, from now on.
   * Checked like the option (an integer >= 1, field `maxBytes`); a bad value
   * throws and changes nothing. Takes effect at once, with the rule of
   * {@link resize}: raised, waiting producers whose items now fit are let in,
   * oldest first; lowered below the bytes held, no buffered item is dropped,
   * offers meet the overflow strategy until consumers bring the bytes below
   * the new budget, and an item larger than the new budget is refused as
   * `'too-large'`. State and pressure are re-derived at once. A change counts
   * in `stats().adjustments` and is reported to {@link onReconfigure}.
   *
   * A channel built without `maxBytes` counts items only and keeps the item
   * hot path; it cannot take a byte budget later (this throws).
   * @throws InvalidOptionError (field `maxBytes`) for a bad value; InvalidArgumentError on a channel built without `maxBytes`.
   * @example
   * const lines = new Channel<string>({ capacity: 100_000, maxBytes: 64 * 1024 * 1024 });
   * lines.setMaxBytes(16 * 1024 * 1024); // the heap is tight: hold 16 MB from now on
   */
  setMaxBytes(maxBytes: number): void {
    if (this.buffer.budget === undefined) {
      throw new InvalidArgumentError('setMaxBytes(maxBytes): the channel was built without maxBytes; give it a maxBytes option at construction');
    }
    this.buffer.setMaxBytes(checkMaxBytes(maxBytes));
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link resize},
   * {@link setWatermarks} or {@link setMaxBytes}, with the setting, its previous value and its new
   * value. Listeners run synchronously once the change is in effect; one that
   * throws does not stop the others (its error surfaces as an uncaught
   * error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const channel = new Channel<Job>({ capacity: 100 });
   * const off = channel.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * channel.resize(50); // logs "capacity: 100 -> 50"
   * off();
   */
  onReconfigure(listener: (event: ChannelReconfigureEvent) => void): () => void {
    return this.buffer.engine.reconfigureListeners.add(listener);
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
    return this.buffer.stats();
  }
}

const noop = (): void => {};
