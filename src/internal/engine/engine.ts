import type { Clock } from '../../core/clock/index.js';
import { ClosedError } from '../../core/errors/index.js';
import { BlockedProducers, producerGaveUp, type GiveUpListener } from '../blocked-producers.js';
import { Listeners } from '../listeners.js';
import { SettleWaiters } from '../settle-waiters.js';
import * as v from '../validate.js';
import { Admit, createPolicy, type Admission, type BufferPolicy } from './policy.js';
import { ChannelSignals } from './signals.js';
import { newDropCounts, type ChannelReconfigureEvent, type ChannelState, type DropReason, type OverflowStrategy, type ResolvedChannelOptions } from './options.js';
import { watermarks, type Watermarks } from './watermarks.js';

/**
 * What an engine needs from the component that owns the items (a memory ring,
 * a durable store): the owner decides what "size" and "drained" mean, the
 * engine decides everything else. An object rather than callbacks, so every
 * engine calls the same prototype methods (see `GiveUpListener`).
 */
export interface EngineOwner {
  /** A waiting producer gave up (timeout or abort) or was released by close; its drop is already counted. `item` is what it waited with. */
  producerLeft(item: unknown): void;
  /** Recomputes state and pressure from the owner's size (a listener just arrived). */
  updateSignals(): void;
  /** True once closed and nothing is left to deliver. */
  isDrained(): boolean;
  /** Why `drained()` can never resolve (a detached store), or undefined. */
  drainRefusal(): Error | undefined;
}

const drainedSpec: v.CallOptionSpec<{ signal?: AbortSignal }> = { signal: 'signal' };
const noop = (): void => {};

/**
 * The one channel engine: admission (the buffer policy), signals (state and
 * pressure), producers blocked for room, `drained()` waiters and drop
 * accounting, for every channel-like component. `Channel` and `BatchWriter`
 * reach it through their memory tier ({@link MemoryTier}), `DurableChannel`
 * directly; none of them inherits from another.
 *
 * The engine never holds items: its owner does, and passes its size in. That
 * keeps one engine for a ring in memory and for a store whose size is counted
 * in commits, and keeps the engine off the hot path: the memory tier's fast
 * branches read their own fields and reach the engine only when something
 * has to be decided (full, closed, someone waiting).
 */
export class ChannelEngine<T> implements GiveUpListener {
  /** Changed at runtime only through {@link reconfigure}, like the watermarks and `marks`. */
  capacity: number;
  readonly overflow: OverflowStrategy;
  highWatermark: number;
  lowWatermark: number;
  readonly name: string;
  readonly clock: Clock;
  readonly maxBlockMs: number | undefined;
  marks: Watermarks;
  readonly policy: BufferPolicy;
  readonly signals: ChannelSignals;
  readonly senders: BlockedProducers<T>;
  /** Callers of `drained()`. */
  readonly drainWaiters: SettleWaiters;
  readonly droppedBy: Record<DropReason, number> = newDropCounts();
  /** Items dropped at the moment they were offered (every reason but eviction and spill failure). */
  refused = 0;
  closed = false;
  /** Runtime calls (`resize()`, `setWatermarks()`) that changed a setting. */
  adjustments = 0;
  readonly reconfigureListeners = new Listeners<ChannelReconfigureEvent>();
  private readonly owner: EngineOwner;

  constructor(o: ResolvedChannelOptions, owner: EngineOwner) {
    this.capacity = o.capacity;
    this.overflow = o.overflow;
    this.highWatermark = o.highWatermark;
    this.lowWatermark = o.lowWatermark;
    this.name = o.name;
    this.clock = o.clock;
    this.maxBlockMs = o.maxBlockMs;
    this.marks = watermarks(o.capacity, o.highWatermark, o.lowWatermark);
    this.policy = createPolicy(o.overflow, o.capacity, this.marks, o.sampleEvery);
    this.signals = new ChannelSignals(o.capacity, this.marks);
    this.senders = new BlockedProducers<T>(o.clock, this);
    this.drainWaiters = new SettleWaiters(o.clock);
    this.owner = owner;
  }

  /**
   * The decision for an offer while the owner holds `size` items: below the
   * policy's threshold with no producer queued it is buffered without asking
   * the policy; otherwise the policy decides.
   */
  admit(size: number): Admission {
    if (size < this.policy.admitBelow && this.senders.size === 0) return Admit.accept;
    return this.policy.admit(size);
  }

  /**
   * Takes a new capacity and watermarks (already checked) into the policy and
   * the signals, keeping listeners, the pressure flag and every count. The
   * owner then re-derives its own limits, lets waiting producers in and
   * updates the signals (which tells listeners about a crossed threshold),
   * and finally emits the returned events.
   * @returns one event per setting that changed; empty when nothing did (then nothing is counted).
   */
  reconfigure(capacity: number, highWatermark: number, lowWatermark: number): ChannelReconfigureEvent[] {
    const events: ChannelReconfigureEvent[] = [];
    if (capacity !== this.capacity) events.push({ setting: 'capacity', previous: this.capacity, value: capacity });
    if (highWatermark !== this.highWatermark) events.push({ setting: 'highWatermark', previous: this.highWatermark, value: highWatermark });
    if (lowWatermark !== this.lowWatermark) events.push({ setting: 'lowWatermark', previous: this.lowWatermark, value: lowWatermark });
    if (events.length === 0) return events;
    this.capacity = capacity;
    this.highWatermark = highWatermark;
    this.lowWatermark = lowWatermark;
    this.marks = watermarks(capacity, highWatermark, lowWatermark);
    this.policy.reconfigure(capacity, this.marks);
    this.signals.reconfigure(capacity, this.marks);
    this.adjustments++;
    return events;
  }

  /** Queues a producer for room; `timeoutMs` undefined means the channel's `maxBlockMs`. */
  waitForRoom(item: T, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<boolean> {
    return this.senders.wait(item, signal, timeoutMs ?? this.maxBlockMs);
  }

  [producerGaveUp](reason: 'timeout' | 'aborted', item: unknown): void {
    this.drop(reason);
    this.owner.producerLeft(item);
  }

  drop(reason: DropReason): void {
    this.refused++;
    this.droppedBy[reason]++;
  }

  closedDrop(message?: string): ClosedError {
    this.drop('closed');
    return new ClosedError(message);
  }

  abortedDrop(signal: AbortSignal): Promise<never> {
    this.drop('aborted');
    return Promise.reject(signal.reason);
  }

  droppedTotal(): number {
    const d = this.droppedBy;
    return d['drop-newest'] + d['drop-oldest'] + d.sample + d.rejected + d.timeout + d.aborted + d.closed + d['spill-failed'] + d['too-large'];
  }

  /**
   * Marks the engine closed and releases every waiting producer with
   * `ClosedError`, each counted as dropped (reason `'closed'`).
   * @returns false when it was closed already (close is idempotent).
   */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    for (let w = this.senders.shift(); w; w = this.senders.shift()) {
      this.drop('closed');
      this.owner.producerLeft(w.item);
      w.reject(new ClosedError('Channel closed while the producer was waiting for room'));
    }
    return true;
  }

  /** `drained()` of every channel: options checked, an aborted signal first, then the owner's drained state. */
  drained(options: { signal?: AbortSignal } | undefined): Promise<void> {
    const invalid = v.callOptionsError(options, 'drained()', drainedSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.owner.isDrained()) return Promise.resolve();
    const refusal = this.owner.drainRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.drainWaiters.wait(undefined, signal).then(noop);
  }

  onStateChange(listener: (state: ChannelState, previous: ChannelState) => void): () => void {
    const unsubscribe = this.signals.listen('state', listener);
    // State is tracked only while someone listens: adopt the current one silently
    // (and let the owner narrow its quiet band so every change is seen from now on).
    this.owner.updateSignals();
    return unsubscribe;
  }

  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.signals.listen('pressure', listener);
  }
}
