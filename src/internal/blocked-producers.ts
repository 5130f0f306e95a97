import type { Clock, TimerHandle } from '../core/clock/index.js';
import { InvalidArgumentError } from '../core/errors/index.js';
import { Rejection, TimedList, pendingResolveInto } from './timed-list.js';
import { describe } from './describe.js';

/**
 * A producer waiting for room under `'block'`. A class, so every waiter has
 * one fixed shape. It holds its promise's `resolve` only: `reject` resolves
 * with a {@link Rejection}, so the promise's own reject function is never
 * kept, and the timeout and abort wiring hangs off {@link hooks} only for
 * producers that have a timeout or a signal. A plain waiter costs no more than
 * a bare pending promise with its resolve and reject held.
 */
export class SendWaiter<T> {
  prev: SendWaiter<T> | undefined = undefined;
  next: SendWaiter<T> | undefined = undefined;
  /** Settles the send: true once the item is in, false on timeout. */
  resolve: (accepted: boolean) => void = noop;
  hooks: WaitHooks<T> | undefined = undefined;
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

function noop(): void {}

/**
 * A waiter's timeout and abort wiring. It is its own abort listener
 * (`handleEvent`), so an abortable wait allocates no listener closure.
 */
class WaitHooks<T> {
  timer: TimerHandle | undefined = undefined;
  constructor(
    readonly queue: BlockedProducers<T>,
    readonly waiter: SendWaiter<T>,
    readonly signal: AbortSignal | undefined,
  ) {}

  handleEvent(): void {
    if (this.queue[gaveUp](this.waiter, 'aborted')) (this.waiter.resolve as (value: unknown) => void)(new Rejection(this.signal!.reason));
  }

  timedOut(): void {
    this.timer = undefined;
    if (this.queue[gaveUp](this.waiter, 'timeout')) this.waiter.resolve(false);
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
  [producerGaveUp](reason: 'timeout' | 'aborted'): void;
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
      this.owner[producerGaveUp]('timeout');
      return RESOLVED_FALSE;
    }
    const now = this.clock.now();
    const w = new SendWaiter(item, now);
    const pending = pendingResolveInto(w);
    if (timeoutMs !== undefined || signal) {
      const hooks = new WaitHooks(this, w, signal);
      w.hooks = hooks;
      if (timeoutMs !== undefined) hooks.timer = this.clock.schedule(timeoutMs, () => hooks.timedOut());
      if (signal) signal.addEventListener('abort', hooks, ONCE);
    }
    this.list.push(w, now);
    return pending;
  }

  /**
   * Takes the longest-waiting producer off the queue and ends its wait (timer,
   * listener, waited time). The caller settles its promise: `resolve(true)`
   * once its item is buffered, or `reject(...)` when closing.
   */
  shift(): SendWaiter<T> | undefined {
    if (this.list.size === 0) return undefined;
    const w = this.list.shift(this.clock.now())!;
    if (w.hooks) this.unhook(w.hooks);
    return w;
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
    this.unhook(w.hooks!);
    this.owner[producerGaveUp](reason);
    return true;
  }

  private unhook(hooks: WaitHooks<T>): void {
    if (hooks.timer !== undefined) this.clock.cancel(hooks.timer);
    hooks.timer = undefined;
    if (hooks.signal) hooks.signal.removeEventListener('abort', hooks);
  }
}
