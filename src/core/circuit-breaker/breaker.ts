import type { Clock } from '../clock/index.js';
import { BreakerOpenError, InvalidArgumentError } from '../errors/index.js';
import { describe } from '../../internal/describe.js';
import * as v from '../../internal/validate.js';
import {
  resolveCircuitBreakerOptions,
  type CircuitBreakerOptions,
  type CircuitBreakerOutcome,
  type CircuitBreakerState,
  type CircuitBreakerWindow,
} from './options.js';
import { CountWindow, TimeWindow, type OutcomeWindow } from './window.js';

export interface CircuitBreakerRunOptions {
  /**
   * Handed to the function. Already aborted: `run()` rejects with its reason
   * without running it. Aborted while the function runs: `run()` rejects at
   * once with the reason (see `run()` for how the outcome is counted).
   */
  signal?: AbortSignal;
}

export interface CircuitBreakerStats {
  state: CircuitBreakerState;
  /** Outcomes recorded (successes + failures), in every state. */
  calls: number;
  successes: number;
  failures: number;
  /** Calls that took `slowCallMs` or longer, successes and failures alike. */
  slowCalls: number;
  /** Calls refused while open or half-open (`run()` rejections and `tryAcquire()` false returns). */
  rejected: number;
  /** Calls that ended without an outcome: `record('ignored')`, or a `run()` whose signal fired first and then failed. */
  ignored: number;
  /** Times the breaker opened (re-opening after failed probes included). */
  opens: number;
  /** Failures / calls in the window now (while half-open: of the probes); 0 when empty. */
  failureRate: number;
  /** Slow calls / calls in the window now (while half-open: of the probes); 0 when empty. */
  slowCallRate: number;
  /** Calls in the window now (while half-open: probe outcomes so far). */
  windowCalls: number;
  /** Probes admitted and not yet settled, while half-open. */
  probesInFlight: number;
  /** `clock.now()` when it last opened; undefined if it never did. */
  lastOpenedAt: number | undefined;
}

type StateListener = (state: CircuitBreakerState, previous: CircuitBreakerState) => void;

const runSpec: v.CallOptionSpec<CircuitBreakerRunOptions> = { signal: 'signal' };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Circuit breaker: stops calling a downstream that is failing (or too slow),
 * so callers fail fast and the downstream gets time to recover.
 *
 * - **closed**: calls run; outcomes go into a sliding window (the last
 *   `windowSize` calls, or the last `windowMs`). Once the window holds
 *   `minimumCalls`, a failure rate at or above `failureRateThreshold`, or a
 *   slow-call rate at or above `slowCallRateThreshold`, opens it.
 * - **open**: every call is refused at once with `BreakerOpenError`
 *   (`ERR_SLUICE_BREAKER_OPEN`), for `resetAfterMs`.
 * - **half-open**: `halfOpenProbes` calls run; their outcomes close the
 *   breaker (with an empty window) or open it again for another `resetAfterMs`.
 *
 * No timer: the open period is measured on the clock when the breaker is
 * next used, so an idle breaker costs nothing and needs no `close()`.
 * Callers that cannot wrap a function use `tryAcquire()` + `record()`.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 10, resetAfterMs: 5_000 });
 * const price = await breaker.run(() => 42); // rejects with BreakerOpenError while open
 */
export class CircuitBreaker {
  readonly name: string;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly slowCallMs: number;
  readonly minimumCalls: number;
  readonly resetAfterMs: number;
  readonly halfOpenProbes: number;
  readonly window: CircuitBreakerWindow;

  private current: CircuitBreakerState = 'closed';
  private readonly clock: Clock;
  private readonly outcomes: OutcomeWindow;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  /** Outcomes need the time: slow calls are tracked or the window is time based. */
  private readonly timed: boolean;
  /** Calls need their start time: slow calls are tracked. */
  private readonly timesCalls: boolean;
  private openUntil = 0;
  private probesAdmitted = 0;
  private probesSettled = 0;
  private probeFailures = 0;
  private probeSlow = 0;
  private listeners: StateListener[] | undefined;

  private successCount = 0;
  private failureCount = 0;
  private slowCount = 0;
  private rejectedCount = 0;
  private ignoredCount = 0;
  private openCount = 0;
  private lastOpened: number | undefined;

  constructor(options?: CircuitBreakerOptions) {
    const o = resolveCircuitBreakerOptions(options);
    this.name = o.name;
    this.failureRateThreshold = o.failureRateThreshold;
    this.slowCallRateThreshold = o.slowCallRateThreshold;
    this.slowCallMs = o.slowCallMs;
    this.minimumCalls = o.minimumCalls;
    this.resetAfterMs = o.resetAfterMs;
    this.halfOpenProbes = o.halfOpenProbes;
    this.window = o.window;
    this.clock = o.clock;
    this.isFailure = o.isFailure;
    this.outcomes = o.window === 'count' ? new CountWindow(o.windowSize) : new TimeWindow(o.windowMs, o.windowBuckets);
    this.timesCalls = o.slowCallMs !== Infinity;
    this.timed = o.window === 'time' || this.timesCalls;
  }

  /** The state now; reading it may turn an open breaker half-open (its listeners hear of it then). */
  get state(): CircuitBreakerState {
    if (this.current === 'open') this.checkReset();
    return this.current;
  }

  /**
   * Runs `fn` if the breaker admits a call, and records its outcome: a
   * fulfilled result is a success, an error a failure (unless `isFailure`
   * says otherwise); either is slow when it took `slowCallMs` or longer.
   * `fn` may return a value or a promise; it receives `options.signal`.
   * @returns (a promise of) what `fn` returns; the error `fn` threw is rethrown as is.
   * @throws (rejects) BreakerOpenError (`ERR_SLUICE_BREAKER_OPEN`) without
   * running `fn` while open, or half-open with every probe out.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason; `fn` does not run and nothing is counted. A signal that fires
   * while `fn` runs rejects `run()` at once with the reason; `fn` is not
   * stopped by the breaker (it has the signal to stop itself). Its outcome
   * still counts if it succeeds (the downstream answered); if it fails it
   * counts as ignored, since an abort is not the downstream failing. Either
   * way a half-open probe slot is given back.
   *
   * @example
   * const breaker = new CircuitBreaker({ resetAfterMs: 10_000 });
   * const body = await breaker.run((signal) => fetch(url, { signal }).then((r) => r.text()), { signal: AbortSignal.timeout(1_000) });
   */
  run<T>(fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>, options?: CircuitBreakerRunOptions): Promise<Awaited<T>> {
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'run()', runSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError(`CircuitBreaker.run(fn): fn must be a function, got ${describe(fn)}`));
    if (!this.admit()) return Promise.reject(this.openError());
    const started = this.timesCalls ? this.clock.now() : 0;
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal);
    } catch (error) {
      this.settleError(error, started);
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      this.settle(false, started);
      return Promise.resolve(result as Awaited<T>);
    }
    if (signal === undefined) {
      return Promise.resolve(result).then(
        (value) => {
          this.settle(false, started);
          return value as Awaited<T>;
        },
        (error: unknown) => {
          this.settleError(error, started);
          throw error;
        },
      );
    }
    return this.runAbortable(result, signal, started);
  }

  /**
   * Asks for one call without running anything, for callers that cannot hand
   * over a function (callbacks, streams). True: make the call, then report it
   * with {@link record}. False: refused (counted in `rejected`); do not call.
   * Every true must be followed by exactly one `record()`, or a half-open
   * breaker waits for a probe that never reports.
   * @example
   * if (breaker.tryAcquire()) {
   *   const started = performance.now();
   *   socket.send(job, (error: unknown) => breaker.record(error ? 'failure' : 'success', performance.now() - started));
   * }
   */
  tryAcquire(): boolean {
    if (this.admit()) return true;
    this.rejectedCount++;
    return false;
  }

  /**
   * Reports the outcome of a call admitted by {@link tryAcquire}. `durationMs`
   * decides whether it was slow (omit it when slow calls are not tracked).
   * `'ignored'` gives the call's probe slot back without counting anything.
   * An outcome that arrives while open is counted in the totals but does not
   * change the state; while half-open every outcome counts as a probe's.
   * @throws InvalidArgumentError when `outcome` is not one of the three, or `durationMs` not a number >= 0.
   * @example
   * breaker.record('failure', 1_250);
   */
  record(outcome: CircuitBreakerOutcome, durationMs = 0): void {
    if (typeof durationMs !== 'number' || !(durationMs >= 0)) {
      throw new InvalidArgumentError(`CircuitBreaker.record(): durationMs must be a number >= 0, got ${describe(durationMs)}`);
    }
    if (outcome === 'success' || outcome === 'failure') this.recordOutcome(outcome === 'failure', durationMs >= this.slowCallMs, this.timed ? this.clock.now() : 0);
    else if (outcome === 'ignored') this.ignore();
    else throw new InvalidArgumentError(`CircuitBreaker.record(): outcome must be 'success', 'failure' or 'ignored', got ${describe(outcome)}`);
  }

  /**
   * Calls `listener(state, previous)` on every state change. The change from
   * open to half-open is seen when the breaker is next used after
   * `resetAfterMs`. A listener that throws does not disturb the breaker: the
   * error is rethrown from a microtask (an uncaught exception).
   * @returns an unsubscribe function.
   * @example
   * const off = breaker.onStateChange((state, previous) => console.log(`breaker ${previous} -> ${state}`));
   * off();
   */
  onStateChange(listener: StateListener): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`breaker listener must be a function, got ${describe(listener)}`);
    const list = (this.listeners ??= []);
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  /**
   * Counters since creation and the window's rates now.
   * @example
   * const { state, failureRate, opens, rejected } = breaker.stats();
   */
  stats(): CircuitBreakerStats {
    const state = this.state;
    if (state === 'closed') this.outcomes.expire(this.clock.now());
    const half = state === 'half-open';
    const calls = half ? this.probesSettled : this.outcomes.calls;
    const failures = half ? this.probeFailures : this.outcomes.failures;
    const slow = half ? this.probeSlow : this.outcomes.slow;
    return {
      state,
      calls: this.successCount + this.failureCount,
      successes: this.successCount,
      failures: this.failureCount,
      slowCalls: this.slowCount,
      rejected: this.rejectedCount,
      ignored: this.ignoredCount,
      opens: this.openCount,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slow / calls,
      windowCalls: calls,
      probesInFlight: half ? this.probesAdmitted - this.probesSettled : 0,
      lastOpenedAt: this.lastOpened,
    };
  }

  /** ms until an open breaker admits probes; 0 when it is not open. */
  get retryAfterMs(): number {
    return this.state === 'open' ? this.openUntil - this.clock.now() : 0;
  }

  // ---- internals -------------------------------------------------------------

  /** Takes a call slot if the state allows one. */
  private admit(): boolean {
    const state = this.current;
    if (state === 'closed') return true;
    if (state === 'open') {
      if (!this.checkReset()) return false;
    }
    if (this.probesAdmitted >= this.halfOpenProbes) return false;
    this.probesAdmitted++;
    return true;
  }

  private openError(): BreakerOpenError {
    this.rejectedCount++;
    const state = this.current === 'open' ? 'open' : 'half-open';
    const retryAfterMs = state === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : 0;
    const why = state === 'open' ? `open for another ${Math.ceil(retryAfterMs)} ms` : `half-open with all ${this.halfOpenProbes} probe(s) out`;
    return new BreakerOpenError(`Circuit breaker "${this.name}" is ${why}; the call was not made`, state, retryAfterMs);
  }

  /** Open past its period: turns half-open. @returns true when it is half-open now. */
  private checkReset(): boolean {
    if (this.clock.now() < this.openUntil) return false;
    this.probesAdmitted = this.probesSettled = this.probeFailures = this.probeSlow = 0;
    this.set('half-open');
    return true;
  }

  private settle(failure: boolean, started: number): void {
    // One clock read per call at most: slowCallMs is Infinity when slow calls are not tracked.
    const now = this.timed ? this.clock.now() : 0;
    this.recordOutcome(failure, now - started >= this.slowCallMs, now);
  }

  private settleError(error: unknown, started: number): void {
    let failure = true;
    if (this.isFailure !== undefined) {
      try {
        failure = this.isFailure(error) !== false;
      } catch {
        failure = true; // a throwing predicate cannot make a failure disappear
      }
    }
    this.settle(failure, started);
  }

  private async runAbortable<T>(result: PromiseLike<T>, signal: AbortSignal, started: number): Promise<Awaited<T>> {
    let aborted = false;
    let onAbort: (() => void) | undefined;
    const abortPromise = new Promise<never>((_, reject) => {
      onAbort = () => {
        aborted = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const outcome = Promise.resolve(result).then(
      (value) => {
        this.settle(false, started);
        return value as Awaited<T>;
      },
      (error: unknown) => {
        if (aborted || signal.aborted) this.ignore();
        else this.settleError(error, started);
        throw error;
      },
    );
    try {
      return await Promise.race([outcome, abortPromise]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      // The loser of the race must not surface as an unhandled rejection.
      outcome.catch(() => {});
      abortPromise.catch(() => {});
    }
  }

  private ignore(): void {
    this.ignoredCount++;
    if (this.current === 'half-open' && this.probesAdmitted > this.probesSettled) this.probesAdmitted--;
  }

  /** `now` is `clock.now()` when the breaker is timed, else 0 (not needed). */
  private recordOutcome(failure: boolean, slow: boolean, now: number): void {
    if (failure) this.failureCount++;
    else this.successCount++;
    if (slow) this.slowCount++;
    if (this.current === 'open') this.checkReset();
    const state = this.current;
    if (state === 'closed') {
      const w = this.outcomes;
      w.add(failure, slow, now);
      const calls = w.calls;
      if (calls >= this.minimumCalls && (w.failures / calls >= this.failureRateThreshold || w.slow / calls >= this.slowCallRateThreshold)) {
        this.open();
      }
    } else if (state === 'half-open') {
      this.probeOutcome(failure, slow);
    }
    // Open: counted above, no effect on the state.
  }

  private probeOutcome(failure: boolean, slow: boolean): void {
    this.probesSettled++;
    if (this.probesAdmitted < this.probesSettled) this.probesAdmitted = this.probesSettled; // a call from before the probes
    if (failure) this.probeFailures++;
    if (slow) this.probeSlow++;
    const n = this.halfOpenProbes;
    const left = n - this.probesSettled;
    // Certain to reach a threshold whatever the remaining probes do: re-open now.
    if (this.probeFailures / n >= this.failureRateThreshold || this.probeSlow / n >= this.slowCallRateThreshold) {
      this.open();
    } else if ((this.probeFailures + left) / n < this.failureRateThreshold && (this.probeSlow + left) / n < this.slowCallRateThreshold) {
      // Certain to stay under both: close with a fresh window.
      this.outcomes.clear();
      this.set('closed');
    }
  }

  private open(): void {
    const now = this.clock.now();
    this.openCount++;
    this.lastOpened = now;
    this.openUntil = now + this.resetAfterMs;
    this.set('open');
  }

  private set(next: CircuitBreakerState): void {
    const previous = this.current;
    this.current = next;
    const listeners = this.listeners;
    if (listeners === undefined || listeners.length === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener(next, previous);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
