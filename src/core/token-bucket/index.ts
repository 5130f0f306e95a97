import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import { ClosedError, InvalidArgumentError } from '../errors/index.js';
import { AcquireQueue, checkAmount, resolveClock, RESOLVED_VOID } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { describe } from '../../internal/describe.js';
import { Listeners } from '../../internal/listeners.js';
import type { ReconfigureEvent } from '../../internal/engine/options.js';
import { governedSetRate } from '../../internal/governed-rate.js';

const acquireSpec: v.CallOptionSpec<AcquireOptions> = { signal: 'signal' };

export interface TokenBucketOptions {
  /**
   * Tokens added per second. Refill is continuous: at any instant the bucket
   * holds what accrued since the last call, computed from `clock.now()`, so
   * there is no refill tick. Must be a finite number > 0.
   * @example new TokenBucket({ ratePerSecond: 500 }) // 500 items/s, one token every 2 ms
   */
  ratePerSecond: number;
  /**
   * Most tokens the bucket holds, i.e. the largest burst allowed after a quiet
   * period. The bucket starts full. Also the largest `n` one call may ask for.
   * Must be a finite number >= 1.
   * @default Math.max(1, ratePerSecond) (one second's worth of tokens)
   * @example new TokenBucket({ ratePerSecond: 500, burst: 50 })
   */
  burst?: number;
  /**
   * Time source for refill and for the timers that wake waiters.
   * @default systemClock
   * @example new TokenBucket({ ratePerSecond: 10, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface AcquireOptions {
  /** Aborting while waiting rejects with `signal.reason` and takes nothing. */
  signal?: AbortSignal;
}

export interface TokenBucketStats {
  ratePerSecond: number;
  burst: number;
  /** Tokens in the bucket now (may be fractional). */
  available: number;
  /** Tokens handed out (the sum of `n` over successful calls). */
  acquired: number;
  /** `acquire()` calls waiting for tokens now. */
  waiting: number;
  /** Total ms `acquire()` callers spent waiting, including waits still running. */
  waitedMs: number;
  /** How long the caller waiting longest for tokens has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  /** `tryAcquire()` calls that returned false. */
  rejected: number;
  /**
   * `setRate()` calls that changed the rate (a call with the current rate is
   * not counted): the operator's changes. A `governor()` driving this bucket
   * moves the rate without counting here (its own `stats().adjustments`
   * counts them). Only grows.
   */
  adjustments: number;
}

/**
 * What {@link TokenBucket.onReconfigure} listeners receive: the setting that
 * changed, its value before and its value now.
 */
export type TokenBucketReconfigureEvent = ReconfigureEvent<'ratePerSecond'>;

// Accrual is floating point: a wake-up timed for the exact instant a waiter's
// tokens accrue may find a few ulps missing. A remainder worth less than this
// many ms counts as there; re-arming a timer for it could land on the same
// instant (now + tiny === now) and spin.
const TOLERANCE_MS = 1e-6;

/**
 * Rate limiter: at most `ratePerSecond` tokens per second on average, with
 * bursts up to `burst` after quiet periods.
 *
 * Waiters are served first come, first served: while anyone waits,
 * `tryAcquire()` returns false and later `acquire()` calls queue behind, even
 * ones asking for fewer tokens. The head waiter is woken by one clock timer set
 * for the instant its tokens will have accrued; nothing polls.
 *
 * @example
 * const bucket = new TokenBucket({ ratePerSecond: 500, burst: 50 });
 * for await (const item of source) {
 *   await bucket.acquire();
 *   send(item);
 * }
 */
export class TokenBucket {
  readonly burst: number;
  private rate: number;
  private readonly clock: Clock;
  private tokens: number;
  private lastRefill: number;
  private readonly queue: AcquireQueue;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.serve();
  };
  private isClosed = false;
  private acquiredCount = 0;
  private rejectedCount = 0;
  private adjustmentCount = 0;
  private readonly reconfigureListeners = new Listeners<TokenBucketReconfigureEvent>();

  constructor(options: TokenBucketOptions) {
    const o = v.optionsObject(options, 'TokenBucket', { ratePerSecond: true, burst: true, clock: true });
    this.rate = v.requiredNumber('ratePerSecond', o.ratePerSecond, { min: 0, minExclusive: true });
    this.burst = v.number('burst', o.burst, Math.max(1, this.rate), { min: 1 });
    this.clock = resolveClock('clock', o.clock, systemClock);
    this.tokens = this.burst;
    this.lastRefill = this.clock.now();
    this.queue = new AcquireQueue(this.clock, () => this.serve());
  }

  /** Tokens added per second. Change it with {@link setRate}. */
  get ratePerSecond(): number {
    return this.rate;
  }

  /**
   * Tokens in the bucket right now, refilled up to this instant. Fractional:
   * at 500/s, 1 ms after the bucket ran dry it reads 0.5. While callers wait,
   * these tokens are reserved for the head waiter.
   */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** `acquire()` calls waiting for tokens now. */
  get waiting(): number {
    return this.queue.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Takes `n` tokens if they are there now and nobody is waiting; never waits.
   * @returns true when the tokens were taken.
   * @throws InvalidArgumentError when `n` is not an integer from 1 to `burst`.
   * @throws ClosedError after {@link close}.
   */
  tryAcquire(n = 1): boolean {
    if (n !== 1) {
      const bad = checkAmount('tryAcquire(n)', n, this.burst, 'burst');
      if (bad) throw bad;
    }
    if (this.isClosed) throw new ClosedError('TokenBucket is closed');
    if (this.queue.size === 0) {
      this.refill();
      if (this.tokens >= n) {
        this.tokens -= n;
        this.acquiredCount += n;
        return true;
      }
    }
    this.rejectedCount++;
    return false;
  }

  /**
   * Takes `n` tokens, waiting until they have accrued. Resolves at once when
   * they are there and nobody waits; otherwise queues behind earlier waiters
   * and resolves at the instant the tokens accrue.
   * Rejects with InvalidArgumentError when `n` is not an integer from 1 to
   * `burst` (such a request could never be met), and with ClosedError
   * after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even when tokens are free (and before a closed
   * TokenBucket is reported). Options of the wrong type or with an unknown key reject
   * with `ERR_SLUICE_INVALID_OPTION`. If `signal` fires while waiting, the call leaves the queue,
   * takes no tokens and rejects with `signal.reason`; the waiters behind it
   * move up and the wake-up timer is re-set for the new head. An abort after
   * the promise resolved changes nothing: the tokens stay taken.
   */
  acquire(n = 1, options?: AcquireOptions): Promise<void> {
    if (n !== 1) {
      const bad = checkAmount('acquire(n)', n, this.burst, 'burst');
      if (bad) return Promise.reject(bad);
    }
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed) return Promise.reject(new ClosedError('TokenBucket is closed'));
    if (this.queue.size === 0) {
      this.refill();
      if (this.tokens >= n) {
        this.tokens -= n;
        this.acquiredCount += n;
        return RESOLVED_VOID;
      }
    }
    const pending = this.queue.wait(n, signal);
    if (this.queue.size === 1) this.serve();
    return pending;
  }

  /**
   * Changes the refill rate from now on. Tokens accrued so far at the old rate
   * are kept, and the head waiter's wake-up is re-timed for the new rate (a
   * raised rate admits it sooner, a lowered one later). A call that changes the
   * rate counts in `stats().adjustments` and is reported to
   * {@link onReconfigure} listeners; a call with the current rate does neither.
   * A bad value throws and changes nothing.
   * @throws InvalidArgumentError unless `ratePerSecond` is a finite number > 0.
   * @example
   * const bucket = new TokenBucket({ ratePerSecond: 500 });
   * bucket.setRate(125); // a quarter of the pace while downstream catches up
   */
  setRate(ratePerSecond: number): void {
    if (typeof ratePerSecond !== 'number' || !Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new InvalidArgumentError(`setRate(ratePerSecond): expected a finite number > 0, got ${describe(ratePerSecond)}`);
    }
    const previous = this.rate;
    if (!this.changeRate(ratePerSecond)) return;
    this.adjustmentCount++;
    this.reconfigureListeners.emit({ setting: 'ratePerSecond', previous, value: ratePerSecond });
  }

  /**
   * The pressure governor's rate moves: the same change as {@link setRate},
   * neither counted in `stats().adjustments` nor reported to listeners (those
   * are for the operator's changes). The governor passes only rates > 0.
   * @internal
   */
  [governedSetRate](ratePerSecond: number): void {
    this.changeRate(ratePerSecond);
  }

  /** Sets the rate from now on, keeping the tokens accrued so far; false when it is already the rate. */
  private changeRate(ratePerSecond: number): boolean {
    if (ratePerSecond === this.rate) return false;
    this.refill();
    this.rate = ratePerSecond;
    if (this.queue.size !== 0) this.serve();
    return true;
  }

  /**
   * Calls `listener(event)` after every change made by {@link setRate}, with
   * the setting, its previous value and its new value. Listeners run
   * synchronously once the change is in effect; one that throws does not stop
   * the others (its error surfaces as an uncaught error). Returns an
   * unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const bucket = new TokenBucket({ ratePerSecond: 500 });
   * const off = bucket.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * bucket.setRate(250); // logs "ratePerSecond: 500 -> 250"
   * off();
   */
  onReconfigure(listener: (event: TokenBucketReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /**
   * Rejects every waiting `acquire()` with ClosedError and refuses new
   * calls the same way. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.cancelTimer();
    this.queue.rejectAll(() => new ClosedError('TokenBucket closed while the caller was waiting for tokens'));
  }

  stats(): TokenBucketStats {
    return {
      ratePerSecond: this.rate,
      burst: this.burst,
      available: this.available,
      acquired: this.acquiredCount,
      waiting: this.queue.size,
      waitedMs: this.queue.waitedMs(),
      longestBlockedMs: this.queue.longestWaitMs(),
      rejected: this.rejectedCount,
      adjustments: this.adjustmentCount,
    };
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastRefill;
    if (elapsed <= 0) return;
    this.lastRefill = now;
    const tokens = this.tokens + (elapsed * this.rate) / 1000;
    this.tokens = tokens < this.burst ? tokens : this.burst;
  }

  /** Admits waiters whose tokens are there, then times one wake-up for the next. */
  private serve(): void {
    this.cancelTimer();
    this.refill();
    for (let n = this.queue.headAmount; n !== 0; n = this.queue.headAmount) {
      const shortMs = ((n - this.tokens) * 1000) / this.rate;
      if (shortMs > TOLERANCE_MS) {
        this.timer = this.clock.schedule(shortMs, this.onTimer);
        return;
      }
      this.tokens = Math.max(0, this.tokens - n);
      this.acquiredCount += n;
      this.queue.admitHead();
    }
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.clock.cancel(this.timer);
      this.timer = undefined;
    }
  }
}
