import type { Clock, TimerHandle } from '../clock/index.js';
import { LimitExceededError } from '../errors/index.js';

interface VirtualTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A {@link Clock} whose time moves only when told to. Timers fire in order of
 * due time, ties in order of scheduling, so a run is fully deterministic.
 *
 * @example
 * const clock = new VirtualClock();
 * const channel = new Channel({ capacity: 1, clock });
 * channel.trySend(1);
 * const pending = channel.send(2, { timeoutMs: 100 });
 * clock.advance(100); // the timeout fires; `pending` resolves false
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private heap: VirtualTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, callback: () => void): TimerHandle {
    const timer: VirtualTimer = {
      at: this.time + Math.max(0, Number.isFinite(delayMs) ? delayMs : 0),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.heapPush(timer);
    return timer;
  }

  cancel(handle: TimerHandle): void {
    (handle as VirtualTimer).cancelled = true;
  }

  /** Number of timers still due to fire. */
  get pending(): number {
    let n = 0;
    for (const t of this.heap) if (!t.cancelled) n++;
    return n;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way, each with
   * `now()` equal to its due time. Synchronous: promise callbacks triggered by
   * the timers run after it returns. Use {@link advanceAsync} when code under
   * test awaits between timers.
   */
  advance(ms: number): void {
    const target = this.time + ms;
    for (let t = this.nextDue(target); t; t = this.nextDue(target)) {
      this.time = t.at;
      t.callback();
    }
    this.time = target;
  }

  /**
   * Like {@link advance}, but lets promise callbacks and other microtasks run
   * after each timer fires, so async code reacts at the virtual instant it
   * would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.time + ms;
    await flushMicrotasks();
    for (let t = this.nextDue(target); t; t = this.nextDue(target)) {
      this.time = t.at;
      t.callback();
      await flushMicrotasks();
    }
    this.time = target;
  }

  /**
   * Fires timers until none is left. Throws after `limit` timers, which
   * catches code that reschedules itself forever.
   */
  runAll(limit = 1_000_000): void {
    let fired = 0;
    for (let t = this.nextDue(Infinity); t; t = this.nextDue(Infinity)) {
      if (++fired > limit) throw new LimitExceededError(`VirtualClock.runAll(): more than ${limit} timers fired; a timer keeps rescheduling itself`);
      this.time = Math.max(this.time, t.at);
      t.callback();
    }
  }

  private nextDue(limit: number): VirtualTimer | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (top.cancelled) {
        this.heapPop();
        continue;
      }
      if (top.at > limit) return undefined;
      return this.heapPop();
    }
    return undefined;
  }

  private heapPush(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private heapPop(): VirtualTimer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Resolves after every microtask queued so far (and those they queue) has run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
