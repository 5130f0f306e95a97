import { ErrorCode, InvalidArgumentError, InvalidOptionError, SluiceError, withCode } from '../errors/index.js';
import { RingBuffer } from '../../internal/ring-buffer.js';
import * as v from '../../internal/validate.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import type { Publisher, Subscriber, Subscription } from './types.js';

export interface ToAsyncIterableOptions {
  /**
   * Items requested up front with the first `next()`, and the most ever
   * outstanding: requested but not yet handed to the consumer. It bounds the
   * buffer (Reactor's `limitRate` high tide).
   * @default 256
   * @example toAsyncIterable(publisher, { prefetch: 32 })
   */
  prefetch?: number;
  /**
   * After this many items have been handed to the consumer, request that many
   * more (Reactor's `limitRate` low tide). Smaller values top up more often in
   * smaller requests; `prefetch` waits until everything requested was consumed.
   * Must be between 1 and `prefetch`.
   * @default prefetch - Math.floor(prefetch / 4) (75% of prefetch)
   * @example toAsyncIterable(publisher, { prefetch: 100, lowTide: 50 }) // request(100), then request(50) per 50 consumed
   */
  lowTide?: number;
  /**
   * Stops the iteration when it fires: the subscription is cancelled, buffered
   * items are discarded, and pending and later `next()` calls reject with `signal.reason`.
   * @default undefined
   * @example toAsyncIterable(publisher, { signal: AbortSignal.timeout(5_000) })
   */
  signal?: AbortSignal;
}

export type PublisherIteratorState = 'idle' | 'active' | 'completed' | 'errored' | 'cancelled';

export interface PublisherIteratorStats {
  prefetch: number;
  lowTide: number;
  /** `'idle'` until the first `next()` subscribes; `'completed'`/`'errored'` once upstream ended, even if items are still buffered. */
  state: PublisherIteratorState;
  /** Items received and not yet handed out; never more than `prefetch`. */
  buffered: number;
  /** `next()` calls waiting for an item. */
  waiting: number;
  /** Sum of the `request(n)` calls made upstream. */
  requested: number;
  /** Number of `request(n)` calls made upstream. */
  requestCalls: number;
  /** `onNext` signals accepted. */
  received: number;
  /** Items handed to the consumer by `next()`. */
  delivered: number;
  /** Items thrown away: buffered at `return()` or abort, or arriving after cancellation. */
  discarded: number;
}

interface PendingRead<T> extends ListNode<PendingRead<T>> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true as const });
const DONE = Promise.resolve(DONE_RESULT);

/**
 * An async iterator over a {@link Publisher}, made by {@link toAsyncIterable}.
 * It is its own iterable, so it can be used once in `for await`.
 */
export class PublisherIterator<T> implements AsyncIterableIterator<T> {
  readonly prefetch: number;
  readonly lowTide: number;
  private readonly publisher: Publisher<T>;
  private readonly signal: AbortSignal | undefined;
  private readonly buffer: RingBuffer<T>;
  private readonly readers = new WaiterList<PendingRead<T>>();
  private readonly subscriber: Subscriber<T>;
  private readonly onAbort = () => this.abort();
  private subscription: Subscription | undefined;
  private phase: PublisherIteratorState = 'idle';
  /** An upstream error or abort reason not yet handed to a `next()` call. */
  private failurePending = false;
  private failure: unknown = undefined;
  private listening = false;
  /** Requested upstream and not yet received; onNext beyond it breaks rule 1.1. */
  private outstanding = 0;
  private consumedSinceRequest = 0;
  private requestedTotal = 0;
  private requestCalls = 0;
  private received = 0;
  private delivered = 0;
  private discarded = 0;

  constructor(publisher: Publisher<T>, options?: ToAsyncIterableOptions) {
    if (publisher === null || (typeof publisher !== 'object' && typeof publisher !== 'function') || typeof publisher.subscribe !== 'function') {
      throw new InvalidArgumentError('toAsyncIterable(publisher): publisher must have a subscribe() method');
    }
    const o = v.optionsObject(options, 'toAsyncIterable', { prefetch: true, lowTide: true, signal: true });
    this.prefetch = v.integer('prefetch', o.prefetch, 256, { min: 1 });
    this.lowTide = v.integer('lowTide', o.lowTide, this.prefetch - Math.floor(this.prefetch / 4), { min: 1, max: this.prefetch });
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
      throw new InvalidOptionError('signal', o.signal, 'an AbortSignal');
    }
    this.signal = o.signal;
    this.publisher = publisher;
    this.buffer = new RingBuffer<T>(Math.min(this.prefetch, 1024));
    this.subscriber = {
      onSubscribe: (subscription) => this.handleSubscribe(subscription),
      onNext: (item) => this.handleNext(item),
      onError: (error) => this.handleEnd('errored', error),
      onComplete: () => this.handleEnd('completed', undefined),
    };
  }

  /**
   * Resolves with the next item, waiting for one if the buffer is empty. The
   * first call subscribes and requests `prefetch` items; every `lowTide`
   * items handed out trigger a `request(lowTide)`. Buffered items come before
   * an upstream error, which rejects one call; later calls resolve `done`.
   *
   * Abort safety: when `signal` fires, the subscription is cancelled and
   * buffered items are discarded; pending calls reject with `signal.reason`,
   * and if none was pending the next call does; after that, calls resolve `done`.
   */
  next(): Promise<IteratorResult<T>> {
    if (this.phase === 'idle') this.start();
    if (this.buffer.length !== 0) return Promise.resolve(this.take());
    if (this.phase === 'active') {
      return new Promise((resolve, reject) => {
        this.readers.push({ prev: undefined, next: undefined, linked: false, resolve, reject });
      });
    }
    this.stopListening();
    if (this.failurePending) {
      const failure = this.failure;
      this.failurePending = false;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    return DONE;
  }

  /**
   * Cancels the subscription (if upstream is still live), discards buffered
   * items and resolves pending `next()` calls with `done`. `for await` calls
   * it on `break`, `return` and `throw`. Idempotent.
   *
   * Abort safety: settles at once and never rejects; once it ran, a later abort of `signal` changes nothing.
   */
  return(): Promise<IteratorResult<T>> {
    if (this.phase === 'idle' || this.phase === 'active') {
      this.phase = 'cancelled';
      this.subscription?.cancel();
    }
    this.stopListening();
    this.discardBuffer();
    this.failurePending = false;
    this.failure = undefined;
    for (let r = this.readers.shift(); r; r = this.readers.shift()) r.resolve(DONE_RESULT);
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stats(): PublisherIteratorStats {
    return {
      prefetch: this.prefetch,
      lowTide: this.lowTide,
      state: this.phase,
      buffered: this.buffer.length,
      waiting: this.readers.size,
      requested: this.requestedTotal,
      requestCalls: this.requestCalls,
      received: this.received,
      delivered: this.delivered,
      discarded: this.discarded,
    };
  }

  private start(): void {
    this.phase = 'active';
    const signal = this.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.abort();
        return;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
      this.listening = true;
    }
    try {
      this.publisher.subscribe(this.subscriber);
    } catch (error) {
      this.handleEnd('errored', error);
    }
  }

  private take(): IteratorResult<T> {
    const value = this.buffer.shift();
    this.delivered++;
    this.consumed();
    return { value, done: false };
  }

  /** Tops up demand once `lowTide` items have left; keeps requested-but-undelivered <= prefetch. */
  private consumed(): void {
    if (++this.consumedSinceRequest !== this.lowTide) return;
    this.consumedSinceRequest = 0;
    if (this.phase === 'active' && this.subscription !== undefined) this.requestUpstream(this.lowTide);
  }

  private requestUpstream(n: number): void {
    this.outstanding += n;
    this.requestedTotal += n;
    this.requestCalls++;
    this.subscription!.request(n);
  }

  private handleSubscribe(subscription: Subscription): void {
    if (subscription === null || subscription === undefined) {
      throw withCode(new TypeError('onSubscribe(subscription): subscription must not be null or undefined (Reactive Streams rule 2.13)'), ErrorCode.invalidArgument);
    }
    // A second subscription, or one arriving after return(): refuse it (rule 2.5).
    if (this.subscription !== undefined || this.phase !== 'active') {
      subscription.cancel();
      return;
    }
    this.subscription = subscription;
    this.requestUpstream(this.prefetch);
  }

  private handleNext(item: T): void {
    if (this.phase !== 'active') {
      this.discarded++; // arrived after cancel (rule 2.8) or from a publisher that broke rule 1.7
      return;
    }
    if (this.outstanding === 0) {
      this.violation(new SluiceError(ErrorCode.protocol, 'The publisher signalled onNext beyond the requested demand (Reactive Streams rule 1.1)'));
      return;
    }
    if (item === null || item === undefined) {
      this.violation(withCode(new TypeError(`The publisher signalled onNext(${String(item)}) (Reactive Streams rule 2.13)`), ErrorCode.invalidItem));
      return;
    }
    this.outstanding--;
    this.received++;
    // Readers wait only while the buffer is empty, so handing over directly keeps order.
    const reader = this.readers.shift();
    if (reader === undefined) {
      this.buffer.push(item);
      return;
    }
    this.delivered++;
    reader.resolve({ value: item, done: false });
    this.consumed();
  }

  /** Upstream completed or failed. Buffered items are still handed out first. */
  private handleEnd(phase: 'completed' | 'errored', error: unknown): void {
    if (this.phase !== 'active') return;
    this.phase = phase;
    if (phase === 'errored') {
      this.failurePending = true;
      this.failure = error;
    }
    this.settleReaders();
  }

  private violation(error: Error): void {
    this.subscription?.cancel();
    this.handleEnd('errored', error);
  }

  private abort(): void {
    if (this.phase === 'cancelled') return;
    if (this.phase === 'active') this.subscription?.cancel();
    this.phase = 'cancelled';
    this.stopListening();
    this.discardBuffer();
    this.failurePending = true;
    this.failure = this.signal!.reason;
    this.settleReaders();
  }

  /** Pending reads exist only while the buffer is empty: each gets the failure, or `done`. */
  private settleReaders(): void {
    if (this.readers.size === 0) return;
    this.stopListening();
    const failed = this.failurePending;
    const failure = this.failure;
    this.failurePending = false;
    this.failure = undefined;
    for (let r = this.readers.shift(); r; r = this.readers.shift()) {
      if (failed) r.reject(failure);
      else r.resolve(DONE_RESULT);
    }
  }

  private discardBuffer(): void {
    this.discarded += this.buffer.length;
    while (this.buffer.length !== 0) this.buffer.shift();
  }

  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.signal!.removeEventListener('abort', this.onAbort);
  }
}

/**
 * Consumes a {@link Publisher} with `for await`, requesting in batches like
 * Reactor's `limitRate(prefetch, lowTide)`: `request(prefetch)` on the first
 * `next()`, then `request(lowTide)` each time `lowTide` more items have been
 * handed out. At most `prefetch` items are ever requested and not yet
 * consumed, so the buffer stays bounded by `prefetch`. Breaking out of the
 * loop cancels the subscription; `onError` rejects a `next()`.
 *
 * @throws InvalidArgumentError when `publisher` has no `subscribe()`;
 *   InvalidOptionError for a bad `prefetch`, `lowTide` or `signal`.
 * @example
 * for await (const row of toAsyncIterable(publisherFrom(rows), { prefetch: 64 })) {
 *   await save(row);
 * }
 */
export function toAsyncIterable<T>(publisher: Publisher<T>, options?: ToAsyncIterableOptions): PublisherIterator<T> {
  return new PublisherIterator(publisher, options);
}
