// The protocol every part of a running pipeline speaks. A consumer asks its
// upstream for the next item with `poll()`, which answers synchronously: an
// item, PENDING (nothing yet; await `ready()` and poll again) or END. A chain
// whose parts all have items at hand therefore moves each one with plain
// function calls and no promise at all; a promise is made only where something
// really has to be waited for. Nothing is pulled before a consumer asks, so
// backpressure needs no extra machinery: memory is bounded by what the stages
// themselves hold (map's window, batch's current array, buffer's channel).

/** `poll()` has nothing right now; await `ready()` and poll again. */
export const PENDING: unique symbol = Symbol('sluice.pending');
/** `poll()`: the stream is exhausted. */
export const END: unique symbol = Symbol('sluice.end');
export type Pending = typeof PENDING;
export type End = typeof END;

export interface Pull<T> {
  /**
   * The next item if one is at hand, END once exhausted, PENDING otherwise.
   * Throws when the stream failed. Safe to call again while an earlier
   * `ready()` is unsettled (it then answers PENDING or an item).
   */
  poll(): T | Pending | End;
  /**
   * Call right after `poll()` answered PENDING. Settles when polling again
   * can make progress; rejects when the run fails. Calls made before it
   * settles may share one promise.
   */
  ready(): Promise<unknown>;
}

export const RESOLVED: Promise<void> = Promise.resolve();

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Loops that move items (the pipeline's driver, a buffer's pump) yield to the
 * event loop once per this many items. A chain of synchronous parts, or of
 * async parts that always answer within a microtask (an async generator that
 * never waits on I/O), would otherwise run without ever letting timers, I/O
 * and abort signals in. Counting every item, awaited or not, is what catches
 * the second case; the cost is one setImmediate per 2048 items.
 */
export const YIELD_EVERY = 2048;

/** Resolves on the next turn of the event loop, after pending I/O and timers. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A single wake-up slot for the consumer of one stage: the stage calls
 * `wake()` when its state changed and `wait()` hands out the promise the
 * consumer awaits. Registered with the run so a failure rejects a pending
 * wait instead of leaving the consumer hanging.
 */
export class Wakeup {
  private promise: Promise<void> | undefined;
  private resolveWait: (() => void) | undefined;
  private rejectWait: ((error: unknown) => void) | undefined;

  constructor(private readonly run: RunContext) {
    run.onFailure(this);
  }

  wait(): Promise<void> {
    if (this.run.failed) return Promise.reject(this.run.error);
    return (this.promise ??= new Promise<void>((resolve, reject) => {
      this.resolveWait = resolve;
      this.rejectWait = reject;
    }));
  }

  wake(): void {
    const resolve = this.resolveWait;
    if (resolve === undefined) return;
    this.clear();
    resolve();
  }

  fail(error: unknown): void {
    const reject = this.rejectWait;
    if (reject === undefined) return;
    this.clear();
    reject(error);
  }

  private clear(): void {
    this.promise = undefined;
    this.resolveWait = undefined;
    this.rejectWait = undefined;
  }
}

/**
 * One run of a chain: the failure that stops it, the internal signal that
 * tells every part (and user callbacks) to stop, and the clean-ups that
 * release what the parts hold. The first failure wins; later ones are
 * consequences of the teardown and are ignored.
 */
export class RunContext {
  private readonly controller = new AbortController();
  /** Fires with the original error (or the abort reason) when the run fails or is cancelled. */
  readonly signal: AbortSignal = this.controller.signal;
  /** Handed as the second argument to user callbacks; one object per run, so calls allocate nothing. */
  readonly callOptions: { readonly signal: AbortSignal } = { signal: this.signal };
  failed = false;
  error: unknown = undefined;
  /** Set once the chain completed normally; failures after that are ignored. */
  completed = false;
  private readonly wakeups: Wakeup[] = [];
  private readonly cleanups: (() => unknown)[] = [];
  private closing: Promise<void> | undefined;
  private failureHandler: ((error: unknown) => void) | undefined;

  /** Registers the one function told about the run's failure (the pipeline's reject, a stream's destroy). */
  setFailureHandler(handler: (error: unknown) => void): void {
    this.failureHandler = handler;
  }

  onFailure(wakeup: Wakeup): void {
    this.wakeups.push(wakeup);
  }

  /** `cleanup` runs once when the run ends, however it ends; later-registered ones run first. */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Bound, so it can be passed straight to `.then(..., run.fail)`. */
  readonly fail = (error: unknown): void => {
    if (this.failed || this.completed) return;
    this.failed = true;
    this.error = error;
    this.controller.abort(error);
    for (const w of this.wakeups) w.fail(error);
    this.failureHandler?.(error);
  };

  /**
   * Runs every clean-up (downstream first) and waits for all of them; their
   * own errors are swallowed because the run's outcome is already decided.
   * Idempotent.
   */
  close(): Promise<void> {
    return (this.closing ??= this.runCleanups());
  }

  private async runCleanups(): Promise<void> {
    const pending: unknown[] = [];
    for (let i = this.cleanups.length - 1; i >= 0; i--) {
      try {
        pending.push(this.cleanups[i]!());
      } catch {
        // The outcome is already decided; a failing clean-up must not mask it.
      }
    }
    await Promise.allSettled(pending);
  }
}

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true as const });

/**
 * Presents a Pull as an async iterator. With `ownsRun`, the iterator is the
 * run's only consumer: `return()` cancels the run and closes its sources, and
 * a failure rejects one `next()` and ends the iteration.
 */
export class PullIterator<T> implements AsyncIterableIterator<T> {
  private finished = false;
  private readonly wakeup: Wakeup;
  private readonly wakeUp = (): void => this.wakeup.wake();

  constructor(
    private readonly pull: Pull<T>,
    private readonly run: RunContext,
    private readonly ownsRun: boolean,
  ) {
    this.wakeup = new Wakeup(run);
  }

  /**
   * Resolves with the next item, waiting for one if none is at hand.
   *
   * Abort safety: when the run's signal fires (or any part fails) while this
   * waits, the call rejects with the signal's reason (or the original error)
   * and the iteration ends; the run's sources are closed.
   */
  async next(): Promise<IteratorResult<T>> {
    if (this.finished) return DONE_RESULT;
    try {
      for (;;) {
        if (this.run.failed) throw this.run.error;
        const item = this.pull.poll();
        if (item === END) {
          this.finished = true;
          if (this.ownsRun) {
            this.run.completed = true;
            await this.run.close();
          }
          return DONE_RESULT;
        }
        if (item !== PENDING) return { value: item, done: false };
        this.pull.ready().then(this.wakeUp, this.run.fail);
        await this.wakeup.wait();
      }
    } catch (error) {
      this.finished = true;
      this.run.fail(error);
      if (this.ownsRun) await this.run.close();
      throw error;
    }
  }

  /**
   * Ends the iteration. When the iterator owns the run, cancels it and waits
   * until every source is closed.
   *
   * Abort safety: settles once the clean-ups ran and never rejects.
   */
  async return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      if (this.ownsRun) {
        this.run.fail(new IterationStopped());
        await this.run.close();
      }
    }
    return DONE_RESULT;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The reason a run is cancelled with when its consumer simply stopped (break, return(), destroy(), cancel()). */
export class IterationStopped extends Error {
  constructor(message = 'The consumer stopped the iteration') {
    super(message);
    this.name = 'AbortError';
  }
}
