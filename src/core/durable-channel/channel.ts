import { ClosedError, InvalidArgumentError, InvalidItemError, OverflowError } from '../errors/index.js';
import { describe } from '../../internal/describe.js';
import type { ChannelEngine } from '../../internal/engine/engine.js';
import { Admit } from '../../internal/engine/policy.js';
import { FillRate, timeToFullMs } from '../../internal/engine/fill-rate.js';
import * as v from '../../internal/validate.js';
import { checkCapacity, checkMaxBytes, checkWatermarks, type ChannelReconfigureEvent, type ChannelState, type OverflowStrategy } from '../../internal/engine/options.js';
import { Sized } from '../../internal/engine/bytes.js';
import type { DurableBytes } from './bytes.js';
import { DurableCore, attempt } from './core.js';
import type { DurableReceiveWaiter } from './waiters.js';
import { resolveDurableOptions, type DurableChannelOptions, type DurableChannelStats, type DurableReceiveOptions, type DurableSendOptions } from './options.js';
import type { LeasedItem } from './store.js';

// Per-call options: checked before anything else happens.
const sendSpec: v.CallOptionSpec<DurableSendOptions> = { signal: 'signal', timeoutMs: 'ms' };
const receiveSpec: v.CallOptionSpec<DurableReceiveOptions> = { signal: 'signal' };
const nackSpec: v.CallOptionSpec<{ delayMs?: number }> = { delayMs: 'ms' };

const RESOLVED_FALSE = Promise.resolve(false);

/**
 * A bounded channel whose items live in a {@link DurableStore}, so they
 * survive a crash of the process.
 *
 * ## Delivery
 * - `send()` resolves only once the item is committed to the store. Sends made
 *   together (same microtask batch, or while the previous commit is in flight)
 *   share one commit, so N concurrent producers cost far fewer than N fsyncs.
 * - `receive()` leases an item: it stays in the store, invisible, until
 *   `ack(id)` removes it. Not acked within `visibilityTimeoutMs` (or nacked),
 *   it is delivered again: **at-least-once**, so processing must tolerate
 *   duplicates. Order is FIFO apart from such redeliveries.
 * - Over a store with `ackAndLease` (`RedisStreamStore`), an ack commit also
 *   leases one item per acked id for the next `receive()`: a receive → ack
 *   loop costs one round trip per item. Such an item's lease runs from that
 *   moment; one not received within half `visibilityTimeoutMs` is let go (its
 *   lease expires and it is delivered again), and `detach()` nacks the rest.
 * - Over a store with `exchange` (`RedisStreamStore`), the commit of the
 *   pending sends, the pending acks and those leases go in one store call,
 *   one at a time: a producer awaiting each `send()` and a consumer awaiting
 *   each `ack()` share one round trip per item. Every `send()` and `ack()`
 *   still settles only once its own work is committed; if such a call fails,
 *   every send and every ack in it rejects with the store's error (acking
 *   again is safe).
 *
 * ## Restart
 * A new channel on the same store sees every unacked item (`stats().recovered`).
 * Items that a dead process had leased stay invisible until their lease
 * deadline, which the store keeps, passes; `SqliteStore` can instead release
 * them at open (`releaseLeasesOnOpen`).
 *
 * ## Capacity and accounting
 * Capacity bounds unacked items (visible, leased and delayed) plus admitted
 * ones still on their way to the store. Overflow strategies, watermarks,
 * `pressured` and `state` work as on `Channel`. Over a store's lifetime of
 * channels, at every moment
 * `recovered + offered === acked + size + dropped` (items still committing are
 * not yet offered), and `dropped` is the sum of `droppedBy`.
 *
 * ## Byte budget
 * With `maxBytes` (and `sizeOf`, default: UTF-8 bytes of a string,
 * `byteLength` of a Buffer or typed array) the channel bounds what it holds
 * in memory: the items admitted and on their way to the store (`committing`),
 * which a slow or stalled store would otherwise let pile up to `capacity`.
 * An offer is admitted only while both bounds hold; one larger than
 * `maxBytes` is dropped as `'too-large'` and never waits. When the bytes are
 * full the strategy decides as at capacity, except `'drop-oldest'`: the items
 * in memory have joined a commit and evicting stored items frees no memory,
 * so the new item is dropped (`'drop-newest'`), as when nothing stored is
 * evictable. State, pressure and utilization follow the fuller bound.
 * `stats()` adds `bytes`, `maxBytes` and `offeredBytes === acceptedBytes + droppedBytes`.
 * The store's contents are bounded by `capacity` alone: their bytes live in
 * the store (and are unknown for items recovered at open).
 *
 * ## Close, drain, detach
 * - `close()` stops sends (as on `Channel`); receivers go on until every item
 *   is acked, then `receive()` yields `undefined` and `drained()` resolves.
 * - `detach()` stops using the store without draining it, e.g. at shutdown:
 *   items stay stored for the next channel.
 *
 * The channel must be the store's only user while attached: it tracks `size`
 * itself from the store's size at open.
 *
 * @example
 * const channel = new DurableChannel<Job>({ store: new SqliteStore({ path: 'jobs.db' }), capacity: 10_000 });
 * await channel.send(job); // committed
 * const lease = await channel.receive();
 * if (lease) { await handle(lease.item); await channel.ack(lease.id); }
 */
export class DurableChannel<T> {
  readonly overflow: OverflowStrategy;
  readonly visibilityTimeoutMs: number;
  readonly name: string;
  /** The store side (group commit, acks, leases), on the shared channel engine. Composition: this class is the public face. */
  private readonly core: DurableCore<T>;
  private readonly engine: ChannelEngine<T>;
  private detaching: Promise<void> | undefined;
  /** Readings of `occupied` left by stats() calls; made by the first call. */
  private fillRate: FillRate | undefined = undefined;

  constructor(options: DurableChannelOptions<T>) {
    const o = resolveDurableOptions(options);
    this.overflow = o.overflow;
    this.visibilityTimeoutMs = o.visibilityTimeoutMs;
    this.name = o.name;
    this.core = new DurableCore<T>(o);
    this.engine = this.core.engine;
  }

  /** Most unacked plus committing items. Change it with {@link resize}. */
  get capacity(): number {
    return this.engine.capacity;
  }
  /** Fraction of capacity at which the channel becomes pressured. Change it with {@link setWatermarks}. */
  get highWatermark(): number {
    return this.engine.highWatermark;
  }
  /** Fraction of capacity at or below which a pressured channel stops being pressured. Change it with {@link setWatermarks}. */
  get lowWatermark(): number {
    return this.engine.lowWatermark;
  }

  /** Unacked items in the store (visible, leased and delayed). */
  get size(): number {
    return this.core.stored;
  }
  get closed(): boolean {
    return this.engine.closed;
  }
  get state(): ChannelState {
    return this.engine.signals.state;
  }
  /** On from the high watermark until utilization falls back to the low watermark. */
  get pressured(): boolean {
    return this.engine.signals.pressured;
  }
  get utilization(): number {
    return this.core.level() / this.capacity;
  }
  /** The byte budget of what the channel holds in memory (`maxBytes`), or undefined without one. Change it with {@link setMaxBytes}. */
  get maxBytes(): number | undefined {
    return this.core.budget?.maxBytes;
  }
  /** With `maxBytes`: bytes of the items committing now (in memory, on their way to the store); 0 without. */
  get bytes(): number {
    return this.core.budget?.bytes ?? 0;
  }

  /**
   * Resolves once the store's size is known and the channel is working.
   * Every method already waits for this; call it to surface a broken store early.
   *
   * Abort safety: takes no signal; it only observes the opening.
   */
  ready(): Promise<void> {
    return this.core.opening;
  }

  /**
   * Offers `item`: admitted under the overflow strategy, then committed to the
   * store together with every other send admitted meanwhile.
   * There is no `trySend()`: admission is synchronous, commitment never is.
   * @returns true once the item is committed; false when dropped by the
   * strategy or when a `'block'` wait timed out (reason `'timeout'`).
   * @throws OverflowError under `'reject'` when full; ClosedError once
   * closed or detached; the store's error when the commit failed (the item was
   * not stored and is not counted as offered).
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even with room: the item is not stored and is counted as dropped
   * (reason `'aborted'`). If `signal` fires while the send waits for room
   * (or for the store to open), the same. Once the item has joined a commit
   * the abort is ignored and the send settles with the commit's outcome,
   * since a commit cannot be taken back. Options of the wrong type or with an
   * unknown key reject with `ERR_SLUICE_INVALID_OPTION`; the item is not counted.
   */
  send(item: T, options?: DurableSendOptions): Promise<boolean> {
    if (item === undefined) return Promise.reject(new InvalidItemError());
    const invalid = v.callOptionsError(options, 'send()', sendSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    const budget = this.core.budget;
    if (budget !== undefined) return this.sendBytes(item, options, budget);
    if (signal?.aborted) return this.engine.abortedDrop(signal);
    if (this.engine.closed) return Promise.reject(this.core.closedDrop());
    if (!this.core.isOpen) return this.core.opening.then(() => this.send(item, options));
    switch (this.engine.admit(this.core.occupied)) {
      case Admit.accept:
        return this.core.enqueue(item, false);
      case Admit.evictOldest:
        return this.core.enqueue(item, true);
      case Admit.dropNewest:
        this.engine.drop('drop-newest');
        return RESOLVED_FALSE;
      case Admit.dropSample:
        this.engine.drop('sample');
        return RESOLVED_FALSE;
      case Admit.reject:
        this.engine.drop('rejected');
        return Promise.reject(new OverflowError());
      default:
        return this.engine.waitForRoom(item, signal, options?.timeoutMs);
    }
  }

  /** `send()` with `maxBytes`: `item` defined, `options` checked. */
  private sendBytes(item: T, options: DurableSendOptions | undefined, budget: DurableBytes): Promise<boolean> {
    const signal = options?.signal;
    if (!this.core.isOpen && !signal?.aborted && !this.engine.closed) return this.core.opening.then(() => this.send(item, options));
    let n: number;
    try {
      n = budget.measure(item); // a bad size rejects before anything is counted
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) {
      budget.refused(n);
      return this.engine.abortedDrop(signal);
    }
    if (this.engine.closed) {
      budget.refused(n);
      return Promise.reject(this.core.closedDrop());
    }
    if (n > budget.maxBytes) {
      budget.refused(n);
      this.engine.drop('too-large');
      return RESOLVED_FALSE;
    }
    const fits = budget.fits(n);
    const occupied = this.core.occupied;
    // Bytes full: the strategy decides as at capacity.
    const decision = fits ? this.engine.admit(this.core.level()) : this.engine.policy.admit(occupied > this.capacity ? occupied : this.capacity);
    switch (decision) {
      case Admit.accept:
        return this.core.enqueue(item, false, n);
      case Admit.evictOldest:
        if (fits) return this.core.enqueue(item, true, n);
        // Evicting stored items frees no memory, and the committing ones have joined a commit.
        budget.refused(n);
        this.engine.drop('drop-newest');
        return RESOLVED_FALSE;
      case Admit.dropNewest:
        budget.refused(n);
        this.engine.drop('drop-newest');
        return RESOLVED_FALSE;
      case Admit.dropSample:
        budget.refused(n);
        this.engine.drop('sample');
        return RESOLVED_FALSE;
      case Admit.reject:
        budget.refused(n);
        this.engine.drop('rejected');
        return Promise.reject(new OverflowError());
      default:
        // The size rides with the item, so a producer that gives up is counted in bytes without another sizeOf call.
        return this.engine.waitForRoom(new Sized(item, n) as unknown as T, signal, options?.timeoutMs);
    }
  }

  /**
   * Leases the oldest visible item, waiting for one if none is visible.
   * @returns the lease (`id` for `ack`/`nack`, `item`, `deliveries`), or
   * `undefined` once the channel is closed and every item is acked.
   * @throws ClosedError once detached; the store's error if leasing fails.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and leases nothing, even when an item is visible. An abort while
   * waiting rejects with `signal.reason`; an item leased for this call at that
   * moment goes straight back to the store. Options of the wrong type or with
   * an unknown key reject with `ERR_SLUICE_INVALID_OPTION`.
   */
  receive(options?: DurableReceiveOptions): Promise<LeasedItem<T> | undefined> {
    const invalid = v.callOptionsError(options, 'receive()', receiveSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.waitForLease(true, 1, options?.signal) as Promise<LeasedItem<T> | undefined>;
  }

  /**
   * Leases up to `max` visible items, oldest first, waiting until at least one
   * is visible; it returns what is visible then and does not wait to fill up.
   * @returns `[]` only once the channel is closed and every item is acked.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and leases nothing. An abort while waiting rejects with
   * `signal.reason`; items leased for this call at that moment go straight
   * back to the store. Bad options reject with `ERR_SLUICE_INVALID_OPTION`.
   */
  receiveBatch(max: number, options?: DurableReceiveOptions): Promise<LeasedItem<T>[]> {
    if (!Number.isSafeInteger(max) || max < 1) {
      return Promise.reject(new InvalidArgumentError(`receiveBatch(max): max must be an integer >= 1, got ${describe(max)}`));
    }
    const invalid = v.callOptionsError(options, 'receiveBatch()', receiveSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.waitForLease(false, max, options?.signal) as Promise<LeasedItem<T>[]>;
  }

  /**
   * Marks a leased item done: it is removed from the store. Acks made
   * together share one store call. Acking twice, or an id already gone, is a no-op.
   * Allowed after `close()` (that is how a closing channel drains).
   * @throws InvalidArgumentError for a non-string or empty id; ClosedError once detached.
   *
   * Abort safety: takes no signal; the ack is written once called. If its
   * outcome is unknown (the store failed), acking again is safe.
   */
  ack(id: string): Promise<void> {
    if (typeof id !== 'string' || id.length === 0) {
      return Promise.reject(new InvalidArgumentError(`ack(id): id must be a non-empty string from a lease, got ${describe(id)}`));
    }
    if (this.core.isDetached) return Promise.reject(new ClosedError('DurableChannel is detached from its store'));
    if (!this.core.isOpen) return this.core.opening.then(() => this.ack(id));
    return this.core.enqueueAck(id);
  }

  /**
   * Gives a leased item back: it becomes visible again after `delayMs`
   * (default 0), ahead of younger items, and its next delivery counts as a
   * redelivery. Use it for a transient failure; `delayMs` is the retry backoff.
   * @throws InvalidArgumentError for a bad id; InvalidOptionError for a bad
   * `delayMs` or an unknown option; ClosedError once detached.
   *
   * Abort safety: takes no signal; once called the nack is written. Repeating
   * it only restarts the delay.
   */
  nack(id: string, options?: { delayMs?: number }): Promise<void> {
    if (typeof id !== 'string' || id.length === 0) {
      return Promise.reject(new InvalidArgumentError(`nack(id): id must be a non-empty string from a lease, got ${describe(id)}`));
    }
    const invalid = v.callOptionsError(options, 'nack()', nackSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const delayMs = options?.delayMs ?? 0;
    if (this.core.isDetached) return Promise.reject(new ClosedError('DurableChannel is detached from its store'));
    if (!this.core.isOpen) return this.core.opening.then(() => this.nack(id, options));
    return this.core.track(attempt(() => this.core.store.nack(id, { delayMs }))).then(() => {
      this.core.nackedCount++;
      this.core.visibilityChanged();
    });
  }

  /**
   * Stops accepting items. Idempotent. Producers waiting for room are released
   * with `ClosedError` (counted, reason `'closed'`); sends already
   * admitted still commit. Stored items stay receivable until acked.
   */
  close(): void {
    if (this.engine.close()) this.core.refresh();
  }

  /**
   * Resolves once the channel is closed and every item is acked.
   * @throws ClosedError if the channel is detached first.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason, even when the channel is already drained; an abort while waiting
   * rejects with `signal.reason`. The channel is unaffected either way.
   */
  drained(options?: { signal?: AbortSignal }): Promise<void> {
    return this.engine.drained(options);
  }


  /**
   * Stops using the store without draining it: closes the channel, lets
   * commits, acks and leases already under way finish, then rejects
   * receivers and `drained()` callers still waiting with `ClosedError`
   * (if every item was acked, the close already answered them as drained:
   * `undefined`, `[]`, resolved). From the call
   * on, `receive`, `ack` and `nack` reject. Items stay in the store; leases
   * not acked expire there as usual. The store is not closed: it is yours.
   * Idempotent.
   *
   * Abort safety: takes no signal; the wait is bounded by the store calls
   * already in flight.
   */
  detach(): Promise<void> {
    return (this.detaching ??= this.runDetach());
  }

  private async runDetach(): Promise<void> {
    this.core.isDetached = true; // before close(), so its refresh starts no new lease
    this.close();
    this.core.releaseAhead();
    await this.core.opening.catch(() => {});
    while (this.core.busy) await Promise.allSettled([...this.core.activity, Promise.resolve()]);
    this.core.cancelWake();
    const error = () => new ClosedError('DurableChannel is detached from its store');
    for (let w = this.core.receivers.shift(); w; w = this.core.receivers.shift()) {
      this.core.settleReceiver(w);
      w.reject(error());
    }
    this.engine.drainWaiters.rejectAll(error());
  }

  /** Iterates leases until the channel is closed and every item is acked. Ack each one. */
  async *[Symbol.asyncIterator](): AsyncGenerator<LeasedItem<T>, void, undefined> {
    for (let lease = await this.receive(); lease !== undefined; lease = await this.receive()) yield lease;
  }

  /**
   * Changes the capacity from now on; checked like the `capacity` option, a
   * bad value throws and changes nothing. Takes effect at once, as
   * `Channel.resize()`: grown, producers waiting under `'block'` join the
   * next commit, oldest first; shrunk below what is held, no item is dropped
   * from the store, and offers meet the overflow strategy (under
   * `'drop-oldest'` each commit evicts one stored item per offer) until acks
   * bring the size below the new capacity. State and pressure are re-derived
   * before this returns. A change counts in `stats().adjustments` and is
   * reported to {@link onReconfigure} listeners.
   * @throws InvalidOptionError (field `capacity`) unless `capacity` is an integer >= 1.
   * @example
   * const durable = new DurableChannel<Job>({ store, capacity: 100_000 });
   * durable.resize(20_000); // the disk is filling up: admit less from now on
   */
  resize(capacity: number): void {
    this.reconfigure(checkCapacity(capacity), this.highWatermark, this.lowWatermark);
  }

  /**
   * Moves both watermarks from now on, as `Channel.setWatermarks()`: checked
   * like the options, a bad value changes nothing; pressure and state are
   * re-derived at once. A call that changes either counts once in
   * `stats().adjustments`; each changed one is reported to
   * {@link onReconfigure} listeners.
   * @throws InvalidOptionError naming `highWatermark` or `lowWatermark`.
   * @example
   * const durable = new DurableChannel<Job>({ store, capacity: 100_000 });
   * durable.setWatermarks(0.6, 0.3);
   */
  setWatermarks(highWatermark: number, lowWatermark: number): void {
    const { high, low } = checkWatermarks(highWatermark, lowWatermark);
    this.reconfigure(this.capacity, high, low);
  }

  /**
   * Changes the byte budget of a channel built with `maxBytes`, from now on,
   * with `Channel.setMaxBytes()`'s rule. Checked like the option (an integer
   * >= 1, field `maxBytes`); a bad value throws and changes nothing. Raised,
   * producers waiting under `'block'` whose items now fit join the next
   * commit, oldest first; lowered below the bytes committing, nothing is
   * dropped (those items have joined a commit) and offers meet the strategy
   * until the commits settle. State and pressure are re-derived at once. A
   * change counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners (setting `'maxBytes'`).
   * @throws InvalidOptionError (field `maxBytes`) for a bad value; InvalidArgumentError on a channel built without `maxBytes`.
   * @example
   * const durable = new DurableChannel<Job>({ store, capacity: 100_000, maxBytes: 64 * 1024 * 1024, sizeOf: (job) => Buffer.byteLength(JSON.stringify(job)) });
   * durable.setMaxBytes(16 * 1024 * 1024); // the heap is tight: hold at most 16 MB on its way to the store
   */
  setMaxBytes(maxBytes: number): void {
    const budget = this.core.budget;
    if (budget === undefined) {
      throw new InvalidArgumentError('setMaxBytes(maxBytes): the channel was built without maxBytes; give it a maxBytes option at construction');
    }
    const next = checkMaxBytes(maxBytes);
    const previous = budget.maxBytes;
    if (next === previous) return;
    budget.maxBytes = next;
    this.engine.adjustments++;
    if (this.core.isOpen) this.core.refresh();
    else this.core.updateSignals();
    this.engine.reconfigureListeners.emit({ setting: 'maxBytes', previous, value: next });
  }

  /**
   * Calls `listener(event)` for each setting changed by {@link resize},
   * {@link setWatermarks} or {@link setMaxBytes}. Listeners run synchronously once the change is in
   * effect; one that throws does not stop the others (its error surfaces as
   * an uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const durable = new DurableChannel<Job>({ store });
   * const off = durable.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * off();
   */
  onReconfigure(listener: (event: ChannelReconfigureEvent) => void): () => void {
    return this.engine.reconfigureListeners.add(listener);
  }

  private reconfigure(capacity: number, high: number, low: number): void {
    const events = this.engine.reconfigure(capacity, high, low);
    if (events.length === 0) return;
    // refresh() lets waiting producers into a grown channel and updates the
    // signals; before the store has opened it does nothing, so update them here.
    if (this.core.isOpen) this.core.refresh();
    else this.core.updateSignals();
    this.engine.reconfigureListeners.emit(...events);
  }

  /** Calls `listener(state, previous)` on every state change. Returns an unsubscribe function. */
  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    return this.engine.onStateChange(listener);
  }

  /** Calls `listener(pressured)` when pressure turns on or off. Returns an unsubscribe function. */
  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.engine.onPressureChange(listener);
  }

  stats(): DurableChannelStats {
    // With maxBytes, the fill level of the fuller bound (in items of capacity), as Channel's.
    const occupied = this.core.level();
    const fillRatePerSec = (this.fillRate ??= new FillRate()).ratePerSec(this.engine.clock.now(), occupied);
    const budget = this.core.budget;
    return {
      capacity: this.capacity,
      size: this.core.stored,
      committing: this.core.committing,
      waiting: this.engine.senders.size,
      receiving: this.core.receivers.size,
      utilization: occupied / this.capacity,
      state: this.engine.signals.state,
      pressured: this.engine.signals.pressured,
      recovered: this.core.recoveredCount,
      offered: this.core.offeredCount + this.engine.refused,
      accepted: this.core.acceptedCount,
      delivered: this.core.deliveredCount,
      redelivered: this.core.redeliveredCount,
      acked: this.core.ackedCount,
      nacked: this.core.nackedCount,
      dropped: this.engine.droppedTotal(),
      droppedBy: { ...this.engine.droppedBy },
      commits: this.core.commitCount,
      ackCommits: this.core.ackCommitCount,
      leases: this.core.leaseCount,
      blockedMs: this.engine.senders.blockedMs(),
      longestBlockedMs: this.engine.senders.longestBlockedMs(),
      pressureEvents: this.engine.signals.pressureEvents,
      adjustments: this.engine.adjustments,
      fillRatePerSec,
      timeToFullMs: timeToFullMs(occupied, this.capacity, fillRatePerSec),
      ...(budget === undefined
        ? {}
        : { bytes: budget.bytes, maxBytes: budget.maxBytes, offeredBytes: budget.offeredBytes, acceptedBytes: budget.acceptedBytes, droppedBytes: budget.droppedBytes }),
    };
  }

  private waitForLease(single: boolean, max: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.core.isDetached) return Promise.reject(new ClosedError('DurableChannel is detached from its store'));
    if (!this.core.isOpen) return this.core.opening.then(() => this.waitForLease(single, max, signal));
    if (this.engine.closed && this.core.occupied === 0) return Promise.resolve(single ? undefined : []);
    return new Promise((resolve, reject) => {
      const w: DurableReceiveWaiter<T> = { prev: undefined, next: undefined, linked: false, single, max, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          this.core.receivers.remove(w);
          if (this.core.receivers.size === 0) this.core.cancelWake();
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.core.addReceiver(w);
    });
  }
}
