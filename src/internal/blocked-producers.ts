import type { Clock, TimerHandle } from '../clock/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { WaiterList, type ListNode } from './waiter-list.js';
import { describe } from './describe.js';

/** A producer waiting for room under `'block'`. */
export interface SendWaiter<T> extends ListNode<SendWaiter<T>> {
  item: T;
  resolve(accepted: boolean): void;
  reject(error: unknown): void;
  since: number;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const RESOLVED_FALSE = Promise.resolve(false);

/**
 * The FIFO of producers waiting for room, shared by `Channel` and
 * `DurableChannel`: their timeouts, their abort signals and the time they
 * spent waiting. The owner decides when a slot is free and takes the
 * longest-waiting producer with {@link shift}; a producer that gives up
 * (timeout or abort) is reported to the owner (`[producerGaveUp]`) so the owner counts its
 * item as dropped.
 */
/**
 * What a {@link BlockedProducers} reports to. An owner object rather than a
 * callback: a closure per channel would make optimized callers depend on that
 * one function and be thrown away when its channel is collected.
 */
export interface GiveUpListener {
  [producerGaveUp](reason: 'timeout' | 'aborted'): void;
}

/** Symbol-keyed so the owner's handler stays off its public API. */
export const producerGaveUp = Symbol('producerGaveUp');

export class BlockedProducers<T> {
  readonly waiters = new WaiterList<SendWaiter<T>>();
  private settledMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly owner: GiveUpListener,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Queues a producer. Resolves true once the owner admits it, false when
   * `timeoutMs` passes first; rejects with `signal.reason` on abort.
   * `timeoutMs` 0 gives up at once without queueing.
   */
  wait(item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      return Promise.reject(new InvalidArgumentError(`send(): timeoutMs must be a number >= 0, got ${describe(timeoutMs)}`));
    }
    if (timeoutMs === 0) {
      this.owner[producerGaveUp]('timeout');
      return RESOLVED_FALSE;
    }
    return new Promise<boolean>((resolve, reject) => {
      const w: SendWaiter<T> = {
        prev: undefined,
        next: undefined,
        linked: false,
        item,
        resolve,
        reject,
        since: this.clock.now(),
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (timeoutMs !== undefined) {
        w.timer = this.clock.schedule(timeoutMs, () => {
          w.timer = undefined;
          this.giveUp(w, 'timeout');
          resolve(false);
        });
      }
      if (signal) {
        w.onAbort = () => {
          this.giveUp(w, 'aborted');
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /**
   * Takes the longest-waiting producer off the queue and ends its wait (timer,
   * listener, waited time). The caller settles its promise: `resolve(true)`
   * once its item is buffered, or `reject(...)` when closing.
   */
  shift(): SendWaiter<T> | undefined {
    const w = this.waiters.shift();
    if (w) this.release(w);
    return w;
  }

  /** Total time producers have spent waiting, including those still waiting. */
  blockedMs(): number {
    let sum = this.settledMs;
    if (this.waiters.size === 0) return sum;
    const now = this.clock.now();
    for (let w = this.waiters.head; w; w = w.next) sum += now - w.since;
    return sum;
  }

  /**
   * How long the producer waiting longest has been waiting, 0 when none is.
   * O(1): the queue is FIFO and a waiter's start time is fixed, so the head is the oldest.
   */
  longestBlockedMs(): number {
    const head = this.waiters.head;
    return head ? this.clock.now() - head.since : 0;
  }

  private giveUp(w: SendWaiter<T>, reason: 'timeout' | 'aborted'): void {
    this.waiters.remove(w);
    this.release(w);
    this.owner[producerGaveUp](reason);
  }

  private release(w: SendWaiter<T>): void {
    this.settledMs += this.clock.now() - w.since;
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }
}
