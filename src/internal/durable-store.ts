import { ErrorCode, InvalidArgumentError, withCode } from '../core/errors/index.js';
import { describe } from './describe.js';

/**
 * The storage contract behind {@link DurableChannel} (and behind a Channel's
 * spill). A store is a durable FIFO log of items with leases:
 *
 * ```
 *   append ──► [ visible ] ──lease──► [ leased ] ──ack──► gone
 *                  ▲                      │
 *                  └── timeout / nack ────┘
 * ```
 *
 * ## Contract every implementation keeps
 * - **Durability.** When the promise of {@link DurableStore.append} resolves,
 *   every item in the call is committed to the degree the store documents
 *   (e.g. fsynced), and will be seen by a new store opened on the same data
 *   after a crash. A rejected `append` committed none of its items: one call is
 *   one atomic commit.
 * - **Ids.** Opaque strings, unique within the store forever (never reused
 *   after an ack), returned in the order of the items given.
 * - **Order.** `lease` hands out visible items oldest first by append order.
 *   An item whose lease expired or that was nacked keeps its place, so it
 *   comes before younger items once visible again ("FIFO apart from
 *   redeliveries").
 * - **At-least-once.** A leased item that is not acked within the
 *   `visibilityTimeoutMs` given to `lease` becomes visible again and is
 *   delivered again, with `deliveries` one higher. Time is measured by the
 *   store's own time source (it must survive restarts, so a wall clock or the
 *   server's clock; stores may let tests inject one). Leases held by a process
 *   that died expire the same way; a store may offer to release them at open.
 * - **Idempotent acks.** Acking an id that is unknown or already acked is a
 *   no-op, not an error; `ack` reports how many items it removed.
 * - **Counting.** `size()` is every unacked item: visible, leased and delayed.
 * - **Items.** The store turns items into bytes with its serializer
 *   (JSON by default); `lease` returns deserialized copies, never the objects
 *   given to `append`.
 * - **After close.** Every method rejects with `ClosedError`
 *   (code `ERR_SLUICE_CLOSED`); `close()` itself is idempotent. Calls that
 *   were already running when `close()` was called settle first.
 *
 * Methods may be called concurrently; a store either serializes them or is
 * safe under concurrency. Implementations in this package: `SqliteStore`
 * (`sluice/sqlite`) and `RedisStreamStore` (`sluice/redis`).
 */
export interface DurableStore<T> {
  /**
   * Commits `items` in one durable commit and returns their ids, in order.
   * An empty array resolves `[]` without a commit.
   *
   * Abort safety: takes no signal; once called, the commit completes or fails
   * as a whole. A caller that stops waiting must assume the items may be stored.
   */
  append(items: readonly T[]): Promise<string[]>;

  /**
   * Leases up to `max` visible items, oldest first, making each invisible for
   * `visibilityTimeoutMs` (measured from this call) and adding one to its
   * `deliveries`. Resolves `[]` when nothing is visible; never waits for items.
   *
   * Abort safety: takes no signal; leased items that the caller drops on the
   * floor simply become visible again when their lease expires.
   */
  lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]>;

  /**
   * Removes the items with these ids for good (their processing is done).
   * Unknown or already-acked ids are skipped.
   * @returns how many items were removed.
   *
   * Abort safety: takes no signal; an ack that may or may not have committed
   * is safe to repeat.
   */
  ack(ids: readonly string[]): Promise<number>;

  /**
   * `ack(ids)` then `lease(max, visibilityTimeoutMs)` in one call, so a
   * consumer that finished its items gets the next ones in one round trip
   * (as a BullMQ worker's completion fetches its next job). Same rules as the
   * two calls: the acks are idempotent, the lease hands out visible items
   * oldest first and resolves `leased: []` when none is visible. `ids` may be
   * empty. Optional: a {@link DurableChannel} over a store with it leases the
   * next items while it acks; without it, it makes the two calls.
   * @returns `acked`: how many items the acks removed; `leased`: as `lease`.
   *
   * Abort safety: takes no signal. If the call fails, the acks may or may not
   * have committed (safe to repeat) and any items it leased become visible
   * again when their lease expires.
   */
  ackAndLease?(ids: readonly string[], max: number, visibilityTimeoutMs: number): Promise<{ acked: number; leased: LeasedItem<T>[] }>;

  /**
   * `append(items)`, `ack(ackIds)` and `lease(leaseMax, visibilityTimeoutMs)`
   * in one call, in that order: the producers' commit, the consumers' acks
   * and the next leases share one round trip, and the lease can hand out the
   * items this very call appends. Same rules as the three calls, and the
   * append is one atomic commit as `append`'s. Any part may be empty:
   * `items` and `ackIds` may be `[]`, and `leaseMax` 0 leases nothing.
   * Optional: a {@link DurableChannel} over a store with it sends its pending
   * commit, acks and leases together, one call in flight at a time; without
   * it, it makes the separate calls.
   * @returns `ids`: the appended items' ids, in order; `acked`: how many
   * items the acks removed; `leased`: as `lease` (`[]` for `leaseMax` 0).
   *
   * Abort safety: takes no signal. A rejected call committed none of its
   * items (as a rejected `append`: after a timeout, assume they may be
   * stored); its acks may or may not have committed (safe to repeat), and
   * items it leased become visible again when their lease expires.
   */
  exchange?(items: readonly T[], ackIds: readonly string[], leaseMax: number, visibilityTimeoutMs: number): Promise<{ ids: string[]; acked: number; leased: LeasedItem<T>[] }>;

  /**
   * Ends the lease on `id` early: the item becomes visible again after
   * `delayMs` (default 0: at once), keeping its place in the order. Its
   * `deliveries` count is kept. Unknown or acked ids are a no-op.
   *
   * Abort safety: takes no signal; repeating a nack only restarts the delay.
   */
  nack(id: string, options?: { delayMs?: number }): Promise<void>;

  /**
   * Number of unacked items: visible, leased and delayed.
   *
   * Abort safety: takes no signal; it only reads.
   */
  size(): Promise<number>;

  /**
   * Milliseconds until the earliest invisible unacked item (leased or
   * delayed) becomes visible; `undefined` when no unacked item is invisible.
   * Visible items are ignored. A hint for pollers: an underestimate only
   * costs an extra `lease` call, an overestimate delays a redelivery.
   * Optional: without it, a {@link DurableChannel} falls back to polling.
   *
   * Abort safety: takes no signal; it only reads.
   */
  nextVisibleInMs?(): Promise<number | undefined>;

  /**
   * Deletes up to `count` of the oldest *visible* items (leased and delayed
   * ones are untouched) and returns their ids. Used by the `'drop-oldest'`
   * overflow strategy; a channel refuses that strategy over a store without it.
   *
   * Abort safety: takes no signal; the deletion is one atomic write.
   */
  dropOldest?(count: number): Promise<string[]>;

  /**
   * Releases the store's resources after letting running calls settle.
   * Unacked items stay stored for the next open. Idempotent.
   *
   * Abort safety: takes no signal; it waits only for calls already running.
   */
  close(): Promise<void>;
}

/** One leased item. */
export interface LeasedItem<T> {
  /** Pass to `ack` / `nack`. */
  id: string;
  item: T;
  /** How many times the item has been leased, this time included (1 on first delivery). */
  deliveries: number;
}

/**
 * Turns items into stored data and back. `deserialize` receives what
 * `serialize` returned, possibly as a `Buffer` when it returned bytes.
 * @example
 * const text: Serializer<Order> = { serialize: (o) => JSON.stringify(o), deserialize: (s) => JSON.parse(String(s)) };
 */
export interface Serializer<T> {
  serialize(item: T): string | Uint8Array;
  deserialize(data: string | Uint8Array): T;
}

const decoder = new TextDecoder();

/** The default serializer: `JSON.stringify` / `JSON.parse`. Items must survive a JSON round trip. */
export const jsonSerializer: Serializer<any> = {
  serialize: (item: unknown) => {
    const text = JSON.stringify(item);
    // A TypeError, as JSON.stringify's own refusals (a cycle, a BigInt) are, with a code: the item is what is wrong.
    if (text === undefined) throw withCode(new TypeError(`jsonSerializer: ${typeof item} cannot be serialized as JSON (JSON.stringify gives nothing for it); wrap it or give a serializer`), ErrorCode.invalidItem);
    return text;
  },
  deserialize: (data) => JSON.parse(typeof data === 'string' ? data : decoder.decode(data)) as unknown,
};

/** Shared argument checks for `lease()` implementations. */
export function checkLeaseArguments(max: number, visibilityTimeoutMs: number): void {
  if (!Number.isSafeInteger(max) || max < 1) throw new InvalidArgumentError(`lease(max): max must be an integer >= 1, got ${describe(max)}`);
  if (typeof visibilityTimeoutMs !== 'number' || !Number.isFinite(visibilityTimeoutMs) || visibilityTimeoutMs <= 0) {
    throw new InvalidArgumentError(`lease(): visibilityTimeoutMs must be a finite number > 0, got ${describe(visibilityTimeoutMs)}`);
  }
}

/** Shared argument checks for `exchange()` implementations: as `lease()`'s, except that `leaseMax` may be 0 (no lease). */
export function checkExchangeArguments(leaseMax: number, visibilityTimeoutMs: number): void {
  if (!Number.isSafeInteger(leaseMax) || leaseMax < 0) throw new InvalidArgumentError(`exchange(leaseMax): leaseMax must be an integer >= 0, got ${describe(leaseMax)}`);
  if (typeof visibilityTimeoutMs !== 'number' || !Number.isFinite(visibilityTimeoutMs) || visibilityTimeoutMs <= 0) {
    throw new InvalidArgumentError(`exchange(): visibilityTimeoutMs must be a finite number > 0, got ${describe(visibilityTimeoutMs)}`);
  }
}
