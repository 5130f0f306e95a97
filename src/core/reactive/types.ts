// The three Reactive Streams interfaces (reactive-streams.org, JVM spec 1.0.4),
// translated to TypeScript: `long` becomes `number`, `Throwable` becomes `unknown`.
// Rule numbers in the docs below refer to that specification.

/**
 * The link between one {@link Subscriber} and one {@link Publisher}. The
 * subscriber uses it to signal demand and to stop the flow.
 */
export interface Subscription {
  /**
   * Adds `n` to the outstanding demand: the publisher may now signal up to
   * that many more `onNext`. Demand accumulates across calls (rule 3.17); once
   * it reaches `Number.MAX_SAFE_INTEGER`, or when `n` is `Infinity`, it is
   * unbounded. Safe to call from inside `onNext` and `onSubscribe` (rules 3.2, 3.3).
   * An `n` that is not a positive integer makes the publisher signal `onError`
   * with a `RangeError` (rule 3.9). After `cancel()` or a terminal signal it does nothing (rule 3.6).
   * @example subscription.request(64)
   */
  request(n: number): void;
  /**
   * Asks the publisher to stop and release the source. Idempotent (rule 3.7).
   * An item already being fetched when `cancel()` runs may still arrive (rule 2.8).
   */
  cancel(): void;
}

/**
 * Receives the signals of one subscription, in the order
 * `onSubscribe onNext* (onError | onComplete)?`, one at a time (rule 1.3).
 */
export interface Subscriber<T> {
  /** First signal, exactly once (rule 1.9). No `onNext` arrives until the subscriber calls `request(n)`. */
  onSubscribe(subscription: Subscription): void;
  /** One item; never more in total than requested (rule 1.1). */
  onNext(item: T): void;
  /** Terminal: the source failed or the subscriber broke a rule (e.g. 3.9). Nothing follows (rule 1.7). */
  onError(error: unknown): void;
  /** Terminal: the source ended. Nothing follows (rule 1.7). May come without any request (rule 2.9). */
  onComplete(): void;
}

/** A source of items that are pushed to each subscriber only as fast as it asks for them. */
export interface Publisher<T> {
  /**
   * Connects `subscriber`; the first signal it receives is `onSubscribe` (rule 1.9).
   * @throws TypeError when `subscriber` is null or undefined (rule 1.9).
   */
  subscribe(subscriber: Subscriber<T>): void;
}
