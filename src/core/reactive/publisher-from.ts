import { ErrorCode, InvalidArgumentError, withCode } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { SourceKind, SourceSubscription, type ChannelLike, type SourceCounters } from './source-subscription.js';
import type { Publisher, Subscriber } from './types.js';

export type { ChannelLike } from './source-subscription.js';

/** Anything `publisherFrom` can read: an async iterable, a sync iterable, or a Channel (or its `receiver`). */
export type PublisherSource<T> = AsyncIterable<T> | Iterable<T> | ChannelLike<T>;

export interface PublisherFromOptions {
  /**
   * Receives errors that have no subscriber left to take them: a subscriber
   * method threw (the subscription then counts as cancelled, rule 2.13), or
   * the source failed while being cancelled (an async iterator's `return()`
   * rejected, or a pull in flight at cancel time failed). Called when the
   * error occurs.
   * @default rethrows in a microtask, so the error surfaces as an uncaught exception
   * @example publisherFrom(rows, { onDroppedError: (error) => logger.warn({ error }, 'reactive: dropped error') })
   */
  onDroppedError?: (error: unknown) => void;
}

export interface SourcePublisherStats {
  /** `subscribe()` calls accepted. */
  subscriptions: number;
  /** Subscriptions not yet completed, errored or cancelled. */
  active: number;
  /** Sum of every valid `request(n)`; `Infinity` once any request was unbounded. */
  requested: number;
  /** `onNext` signals, over all subscriptions. */
  emitted: number;
  completed: number;
  errored: number;
  /** Cancelled by the subscriber, or because one of its methods threw. */
  cancelled: number;
  /** Errors handed to `onDroppedError`. */
  droppedErrors: number;
}

/**
 * A {@link Publisher} over an iterable or a Channel. Made by {@link publisherFrom}.
 *
 * Each `subscribe()` starts an independent subscription: an iterable is
 * iterated afresh (`[Symbol.iterator]()` / `[Symbol.asyncIterator]()` is called
 * on the first request), while subscribers of one Channel compete for its items.
 */
export class SourcePublisher<T> implements Publisher<T> {
  private readonly kind: SourceKind;
  private readonly dropError: (error: unknown) => void;
  private readonly counters: SourceCounters = {
    subscriptions: 0,
    active: 0,
    requested: 0,
    emitted: 0,
    completed: 0,
    errored: 0,
    cancelled: 0,
    droppedErrors: 0,
  };

  constructor(
    private readonly source: PublisherSource<T>,
    options?: PublisherFromOptions,
  ) {
    this.kind = sourceKind(source);
    const o = v.optionsObject(options, 'publisherFrom', { onDroppedError: true });
    const onDroppedError = v.optionalFunction<(error: unknown) => void>('onDroppedError', o.onDroppedError) ?? rethrowLater;
    this.dropError = (error) => {
      this.counters.droppedErrors++;
      onDroppedError(error);
    };
  }

  /**
   * Signals `onSubscribe` at once, synchronously. Items flow only as the
   * subscriber requests them: the source is read one item per unit of demand,
   * never ahead. A synchronous source is read on the caller's stack inside
   * `request()`; an asynchronous one as each pull resolves. `onComplete` is
   * signalled when a read finds the source finished (an array: right after
   * its last item, even without further demand), `onError` when a read throws.
   * @throws TypeError when `subscriber` is null or undefined (rule 1.9).
   */
  subscribe(subscriber: Subscriber<T>): void {
    if (subscriber === null || subscriber === undefined) {
      throw withCode(new TypeError('subscribe(subscriber): subscriber must not be null or undefined (Reactive Streams rule 1.9)'), ErrorCode.invalidArgument);
    }
    this.counters.subscriptions++;
    this.counters.active++;
    new SourceSubscription<T>(this.kind, this.source, subscriber, this.counters, this.dropError).start();
  }

  stats(): SourcePublisherStats {
    return { ...this.counters };
  }
}

/**
 * Wraps `source` as a Reactive Streams {@link Publisher} that reads it only
 * as far as subscribers have requested: the backpressure of `request(n)`.
 *
 * - A sync iterable (an array, a `Set`, a generator...) is read synchronously
 *   inside `request()`; arrays by index, allocating nothing per item.
 * - An async iterable is read one `next()` at a time; promises are awaited, never overlapped.
 * - A Channel (anything with `tryReceive()`, `receive()` and `closed`, such as
 *   `channel.receiver`) is read with `tryReceive()` while it has items and
 *   `receive()` when empty; it completes once the channel is closed and drained.
 *
 * `null` and `undefined` items end the subscription with a `TypeError` (rule 2.13).
 * `cancel()` calls the iterator's `return()`, so a generator's `finally` runs.
 *
 * @throws InvalidArgumentError when `source` is none of the above.
 * @example
 * const publisher = publisherFrom(channel);
 * publisher.subscribe({
 *   onSubscribe: (s) => s.request(10),
 *   onNext: (item) => console.log(item),
 *   onError: (error) => console.error(error),
 *   onComplete: () => console.log('done'),
 * });
 */
export function publisherFrom<T>(source: PublisherSource<T>, options?: PublisherFromOptions): SourcePublisher<T> {
  return new SourcePublisher(source, options);
}

function sourceKind(source: unknown): SourceKind {
  if (source !== null && (typeof source === 'object' || typeof source === 'function')) {
    const s = source as Record<PropertyKey, unknown>;
    // Checked before the iterables: a Channel is async-iterable too, but tryReceive() skips a promise per buffered item.
    if (typeof s.tryReceive === 'function' && typeof s.receive === 'function' && 'closed' in s) return SourceKind.channel;
    if (Array.isArray(source)) return SourceKind.array;
    if (typeof s[Symbol.asyncIterator] === 'function') return SourceKind.async;
    if (typeof s[Symbol.iterator] === 'function') return SourceKind.sync;
  } else if (typeof source === 'string') {
    return SourceKind.sync;
  }
  throw new InvalidArgumentError(
    `publisherFrom(source): source must be an async iterable, an iterable or a Channel, got ${source === null ? 'null' : typeof source}`,
  );
}

function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
