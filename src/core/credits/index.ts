import { systemClock, type Clock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { AcquireQueue, checkAmount, resolveClock, RESOLVED_VOID } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { describe } from '../../internal/describe.js';

const acquireSpec: v.CallOptionSpec<CreditsAcquireOptions> = { signal: 'signal' };

export interface CreditsOptions {
  /**
   * Credits the producer holds at the start: how many items it may send before
   * the consumer grants more. An integer >= 0; with 0 nothing moves until the
   * first `grant()`.
   * @example new Credits({ initial: 100 }) // consumer has room for 100 items
   */
  initial: number;
  /**
   * Most credits the balance can hold. A `grant()` that would go beyond it is
   * capped and the excess is counted in `stats().discarded`; this stops a
   * consumer that grants twice for one item from inflating the window. Also
   * the largest `n` one call may ask for. An integer >= max(1, initial).
   * @default Infinity (no cap)
   * @example new Credits({ initial: 100, max: 100 })
   */
  max?: number;
  /**
   * Longest one `acquire()` waits for credits. A wait that reaches it leaves
   * the queue, spends nothing and rejects with a `DOMException` named
   * `TimeoutError` (code 23, `TIMEOUT_ERR`), as `AbortSignal.timeout()` does;
   * the waiters behind it are then served if the balance covers them. A call
   * that does not wait starts no timer. A finite number > 0 (ms). The config
   * file's `flow_control.credit_timeout`.
   * @default undefined (waits until credits arrive, the signal aborts or it is closed)
   * @example new Credits({ initial: 1000, acquireTimeoutMs: 30_000 })
   */
  acquireTimeoutMs?: number;
  /**
   * Replenish threshold: while `available` is below it the Credits is "low"
   * (`stats().low`), and each time the balance falls below it the
   * {@link Credits.onLow} listeners run, so the consumer can grant the next
   * batch before producers run dry (as AMQP prefetch or Reactive Streams
   * `request(n)` refill). It does not limit producers: they wait only when
   * they have no credits. An integer >= 0 and <= `max`; 0 means never low.
   * The config file's `flow_control.min_credits`.
   * @default 0 (never low)
   * @example
   * const buffer: unknown[] = []; // the consumer's buffer, room for 1000
   * const credits = new Credits({ initial: 1000, max: 1000, minCredits: 100 });
   * // refill to the consumer's free room before producers run dry
   * credits.onLow(() => credits.grant(1000 - buffer.length - credits.available));
   */
  minCredits?: number;
  /**
   * Time source for `starvationMs` and `acquireTimeoutMs`.
   * @default systemClock
   * @example new Credits({ initial: 0, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface CreditsAcquireOptions {
  /** Aborting while waiting rejects with `signal.reason` and takes no credits. */
  signal?: AbortSignal;
}

export interface CreditsStats {
  available: number;
  max: number;
  /** Credits added by `grant()` (after the cap). */
  granted: number;
  /** Credits `grant()` could not add because the balance was at `max`. */
  discarded: number;
  /** Credits taken by producers (the sum of `n` over successful calls). */
  acquired: number;
  /** `acquire()` calls waiting for credits now. */
  waiting: number;
  /** `acquire()` calls that had to wait because the credits were not there. */
  starvationEvents: number;
  /** Total ms producers spent waiting for credits, including waits still running. */
  starvationMs: number;
  /** How long the producer waiting longest for credits has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  /** `tryAcquire()` calls that returned false. */
  rejected: number;
  /** `available` is below `minCredits` now (always false with `minCredits` 0). */
  low: boolean;
}

/**
 * Credit-based flow control: the consumer grants credits as it frees room,
 * the producer spends one credit per item and waits when it has none. The
 * consumer's buffer can then never overflow, whatever the producer's speed.
 *
 * Waiters are served first come, first served: while anyone waits,
 * `tryAcquire()` returns false and later `acquire()` calls queue behind, even
 * ones asking for fewer credits. A `grant()` wakes waiters in order, at once.
 *
 * With `minCredits`, the consumer hears when the balance runs low
 * ({@link Credits.onLow}) and can refill before the producer has to wait.
 *
 * @example
 * const credits = new Credits({ initial: 100, max: 100 });
 * // producer
 * await credits.acquire();
 * socket.send(item);
 * // consumer, after processing an item
 * credits.grant(1);
 */
export class Credits {
  readonly max: number;
  /** See {@link CreditsOptions.minCredits}. */
  readonly minCredits: number;
  /** See {@link CreditsOptions.acquireTimeoutMs}. */
  readonly acquireTimeoutMs: number | undefined;
  private readonly clock: Clock;
  private balance: number;
  private readonly queue: AcquireQueue;
  private isClosed = false;
  private grantedCount = 0;
  private discardedCount = 0;
  private acquiredCount = 0;
  private rejectedCount = 0;
  private isLow: boolean;
  private lowListeners: (() => void)[] = [];

  constructor(options: CreditsOptions) {
    const o = v.optionsObject(options, 'Credits', { initial: true, max: true, acquireTimeoutMs: true, minCredits: true, clock: true });
    this.balance = v.requiredInteger('initial', o.initial, { min: 0 });
    if (o.max === undefined || o.max === Infinity) {
      this.max = Infinity;
    } else {
      this.max = v.requiredInteger('max', o.max, { min: 1 });
      if (this.max < this.balance) {
        throw new InvalidOptionError('max', this.max, `an integer >= initial (${this.balance})`);
      }
    }
    this.acquireTimeoutMs = v.optionalNumber('acquireTimeoutMs', o.acquireTimeoutMs, { min: 0, minExclusive: true });
    this.minCredits = v.integer('minCredits', o.minCredits, 0, this.max === Infinity ? { min: 0 } : { min: 0, max: this.max });
    // A Credits created below its threshold starts low without an event: whoever chose `initial` knows.
    this.isLow = this.balance < this.minCredits;
    this.clock = resolveClock('clock', o.clock, systemClock);
    this.queue = new AcquireQueue(
      this.clock,
      () => {
        this.serve();
        this.checkLow();
      },
      (ms) => new DOMException(`Credits.acquire(): no credits within ${ms} ms (acquireTimeoutMs)`, 'TimeoutError'),
    );
  }

  /** Credits the producer may spend now. While callers wait, they are reserved for the head waiter. */
  get available(): number {
    return this.balance;
  }

  /** `acquire()` calls waiting for credits now. */
  get waiting(): number {
    return this.queue.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Spends `n` credits if they are there now and nobody is waiting; never waits.
   * @returns true when the credits were spent.
   * @throws InvalidArgumentError when `n` is not an integer from 1 to `max`.
   * @throws ClosedError after {@link close}.
   */
  tryAcquire(n = 1): boolean {
    if (n !== 1) {
      const bad = checkAmount('tryAcquire(n)', n, this.max, 'max');
      if (bad) throw bad;
    }
    if (this.isClosed) throw new ClosedError('Credits is closed');
    if (this.queue.size === 0 && this.balance >= n) {
      this.balance -= n;
      this.acquiredCount += n;
      if (this.balance < this.minCredits) this.checkLow();
      return true;
    }
    this.rejectedCount++;
    return false;
  }

  /**
   * Spends `n` credits, waiting for a `grant()` when they are not there.
   * Resolves at once when they are and nobody waits; otherwise queues behind
   * earlier waiters (a starvation event) and resolves inside the `grant()`
   * call that makes the credits available.
   * Rejects with InvalidArgumentError when `n` is not an integer from 1 to
   * `max`, and with ClosedError after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even when credits are free (and before a closed
   * Credits is reported). Options of the wrong type or with an unknown key reject
   * with `ERR_SLUICE_INVALID_OPTION`. If `signal` fires while waiting, the call leaves the queue,
   * spends nothing and rejects with `signal.reason`; if it was the head, the
   * waiters behind it are served at once if the balance covers them. An abort
   * after the promise resolved changes nothing: the credits stay spent.
   *
   * With `acquireTimeoutMs`, a wait that lasts that long leaves the queue the
   * same way and rejects with a `TimeoutError` DOMException.
   */
  acquire(n = 1, options?: CreditsAcquireOptions): Promise<void> {
    if (n !== 1) {
      const bad = checkAmount('acquire(n)', n, this.max, 'max');
      if (bad) return Promise.reject(bad);
    }
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed) return Promise.reject(new ClosedError('Credits is closed'));
    if (this.queue.size === 0 && this.balance >= n) {
      this.balance -= n;
      this.acquiredCount += n;
      if (this.balance < this.minCredits) this.checkLow();
      return RESOLVED_VOID;
    }
    return this.queue.wait(n, signal, this.acquireTimeoutMs);
  }

  /**
   * Adds `n` credits, capped so the balance never exceeds `max`, then serves
   * waiters in order, synchronously, for as long as the balance covers the head.
   * Works after {@link close} too (the balance still counts).
   * @returns the credits actually added (less than `n` when the cap applied).
   * @throws InvalidArgumentError unless `n` is an integer >= 0.
   */
  grant(n: number): number {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new InvalidArgumentError(`grant(n): n must be an integer >= 0, got ${describe(n)}`);
    }
    const added = Math.min(n, this.max - this.balance);
    this.balance += added;
    this.grantedCount += added;
    this.discardedCount += n - added;
    if (this.queue.size !== 0) this.serve();
    this.checkLow();
    return added;
  }

  /**
   * Calls `listener` each time the balance falls below `minCredits`: once per
   * crossing, not on every acquisition while low; it can fire again after the
   * balance has climbed back to `minCredits` or more. Never fires with
   * `minCredits` 0.
   *
   * When: synchronously, inside the call that took the balance below the
   * threshold (an `acquire()` or `tryAcquire()` that spent credits, or a
   * `grant()` or an abort/timeout that handed credits to waiters), after the
   * balance changed and before that call returns. So a listener may call
   * `grant()` at once. A listener that throws does not break that call or stop
   * the other listeners: its error is rethrown on a fresh stack (via
   * `queueMicrotask`), where it surfaces as an uncaught exception.
   * @returns a function that removes the listener.
   * @throws InvalidArgumentError when `listener` is not a function.
   * @example credits.onLow(() => credits.grant(credits.max - credits.available));
   */
  onLow(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`onLow(listener): listener must be a function, got ${describe(listener)}`);
    this.lowListeners = [...this.lowListeners, listener];
    return () => {
      this.lowListeners = this.lowListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Rejects every waiting `acquire()` with ClosedError and refuses new
   * acquisitions the same way. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.rejectAll(() => new ClosedError('Credits closed while the producer was waiting for credits'));
  }

  stats(): CreditsStats {
    return {
      available: this.balance,
      max: this.max,
      granted: this.grantedCount,
      discarded: this.discardedCount,
      acquired: this.acquiredCount,
      waiting: this.queue.size,
      starvationEvents: this.queue.waitsStarted,
      starvationMs: this.queue.waitedMs(),
      longestBlockedMs: this.queue.longestWaitMs(),
      rejected: this.rejectedCount,
      low: this.isLow,
    };
  }

  /** Re-evaluates the low state after the balance changed; tells the listeners on a fall below `minCredits`. */
  private checkLow(): void {
    const low = this.balance < this.minCredits;
    if (low === this.isLow) return;
    this.isLow = low;
    if (!low) return;
    // The array is replaced on (un)subscribe, never mutated, so a listener that unsubscribes mid-loop cannot skip another.
    for (const listener of this.lowListeners) {
      try {
        listener();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private serve(): void {
    for (let n = this.queue.headAmount; n !== 0 && n <= this.balance; n = this.queue.headAmount) {
      this.balance -= n;
      this.acquiredCount += n;
      this.queue.admitHead();
    }
  }
}
