import type { Clock } from '../core/clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../core/errors/index.js';
import { DeadlineQueue, Rejection, TimedList, pendingResolveInto, type DeadlineGroup, type DeadlineNode } from './timed-list.js';
import { describe } from './describe.js';

// Shared by the limiters (TokenBucket, Credits, CongestionWindow): a FIFO of
// callers waiting for `n` units of something. The owner decides when the head
// may go; this file only keeps the queue, the abort wiring and the wait-time sums.

/**
 * A caller waiting for `n` units. A class, so every waiter has one fixed
 * shape; the promise's resolve lives on it, and the abort wiring
 * hangs off {@link hooks} only for callers that passed a signal.
 */
class AcquireWaiter {
  prev: AcquireWaiter | undefined = undefined;
  next: AcquireWaiter | undefined = undefined;
  /** Also rejects, with a {@link Rejection}: no `reject` held, see there. */
  resolve: (value: void | Rejection) => void = noop;
  hooks: AbortHook | undefined = undefined;
  constructor(
    readonly n: number,
    readonly since: number,
  ) {}
}

/** A caller with a timeout: also in its queue's {@link DeadlineQueue} (one clock timer per queue, none per waiter). */
class TimedAcquireWaiter extends AcquireWaiter implements DeadlineNode<TimedAcquireWaiter> {
  dprev: TimedAcquireWaiter | undefined = undefined;
  dnext: TimedAcquireWaiter | undefined = undefined;
  group: DeadlineGroup<TimedAcquireWaiter> | undefined = undefined;
}

/** A waiter's abort listener: an object with `handleEvent`, so no closure per waiter. */
class AbortHook {
  constructor(
    readonly queue: AcquireQueue,
    readonly waiter: AcquireWaiter,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    this.queue[aborted](this.waiter);
  }
}

function noop(): void {}

const ONCE = { once: true };
const aborted = Symbol('aborted');

/** Shared settled promise for acquisitions that succeed without waiting; saves an allocation per call. */
export const RESOLVED_VOID: Promise<void> = Promise.resolve();

export class AcquireQueue {
  private readonly list = new TimedList<AcquireWaiter>();
  /** The timeouts of the callers that have one, on one timer; created with the first. */
  private deadlines: DeadlineQueue<TimedAcquireWaiter> | undefined = undefined;
  /** Calls that had to wait, counted when the wait begins. */
  waitsStarted = 0;

  /**
   * @param onHeadLeft called after an aborted or timed-out waiter that was at
   *   the head left the queue, so the owner can admit or re-time the new head (which may want less).
   * @param timeoutError the error a wait that reaches its `timeoutMs` rejects
   *   with, given that timeout; needed only by owners that pass one to {@link wait}.
   */
  constructor(
    private readonly clock: Clock,
    private readonly onHeadLeft: () => void,
    private readonly timeoutError?: (timeoutMs: number) => unknown,
  ) {}

  get size(): number {
    return this.list.size;
  }

  /** Units the head waiter asks for, or 0 when nobody waits. */
  get headAmount(): number {
    return this.list.head?.n ?? 0;
  }

  /**
   * Queues a caller for `n` units. The caller must already have checked that
   * `signal` is not aborted. With `timeoutMs` (finite, > 0) a wait that
   * reaches it leaves the queue and rejects with the constructor's `timeoutError`.
   */
  wait(n: number, signal: AbortSignal | undefined, timeoutMs?: number): Promise<void> {
    this.waitsStarted++;
    const now = this.clock.now();
    const timed = timeoutMs !== undefined;
    const w = timed ? new TimedAcquireWaiter(n, now) : new AcquireWaiter(n, now);
    const pending = pendingResolveInto(w) as Promise<void>;
    if (signal) {
      w.hooks = new AbortHook(this, w, signal);
      signal.addEventListener('abort', w.hooks, ONCE);
    }
    this.list.push(w, now);
    if (timed) {
      this.deadlines ??= new DeadlineQueue<TimedAcquireWaiter>(this.clock, (t, ms) => this.leave(t, this.timeoutError?.(ms) ?? new DOMException(`no grant within ${ms} ms`, 'TimeoutError')));
      this.deadlines.add(w as TimedAcquireWaiter, timeoutMs);
    }
    return pending;
  }

  /** Removes the head waiter and resolves it. The owner has already handed it its units. */
  admitHead(): void {
    if (this.list.size === 0) return;
    const w = this.list.shift(this.clock.now())!;
    this.unhook(w);
    w.resolve();
  }

  /** Rejects every waiter with `error`, oldest first. */
  rejectAll(error: () => unknown): void {
    if (this.list.size === 0) return;
    const now = this.clock.now();
    for (let w = this.list.shift(now); w; w = this.list.shift(now)) {
      this.unhook(w);
      w.resolve(new Rejection(error()));
    }
  }

  /** Total ms spent waiting: finished waits plus the time so far of those still waiting. O(1). */
  waitedMs(): number {
    return this.list.waitedMs(this.clock.now());
  }

  /** How long the caller waiting longest has been waiting, 0 when none is. O(1). */
  longestWaitMs(): number {
    return this.list.longestMs(this.clock.now());
  }

  [aborted](w: AcquireWaiter): void {
    this.leave(w, w.hooks!.signal.reason);
  }

  /** An abort or a timeout: `w` leaves the queue (if still in it) and rejects with `reason`. */
  private leave(w: AcquireWaiter, reason: unknown): void {
    const wasHead = this.list.head === w;
    if (!this.list.remove(w, this.clock.now())) return;
    this.unhook(w);
    w.resolve(new Rejection(reason));
    if (wasHead) this.onHeadLeft();
  }

  private unhook(w: AcquireWaiter): void {
    if (w instanceof TimedAcquireWaiter) this.deadlines!.remove(w);
    const hooks = w.hooks;
    if (hooks === undefined) return;
    w.hooks = undefined;
    hooks.signal.removeEventListener('abort', hooks);
  }
}

/** Checks the `clock` option the same way every component does; `undefined` yields `fallback`. */
export function resolveClock(field: string, value: unknown, fallback: Clock): Clock {
  if (value === undefined) return fallback;
  const c = value as Partial<Clock> | null;
  if (c === null || typeof c !== 'object' || typeof c.now !== 'function' || typeof c.schedule !== 'function' || typeof c.cancel !== 'function') {
    throw new InvalidOptionError(field, value, 'a Clock with now(), schedule() and cancel()');
  }
  return value as Clock;
}

/**
 * An acquire amount: a safe integer from 1 to `max`. Returns the error rather
 * than throwing so async callers can reject with it.
 */
export function checkAmount(method: string, n: unknown, max: number, maxName: string): InvalidArgumentError | undefined {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    return new InvalidArgumentError(`${method}: n must be an integer >= 1, got ${describe(n)}`);
  }
  if (n > max) {
    return new InvalidArgumentError(`${method}: n (${n}) exceeds ${maxName} (${max}), so it could never be granted`);
  }
  return undefined;
}
