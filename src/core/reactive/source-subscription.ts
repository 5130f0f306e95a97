import type { Subscriber, Subscription } from './types.js';
import { describe } from '../../internal/describe.js';
import { ErrorCode, withCode } from '../errors/index.js';

/**
 * The part of a Channel (or its `receiver` view) that `publisherFrom` uses:
 * the non-blocking fast path, the waiting path, and whether it has ended.
 */
export interface ChannelLike<T> {
  tryReceive(): T | undefined;
  receive(options?: { signal?: AbortSignal }): Promise<T | undefined>;
  readonly closed: boolean;
}

/** How a subscription reads its source. Arrays get an index loop; it allocates nothing per item. */
export const SourceKind = { array: 0, sync: 1, async: 2, channel: 3 } as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];

/** Counters shared by every subscription of one publisher; `stats()` copies them. */
export interface SourceCounters {
  subscriptions: number;
  active: number;
  requested: number;
  emitted: number;
  completed: number;
  errored: number;
  cancelled: number;
  droppedErrors: number;
}

const ACTIVE = 0;
/** `cancel()` ran while a pull was in flight; its item may still be delivered (rule 2.8). */
const CANCELLED = 1;
const DONE = 2;

/** Marks "no item right now": the source ended, or an asynchronous pull started. */
const NOTHING: unique symbol = Symbol('nothing');

/** Demand at or beyond this is unbounded (rule 3.17); stored as Infinity so decrements cannot overflow. */
const UNBOUNDED_FROM = Number.MAX_SAFE_INTEGER;

/**
 * One subscriber's view of a source. All signals go through {@link drain},
 * a loop guarded by the `draining` flag: a `request(n)` made while it runs
 * (from inside `onNext`, say) only adds demand, and the running loop picks it
 * up. That keeps recursion depth at one (rule 3.3) and signals serial (rule 1.3).
 */
export class SourceSubscription<T> implements Subscription {
  private draining = false;
  private state = ACTIVE;
  private demand = 0;
  /** An asynchronous pull (iterator `next()` or channel `receive()`) is in flight. */
  private pending = false;
  private sourceEnded = false;
  /** The iterator finished, failed, or was told to `return()`: never touch it again. */
  private sourceReleased = false;
  private hasFailure = false;
  private failure: unknown = undefined;
  private index = 0;
  private iterator: Iterator<T> | AsyncIterator<T> | undefined;
  private controller: AbortController | undefined;
  private receiveOptions: { signal: AbortSignal } | undefined;
  private readonly onPulled: (result: IteratorResult<T>) => void;
  private readonly onReceived: (item: T | undefined) => void;
  private readonly onPullFailed: (error: unknown) => void;

  constructor(
    private readonly kind: SourceKind,
    private readonly source: unknown,
    private readonly subscriber: Subscriber<T>,
    private readonly counters: SourceCounters,
    private readonly dropError: (error: unknown) => void,
  ) {
    // Bound once per subscription so an asynchronous pull allocates only its promise.
    this.onPulled = (result) => this.settle(result.done === true, result.value);
    this.onReceived = (item) => this.settle(item === undefined, item);
    this.onPullFailed = (error) => this.settleFailed(error);
  }

  /** Signals `onSubscribe`, then serves whatever demand it created. */
  start(): void {
    // Held during onSubscribe so a request() made there cannot nest onNext inside it (rule 1.3).
    this.draining = true;
    try {
      this.subscriber.onSubscribe(this);
    } catch (error) {
      this.draining = false;
      this.subscriberFailed(error);
      return;
    }
    this.draining = false;
    this.drain();
  }

  request(n: number): void {
    if (this.state !== ACTIVE) return; // rule 3.6
    if (typeof n !== 'number' || !(n > 0) || !(Number.isInteger(n) || n === Infinity)) {
      this.fail(
        withCode(
          new RangeError(
            `request(n): n must be a positive integer, got ${describe(n)} ` +
              '(Reactive Streams rule 3.9: request with a non-positive number MUST signal onError)',
          ),
          ErrorCode.invalidArgument,
        ),
      );
      this.drain();
      return;
    }
    this.counters.requested += n;
    this.demand = n >= UNBOUNDED_FROM - this.demand ? Infinity : this.demand + n;
    this.drain();
  }

  cancel(): void {
    if (this.state !== ACTIVE) return;
    this.state = this.pending ? CANCELLED : DONE;
    this.counters.active--;
    this.counters.cancelled++;
    this.releaseSource();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    while (this.state === ACTIVE && !this.pending) {
      if (this.hasFailure) {
        this.signalError(this.failure);
        break;
      }
      if (this.kind === SourceKind.array && this.index >= (this.source as readonly T[]).length) this.sourceEnded = true;
      if (this.sourceEnded) {
        this.signalComplete();
        break;
      }
      if (this.demand === 0) break;
      let item: unknown;
      try {
        item = this.pullNow();
      } catch (error) {
        // A throwing iterator is finished; the protocol does not call return() on it.
        this.sourceReleased = true;
        this.signalError(error);
        break;
      }
      if (item !== NOTHING) this.deliver(item as T);
    }
    this.draining = false;
  }

  /** Takes one item if the source has it now; otherwise notes the end or starts an asynchronous pull. */
  private pullNow(): T | typeof NOTHING {
    switch (this.kind) {
      case SourceKind.array:
        return (this.source as readonly T[])[this.index++] as T;
      case SourceKind.sync: {
        const iterator = (this.iterator ??= (this.source as Iterable<T>)[Symbol.iterator]()) as Iterator<T>;
        const result = iterator.next();
        if (result.done) {
          this.sourceEnded = true;
          this.sourceReleased = true;
          return NOTHING;
        }
        return result.value;
      }
      case SourceKind.async: {
        const iterator = (this.iterator ??= (this.source as AsyncIterable<T>)[Symbol.asyncIterator]()) as AsyncIterator<T>;
        const next = iterator.next();
        this.pending = true;
        Promise.resolve(next).then(this.onPulled, this.onPullFailed);
        return NOTHING;
      }
      default: {
        const channel = this.source as ChannelLike<T>;
        const item = channel.tryReceive();
        if (item !== undefined) return item;
        if (channel.closed) {
          this.sourceEnded = true;
          return NOTHING;
        }
        this.receiveOptions ??= { signal: (this.controller = new AbortController()).signal };
        const received = channel.receive(this.receiveOptions);
        this.pending = true;
        received.then(this.onReceived, this.onPullFailed);
        return NOTHING;
      }
    }
  }

  private deliver(item: T): void {
    if (item === null || item === undefined) {
      this.fail(withCode(new TypeError(`The source produced ${String(item)} (Reactive Streams rule 2.13: onNext items MUST NOT be null)`), ErrorCode.invalidItem));
      return;
    }
    this.demand--;
    this.counters.emitted++;
    try {
      this.subscriber.onNext(item);
    } catch (error) {
      this.subscriberFailed(error);
    }
  }

  /** An asynchronous pull finished with an item, or with the end of the source. */
  private settle(ended: boolean, item: T | undefined): void {
    this.pending = false;
    if (this.state === DONE) return;
    if (this.state === CANCELLED) {
      this.state = DONE;
      // Already taken from the source and covered by demand: hand it over rather than lose it (rule 2.8).
      if (!ended && item !== null && item !== undefined) {
        this.counters.emitted++;
        try {
          this.subscriber.onNext(item);
        } catch (error) {
          this.dropError(error);
        }
      }
      return;
    }
    if (ended) {
      this.sourceEnded = true;
      this.sourceReleased = true;
    } else {
      this.draining = true;
      this.deliver(item as T);
      this.draining = false;
    }
    this.drain();
  }

  private settleFailed(error: unknown): void {
    this.pending = false;
    const ownAbort = this.controller !== undefined && error === this.controller.signal.reason;
    if (this.state === ACTIVE && !this.hasFailure) {
      this.sourceReleased = true;
      this.hasFailure = true;
      this.failure = error;
    } else {
      if (this.state === CANCELLED) this.state = DONE;
      // Nobody is left to receive it, but it must not vanish.
      if (!ownAbort) this.dropError(error);
    }
    this.drain();
  }

  /** Records a failure and stops the source; `drain` signals it once no pull is in flight. */
  private fail(error: unknown): void {
    if (!this.hasFailure) {
      this.hasFailure = true;
      this.failure = error;
    }
    this.releaseSource();
  }

  private signalError(error: unknown): void {
    this.state = DONE;
    this.counters.active--;
    this.counters.errored++;
    this.releaseSource();
    try {
      this.subscriber.onError(error);
    } catch (thrown) {
      this.dropError(thrown);
    }
  }

  private signalComplete(): void {
    this.state = DONE;
    this.counters.active--;
    this.counters.completed++;
    try {
      this.subscriber.onComplete();
    } catch (thrown) {
      this.dropError(thrown);
    }
  }

  /** A subscriber method threw: the subscription counts as cancelled (rule 2.13) and the error is reported. */
  private subscriberFailed(error: unknown): void {
    if (this.state === ACTIVE) {
      this.state = DONE;
      this.counters.active--;
      this.counters.cancelled++;
    }
    this.releaseSource();
    this.dropError(error);
  }

  /** Lets the source clean up: `return()` runs a generator's `finally`; a channel wait is aborted. */
  private releaseSource(): void {
    if (this.sourceReleased) return;
    this.sourceReleased = true;
    if (this.kind === SourceKind.channel) {
      this.controller?.abort();
      return;
    }
    const iterator = this.iterator;
    if (iterator === undefined || typeof iterator.return !== 'function') return;
    try {
      const done = iterator.return();
      if (this.kind === SourceKind.async) Promise.resolve(done).then(undefined, this.dropError);
    } catch (error) {
      this.dropError(error);
    }
  }
}
