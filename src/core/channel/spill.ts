import type { TimerHandle } from '../clock/index.js';
import type { DurableStore, LeasedItem } from '../../internal/durable-store.js';
import type { SendWaiter } from '../../internal/blocked-producers.js';
import type { ChannelEngine } from '../../internal/engine/engine.js';
import { RESOLVED_FALSE, RESOLVED_TRUE, type MemoryBuffer, type OverflowTier } from '../../internal/engine/memory.js';
import type { ChannelStats, SendOptions } from '../../internal/engine/options.js';
import { InvalidArgumentError, OverflowError } from '../errors/index.js';
import { describe } from '../../internal/describe.js';
import type { ResolvedSpillOptions } from './spill-options.js';

/**
 * How long a lease keeps refilled items invisible in the store. They are acked
 * right after entering memory, so this only matters when the process dies in
 * between: the items come back this long after, for the next channel.
 */
const LEASE_MS = 60_000;
/** Backoff between refill attempts after a failed or empty lease. */
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1_000;

/** A `send()` whose item is in a write batch: it settles with the append. */
interface Writer {
  resolve(accepted: boolean): void;
  reject(error: unknown): void;
}

/**
 * A {@link Channel}'s spill, as the second tier of its memory buffer: write
 * batches to a {@link DurableStore} above the high watermark, refills from it
 * below the low one. The buffer consults it only on slow paths (see
 * {@link OverflowTier}); a channel without `spill` has no tier at all. The
 * spill's only effect on the fast path is `fastCeiling`: -1 while anything
 * is outside memory, so every offer comes here and order holds.
 *
 * Order, oldest first: ring, store, batch being appended, batch being collected.
 */
export class SpillTier<T> implements OverflowTier<T> {
  /** Most items outside memory; `Infinity` when unbounded. */
  readonly spillCapacity: number;
  private readonly store: DurableStore<T>;
  private readonly buffer: MemoryBuffer<T>;
  private readonly engine: ChannelEngine<T>;
  /** Offers below this size stay in memory while nothing is spilled. Moved by {@link reconfigured}. */
  private spillAt: number;
  /** Memory at or below this size asks the store for items. Moved by {@link reconfigured}. */
  private refillAt: number;

  /** Items committed to the store and not yet back in memory. */
  private stored = 0;
  /** The write batch being collected, and the `send()`s waiting on each item (undefined for `trySend`). */
  private writing: T[] = [];
  private writers: (Writer | undefined)[] = [];
  /** Items in the append that is running; one append at a time keeps the store in offer order. */
  private appending = 0;
  private flushQueued = false;
  private leasing = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelay = RETRY_MIN_MS;
  /** Ids whose ack failed; they ride along with the next ack. */
  private unacked: string[] = [];
  private spillErrorListeners: ((error: unknown) => void)[] | undefined;
  private readonly flushNow = () => this.flush();
  private readonly spillCounters = { recovered: 0, spillAppends: 0, spillRefills: 0, spillErrors: 0 };

  /** Attaches itself to `buffer` as its tier. */
  constructor(buffer: MemoryBuffer<T>, spill: ResolvedSpillOptions<T> & { store: DurableStore<T> }) {
    this.buffer = buffer;
    this.engine = buffer.engine;
    this.store = spill.store;
    this.spillCapacity = spill.spillCapacity;
    this.spillAt = this.engine.marks.highStart;
    this.refillAt = this.engine.marks.lowEnd;
    buffer.tier = this;
    // Items left by an earlier channel come first; until they are counted,
    // offers queue in the write batch rather than overtake them in memory.
    buffer.counting = true;
    this.syncSpillMode();
    this.call(() => this.store.size()).then(
      (count) => this.counted(count),
      (error: unknown) => {
        // Unknown contents: proceed as if empty. Leftovers are still delivered,
        // oldest first, in place of as many of this channel's items, which stay stored.
        this.reportSpillError(error);
        this.counted(0);
      },
    );
  }

  /**
   * Calls `listener(error)` for every failed store call (append, lease, ack,
   * size) of the spill. The channel keeps going: a failed append drops its
   * items (reason `'spill-failed'`), a failed lease is retried with backoff
   * (10 ms doubling to 1 s), a failed ack is repeated with the next one (if
   * none follows, those items stay in the store and a later channel on it
   * delivers them again). Failures are also counted in `stats().spillErrors`.
   * Returns an unsubscribe function.
   */
  onSpillError(listener: (error: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`onSpillError(listener): listener must be a function, got ${describe(listener)}`);
    const list = (this.spillErrorListeners ??= []);
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  /** `trySend`'s slow path; the channel is open. */
  trySend(item: T): boolean {
    if (this.engine.senders.size === 0) {
      if (this.fitsInMemory()) {
        this.buffer.accept(item);
        return true;
      }
      if (this.fitsInWriteBatch()) {
        this.enqueueWrite(item, undefined);
        return true;
      }
    }
    switch (this.engine.overflow) {
      case 'drop-newest':
        this.engine.drop('drop-newest');
        return false;
      case 'reject':
        this.engine.drop('rejected');
        return false;
      default:
        return false; // 'block': refused, not offered
    }
  }

  /** `send`'s slow path; the channel is open. */
  send(item: T, options: SendOptions | undefined): Promise<boolean> {
    const signal = options?.signal;
    if (signal?.aborted) return this.engine.abortedDrop(signal);
    if (this.engine.senders.size === 0) {
      if (this.fitsInMemory()) {
        this.buffer.accept(item);
        return RESOLVED_TRUE;
      }
      if (this.fitsInWriteBatch()) return new Promise((resolve, reject) => this.enqueueWrite(item, { resolve, reject }));
    }
    switch (this.engine.overflow) {
      case 'drop-newest':
        this.engine.drop('drop-newest');
        return RESOLVED_FALSE;
      case 'reject':
        this.engine.drop('rejected');
        return Promise.reject(new OverflowError('Channel spill is at spillCapacity'));
      default:
        return this.buffer.waitForRoom(item, signal, options?.timeoutMs);
    }
  }

  hasRoomForWaiter(): boolean {
    return this.fitsInMemory() || this.fitsInWriteBatch();
  }

  admitWaiter(w: SendWaiter<T>): void {
    if (this.fitsInMemory()) {
      this.buffer.pushBack(w.item);
      w.resolve(true);
    } else this.enqueueWrite(w.item, w);
  }

  addStats(stats: ChannelStats): ChannelStats {
    stats.inMemory = this.buffer.memorySize;
    stats.spilled = this.stored;
    stats.spillWriting = this.writing.length + this.appending;
    stats.spilling = this.buffer.backlogged();
    return Object.assign(stats, this.spillCounters);
  }

  private fitsInMemory(): boolean {
    return !this.buffer.backlogged() && this.buffer.memorySize < this.spillAt;
  }

  /** The batch being collected holds at most `capacity` items, so memory use stays bounded while the store is slow. */
  private fitsInWriteBatch(): boolean {
    return this.writing.length < this.buffer.capacity && this.buffer.outside < this.spillCapacity;
  }

  private enqueueWrite(item: T, writer: Writer | undefined): void {
    this.writing.push(item);
    this.writers.push(writer);
    this.buffer.acceptedOffRing++;
    this.buffer.outside++;
    if (this.buffer.outside === 1) this.syncSpillMode();
    if (!this.flushQueued && this.appending === 0) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow); // collect the rest of this tick's offers first
    }
  }

  /** Starts appending the collected batch, unless memory can take it directly. */
  private flush(): void {
    this.flushQueued = false;
    if (this.appending !== 0 || this.buffer.counting || this.writing.length === 0) return;
    // Nothing older is stored and memory wants items: skip the round trip.
    if (this.stored === 0 && this.wantsRefill()) this.moveWritesToMemory();
    if (this.writing.length === 0) return;
    const items = this.writing;
    const writers = this.writers;
    this.writing = [];
    this.writers = [];
    this.appending = items.length;
    this.spillCounters.spillAppends++;
    this.call(() => this.store.append(items)).then(
      () => this.appended(items.length, writers),
      (error: unknown) => this.appendFailed(items.length, writers, error),
    );
    if (this.engine.senders.size !== 0) this.buffer.pump(); // the write batch has room again
  }

  private appended(count: number, writers: (Writer | undefined)[]): void {
    this.appending = 0;
    this.stored += count;
    for (const w of writers) w?.resolve(true);
    this.flush();
    this.refill();
  }

  private appendFailed(count: number, writers: (Writer | undefined)[], error: unknown): void {
    // A rejected append committed none of its items: they are gone, and counted.
    this.appending = 0;
    this.buffer.outside -= count;
    this.engine.droppedBy['spill-failed'] += count;
    for (const w of writers) w?.reject(error);
    this.reportSpillError(error);
    this.syncSpillMode();
    this.flush();
    this.buffer.pump();
  }

  private wantsRefill(): boolean {
    return this.buffer.memorySize <= this.refillAt || this.buffer.receivers.size !== 0;
  }

  /** Brings items back into memory when it runs low: from the store, or straight from the write batch when nothing is stored. */
  refill(): void {
    if (this.leasing || this.retryTimer !== undefined || this.buffer.counting || !this.wantsRefill()) return;
    const room = this.buffer.capacity - this.buffer.memorySize;
    if (room <= 0) return;
    if (this.stored > 0) {
      this.leasing = true;
      this.call(() => this.store.lease(Math.min(room, this.stored), LEASE_MS)).then(
        (leased) => this.leased(leased),
        (error: unknown) => {
          this.leasing = false;
          this.reportSpillError(error);
          this.scheduleRetry();
        },
      );
    } else if (this.appending === 0 && this.writing.length !== 0) {
      this.moveWritesToMemory();
    }
  }

  private leased(leased: LeasedItem<T>[]): void {
    this.leasing = false;
    const count = leased.length;
    // Only a store breaking its contract (more than `max`) gets here; its
    // extra items are delivered and counted in, so the accounting still holds.
    if (count > this.stored) this.recover(count - this.stored);
    const ids: string[] = this.unacked;
    this.unacked = [];
    for (const l of leased) {
      this.buffer.pushBack(l.item);
      ids.push(l.id);
    }
    this.buffer.acceptedOffRing -= count; // counted when they were accepted into the store
    this.stored -= count;
    this.buffer.outside -= count;
    if (count === 0) {
      // Stored items exist but none is visible (leases of a process that died): try again later.
      if (this.stored > 0) this.scheduleRetry();
    } else {
      this.retryDelay = RETRY_MIN_MS;
      this.spillCounters.spillRefills++;
    }
    if (ids.length !== 0) {
      this.call(() => this.store.ack(ids)).catch((error: unknown) => {
        for (const id of ids) this.unacked.push(id);
        this.reportSpillError(error);
      });
    }
    this.syncSpillMode();
    this.buffer.pump();
  }

  private moveWritesToMemory(): void {
    const n = Math.min(this.buffer.capacity - this.buffer.memorySize, this.writing.length);
    if (n <= 0) return;
    const writers = this.writers;
    for (let i = 0; i < n; i++) {
      this.buffer.pushBack(this.writing[i]!);
      writers[i]?.resolve(true);
    }
    this.buffer.acceptedOffRing -= n; // counted when they joined the write batch
    this.writing.splice(0, n);
    writers.splice(0, n);
    this.buffer.outside -= n;
    this.syncSpillMode();
    this.buffer.pump();
  }

  private counted(count: number): void {
    this.buffer.counting = false;
    if (count > 0) this.recover(count);
    this.syncSpillMode();
    this.flush();
    this.buffer.pump();
  }

  private recover(count: number): void {
    this.stored += count;
    this.buffer.outside += count;
    this.buffer.acceptedOffRing += count;
    this.spillCounters.recovered += count;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, RETRY_MAX_MS);
    // unref: items waiting in the store do not keep the process alive by themselves.
    this.retryTimer = this.engine.clock.schedule(
      delay,
      () => {
        this.retryTimer = undefined;
        this.refill();
      },
      { unref: true },
    );
  }

  /**
   * The channel was resized or its watermarks moved: spill from the new high
   * watermark and refill at the new low one. The memory buffer pumps next,
   * which refills memory if it now runs low.
   */
  reconfigured(): void {
    this.spillAt = this.engine.marks.highStart;
    this.refillAt = this.engine.marks.lowEnd;
    this.buffer.fastCeiling = this.buffer.backlogged() ? -1 : this.spillAt;
  }

  /** Fast path while nothing is outside memory; every offer through the slow path otherwise. */
  private syncSpillMode(): void {
    const ceiling = this.buffer.backlogged() ? -1 : this.spillAt;
    if (ceiling === this.buffer.fastCeiling) return;
    this.buffer.fastCeiling = ceiling;
    this.buffer.refreshFastPath();
    this.buffer.updateSignals();
  }

  /** Runs a store call, turning a synchronous throw into a rejection. */
  private call<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private reportSpillError(error: unknown): void {
    this.spillCounters.spillErrors++;
    const listeners = this.spillErrorListeners;
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(error);
      } catch (thrown) {
        // A throwing listener must not stop the spill; surface it like an uncaught exception.
        queueMicrotask(() => {
          throw thrown;
        });
      }
    }
  }
}
