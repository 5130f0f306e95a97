import { MemoryBuffer } from '../../internal/engine/memory.js';
import type { ChannelState, DropReason, ResolvedChannelOptions, SendOptions } from '../../internal/engine/options.js';

/**
 * The bounded buffer in front of the sink: the same memory buffer and channel
 * engine a `Channel` runs on (strategies, watermarks, waiting producers,
 * close), held by composition, plus what the writer needs beyond a channel's
 * public face: taking a batch synchronously and reading the counters without
 * building a stats object.
 */
export class WriterBuffer<T> {
  private readonly memory: MemoryBuffer<T>;

  constructor(options: ResolvedChannelOptions) {
    this.memory = new MemoryBuffer<T>(options);
  }

  get size(): number {
    return this.memory.size;
  }
  get state(): ChannelState {
    return this.memory.state;
  }
  get pressured(): boolean {
    return this.memory.engine.signals.pressured;
  }
  /** With `maxBytes`: the byte budget; undefined without. */
  get maxBytes(): number | undefined {
    return this.memory.budget?.maxBytes;
  }
  /** With `maxBytes`: bytes buffered now; 0 without. */
  get bytes(): number {
    return this.memory.bytes;
  }
  /** With `maxBytes`: bytes of every item written (buffered or dropped at the door); 0 without. */
  get writtenBytes(): number {
    return this.memory.budget?.offeredBytes ?? 0;
  }
  /** With `maxBytes`: bytes of the items the buffer dropped (refused, evicted, given up); 0 without. */
  get droppedBytes(): number {
    return this.memory.budget?.droppedBytes ?? 0;
  }
  /**
   * With `maxBytes`: bytes of every item taken out so far, so the bytes of a
   * batch are the difference across {@link take} (no `sizeOf` call); 0 without.
   */
  get takenBytes(): number {
    const budget = this.memory.budget;
    if (budget === undefined) return 0;
    const held = this.memory.bytes; // syncs the budget with the ring first
    return budget.offeredBytes - held - budget.droppedBytes;
  }
  /** With `maxBytes`: `sizeOf(item)`, checked (for the items of a partly failed batch). */
  measure(item: T): number {
    return this.memory.budget!.measure(item);
  }
  /** `Channel.setMaxBytes()`'s effect, value checked, on a buffer built with `maxBytes`. */
  setMaxBytes(maxBytes: number): void {
    this.memory.setMaxBytes(maxBytes);
  }
  /**
   * With `maxBytes`: true while the bytes are at or above the high watermark
   * or producers wait for room, so a batch is due before the item count fills
   * one (a few large items can fill the bytes long before `batchSize`). False without.
   */
  get bytesPressed(): boolean {
    const memory = this.memory;
    const budget = memory.budget;
    return budget !== undefined && (memory.engine.senders.size !== 0 || memory.bytes >= budget.maxBytes * memory.engine.highWatermark);
  }

  trySend(item: T): boolean {
    return this.memory.trySend(item);
  }

  /** `Channel.send()`, for options the writer has already checked (under `write()`). */
  send(item: T, options?: SendOptions): Promise<boolean> {
    return this.memory.sendChecked(item, options);
  }

  close(): void {
    this.memory.close();
  }

  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.memory.engine.onPressureChange(listener);
  }

  /** Removes up to `max` items, oldest first, letting waiting producers in behind them. */
  take(max: number): T[] {
    return this.memory.takeBatch(max);
  }

  get offered(): number {
    return this.memory.offeredCount;
  }

  get waiting(): number {
    return this.memory.engine.senders.size;
  }

  get dropped(): number {
    return this.memory.engine.droppedTotal();
  }

  /** The buffer's drops by reason, plus the writer's own (`own`'s counts add to the buffer's). */
  droppedByWith<R extends string>(own: Record<R, number>): Record<DropReason | R, number> {
    const all: Record<string, number> = { ...this.memory.engine.droppedBy };
    for (const reason of Object.keys(own) as R[]) all[reason] = (all[reason] ?? 0) + own[reason];
    return all as Record<DropReason | R, number>;
  }
}
