import type { TimerHandle } from '../../clock/index.js';
import type { Clock } from '../../clock/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { describe } from '../../../internal/describe.js';
import { Listeners } from '../../../internal/listeners.js';
import { ChannelSignals, NEVER } from '../../../internal/engine/signals.js';
import { watermarks } from '../../../internal/engine/watermarks.js';
import type { ReceiveWaiter } from '../../../internal/engine/memory.js';
import type { ChannelState, ReceiveBatchOptions, ReceiveOptions, ReconfigureEvent } from '../../../internal/engine/options.js';
import { SettleWaiters } from '../../../internal/settle-waiters.js';
import * as v from '../../../internal/validate.js';
import { WaiterList } from '../../../internal/waiter-list.js';

export const RESOLVED_TRUE = Promise.resolve(true);
export const RESOLVED_FALSE = Promise.resolve(false);
const RESOLVED_UNDEFINED = Promise.resolve(undefined);
const noop = (): void => {};

const receiveSpec: v.CallOptionSpec<ReceiveOptions> = { signal: 'signal' };
const receiveBatchSpec: v.CallOptionSpec<ReceiveBatchOptions> = { signal: 'signal', maxWaitMs: 'ms' };
const drainedSpec: v.CallOptionSpec<{ signal?: AbortSignal }> = { signal: 'signal' };

/**
 * The consumer side shared by `PriorityChannel` and `FairChannel`: waiting
 * receivers and batch collectors, the pump that hands items to them, close
 * and `drained()`, and the state and pressure signals (the channel engine's
 * `ChannelSignals` and watermarks, so both read exactly like a `Channel`).
 *
 * A subclass holds the items in lanes (one per level, one per key) and
 * decides which lane the next item comes from ({@link takeOne}), who is let
 * in when room frees ({@link admitWaiter}) and what a close does to waiting
 * producers ({@link releaseProducers}). The item count lives here in
 * {@link size}; subclasses change it as they push and take.
 */
/** A runtime change of one setting, as `onReconfigure` listeners receive it: a channel's settings, and a fair channel's per-key capacity. */
export type LaneReconfigureEvent = ReconfigureEvent<'capacity' | 'highWatermark' | 'lowWatermark' | 'perKeyCapacity'>;

export abstract class LaneCore<T> {
  readonly clock: Clock;
  readonly signals: ChannelSignals;
  /** Items buffered, over every lane. */
  size = 0;
  closed = false;
  readonly receivers = new WaiterList<ReceiveWaiter<T>>();
  readonly collectors = new WaiterList<ReceiveWaiter<T>>();
  readonly drainWaiters: SettleWaiters;
  /** Copies of the signals' quiet band: sizes at which no signal can change. */
  quietMin = 0;
  quietMax = -1;
  /** A take leaving the size at or above this needs nothing else; {@link NEVER} while producers wait or once closed. */
  receiveQuietFrom = NEVER;
  /** Runtime calls (`resize()`, `setWatermarks()`, ...) that changed a setting. */
  adjustments = 0;
  readonly reconfigureListeners = new Listeners<LaneReconfigureEvent>();
  /** Changed at runtime only through {@link reconfigure}. */
  private cap: number;
  private high: number;
  private low: number;

  constructor(capacity: number, highWatermark: number, lowWatermark: number, clock: Clock) {
    this.cap = capacity;
    this.high = highWatermark;
    this.low = lowWatermark;
    this.clock = clock;
    this.signals = new ChannelSignals(capacity, watermarks(capacity, highWatermark, lowWatermark));
    this.drainWaiters = new SettleWaiters(clock);
  }

  /** Most items buffered over every lane. */
  get capacity(): number {
    return this.cap;
  }
  /** Fraction of capacity at which the channel becomes pressured. */
  get highWatermark(): number {
    return this.high;
  }
  /** Fraction of capacity at or below which a pressured channel stops being pressured. */
  get lowWatermark(): number {
    return this.low;
  }

  /**
   * Takes a new capacity and watermarks (already checked by the caller) and,
   * through `extra`, a subclass setting (already applied, its event given):
   * the signals get the new thresholds, the subclass re-derives its limits
   * ({@link capacityChanged}), the pump lets in waiting producers that now
   * fit (in the subclass's admission order) and re-derives state and pressure,
   * which tells listeners about a crossed watermark before this returns.
   * Counted once and emitted only when a setting changed.
   */
  protected reconfigure(capacity: number, highWatermark: number, lowWatermark: number, extra?: LaneReconfigureEvent): void {
    const events: LaneReconfigureEvent[] = [];
    if (capacity !== this.cap) events.push({ setting: 'capacity', previous: this.cap, value: capacity });
    if (highWatermark !== this.high) events.push({ setting: 'highWatermark', previous: this.high, value: highWatermark });
    if (lowWatermark !== this.low) events.push({ setting: 'lowWatermark', previous: this.low, value: lowWatermark });
    if (extra !== undefined) events.push(extra);
    if (events.length === 0) return;
    this.cap = capacity;
    this.high = highWatermark;
    this.low = lowWatermark;
    this.signals.reconfigure(capacity, watermarks(capacity, highWatermark, lowWatermark));
    this.capacityChanged();
    this.adjustments++;
    this.pump();
    this.reconfigureListeners.emit(...events);
  }

  /** The capacity moved: re-derive the subclass's own limits (the pump then syncs the fast paths). */
  protected abstract capacityChanged(): void;
  /** Removes the next item by the subclass's schedule; `size > 0`. Decrements {@link size}. */
  protected abstract takeOne(): T;
  /** Lets one waiting producer in if there is room for it; true when one was let in. */
  protected abstract admitWaiter(): boolean;
  /** Rejects every waiting producer with `ClosedError`, counting each as dropped (`'closed'`). */
  protected abstract releaseProducers(): void;
  /** Producers waiting for room, over every lane. */
  abstract waitingProducers(): number;
  /** Recomputes the subclass's fast-path limits from the quiet band, the waiters and `closed`. */
  protected abstract syncLimits(): void;
  abstract tryReceive(): T | undefined;

  get state(): ChannelState {
    return this.signals.stateAt(this.size, this.closed);
  }

  /** True while the fast paths must stay closed: consumers wait or the channel is closed. */
  protected consumersWaiting(): boolean {
    return this.receivers.size !== 0 || this.collectors.size !== 0;
  }

  updateSignals(): void {
    const signals = this.signals;
    signals.update(this.size, this.closed);
    this.quietMin = signals.quietMin;
    this.quietMax = signals.quietMax;
    this.refresh();
  }

  /** After any change to the waiter lists or `closed`. */
  refresh(): void {
    this.receiveQuietFrom = this.closed || this.waitingProducers() !== 0 ? NEVER : this.quietMin;
    this.syncLimits();
  }

  /** After a slow-path push: hand the item to a waiting consumer, or update the signals. */
  protected afterPush(): void {
    if (this.receivers.size !== 0 || this.collectors.size !== 0) this.pump();
    else if (this.size > this.quietMax) this.updateSignals();
  }

  /** After a take that left the size below {@link receiveQuietFrom}. */
  protected afterTake(): void {
    if (this.closed || this.waitingProducers() !== 0) this.pump();
    else if (this.size < this.quietMin) this.updateSignals();
  }

  receive(options?: ReceiveOptions): Promise<T | undefined> {
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'receive()', receiveSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.size !== 0) return Promise.resolve(this.tryReceive());
    if (this.closed) return RESOLVED_UNDEFINED;
    return this.queueReceiver(0, 1, 0, signal) as Promise<T | undefined>;
  }

  receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    if (!Number.isSafeInteger(max) || max < 1) {
      return Promise.reject(new InvalidArgumentError(`receiveBatch(max): max must be an integer >= 1, got ${describe(max)}`));
    }
    let maxWaitMs = 0;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = v.callOptionsError(options, 'receiveBatch()', receiveBatchSpec);
      if (invalid !== undefined) return Promise.reject(invalid);
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      maxWaitMs = options.maxWaitMs ?? 0;
    }
    const size = this.size;
    if (size !== 0 && (maxWaitMs === 0 || size >= max || size >= this.capacity || this.closed)) return Promise.resolve(this.takeBatch(max));
    if (size === 0 && this.closed) return Promise.resolve([]);
    return this.queueReceiver(1, max, maxWaitMs, signal) as Promise<T[]>;
  }

  /** Removes up to `max` items in the subclass's schedule order, letting waiting producers in behind them. */
  takeBatch(max: number): T[] {
    const n = max < this.size ? max : this.size;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = this.takeOne();
    if (this.size < this.receiveQuietFrom) this.afterTake();
    return out;
  }

  iterator(): AsyncIterableIterator<T> {
    const next = (): Promise<IteratorResult<T>> => {
      if (this.size !== 0) return Promise.resolve({ value: this.tryReceive() as T, done: false });
      return this.receive().then((value) => (value === undefined ? { value: undefined, done: true } : { value, done: false }));
    };
    return {
      next,
      return(): Promise<IteratorResult<T>> {
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseProducers();
    this.pump();
  }

  drained(options: { signal?: AbortSignal } | undefined): Promise<void> {
    const invalid = v.callOptionsError(options, 'drained()', drainedSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed && this.size === 0) return Promise.resolve();
    return this.drainWaiters.wait(undefined, signal).then(noop);
  }

  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    const unsubscribe = this.signals.listen('state', listener);
    this.updateSignals(); // adopt the current state silently and narrow the quiet band
    return unsubscribe;
  }

  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.signals.listen('pressure', listener);
  }

  private queueReceiver(kind: 0 | 1, max: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const w: ReceiveWaiter<T> = {
        prev: undefined,
        next: undefined,
        linked: false,
        kind,
        max,
        maxWaitMs,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        w.onAbort = () => {
          this.receivers.remove(w);
          this.collectors.remove(w);
          this.settleReceiver(w);
          this.refresh();
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (this.size !== 0) this.startCollecting(w);
      else this.receivers.push(w);
      this.refresh();
    });
  }

  private settleReceiver(w: ReceiveWaiter<T>): void {
    if (w.timer !== undefined) this.clock.cancel(w.timer as TimerHandle);
    w.timer = undefined;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
  }

  private startCollecting(w: ReceiveWaiter<T>): void {
    this.collectors.push(w);
    w.timer = this.clock.schedule(w.maxWaitMs, () => {
      w.timer = undefined;
      this.collectors.remove(w);
      if (this.size === 0 && !this.closed) {
        this.receivers.push(w); // another consumer took the items: wait for a first item again
        return;
      }
      this.settleReceiver(w);
      this.refresh();
      w.resolve(this.takeBatch(w.max));
    });
  }

  /**
   * Moves items between waiting producers, the lanes and waiting consumers
   * until nothing more can move, then refreshes state, pressure and the
   * fast-path limits.
   */
  pump(): void {
    for (;;) {
      if (this.admitWaiter()) continue;
      if (this.receivers.size !== 0 && this.size !== 0) {
        const w = this.receivers.shift()!;
        if (w.kind === 0) {
          this.settleReceiver(w);
          w.resolve(this.takeOne());
        } else if (w.maxWaitMs > 0 && !this.closed && this.size < Math.min(w.max, this.capacity)) {
          this.startCollecting(w);
        } else {
          this.settleReceiver(w);
          w.resolve(this.takeMany(w.max));
        }
        continue;
      }
      const c = this.collectors.head;
      if (c && (this.closed || this.size >= Math.min(c.max, this.capacity))) {
        this.collectors.remove(c);
        this.settleReceiver(c);
        c.resolve(this.takeMany(c.max));
        continue;
      }
      break;
    }
    if (this.closed && this.size === 0) this.finish();
    this.updateSignals();
  }

  private takeMany(max: number): T[] {
    const n = max < this.size ? max : this.size;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = this.takeOne();
    return out;
  }

  private finish(): void {
    for (let w = this.receivers.shift(); w; w = this.receivers.shift()) {
      this.settleReceiver(w);
      w.resolve(w.kind === 0 ? undefined : []);
    }
    this.drainWaiters.resolveAll();
  }
}
