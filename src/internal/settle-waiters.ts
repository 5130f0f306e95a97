import type { Clock, TimerHandle } from '../core/clock/index.js';
import { Fifo, Rejection, pendingResolveInto } from './timed-list.js';

/**
 * A caller waiting for something to settle. Holds only its promise's
 * `resolve` (rejections go through a `Rejection`); it is its own abort
 * listener (`handleEvent`), so no closure is kept for the signal.
 */
class SettleWaiter {
  prev: SettleWaiter | undefined = undefined;
  next: SettleWaiter | undefined = undefined;
  resolve: (settled: boolean | Rejection) => void = noop;
  timer: TimerHandle | undefined = undefined;
  constructor(
    readonly owner: SettleWaiters,
    readonly signal: AbortSignal | undefined,
  ) {}

  handleEvent(): void {
    if (this.owner[leave](this)) this.resolve(new Rejection(this.signal!.reason));
  }

  timedOut(): void {
    this.timer = undefined;
    if (this.owner[leave](this)) this.resolve(false);
  }
}

function noop(): void {}

const ONCE = { once: true };
const leave = Symbol('leave');

/**
 * Callers waiting for something to settle (a channel's or a writer's
 * `drained()`, a writer's `drain()`), each with its own timeout and signal,
 * all settled together by the owner.
 */
export class SettleWaiters {
  private readonly list = new Fifo<SettleWaiter>();

  constructor(private readonly clock: Clock) {}

  /**
   * Resolves true from {@link resolveAll}, false when `timeoutMs` passes first;
   * rejects with `signal.reason` on abort. The caller checks `signal.aborted` first.
   */
  wait(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    const w = new SettleWaiter(this, signal);
    const pending = pendingResolveInto(w) as Promise<boolean>;
    if (timeoutMs !== undefined) w.timer = this.clock.schedule(timeoutMs, () => w.timedOut());
    if (signal) signal.addEventListener('abort', w, ONCE);
    this.list.push(w);
    return pending;
  }

  get size(): number {
    return this.list.size;
  }

  resolveAll(): void {
    for (let w = this.list.shift(); w; w = this.list.shift()) {
      this.release(w);
      w.resolve(true);
    }
  }

  rejectAll(error: unknown): void {
    for (let w = this.list.shift(); w; w = this.list.shift()) {
      this.release(w);
      w.resolve(new Rejection(error));
    }
  }

  /** A waiter's timeout or abort: false when it already left. */
  [leave](w: SettleWaiter): boolean {
    if (!this.list.remove(w)) return false;
    this.release(w);
    return true;
  }

  private release(w: SettleWaiter): void {
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.signal) w.signal.removeEventListener('abort', w);
  }
}
