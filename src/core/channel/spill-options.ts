import type { DurableStore } from '../../internal/durable-store.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { channelOptionKeys, type ByteBudgetInit, type ChannelOptions, type OverflowStrategy } from './options.js';

/**
 * Options that let a {@link Channel} spill to a store. Separate from
 * `ChannelOptions` because they need the item type, and because the
 * components built on channel options (DurableChannel, BatchWriter) have no spill.
 */
export interface SpillOptions<T> {
  /**
   * A store that absorbs what memory cannot hold. While the buffer is below
   * the high watermark and nothing is spilled, items stay in memory exactly as
   * without a store. From the high watermark on, each new item joins a write
   * batch that is appended to the store as one call (items offered in the same
   * tick, or while the previous append is running, share a call); once
   * anything is outside memory, every later item goes that way too, so order
   * holds: memory items are older than spilled ones. When memory falls to the
   * low watermark (or is empty while consumers wait) the channel leases the
   * oldest stored items, up to the free room, pushes them into memory in order
   * and acks them.
   *
   * A write batch holds at most `capacity` items, so memory stays bounded
   * (buffer, the batch being appended and the one being collected: at most
   * 3 × capacity items) however slow the store is. A producer that offers
   * more than that in one tick, without yielding, meets the overflow strategy
   * until the batch is handed to the store: under `'block'` (the default),
   * `trySend()` returns false and `send()` waits, as in the usual
   * `if (!ch.trySend(x)) await ch.send(x)` loop.
   *
   * What it guarantees: bursts larger than memory are absorbed without
   * dropping. Not crash durability: items in memory (and in a write batch not
   * yet committed) are lost with the process, and items are acked as soon as
   * they are back in memory. Items still in the store survive: a new channel
   * on the same store counts them when it starts (`stats().recovered`) and
   * delivers them before anything offered to it.
   *
   * The channel never closes the store: the caller owns it, and should close
   * it after `drained()`. The store must serve this channel alone.
   * Any {@link DurableStore}: `SqliteStore` (`sluice/sqlite`), `RedisStreamStore`
   * (`sluice/redis`) or `MemoryStore`.
   * @default undefined (no spill: memory only)
   * @example new Channel({ capacity: 10_000, spill: new SqliteStore({ path: 'spill.db' }) })
   */
  spill?: DurableStore<T>;
  /**
   * With `spill`: most items held outside memory (in the store plus the write
   * batches). When it is reached the overflow strategy applies, as when a
   * channel without spill is full. Without it, the store's own limits are the only bound.
   * @default undefined (unbounded)
   * @example new Channel({ capacity: 1000, spill: store, spillCapacity: 1_000_000, overflow: 'reject' })
   */
  spillCapacity?: number;
}

/** Options of `new Channel()`: the channel's own, its byte budget and its spill. */
export type ChannelInit<T> = ChannelOptions & ByteBudgetInit<T> & SpillOptions<T>;

/** The keys `new Channel()` accepts. */
export const channelInitKeys: v.KnownKeys<ChannelInit<unknown>> = { ...channelOptionKeys, maxBytes: true, sizeOf: true, spill: true, spillCapacity: true };

/** The strategies a spill channel allows; they decide what happens once `spillCapacity` is reached. */
const spillOverflows: readonly OverflowStrategy[] = ['block', 'drop-newest', 'reject'];

export interface ResolvedSpillOptions<T> {
  store: DurableStore<T> | undefined;
  spillCapacity: number;
}

export function resolveSpillOptions<T>(options: SpillOptions<T> | undefined, overflow: OverflowStrategy): ResolvedSpillOptions<T> {
  const o = options ?? {};
  const store = o.spill;
  if (store === undefined) {
    if (o.spillCapacity !== undefined) {
      throw new InvalidOptionError('spillCapacity', o.spillCapacity, 'no value unless spill is set', 'spill is undefined');
    }
    return { store: undefined, spillCapacity: Infinity };
  }
  const s = store as unknown as Record<string, unknown> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.append !== 'function' ||
    typeof s.lease !== 'function' ||
    typeof s.ack !== 'function' ||
    typeof s.size !== 'function'
  ) {
    throw new InvalidOptionError('spill', store, 'a DurableStore with append(), lease(), ack() and size()');
  }
  if (!spillOverflows.includes(overflow)) {
    // drop-oldest would evict from memory items older than the spilled ones;
    // sample would thin out exactly the burst the spill is there to absorb.
    throw new InvalidOptionError('overflow', overflow, `one of ${spillOverflows.join(', ')} when spill is set`);
  }
  const spillCapacity = v.integer('spillCapacity', o.spillCapacity, Infinity, { min: 1 });
  return { store, spillCapacity };
}
