import type { ChannelState } from './options.js';

type Listeners = { state: ((state: ChannelState, previous: ChannelState) => void)[]; pressure: ((pressured: boolean) => void)[] };

/**
 * Derives a channel's state and its pressure flag from its size, and tells
 * listeners when either changes. Runs on every size change, so the common case
 * (nothing changed) is a handful of integer comparisons.
 */
export class ChannelSignals {
  state: ChannelState = 'normal';
  pressured = false;
  pressureEvents = 0;
  /**
   * While the channel is open and `quietMin <= size <= quietMax`, neither the
   * state nor the pressure flag can change, so the hot path skips `update()`.
   */
  quietMin = 0;
  quietMax = -1;
  private listeners: Listeners | undefined;

  constructor(
    private readonly capacity: number,
    private readonly highLimit: number,
    private readonly lowLimit: number,
  ) {
    this.update(0, false);
  }

  /**
   * `size` is what memory holds; `backlog` is true while a spill store (or its
   * write batch) holds items too. A backlog keeps a closed channel `'draining'`
   * and keeps pressure on: upstream should hear about items memory could not take.
   */
  update(size: number, closed: boolean, backlog = false): void {
    let next: ChannelState;
    if (closed) next = size === 0 && !backlog ? 'closed' : 'draining';
    else if (size >= this.capacity) next = 'blocked';
    else if (size >= this.highLimit) next = 'critical';
    else if (size >= this.lowLimit) next = 'elevated';
    else next = 'normal';
    if (next !== this.state) this.setState(next);

    // Hysteresis: pressure turns on when utilization reaches the high
    // watermark and off only once it has fallen to the low watermark, so a
    // producer pausing on it does not flap around a single threshold.
    if (this.pressured) {
      if ((size <= this.lowLimit && !backlog) || closed) this.setPressured(false);
    } else if ((size >= this.highLimit || backlog) && !closed) {
      this.pressureEvents++;
      this.setPressured(true);
    }
    this.setQuietBand(closed || backlog);
  }

  // Sizes are integers while the limits may not be: `size >= x` first holds at ceil(x).
  private setQuietBand(everyChange: boolean): void {
    if (everyChange) {
      this.quietMin = Infinity; // every change is looked at once closed or while spilled
      this.quietMax = -1;
      return;
    }
    const lowStart = Math.ceil(this.lowLimit);
    const highStart = Math.ceil(this.highLimit);
    let min: number;
    let max: number;
    switch (this.state) {
      case 'normal':
        min = 0;
        max = lowStart - 1;
        break;
      case 'elevated':
        min = lowStart;
        max = highStart - 1;
        break;
      case 'critical':
        min = highStart;
        max = this.capacity - 1;
        break;
      default:
        min = this.capacity;
        max = Infinity;
    }
    // Pressure turns off at size <= lowLimit, i.e. below floor(lowLimit) + 1; it turns on at highStart.
    if (this.pressured) min = Math.max(min, Math.floor(this.lowLimit) + 1);
    else max = Math.min(max, highStart - 1);
    this.quietMin = min;
    this.quietMax = max;
  }

  listen<K extends keyof Listeners>(kind: K, listener: Listeners[K][number]): () => void {
    if (typeof listener !== 'function') throw new TypeError(`${kind} listener must be a function`);
    const list = ((this.listeners ??= { state: [], pressure: [] })[kind] as unknown[]);
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  private setState(next: ChannelState): void {
    const previous = this.state;
    this.state = next;
    if (this.listeners) for (const l of [...this.listeners.state]) call(() => l(next, previous));
  }

  private setPressured(on: boolean): void {
    this.pressured = on;
    if (this.listeners) for (const l of [...this.listeners.pressure]) call(() => l(on));
  }
}

// A throwing listener must not corrupt the channel mid-operation; its error is
// rethrown on a fresh stack so it surfaces like any uncaught exception.
function call(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
