import { InvalidArgumentError } from '../../core/errors/index.js';
import { describe } from '../describe.js';
import type { ChannelState } from './options.js';
import type { Watermarks } from './watermarks.js';

type Listeners = { state: ((state: ChannelState, previous: ChannelState) => void)[]; pressure: ((pressured: boolean) => void)[] };

/**
 * A size no buffer reaches (V8 arrays hold far fewer elements). Used instead
 * of `Infinity` so the quiet band stays small integers and the hot-path
 * comparisons against it stay integer comparisons.
 */
export const NEVER = 2 ** 30 - 1;

/**
 * Derives a channel's state and its pressure flag from its size, and tells
 * listeners when either changes. The owner calls {@link update} only when the
 * size leaves the quiet band, so the common case costs two integer comparisons.
 */
export class ChannelSignals {
  /**
   * The state as of the last {@link update}. Current only while the owner
   * calls `update()` on every change or someone listens for state changes;
   * otherwise read {@link stateAt}.
   */
  state: ChannelState = 'normal';
  pressured = false;
  pressureEvents = 0;
  /**
   * While the channel is open and `quietMin <= size <= quietMax`, nothing a
   * listener or the pressure flag cares about can change, so the hot path
   * skips `update()`. Without state listeners the band only follows the
   * pressure hysteresis: state is derived on read, not tracked.
   */
  quietMin = 0;
  quietMax = -1;
  private listeners: Listeners | undefined;
  /** Set when the first state listener arrives: the next update adopts the state silently. */
  private resyncState = false;
  private highLimit: number;
  private lowLimit: number;
  private lowStart: number;
  private highStart: number;
  /** Pressure turns off at size <= lowLimit, i.e. below this. */
  private pressureOffBelow: number;

  constructor(
    private capacity: number,
    marks: Watermarks,
  ) {
    this.highLimit = marks.highLimit;
    this.lowLimit = marks.lowLimit;
    this.lowStart = marks.lowStart;
    this.highStart = marks.highStart;
    this.pressureOffBelow = marks.pressureOffBelow;
    this.update(0, false);
  }

  /**
   * Takes a new capacity and watermarks at runtime. Listeners, the pressure
   * flag and the tracked state are kept: the owner's next {@link update}
   * compares against the new thresholds and tells listeners what changed.
   */
  reconfigure(capacity: number, marks: Watermarks): void {
    this.capacity = capacity;
    this.highLimit = marks.highLimit;
    this.lowLimit = marks.lowLimit;
    this.lowStart = marks.lowStart;
    this.highStart = marks.highStart;
    this.pressureOffBelow = marks.pressureOffBelow;
  }

  /** The state for these inputs, whether or not it is being tracked. */
  stateAt(size: number, closed: boolean, backlog = false): ChannelState {
    if (closed) return size === 0 && !backlog ? 'closed' : 'draining';
    if (size >= this.capacity) return 'blocked';
    if (size >= this.highStart) return 'critical';
    if (size >= this.lowStart) return 'elevated';
    return 'normal';
  }

  /**
   * `size` is what memory holds; `backlog` is true while a spill store (or its
   * write batch) holds items too. A backlog keeps a closed channel `'draining'`
   * and keeps pressure on: upstream should hear about items memory could not take.
   */
  update(size: number, closed: boolean, backlog = false): void {
    const next = this.stateAt(size, closed, backlog);
    if (this.resyncState) {
      this.resyncState = false;
      this.state = next;
    } else if (next !== this.state) this.setState(next);

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

  private setQuietBand(everyChange: boolean): void {
    if (everyChange) {
      this.quietMin = NEVER; // every change is looked at once closed or while spilled
      this.quietMax = -1;
      return;
    }
    let min = 0;
    let max = NEVER;
    if (this.listeners !== undefined && this.listeners.state.length !== 0) {
      switch (this.state) {
        case 'normal':
          max = this.lowStart - 1;
          break;
        case 'elevated':
          min = this.lowStart;
          max = this.highStart - 1;
          break;
        case 'critical':
          min = this.highStart;
          max = this.capacity - 1;
          break;
        default:
          min = this.capacity;
      }
    }
    if (this.pressured) min = Math.max(min, this.pressureOffBelow);
    else max = Math.min(max, this.highStart - 1);
    this.quietMin = min;
    this.quietMax = max;
  }

  listen<K extends keyof Listeners>(kind: K, listener: Listeners[K][number]): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`on${kind === 'state' ? 'State' : 'Pressure'}Change(listener): listener must be a function, got ${describe(listener)}`);
    const list = ((this.listeners ??= { state: [], pressure: [] })[kind] as unknown[]);
    // The tracked state may be stale (see `state`): the owner's next update() adopts it without telling anyone.
    if (kind === 'state' && list.length === 0) this.resyncState = true;
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
