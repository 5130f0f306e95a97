import { resolveChannelOptions, type ByteBudgetOptions, type ChannelOptions, type ChannelState, type DropReason, type ResolvedChannelOptions } from '../../internal/engine/options.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import type { DurableStore } from './store.js';

/**
 * `maxBytes` and `sizeOf` ({@link ByteBudgetOptions}) bound the bytes the
 * channel holds in memory: the items admitted and on their way to the store
 * (`stats().committing`), which a slow or stalled store lets pile up to
 * `capacity`. An offer is admitted only while both `capacity` and `maxBytes`
 * hold; one larger than `maxBytes` is dropped as `'too-large'`. The store's
 * contents are bounded by `capacity` alone (their bytes are in the store,
 * not in this process).
 */
export interface DurableChannelOptions<T> extends ChannelOptions, ByteBudgetOptions<T> {
  /**
   * Where items live. The channel assumes it is the store's only user while it
   * is attached: it counts `size` itself from the store's size at open.
   * @default none (required)
   * @example new DurableChannel({ store: new SqliteStore({ path: 'queue.db' }) }) // SqliteStore from 'sluice/sqlite'
   */
  store: DurableStore<T>;
  /**
   * How long a received item stays invisible to other receivers. An item not
   * acked (or nacked) within it is delivered again: at-least-once delivery.
   * The deadline is kept by the store, so it also covers leases held by a
   * process that died. Choose it above your slowest processing time.
   * @default 30000
   * @example new DurableChannel({ store, visibilityTimeoutMs: 5_000 })
   */
  visibilityTimeoutMs?: number;
  /**
   * Only for stores without `nextVisibleInMs()`: while receivers wait and the
   * store holds unacked items that are not visible (leased or delayed), the
   * channel asks the store again this often.
   * @default 1000
   * @example new DurableChannel({ store, pollIntervalMs: 250 })
   */
  pollIntervalMs?: number;
}

export interface ResolvedDurableOptions<T> extends ResolvedChannelOptions {
  store: DurableStore<T>;
  visibilityTimeoutMs: number;
  pollIntervalMs: number;
}

const storeMethods = ['append', 'lease', 'ack', 'nack', 'size', 'close'] as const;

export function resolveDurableOptions<T>(options: DurableChannelOptions<T>): ResolvedDurableOptions<T> {
  const o = v.optionsObject(options, 'DurableChannel', {
    store: true, visibilityTimeoutMs: true, pollIntervalMs: true, capacity: true, overflow: true, highWatermark: true,
    lowWatermark: true, sampleEvery: true, maxBlockMs: true, clock: true, name: true, maxBytes: true, sizeOf: true,
  });
  const store = o.store;
  if (store === null || typeof store !== 'object' || storeMethods.some((m) => typeof store[m] !== 'function')) {
    throw new InvalidOptionError('store', store, `a DurableStore with ${storeMethods.join('(), ')}()`);
  }
  const channel = resolveChannelOptions({ ...o, name: o.name ?? 'durable-channel' }, null);
  if (channel.overflow === 'drop-oldest' && typeof store.dropOldest !== 'function') {
    throw new InvalidOptionError('overflow', channel.overflow, 'a strategy other than drop-oldest for this store', 'the store has no dropOldest()');
  }
  const visibilityTimeoutMs = v.number('visibilityTimeoutMs', o.visibilityTimeoutMs, 30_000, { min: 0, minExclusive: true });
  const pollIntervalMs = v.number('pollIntervalMs', o.pollIntervalMs, 1000, { min: 1 });
  return { ...channel, store, visibilityTimeoutMs, pollIntervalMs };
}

export interface DurableSendOptions {
  /**
   * Aborting while the send waits for room (`'block'`) drops the item (reason
   * `'aborted'`) and rejects with the signal's reason. Once the item has joined
   * a commit the abort is ignored: the send settles with the commit's outcome.
   */
  signal?: AbortSignal;
  /** Under `'block'`: overrides `maxBlockMs` for this call. `0` means "do not wait". */
  timeoutMs?: number;
}

export interface DurableReceiveOptions {
  /** Aborting rejects with the signal's reason; items leased for the call go back to the store. */
  signal?: AbortSignal;
}

export interface DurableChannelStats {
  capacity: number;
  /** Unacked items in the store: visible, leased and delayed. */
  size: number;
  /** Items admitted and waiting for (or in) a commit; they count toward capacity but not yet `offered`. */
  committing: number;
  /** Producers waiting for room under `'block'`; their items are not yet `offered`. */
  waiting: number;
  /** Receivers waiting for an item. */
  receiving: number;
  /** `(size + committing) / capacity`. */
  utilization: number;
  state: ChannelState;
  pressured: boolean;
  /** Unacked items found in the store when the channel opened. */
  recovered: number;
  /** Items whose fate is decided: committed to the store, or dropped. */
  offered: number;
  /** Items committed to the store by this channel. */
  accepted: number;
  /** Leases handed to receivers, redeliveries included. */
  delivered: number;
  /** Deliveries of an item leased before (its lease expired or it was nacked). */
  redelivered: number;
  /** Items removed by `ack()`. */
  acked: number;
  nacked: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Store commits of sent items (`append` calls, or `exchange` calls that carried sends). Far fewer than `accepted` under concurrency: group commit. */
  commits: number;
  /**
   * Store calls that committed acks (`ack`, `ackAndLease`, or `exchange`
   * calls that carried acks); concurrent acks share one. An ack that also
   * leases counts here, not in `leases`; an exchange that carried sends and
   * acks counts here and in `commits`.
   */
  ackCommits: number;
  /** Store `lease` calls (over a store with `exchange`: exchanges that only leased). */
  leases: number;
  /** Sum over producers of the time each spent waiting for room. */
  blockedMs: number;
  /** How long the producer waiting longest for room has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  /** Times `pressured` turned on. */
  pressureEvents: number;
  /** `resize()`, `setWatermarks()` and `setMaxBytes()` calls that changed a setting. Only grows. */
  adjustments: number;
  /** With `maxBytes` only: bytes of the items committing now (in memory, on their way to the store); what `maxBytes` bounds. */
  bytes?: number;
  /** With `maxBytes` only: the byte budget. */
  maxBytes?: number;
  /**
   * With `maxBytes` only: bytes of the items whose fate is decided (committed
   * or dropped), as `offered`. At every moment `offeredBytes === acceptedBytes + droppedBytes`;
   * committing items are not yet offered, and a failed commit's items never are.
   */
  offeredBytes?: number;
  /** With `maxBytes` only: bytes of the items committed to the store (`accepted`). */
  acceptedBytes?: number;
  /** With `maxBytes` only: bytes of `dropped`, every reason (`too-large` included). */
  droppedBytes?: number;
  /** Items per second by which `occupied` (held plus committing) grows; as `Channel`'s `fillRatePerSec`. */
  fillRatePerSec: number;
  /** Milliseconds until the channel is full at `fillRatePerSec`: 0 when full, `Infinity` while not filling. */
  timeToFullMs: number;
}
