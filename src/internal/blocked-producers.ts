import type { Clock } from '../core/clock/index.js';
import { InvalidArgumentError } from '../core/errors/index.js';
import { DeadlineQueue, Rejection, TimedList, pendingResolveInto, type DeadlineGroup, type DeadlineNode } from './timed-list.js';
import { describe } from './describe.js';

/**
 * A producer waiting for room under `'block'`. A class, so every waiter has
 * one fixed shape. It holds its promise's `resolve` only: `reject` resolves
 * with a {@link Rejection}, so the promise's own reject function is never
 * kept, and the abort wiring hangs off {@link hooks} only for producers that
 * have a signal. A plain waiter costs no more than a bare pending promise
 * with its resolve and reject held; one with a timeout is a
 * {@link TimedSendWaiter}, three fields more.
 */
export class SendWaiter<T> {
  prev: SendWaiter<T> | undefined = undefined;
  next: SendWaiter<T> | undefined = undefined;
  /** Settles the send: true once the item is in, false on timeout. */
  resolve: (accepted: boolean) => void = noop;
  hooks: AbortHook | undefined = undefined;
  constructor(
    readonly item: T,
    readonly since: number,
  ) {}

  /**
   * Rejects the send with `error`, one microtask later than a direct reject.
   * A getter returning a function, so it may be passed around detached.
   */
  get reject(): (error: unknown) => void {
    return (error) => (this.resolve as (value: unknown) => void)(new Rejection(error));
  }
}

/**
 * A producer with a timeout: also in its queue's {@link DeadlineQueue}, which
 * times out every waiter of the queue on one clock timer (no timer, handle or
 * closure per waiter).
 */
class TimedSendWaiter<T> extends SendWaiter<T> implements DeadlineNode<TimedSendWaiter<T>> {
  dprev: TimedSendWaiter<T> | undefined = undefined;
  dnext: TimedSendWaiter<T> | undefined = undefined;
  group: DeadlineGroup<TimedSendWaiter<T>> | undefined = undefined;
}

function noop(): void {}

/** A waiter's abort listener: an object with `handleEvent`, so an abortable wait allocates no listener closure. */
class AbortHook {
  constructor(
    // `any`: the item type plays no part here, and a typed queue would make SendWaiter<T> invariant in T.
    readonly queue: BlockedProducers<any>,
    readonly waiter: SendWaiter<any>,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    if (this.queue[gaveUp](this.waiter, 'aborted')) (this.waiter.resolve as (value: unknown) => void)(new Rejection(this.signal.reason));
  }
}

const RESOLVED_FALSE = Promise.resolve(false);
const ONCE = { once: true };
const gaveUp = Symbol('gaveUp');

/**
 * What a {@link BlockedProducers} reports to. An owner object rather than a
 * callback: a closure per channel would make optimized callers depend on that
 * one function and be thrown away when its channel is collected.
 */
export interface GiveUpListener {
  /** `item` is the waiting producer's item (a byte-bounded channel reads its recorded size from it). */
  [producerGaveUp](reason: 'timeout' | 'aborted', item: unknown): void;
}

/** Symbol-keyed so the owner's handler stays off its public API. */
export const producerGaveUp = Symbol('producerGaveUp');

/**
 * The FIFO of producers waiting for room, shared by `Channel` and
 * `DurableChannel`: their timeouts, their abort signals and the time they
 * spent waiting. The owner decides when a slot is free and takes the
 * longest-waiting producer with {@link shift}; a producer that gives up
 * (timeout or abort) is reported to the owner (`[producerGaveUp]`) so the owner counts its
 * item as dropped.
 */
export class BlockedProducers<T> {
  private readonly list = new TimedList<SendWaiter<T>>();
  /**
   * The timeouts of the producers that have one, on one timer; created with
   * the first (a FairChannel has a queue per key). (`any`: see AbortHook.)
   */
  private deadlines: DeadlineQueue<TimedSendWaiter<any>> | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly owner: GiveUpListener,
  ) {}

  get size(): number {
    return this.list.size;
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
      this.owner[producerGaveUp]('timeout', item);
      return RESOLVED_FALSE;
    }
    const now = this.clock.now();
    // A timeout that can never come (Infinity) is no timeout.
    const timed = timeoutMs !== undefined && timeoutMs !== Infinity;
    const w = timed ? new TimedSendWaiter(item, now) : new SendWaiter(item, now);
    const pending = pendingResolveInto(w);
    if (signal) {
      w.hooks = new AbortHook(this, w, signal);
      signal.addEventListener('abort', w.hooks, ONCE);
    }
    this.list.push(w, now);
    if (timed) {
      this.deadlines ??= new DeadlineQueue<TimedSendWaiter<T>>(this.clock, (t: TimedSendWaiter<T>) => {
        if (this[gaveUp](t, 'timeout')) t.resolve(false);
      });
      this.deadlines.add(w as TimedSendWaiter<T>, timeoutMs);
    }
    return pending;
  }

  /**
   * Takes the longest-waiting producer off the queue and ends its wait
   * (timeout, listener, waited time). The caller settles its promise:
   * `resolve(true)` once its item is buffered, or `reject(...)` when closing.
   */
  shift(): SendWaiter<T> | undefined {
    if (this.list.size === 0) return undefined;
    const w = this.list.shift(this.clock.now())!;
    this.unhook(w);
    return w;
  }

  /** The longest-waiting producer, left on the queue (a byte-bounded channel checks its item fits before taking it). */
  peek(): SendWaiter<T> | undefined {
    return this.list.head;
  }

  /** Total time producers have spent waiting, including those still waiting. O(1). */
  blockedMs(): number {
    return this.list.waitedMs(this.clock.now());
  }

  /** How long the producer waiting longest has been waiting, 0 when none is. O(1). */
  longestBlockedMs(): number {
    return this.list.longestMs(this.clock.now());
  }

  /** A producer's timeout or abort: false when it already left the queue. */
  [gaveUp](w: SendWaiter<T>, reason: 'timeout' | 'aborted'): boolean {
    if (!this.list.remove(w, this.clock.now())) return false;
    this.unhook(w);
    this.owner[producerGaveUp](reason, w.item);
    return true;
  }

  private unhook(w: SendWaiter<T>): void {
    if (w instanceof TimedSendWaiter) this.deadlines!.remove(w);
    const hooks = w.hooks;
    if (hooks === undefined) return;
    w.hooks = undefined;
    hooks.signal.removeEventListener('abort', hooks);
  }
}
