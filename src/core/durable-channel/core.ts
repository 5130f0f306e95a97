import type { Clock, TimerHandle } from '../clock/index.js';
import type { DurableReceiveWaiter } from './waiters.js';
import { ClosedError } from '../errors/index.js';
import { WaiterList } from '../../internal/waiter-list.js';
import { ChannelEngine, type EngineOwner } from '../../internal/engine/engine.js';
import type { ResolvedDurableOptions } from './options.js';
import type { DurableStore, LeasedItem } from './store.js';
import { DurableBytes } from './bytes.js';
import { Sized } from '../../internal/engine/bytes.js';

/**
 * The store side of a {@link DurableChannel}: the group commit of sends and
 * acks, and the leasing pump that feeds waiting receivers. Admission,
 * signals, blocked producers, drain waiters and drop accounting are the
 * shared {@link ChannelEngine}'s; the channel holds this object (composition),
 * and this object is the engine's owner: it tells the engine what "size"
 * (committed plus committing items) and "drained" mean. Not public API.
 *
 * Group commit: sends admitted in the same microtask batch, or while the
 * previous commit is in flight, are appended in one `store.append` call; at
 * most one append is in flight, so under load every commit carries everything
 * that queued up behind the previous one. Acks are batched the same way.
 *
 * Lease ahead: over a store with `ackAndLease`, an ack commit also leases one
 * item per acked id (a consumer that finished an item usually asks for the
 * next one), so a `receive()` → `ack()` loop costs one round trip per item,
 * not two (BullMQ's worker does the same). Those items wait here, already
 * leased, for the next `receive()`; one not received within half the
 * visibility timeout is let go (its lease expires in the store, which
 * delivers it again), and `detach()` hands the rest back at once (nacked:
 * their next delivery counts as a second one).
 *
 * Exchange: over a store with `exchange` (`RedisStreamStore`), the commit,
 * the acks and the leases are one pipeline: one call in flight carries the
 * queued sends, the queued acks and a lease for waiting receivers plus one
 * item ahead per ack. The next call starts in a setImmediate after the last
 * one returns, so a producer awaiting `send()` and a consumer awaiting
 * `ack()`, both resumed by that return, put their next send and next ack in
 * the same call: one round trip per item for both sides, where separate
 * calls take two (an append and an ack that leases). Each promise still
 * settles with the call that carried its work; a failed call rejects every
 * send and ack in it (the acks are safe to repeat), and its lease, if it
 * also carried one, is tried again. A commit that must evict first
 * (`'drop-oldest'`) goes on its own, as without `exchange`.
 */
export class DurableCore<T> implements EngineOwner {
  readonly engine: ChannelEngine<T>;
  readonly visibilityTimeoutMs: number;
  readonly store: DurableStore<T>;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  readonly receivers = new WaiterList<DurableReceiveWaiter<T>>();
  readonly opening: Promise<void>;
  isOpen = false;
  isDetached = false;

  /** Committed, unacked items (the store's size, tracked locally). */
  stored = 0;
  /** Admitted items not yet committed: they hold capacity. */
  committing = 0;
  /** With `maxBytes`: the bytes of the committing items (see {@link DurableBytes}); undefined without. */
  readonly budget: DurableBytes | undefined;
  private batchItems: T[] = [];
  /** With `maxBytes`: the size of each item in `batchItems`. */
  private batchSizes: number[] = [];
  private batchResolve: ((accepted: boolean) => void)[] = [];
  private batchReject: ((error: unknown) => void)[] = [];
  private batchEvictions = 0;
  private flushQueued = false;
  private flushing = false;
  private ackIds: string[] = [];
  private ackResolve: (() => void)[] = [];
  private ackReject: ((error: unknown) => void)[] = [];
  private ackQueued = false;
  private acking = false;
  /** With `store.exchange`: an exchange is scheduled (microtask or setImmediate), or one is in flight. */
  private exchangeQueued = false;
  private exchanging = false;
  private leasing = false;
  /** Items leased ahead by an ack commit, oldest first, and when each arrived (clock ms). */
  private ahead: LeasedItem<T>[] = [];
  private aheadAt: number[] = [];
  /** Set when something may have become visible while a lease was in flight. */
  private leaseDirty = false;
  /**
   * With `store.exchange`: the last lease came back short (it saw everything
   * visible then), so waiting receivers wait for a wake, a commit or a nack
   * rather than leasing again in every exchange.
   */
  private leaseExhausted = false;
  private wakeTimer: TimerHandle | undefined;
  private wakeGeneration = 0;
  /** Store calls in flight that `detach()` waits for. */
  readonly activity = new Set<Promise<unknown>>();

  recoveredCount = 0;
  offeredCount = 0;
  acceptedCount = 0;
  deliveredCount = 0;
  redeliveredCount = 0;
  ackedCount = 0;
  nackedCount = 0;
  commitCount = 0;
  ackCommitCount = 0;
  leaseCount = 0;

  constructor(o: ResolvedDurableOptions<T>) {
    this.engine = new ChannelEngine<T>(o, this);
    this.visibilityTimeoutMs = o.visibilityTimeoutMs;
    this.pollIntervalMs = o.pollIntervalMs;
    this.store = o.store;
    this.clock = o.clock;
    this.budget = o.maxBytes === undefined ? undefined : new DurableBytes(o.maxBytes, o.sizeOf!);
    this.opening = attempt(() => this.store.size()).then((size) => {
      this.stored = this.recoveredCount = size;
      this.isOpen = true;
      this.refresh();
    });
    this.opening.catch(() => {}); // surfaced by every call that waits for the open
  }

  /** Capacity in use: committed items plus admitted ones on their way to the store. */
  get occupied(): number {
    return this.stored + this.committing;
  }

  /**
   * The fill level state, pressure and admission read: `occupied`, or with
   * `maxBytes` the fuller of it and the committing bytes (in items of capacity).
   */
  level(): number {
    const budget = this.budget;
    return budget === undefined ? this.stored + this.committing : budget.level(this.stored + this.committing, this.engine.capacity);
  }

  /** Admits `item` (of `bytes` bytes, with `maxBytes`) into the next commit; the promise settles when that commit does. */
  enqueue(item: T, evicting: boolean, bytes = 0): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => this.join(item, evicting, resolve, reject, bytes));
  }

  join(item: T, evicting: boolean, resolve: (accepted: boolean) => void, reject: (error: unknown) => void, bytes = 0): void {
    const budget = this.budget;
    if (budget !== undefined) {
      this.batchSizes.push(bytes);
      budget.bytes += bytes;
    }
    this.batchItems.push(item);
    this.batchResolve.push(resolve);
    this.batchReject.push(reject);
    if (evicting) this.batchEvictions++;
    this.committing++;
    if (this.store.exchange !== undefined) this.kick();
    else if (!this.flushQueued && !this.flushing) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    this.engine.signals.update(this.level(), this.engine.closed);
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.flushing || this.batchItems.length === 0) return;
    this.flushing = true;
    this.track(this.takeBatch()).finally(() => {
      this.flushing = false;
      if (this.batchItems.length !== 0) this.flush(); // everything that queued behind this commit goes in the next
      this.refresh();
    });
  }

  private async commit(items: T[], resolvers: ((accepted: boolean) => void)[], rejecters: ((error: unknown) => void)[], evictions: number, sizes: number[]): Promise<void> {
    let refused = 0;
    try {
      // Acks since admission may have made room: evict only what still overflows.
      const overflowing = Math.min(evictions, this.stored + items.length - this.engine.capacity);
      if (overflowing > 0) {
        const evicted = (await this.store.dropOldest!(overflowing)).length;
        this.stored -= evicted;
        this.engine.droppedBy['drop-oldest'] += evicted;
        // Nothing evictable (every stored item leased or delayed): the newest
        // offers cannot fit and are dropped instead.
        refused = overflowing - evicted;
      }
      const kept = items.length - refused;
      if (refused !== 0) items.length = kept;
      if (kept !== 0) {
        await this.store.append(items);
        this.commitCount++;
      }
      this.committed(kept, refused, resolvers, sizes);
      this.leaseDirty = true;
      this.leaseExhausted = false;
    } catch (error) {
      this.notCommitted(rejecters, sizes, error);
    }
  }

  /** A commit of `kept` items succeeded (the `refused` newest after them were dropped): counts, bytes, and each producer's answer. */
  private committed(kept: number, refused: number, resolvers: ((accepted: boolean) => void)[], sizes: number[]): void {
    this.committing -= kept + refused;
    this.stored += kept;
    this.offeredCount += kept + refused;
    this.acceptedCount += kept;
    this.engine.droppedBy['drop-newest'] += refused;
    if (this.budget !== undefined) {
      let keptBytes = 0;
      let refusedBytes = 0;
      for (let i = 0; i < sizes.length; i++) {
        if (i < kept) keptBytes += sizes[i]!;
        else refusedBytes += sizes[i]!;
      }
      this.budget.committed(keptBytes, refusedBytes, 0);
    }
    for (let i = 0; i < resolvers.length; i++) resolvers[i]!(i < kept);
  }

  /** A commit failed: its items were never offered. Every producer in it learns it. */
  private notCommitted(rejecters: ((error: unknown) => void)[], sizes: number[], error: unknown): void {
    this.committing -= rejecters.length;
    if (this.budget !== undefined) this.budget.committed(0, 0, sizes.reduce((a, b) => a + b, 0));
    for (const reject of rejecters) reject(error);
  }

  /**
   * With `store.exchange`: makes sure an exchange will run. From idle it runs
   * in a microtask, so a lone send or ack goes at once; while one is in flight
   * nothing is scheduled here (its end schedules the next).
   */
  private kick(): void {
    if (this.exchangeQueued || this.exchanging) return;
    this.exchangeQueued = true;
    queueMicrotask(() => this.exchangeNow());
  }

  /**
   * One exchange: everything pending (the commit of the queued sends, the
   * queued acks, a lease for waiting receivers and one item ahead per ack) in
   * one store call, at most one in flight. A producer awaiting `send()` and a
   * consumer awaiting `ack()` both resume when the same exchange returns; the
   * next one is started by a setImmediate, after their continuations have run,
   * so the next send and the next ack (after `receive()` took the item leased
   * ahead) ride in it together: one round trip per item for both sides.
   */
  private exchangeNow(): void {
    this.exchangeQueued = false;
    if (this.exchanging) return;
    if (this.batchEvictions !== 0) {
      // 'drop-oldest' evicts before it appends (two steps): that commit goes the separate way, alone.
      this.exchanging = true;
      this.track(this.takeBatch()).finally(() => this.exchangeDone(false));
      return;
    }
    const items = this.batchItems;
    const ids = this.ackIds;
    // None when the last lease saw nothing more visible and this call commits nothing new.
    const want = items.length !== 0 || !this.leaseExhausted ? this.leaseAheadCount(ids.length, items.length) : 0;
    if (items.length === 0 && ids.length === 0 && want === 0) return;
    const resolvers = this.batchResolve;
    const rejecters = this.batchReject;
    const sizes = this.batchSizes;
    const ackResolvers = this.ackResolve;
    const ackRejecters = this.ackReject;
    this.batchItems = [];
    this.batchResolve = [];
    this.batchReject = [];
    this.batchSizes = [];
    this.ackIds = [];
    this.ackResolve = [];
    this.ackReject = [];
    if (want !== 0) {
      this.cancelWake();
      this.leasing = true;
      this.leaseDirty = false;
    }
    this.exchanging = true;
    this.track(attempt(() => this.store.exchange!(items, ids, want, this.visibilityTimeoutMs))).then(
      ({ acked, leased }) => {
        this.leasing = false;
        if (items.length !== 0) {
          this.commitCount++;
          this.committed(items.length, 0, resolvers, sizes);
          this.leaseExhausted = false;
        }
        if (ids.length !== 0) {
          this.ackCommitCount++;
          this.ackedCount += acked;
          this.stored -= acked;
          for (const resolve of ackResolvers) resolve();
        }
        if (items.length === 0 && ids.length === 0) this.leaseCount++;
        const now = this.clock.now();
        for (const item of leased) {
          this.ahead.push(item);
          this.aheadAt.push(now);
        }
        if (this.isDetached) this.releaseAhead();
        // A short lease saw everything visible (this call's items included): no new lease until something changes.
        this.exchangeDone(want !== 0 && leased.length < want && !this.leaseDirty);
      },
      (error: unknown) => {
        this.leasing = false;
        if (items.length !== 0) this.notCommitted(rejecters, sizes, error);
        for (const reject of ackRejecters) reject(error);
        if (want !== 0 && items.length === 0 && ids.length === 0) {
          // A lease alone failed: the receivers it was for learn it, as from lease().
          for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
            this.settleReceiver(w);
            w.reject(error);
          }
        }
        // Receivers still waiting (the lease rode with a failed commit) lease again, alone, in the next exchange.
        this.exchangeDone(false);
      },
    );
  }

  /**
   * The end of an exchange: serves waiting receivers and admits blocked
   * producers (`refresh()`), then runs the next exchange in a setImmediate,
   * once the continuations of the sends and acks just settled have queued
   * their next work. Kicks meanwhile are absorbed: the flag stays set.
   */
  private exchangeDone(exhausted: boolean): void {
    this.exchanging = false;
    this.exchangeQueued = true;
    // A lease that came back short saw everything visible, this call's items included.
    if (exhausted) this.leaseExhausted = true;
    this.refresh();
    if (exhausted && this.receivers.size !== 0) this.scheduleWake();
    // Tracked, so detach() waits for it (a wait on microtasks alone would never let it run).
    this.track(
      new Promise<void>((resolve) =>
        setImmediate(() => {
          resolve();
          this.exchangeNow();
        }),
      ),
    );
  }

  /** Takes the queued batch and commits it on its own: `flush()`'s append, or an eviction's separate commit. */
  private takeBatch(): Promise<void> {
    const items = this.batchItems;
    const resolvers = this.batchResolve;
    const rejecters = this.batchReject;
    const evictions = this.batchEvictions;
    const sizes = this.batchSizes;
    this.batchSizes = [];
    this.batchItems = [];
    this.batchResolve = [];
    this.batchReject = [];
    this.batchEvictions = 0;
    return this.commit(items, resolvers, rejecters, evictions, sizes);
  }

  enqueueAck(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.ackIds.push(id);
      this.ackResolve.push(resolve);
      this.ackReject.push(reject);
      if (this.store.exchange !== undefined) this.kick();
      else if (!this.ackQueued && !this.acking) {
        this.ackQueued = true;
        queueMicrotask(() => this.flushAcks());
      }
    });
  }

  private flushAcks(): void {
    this.ackQueued = false;
    if (this.acking || this.ackIds.length === 0) return;
    const ids = this.ackIds;
    const resolvers = this.ackResolve;
    const rejecters = this.ackReject;
    this.ackIds = [];
    this.ackResolve = [];
    this.ackReject = [];
    this.acking = true;
    this.ackCommitCount++;
    const want = this.store.ackAndLease ? this.leaseAheadCount(ids.length, 0) : 0;
    this.track(want > 0 ? this.ackAndLease(ids, want) : attempt(() => this.store.ack(ids))).then(
      (removed) => {
        this.acking = false;
        this.ackedCount += removed;
        this.stored -= removed;
        for (const resolve of resolvers) resolve();
        if (this.ackIds.length !== 0) this.flushAcks();
        this.refresh();
      },
      (error: unknown) => {
        this.acking = false;
        for (const reject of rejecters) reject(error);
        if (this.ackIds.length !== 0) this.flushAcks();
      },
    );
  }

  /**
   * How many items to lease along with an ack of `acks` ids (in `ackAndLease`
   * or an exchange that also commits `committing` items): one per acked item
   * plus what waiting receivers ask for, less what is already leased ahead;
   * 0 to lease nothing (a lease already in flight, detached, or nothing else
   * stored).
   */
  private leaseAheadCount(acks: number, committing: number): number {
    if (this.leasing || this.isDetached) return 0;
    if (this.stored + committing - this.ahead.length <= acks) return 0;
    let want = acks - this.ahead.length;
    for (let w = this.receivers.head; w; w = w.next) want += w.max;
    return want > 0 ? want : 0;
  }

  /** The ack commit that also leases: leased items go to waiting receivers, the rest are kept for the next ones. */
  private ackAndLease(ids: string[], want: number): Promise<number> {
    this.cancelWake();
    this.leasing = true;
    this.leaseDirty = false;
    return attempt(() => this.store.ackAndLease!(ids, want, this.visibilityTimeoutMs)).then(
      ({ acked, leased }) => {
        this.leasing = false;
        const now = this.clock.now();
        for (const item of leased) {
          this.ahead.push(item);
          this.aheadAt.push(now);
        }
        if (this.isDetached) this.releaseAhead();
        return acked;
      },
      (error: unknown) => {
        this.leasing = false;
        if (this.receivers.size !== 0) queueMicrotask(() => this.refresh()); // they lease on their own
        throw error;
      },
    );
  }

  /** Hands items leased ahead to waiting receivers, oldest first; lets go of those held too long. */
  private serveAhead(): void {
    // Held for more than half the visibility timeout: the lease may be about to
    // expire in the store. Let it (the store delivers the item again).
    const staleBefore = this.clock.now() - this.visibilityTimeoutMs / 2;
    let stale = 0;
    while (stale < this.aheadAt.length && this.aheadAt[stale]! < staleBefore) stale++;
    if (stale !== 0) {
      this.ahead.splice(0, stale);
      this.aheadAt.splice(0, stale);
    }
    let i = 0;
    while (i < this.ahead.length && this.receivers.size !== 0) {
      const w = this.receivers.shift()!;
      this.settleReceiver(w);
      if (w.single) {
        w.resolve(this.deliver(this.ahead[i++]!));
        continue;
      }
      const batch: LeasedItem<T>[] = [];
      while (i < this.ahead.length && batch.length < w.max) batch.push(this.deliver(this.ahead[i++]!));
      w.resolve(batch);
    }
    this.ahead.splice(0, i);
    this.aheadAt.splice(0, i);
  }

  /** At detach: items leased ahead and not received go back to the store at once. */
  releaseAhead(): void {
    for (const item of this.ahead) this.track(attempt(() => this.store.nack(item.id))).catch(() => {}); // if it fails, the lease simply expires
    this.ahead = [];
    this.aheadAt = [];
  }

  track<R>(promise: Promise<R>): Promise<R> {
    const settled: Promise<unknown> = promise.then(
      (): unknown => this.activity.delete(settled),
      (): unknown => this.activity.delete(settled),
    );
    this.activity.add(settled);
    return promise;
  }

  /** True while a commit, ack or lease is queued or in flight. */
  get busy(): boolean {
    return this.activity.size !== 0 || this.flushQueued || this.ackQueued || this.exchangeQueued || this.batchItems.length !== 0 || this.ackIds.length !== 0;
  }

  /**
   * Moves waiting producers into the next commit while there is room, leases
   * for waiting receivers, finishes a closed and empty channel, and updates
   * state and pressure. Called after anything that changes the counts.
   */
  refresh(): void {
    if (!this.isOpen) return;
    const budget = this.budget;
    if (budget === undefined) {
      while (this.engine.senders.size !== 0 && this.occupied < this.engine.capacity) {
        const w = this.engine.senders.shift()!;
        this.join(w.item, false, w.resolve, w.reject);
      }
    } else {
      // Oldest first, while both bounds hold for the head's item (its size rode with it).
      while (this.engine.senders.size !== 0 && this.occupied < this.engine.capacity && budget.fits((this.engine.senders.peek()!.item as unknown as Sized<T>).bytes)) {
        const w = this.engine.senders.shift()!;
        const sized = w.item as unknown as Sized<T>;
        this.join(sized.item, false, w.resolve, w.reject, sized.bytes);
      }
    }
    const empty = this.occupied === 0;
    if (this.engine.closed && empty) this.finish();
    else if (this.receivers.size !== 0) this.pumpReceivers();
    this.engine.signals.update(this.level(), this.engine.closed);
  }

  private pumpReceivers(): void {
    if (this.isDetached) return;
    if (this.ahead.length !== 0) this.serveAhead();
    if (this.receivers.size === 0 || this.leasing) return;
    if (this.store.exchange !== undefined) {
      // The next exchange leases for them (with whatever commit and acks are pending).
      this.kick();
      return;
    }
    // Acks not sent yet (a consumer acking without waiting) go with this lease, in one call.
    if (this.ackIds.length !== 0 && !this.acking && this.store.ackAndLease) {
      this.flushAcks();
      if (this.leasing) return;
    }
    this.cancelWake();
    let want = 0;
    for (let w = this.receivers.head; w; w = w.next) want += w.max;
    this.leasing = true;
    this.leaseDirty = false;
    this.leaseCount++;
    this.track(attempt(() => this.store.lease(want, this.visibilityTimeoutMs))).then(
      (leased) => {
        this.leasing = false;
        this.distribute(leased);
        if (this.receivers.size === 0) return;
        if (leased.length === want || this.leaseDirty) this.refresh();
        else this.scheduleWake();
      },
      (error: unknown) => {
        this.leasing = false;
        for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
          this.settleReceiver(w);
          w.reject(error);
        }
      },
    );
  }

  /** A new receiver waits: it leases once even after a short lease (e.g. for items whose lease expired while no wake was armed). */
  addReceiver(w: DurableReceiveWaiter<T>): void {
    this.receivers.push(w);
    this.leaseExhausted = false;
    this.refresh();
  }

  private distribute(leased: LeasedItem<T>[]): void {
    let i = 0;
    while (i < leased.length && this.receivers.size !== 0) {
      const w = this.receivers.shift()!;
      this.settleReceiver(w);
      if (w.single) {
        w.resolve(this.deliver(leased[i++]!));
        continue;
      }
      const batch: LeasedItem<T>[] = [];
      while (i < leased.length && batch.length < w.max) batch.push(this.deliver(leased[i++]!));
      w.resolve(batch);
    }
    // Leased for a receiver that aborted meanwhile: hand them straight back.
    for (; i < leased.length; i++) {
      this.leaseDirty = true;
      this.track(attempt(() => this.store.nack(leased[i]!.id))).catch(() => {}); // if it fails, the lease simply expires
    }
  }

  /** Something may have turned visible (a nack): lease again for waiting receivers. */
  visibilityChanged(): void {
    this.leaseDirty = true;
    this.leaseExhausted = false;
    this.refresh();
  }

  private deliver(leased: LeasedItem<T>): LeasedItem<T> {
    this.deliveredCount++;
    if (leased.deliveries > 1) this.redeliveredCount++;
    return leased;
  }

  /**
   * Nothing visible right now but receivers wait: ask again when the store
   * says the next leased or delayed item turns visible. New commits and nacks
   * wake the receivers on their own, so an empty store needs no timer.
   */
  private scheduleWake(): void {
    if (this.stored === 0) return;
    const generation = ++this.wakeGeneration;
    const arm = (ms: number | undefined) => {
      if (ms === undefined || generation !== this.wakeGeneration || this.receivers.size === 0) return;
      // A store clock a little behind ours can report 0 at our deadline; 1 ms avoids a hot loop.
      this.wakeTimer = this.clock.schedule(Math.max(1, ms), () => {
        this.wakeTimer = undefined;
        this.leaseExhausted = false;
        this.refresh();
      });
    };
    if (this.store.nextVisibleInMs) this.track(attempt(() => this.store.nextVisibleInMs!())).then(arm, () => arm(this.pollIntervalMs));
    else arm(this.pollIntervalMs);
  }

  cancelWake(): void {
    this.wakeGeneration++;
    if (this.wakeTimer !== undefined) this.clock.cancel(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  // EngineOwner
  /** A waiting producer gave up: beyond the engine's count, its bytes are dropped (with `maxBytes`). */
  producerLeft(item: unknown): void {
    if (this.budget !== undefined) this.budget.refused((item as Sized<T>).bytes);
  }
  updateSignals(): void {
    this.engine.signals.update(this.level(), this.engine.closed);
  }
  isDrained(): boolean {
    return this.engine.closed && this.isOpen && this.occupied === 0;
  }
  drainRefusal(): Error | undefined {
    return this.isDetached ? new ClosedError('DurableChannel is detached from its store') : undefined;
  }

  /** Counts an offer refused because the channel is closed (or detached) and returns the error to throw. */
  closedDrop(): ClosedError {
    return this.engine.closedDrop(this.isDetached ? 'DurableChannel is detached from its store' : 'Channel is closed');
  }

  settleReceiver(w: DurableReceiveWaiter<T>): void {
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  finish(): void {
    this.cancelWake();
    for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
      this.settleReceiver(w);
      w.resolve(w.single ? undefined : []);
    }
    this.engine.drainWaiters.resolveAll();
  }
}

/** Calls a store method so that a synchronous throw becomes a rejection, like an async method's. */
export function attempt<R>(call: () => Promise<R>): Promise<R> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(error);
  }
}
