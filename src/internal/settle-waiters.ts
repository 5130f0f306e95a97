import type { Clock, TimerHandle } from '../clock/index.js';
import { WaiterList, type ListNode } from './waiter-list.js';

interface SettleWaiter extends ListNode<SettleWaiter> {
  resolve(settled: boolean): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Callers waiting for something to settle (a channel's or a writer's
 * `drained()`, a writer's `drain()`), each with its own timeout and signal,
 * all settled together by the owner.
 */
export class SettleWaiters {
  private readonly list = new WaiterList<SettleWaiter>();

  constructor(private readonly clock: Clock) {}

  /**
   * Resolves true from {@link resolveAll}, false when `timeoutMs` passes first;
   * rejects with `signal.reason` on abort. The caller checks `signal.aborted` first.
   */
  wait(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const w: SettleWaiter = { prev: undefined, next: undefined, linked: false, resolve, reject, timer: undefined, signal, onAbort: undefined };
      if (timeoutMs !== undefined) {
        w.timer = this.clock.schedule(timeoutMs, () => {
          w.timer = undefined;
          this.list.remove(w);
          this.release(w);
          resolve(false);
        });
      }
      if (signal) {
        w.onAbort = () => {
          this.list.remove(w);
          this.release(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.list.push(w);
    });
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
      w.reject(error);
    }
  }

  private release(w: SettleWaiter): void {
    if (w.timer !== undefined) this.clock.cancel(w.timer);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }
}
