import { systemClock, type Clock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { jsonSerializer, type DurableStore, type LeasedItem, type Serializer } from './store.js';
import { describe } from '../../internal/describe.js';
import { checkLeaseArguments } from '../../internal/durable-store.js';

export interface MemoryStoreOptions<T> {
  /**
   * Time source for lease deadlines and nack delays.
   * @default systemClock
   * @example new MemoryStore({ clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * How items are copied in and out, so a lease never hands back the object
   * given to `append` (as with a real store).
   * @default jsonSerializer
   * @example new MemoryStore<Date>({ serializer: { serialize: (d) => d.toISOString(), deserialize: (s) => new Date(String(s)) } })
   */
  serializer?: Serializer<T>;
}

export interface MemoryStoreStats {
  /** Unacked items. */
  size: number;
  /** `append` calls that stored at least one item (each would be one commit in a real store). */
  commits: number;
  appended: number;
  leased: number;
  acked: number;
  nacked: number;
  dropped: number;
}

interface Entry {
  data: string | Uint8Array;
  visibleAt: number;
  deliveries: number;
}

/**
 * A {@link DurableStore} kept in memory: **not durable**. It follows the
 * contract exactly, so it serves tests (with a `VirtualClock`) and as the
 * reference for what a store must do.
 * @example
 * const channel = new DurableChannel({ store: new MemoryStore({ clock }), clock });
 */
export class MemoryStore<T> implements DurableStore<T> {
  private readonly clock: Clock;
  private readonly serializer: Serializer<T>;
  /** Insertion order is id order, which is the delivery order. */
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;
  private isClosed = false;
  private readonly counters = { commits: 0, appended: 0, leased: 0, acked: 0, nacked: 0, dropped: 0 };

  constructor(options?: MemoryStoreOptions<T>) {
    const o = v.optionsObject(options, 'MemoryStore', { clock: true, serializer: true });
    const clock = o.clock ?? systemClock;
    if (typeof clock.now !== 'function') throw new InvalidOptionError('clock', clock, 'a Clock with now()');
    this.clock = clock;
    const serializer = o.serializer ?? (jsonSerializer as Serializer<T>);
    if (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw new InvalidOptionError('serializer', serializer, 'an object with serialize() and deserialize()');
    }
    this.serializer = serializer;
  }

  /** Abort safety: takes no signal; the append is atomic and immediate. */
  async append(items: readonly T[]): Promise<string[]> {
    this.assertOpen();
    const data = items.map((item) => this.serializer.serialize(item)); // all or nothing: serialize first
    const ids: string[] = [];
    for (const d of data) {
      const id = this.nextId++;
      this.entries.set(id, { data: d, visibleAt: 0, deliveries: 0 });
      ids.push(String(id));
    }
    if (ids.length !== 0) this.counters.commits++;
    this.counters.appended += ids.length;
    return ids;
  }

  /** Abort safety: takes no signal; unused leases expire after `visibilityTimeoutMs`. */
  async lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    this.assertOpen();
    checkLeaseArguments(max, visibilityTimeoutMs);
    const now = this.clock.now();
    const out: LeasedItem<T>[] = [];
    for (const [id, entry] of this.entries) {
      if (out.length === max) break;
      if (entry.visibleAt > now) continue;
      entry.visibleAt = now + visibilityTimeoutMs;
      entry.deliveries++;
      out.push({ id: String(id), item: this.serializer.deserialize(entry.data), deliveries: entry.deliveries });
    }
    this.counters.leased += out.length;
    return out;
  }

  /** Abort safety: takes no signal; repeating an ack is a no-op. */
  async ack(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const id of ids) if (this.entries.delete(Number(id))) removed++;
    this.counters.acked += removed;
    return removed;
  }

  /** Abort safety: takes no signal; repeating a nack restarts the delay. */
  async nack(id: string, options?: { delayMs?: number }): Promise<void> {
    this.assertOpen();
    const delayMs = options?.delayMs ?? 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new InvalidArgumentError(`nack(): delayMs must be a finite number >= 0, got ${describe(delayMs)}`);
    const entry = this.entries.get(Number(id));
    if (!entry) return;
    entry.visibleAt = delayMs === 0 ? 0 : this.clock.now() + delayMs;
    this.counters.nacked++;
  }

  /** Abort safety: takes no signal; it only reads. */
  async size(): Promise<number> {
    this.assertOpen();
    return this.entries.size;
  }

  /** Abort safety: takes no signal; it only reads. */
  async nextVisibleInMs(): Promise<number | undefined> {
    this.assertOpen();
    const now = this.clock.now();
    let earliest = Infinity;
    for (const entry of this.entries.values()) {
      if (entry.visibleAt > now) earliest = Math.min(earliest, entry.visibleAt);
    }
    return earliest === Infinity ? undefined : earliest - now;
  }

  /** Abort safety: takes no signal; the deletion is immediate. */
  async dropOldest(count: number): Promise<string[]> {
    this.assertOpen();
    const now = this.clock.now();
    const ids: string[] = [];
    for (const [id, entry] of this.entries) {
      if (ids.length >= count) break;
      if (entry.visibleAt > now) continue;
      this.entries.delete(id);
      ids.push(String(id));
    }
    this.counters.dropped += ids.length;
    return ids;
  }

  /**
   * Idempotent. The items are gone with the object: this store is not durable.
   *
   * Abort safety: takes no signal; nothing is left running.
   */
  async close(): Promise<void> {
    this.isClosed = true;
  }

  stats(): MemoryStoreStats {
    return { size: this.entries.size, ...this.counters };
  }

  private assertOpen(): void {
    if (this.isClosed) throw new ClosedError('MemoryStore is closed');
  }
}

