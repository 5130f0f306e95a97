import { Channel } from '../channel/index.js';
import type { DropReason } from '../channel/options.js';

/**
 * The channel in front of the sink, opened up just enough for the writer:
 * taking a batch synchronously and reading the counters without building a
 * stats object. Everything else (strategies, watermarks, waiting producers,
 * close) is the channel's own behaviour, unchanged.
 */
export class WriterBuffer<T> extends Channel<T> {
  /** Removes up to `max` items, oldest first, letting waiting producers in behind them. */
  take(max: number): T[] {
    return this.takeBatch(max);
  }

  get offered(): number {
    return this.acceptedCount + this.refusedCount;
  }

  get waiting(): number {
    return this.senders.size;
  }

  get dropped(): number {
    return this.droppedTotal();
  }

  /** The channel's drops by reason, plus the writer's own (`own`'s counts add to the channel's). */
  droppedByWith<R extends string>(own: Record<R, number>): Record<DropReason | R, number> {
    const all: Record<string, number> = { ...this.droppedBy };
    for (const reason of Object.keys(own) as R[]) all[reason] = (all[reason] ?? 0) + own[reason];
    return all as Record<DropReason | R, number>;
  }
}
