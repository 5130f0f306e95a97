import type { Clock } from '../../core/clock/index.js';
import { systemClock } from '../../core/clock/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import * as v from '../validate.js';
import { defaultSizeOf } from './bytes.js';

/** What a full channel does with one more item. */
export type OverflowStrategy = 'block' | 'drop-newest' | 'drop-oldest' | 'sample' | 'reject';
export const overflowStrategies: readonly OverflowStrategy[] = ['block', 'drop-newest', 'drop-oldest', 'sample', 'reject'];

/**
 * Fill level of a channel.
 * - `'normal'`: utilization below the low watermark.
 * - `'elevated'`: at or above the low watermark, below the high one.
 * - `'critical'`: at or above the high watermark, not full.
 * - `'blocked'`: full.
 * - `'draining'`: closed, items still buffered.
 * - `'closed'`: closed and empty.
 */
export type ChannelState = 'normal' | 'elevated' | 'critical' | 'blocked' | 'draining' | 'closed';

/**
 * Why an item was dropped. Every dropped item is counted under exactly one reason.
 * `'spill-failed'`: the item was accepted for a channel's spill store, and the
 * store's `append` carrying it failed.
 * `'too-large'`: with `maxBytes`, the item alone is larger than the byte budget,
 * so it could never be admitted (refused at once, whatever the strategy).
 */
export type DropReason = 'drop-newest' | 'drop-oldest' | 'sample' | 'rejected' | 'timeout' | 'aborted' | 'closed' | 'spill-failed' | 'too-large';
export const dropReasons: readonly DropReason[] = ['drop-newest', 'drop-oldest', 'sample', 'rejected', 'timeout', 'aborted', 'closed', 'spill-failed', 'too-large'];

/** A zero count per drop reason (a literal, so every channel's counters share one hidden class). */
export function newDropCounts(): Record<DropReason, number> {
  return { 'drop-newest': 0, 'drop-oldest': 0, sample: 0, rejected: 0, timeout: 0, aborted: 0, closed: 0, 'spill-failed': 0, 'too-large': 0 };
}

export interface ChannelOptions {
  /**
   * Most items the channel buffers. Producers beyond it meet the overflow strategy.
   * @default 1000
   * @example new Channel({ capacity: 10_000 })
   */
  capacity?: number;
  /**
   * What happens to an item offered while the channel is full.
   * - `'block'`: `send()` waits for room, FIFO among producers; `trySend()` returns false and the item stays yours (not counted).
   * - `'drop-newest'`: the offered item is dropped (reason `'drop-newest'`).
   * - `'drop-oldest'`: the oldest buffered item is evicted (reason `'drop-oldest'`) to make room; the offer always succeeds.
   * - `'sample'`: while at or above the high watermark only every `sampleEvery`-th offer is kept (the others: reason `'sample'`);
   *   an item kept while the channel is full is dropped with reason `'drop-newest'`.
   * - `'reject'`: `send()` rejects with `OverflowError`, `trySend()` returns false (reason `'rejected'`).
   * @default 'block'
   * @example new Channel({ capacity: 100, overflow: 'drop-oldest' })
   */
  overflow?: OverflowStrategy;
  /**
   * Fraction of capacity at which the channel becomes `pressured` (and `'critical'`).
   * @default 0.8
   * @example new Channel({ highWatermark: 0.9, lowWatermark: 0.5 })
   */
  highWatermark?: number;
  /**
   * Fraction of capacity at or below which a pressured channel stops being pressured.
   * The gap between the two watermarks is the hysteresis that keeps upstream from flapping.
   * @default 0.2
   */
  lowWatermark?: number;
  /**
   * Under `'sample'`: keep one in this many offers while at or above the high watermark.
   * @default 10
   */
  sampleEvery?: number;
  /**
   * Under `'block'`: the longest a `send()` waits for room before it resolves false
   * (the item is dropped, reason `'timeout'`). The wait begins when `send()` finds the channel full.
   * A per-call `timeoutMs` overrides it. Not allowed with other strategies.
   * @default undefined (wait until room, abort or close)
   * @example new Channel({ capacity: 100, maxBlockMs: 250 })
   */
  maxBlockMs?: number;
  /**
   * Time source for timeouts and `blockedMs`.
   * @default systemClock
   * @example new Channel({ clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in metrics and on the dashboard.
   * @default 'channel'
   */
  name?: string;
}

/**
 * A byte budget beside the item bound, for `Channel` and `BatchWriter`: items
 * are admitted only while both `capacity` (items) and `maxBytes` (the sum of
 * `sizeOf(item)`) hold.
 */
export interface ByteBudgetOptions<T> {
  /**
   * Most bytes the buffer holds, as the sum of `sizeOf(item)` over buffered
   * items. An offer that would pass it meets the overflow strategy as at
   * capacity (`'block'` waits, `'drop-oldest'` evicts oldest items until it
   * fits, the others drop or reject it). An item larger than `maxBytes`
   * alone is refused at once with drop reason `'too-large'` (`send()`
   * resolves false, `trySend()` returns false), never waits. State, pressure,
   * sampling and `utilization` follow whichever bound is fuller.
   *
   * When it is not set the channel counts items only and pays nothing per
   * item for this option; when it is, every offer and take goes through the
   * channel's slow path (one `sizeOf` call per offer).
   * @default undefined (items only)
   * @example new Channel<string>({ capacity: 100_000, maxBytes: 64 * 1024 * 1024 }) // 64 MB of log lines
   */
  maxBytes?: number;
  /**
   * The size of an item in bytes, with `maxBytes`: a finite number >= 0,
   * called once per offer (a result that is not is an `InvalidOptionError`
   * naming `sizeOf`: `trySend()` throws it, `send()` rejects with it, and
   * nothing is admitted or counted). The default sizes strings (UTF-8 bytes,
   * `Buffer.byteLength`), Buffers, typed arrays, DataViews and ArrayBuffers
   * (`byteLength`); other items need this function (the default's NaN for
   * them is that error).
   * @default UTF-8 / byteLength as above
   * @example new Channel<{ line: string }>({ maxBytes: 64 << 20, sizeOf: (e) => Buffer.byteLength(e.line) + 64 })
   */
  sizeOf?: (item: T) => number;
}

/** Items the default `sizeOf` measures: strings (UTF-8 bytes) and binary data (`byteLength`). */
export type DefaultSized = string | ArrayBufferView | ArrayBuffer;

/**
 * {@link ByteBudgetOptions} as `new Channel()` takes them: for an item type the
 * default `sizeOf` cannot measure, `maxBytes` without `sizeOf` is a type error
 * (at run time, the first such item offered is an `InvalidOptionError` naming `sizeOf`).
 */
export type ByteBudgetInit<T> = [T] extends [DefaultSized]
  ? ByteBudgetOptions<T>
  : { maxBytes?: undefined; sizeOf?: undefined } | { maxBytes: number; sizeOf: (item: T) => number };

export interface ResolvedChannelOptions {
  capacity: number;
  overflow: OverflowStrategy;
  highWatermark: number;
  lowWatermark: number;
  sampleEvery: number;
  maxBlockMs: number | undefined;
  clock: Clock;
  name: string;
  /** undefined: items only (no byte budget). */
  maxBytes: number | undefined;
  /** Set with `maxBytes` (the user's or the default); undefined without. */
  sizeOf: ((item: unknown) => number) | undefined;
}

/** The keys of {@link ChannelOptions}, for the unknown-key check. */
export const channelOptionKeys: v.KnownKeys<ChannelOptions> = {
  capacity: true, overflow: true, highWatermark: true, lowWatermark: true, sampleEvery: true, maxBlockMs: true, clock: true, name: true,
};

/**
 * `known` lists the keys the caller's whole options object may have (a
 * superset of the channel's own), or is null when the caller checked them.
 */
export function resolveChannelOptions(options: ChannelOptions | undefined, known: object | null, prefix = ''): ResolvedChannelOptions {
  const o = v.optionsObject(options, 'Channel', known as v.KnownKeys<ChannelOptions> | null);
  const f = (name: string) => prefix + name;
  const capacity = v.integer(f('capacity'), o.capacity, 1000, { min: 1 });
  const overflow = v.oneOf(f('overflow'), o.overflow, overflowStrategies, 'block');
  const highWatermark = v.number(f('highWatermark'), o.highWatermark, 0.8, { min: 0, max: 1 });
  const lowWatermark = v.number(f('lowWatermark'), o.lowWatermark, Math.min(0.2, highWatermark), { min: 0, max: 1 });
  if (lowWatermark > highWatermark) {
    throw new InvalidOptionError(f('lowWatermark'), lowWatermark, `a fraction <= highWatermark (${highWatermark})`);
  }
  const sampleEvery = v.integer(f('sampleEvery'), o.sampleEvery, 10, { min: 1 });
  const maxBlockMs = v.optionalNumber(f('maxBlockMs'), o.maxBlockMs, { min: 0 });
  if (maxBlockMs !== undefined && overflow !== 'block') {
    throw new InvalidOptionError(f('maxBlockMs'), maxBlockMs, `no value unless overflow is 'block'`, `overflow is '${overflow}'`);
  }
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError(f('clock'), clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name === undefined ? 'channel' : o.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError(f('name'), name, 'a non-empty string');
  // Byte budget keys are read here for every caller; one that does not offer them rejects them as unknown keys first.
  const b = o as ByteBudgetOptions<unknown>;
  const maxBytes = b.maxBytes === undefined ? undefined : checkMaxBytes(b.maxBytes, f('maxBytes'));
  const userSizeOf = v.optionalFunction<(item: unknown) => number>(f('sizeOf'), b.sizeOf);
  if (userSizeOf !== undefined && maxBytes === undefined) {
    throw new InvalidOptionError(f('sizeOf'), userSizeOf, 'no value unless maxBytes is set', 'maxBytes is undefined');
  }
  const sizeOf = maxBytes === undefined ? undefined : (userSizeOf ?? defaultSizeOf);
  return { capacity, overflow, highWatermark, lowWatermark, sampleEvery, maxBlockMs, clock, name, maxBytes, sizeOf };
}

/** `maxBytes` (option or `setMaxBytes()`): an integer >= 1. */
export function checkMaxBytes(maxBytes: unknown, field = 'maxBytes'): number {
  return v.requiredInteger(field, maxBytes, { min: 1 });
}

/**
 * What every `onReconfigure` listener receives, once per setting a runtime
 * call changed (`resize()`, `setWatermarks()`, `setRate()`, `setLimit()`, …):
 * the setting, its value before and its value now. Each component names its
 * settings in its own alias (`ChannelReconfigureEvent`,
 * `TokenBucketReconfigureEvent`, …), so a listener that serves several
 * components can take `ReconfigureEvent`.
 * @example
 * const log = (event: ReconfigureEvent) => console.log(`${event.setting}: ${event.previous} -> ${event.value}`);
 * const queue = new Channel<string>({ capacity: 100 });
 * const pace = new TokenBucket({ ratePerSecond: 50 });
 * queue.onReconfigure(log);
 * pace.onReconfigure(log);
 * queue.resize(50); // logs "capacity: 100 -> 50"
 * pace.setRate(80); // logs "ratePerSecond: 50 -> 80"
 * pace.close();
 */
export interface ReconfigureEvent<Setting extends string = string> {
  setting: Setting;
  previous: number;
  value: number;
}

/**
 * What `onReconfigure` listeners of a channel receive, once per setting a
 * runtime call (`resize()`, `setWatermarks()`, `setMaxBytes()`) changed.
 */
export type ChannelReconfigureEvent = ReconfigureEvent<'capacity' | 'highWatermark' | 'lowWatermark' | 'maxBytes'>;

/** `resize(capacity)`'s argument, checked like the `capacity` option (field `capacity`). */
export function checkCapacity(capacity: unknown): number {
  return v.requiredInteger('capacity', capacity, { min: 1 });
}

/** `setWatermarks(high, low)`'s arguments, checked like the options (fields `highWatermark`, `lowWatermark`). */
export function checkWatermarks(high: unknown, low: unknown): { high: number; low: number } {
  const h = v.requiredNumber('highWatermark', high, { min: 0, max: 1 });
  const l = v.requiredNumber('lowWatermark', low, { min: 0, max: 1 });
  if (l > h) throw new InvalidOptionError('lowWatermark', l, `a fraction <= highWatermark (${h})`);
  return { high: h, low: l };
}

export interface SendOptions {
  /**
   * Aborting, or a signal already aborted when `send()` is called, drops the
   * item (reason `'aborted'`) and rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Under `'block'`: overrides `maxBlockMs` for this call. `0` means "do not wait". */
  timeoutMs?: number;
}

export interface ReceiveOptions {
  /** Aborting, or a signal already aborted at the call, rejects with the signal's reason; no item is taken. */
  signal?: AbortSignal;
}

export interface ReceiveBatchOptions extends ReceiveOptions {
  /** After the first item arrives, how long to wait for the batch to fill. @default 0 */
  maxWaitMs?: number;
}

export interface ChannelStats {
  capacity: number;
  /** Items buffered; with `spill`, those in memory, being written and in the store together. */
  size: number;
  /** Producers waiting for room under `'block'`; their items are not yet `offered`. */
  waiting: number;
  utilization: number;
  state: ChannelState;
  pressured: boolean;
  /** Items whose fate is decided: buffered (now or before) or dropped. */
  offered: number;
  /** Items that entered the buffer, including ones later evicted under `'drop-oldest'`. */
  accepted: number;
  delivered: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Sum over producers of the time each spent waiting for room. */
  blockedMs: number;
  /** How long the producer waiting longest for room has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  /** Times `pressured` turned on. */
  pressureEvents: number;
  /** `resize()`, `setWatermarks()` and `setMaxBytes()` calls that changed a setting (a call that changes nothing is not counted). Only grows. */
  adjustments: number;
  /**
   * Items per second by which the in-memory buffer grows (negative while it
   * drains), measured between `stats()` calls: from the oldest reading of the
   * last 10 s (readings at least 250 ms apart), or from the previous one when
   * that is older. 0 on the first call. Each call records a reading, so any
   * regular reader (a scrape, a dashboard) keeps it current. With
   * `maxBytes`, the rate of the fuller bound's level, in items of capacity
   * (bytes × capacity / maxBytes when the bytes are fuller).
   */
  fillRatePerSec: number;
  /**
   * Milliseconds until the in-memory buffer is full at `fillRatePerSec`:
   * 0 when full, `Infinity` while it is not filling. An alert on it fires
   * before the buffer is full, not at it.
   */
  timeToFullMs: number;
  /** With `maxBytes` only: bytes buffered now (the sum of `sizeOf` over buffered items). */
  bytes?: number;
  /** With `maxBytes` only: the byte budget. */
  maxBytes?: number;
  /** With `maxBytes` only: bytes of every item whose fate is decided; `offeredBytes === deliveredBytes + bytes + droppedBytes`. */
  offeredBytes?: number;
  /** With `maxBytes` only: bytes of the items handed to consumers. */
  deliveredBytes?: number;
  /** With `maxBytes` only: bytes of the dropped items (every reason, evictions included). */
  droppedBytes?: number;
  /** With `spill` only: items in the in-memory buffer (what `utilization` and `state` measure). */
  inMemory?: number;
  /** With `spill` only: items committed to the store and not yet refilled into memory. */
  spilled?: number;
  /** With `spill` only: items accepted for the store whose `append` has not committed yet; held in memory meanwhile. */
  spillWriting?: number;
  /** With `spill` only: true while any item is outside memory, so every new offer goes to the store. */
  spilling?: boolean;
  /** With `spill` only: items found in the store when the channel started (or met there unexpectedly); counted in `offered` and `accepted`. */
  recovered?: number;
  /** With `spill` only: `append` calls made (each carries a whole write batch). */
  spillAppends?: number;
  /** With `spill` only: `lease` calls that brought items back into memory. */
  spillRefills?: number;
  /** With `spill` only: failed store calls (append, lease, ack, size), each also passed to `onSpillError` listeners. */
  spillErrors?: number;
}
