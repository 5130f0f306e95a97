import type { Clock } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { WaiterList, type ListNode } from './waiter-list.js';
import { describe } from './describe.js';

// Shared by the limiters (TokenBucket, Credits, CongestionWindow): a FIFO of
// callers waiting for `n` units of something. The owner decides when the head
// may go; this file only keeps the queue, the abort wiring and the wait-time sums.

export interface AcquireWaiter extends ListNode<AcquireWaiter> {
  n: number;
  since: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Shared settled promise for acquisitions that succeed without waiting; saves an allocation per call. */
export const RESOLVED_VOID: Promise<void> = Promise.resolve();

export class AcquireQueue {
  private readonly list = new WaiterList<AcquireWaiter>();
  private settledWaitMs = 0;
  /** Calls that had to wait, counted when the wait begins. */
  waitsStarted = 0;

  /**
   * @param onHeadLeft called after an aborted waiter that was at the head left
   *   the queue, so the owner can admit or re-time the new head (which may want less).
   */
  constructor(
    private readonly clock: Clock,
    private readonly onHeadLeft: () => void,
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
   * `signal` is not aborted.
   */
  wait(n: number, signal: AbortSignal | undefined): Promise<void> {
    this.waitsStarted++;
    return new Promise<void>((resolve, reject) => {
      const w: AcquireWaiter = {
        prev: undefined,
        next: undefined,
        linked: false,
        n,
        since: this.clock.now(),
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        w.onAbort = () => {
          const wasHead = this.list.head === w;
          this.list.remove(w);
          this.settle(w);
          reject(signal.reason);
          if (wasHead) this.onHeadLeft();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.list.push(w);
    });
  }

  /** Removes the head waiter and resolves it. The owner has already handed it its units. */
  admitHead(): void {
    const w = this.list.shift();
    if (!w) return;
    this.settle(w);
    w.resolve();
  }

  /** Rejects every waiter with `error`, oldest first. */
  rejectAll(error: () => unknown): void {
    for (let w = this.list.shift(); w; w = this.list.shift()) {
      this.settle(w);
      w.reject(error());
    }
  }

  /** Total ms spent waiting: finished waits plus the time so far of those still waiting. */
  waitedMs(): number {
    if (this.list.size === 0) return this.settledWaitMs;
    const now = this.clock.now();
    let sum = this.settledWaitMs;
    for (let w = this.list.head; w; w = w.next) sum += now - w.since;
    return sum;
  }

  /**
   * How long the caller waiting longest has been waiting, 0 when none is.
   * O(1): the queue is FIFO and a waiter's start time is fixed, so the head is the oldest.
   */
  longestWaitMs(): number {
    const head = this.list.head;
    return head ? this.clock.now() - head.since : 0;
  }

  private settle(w: AcquireWaiter): void {
    this.settledWaitMs += this.clock.now() - w.since;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    w.onAbort = undefined;
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
