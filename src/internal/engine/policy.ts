import type { OverflowStrategy } from './options.js';
import type { Watermarks } from './watermarks.js';

/**
 * The decision a buffer policy makes for an offer at or above its threshold.
 * Below the threshold the channel buffers without asking, which keeps the
 * policy off the hot path.
 */
export const Admit = {
  accept: 0,
  evictOldest: 1,
  dropNewest: 2,
  dropSample: 3,
  reject: 4,
  wait: 5,
} as const;
export type Admission = (typeof Admit)[keyof typeof Admit];

/** The tiny interface behind every overflow strategy. */
export interface BufferPolicy {
  /** Offers are buffered without consulting {@link admit} while size is below this. */
  readonly admitBelow: number;
  /** Decides an offer made at `size >= admitBelow`. */
  admit(size: number): Admission;
  /** Takes a new capacity and watermarks (a runtime `resize()` or `setWatermarks()`); a sample keeps its count. */
  reconfigure(capacity: number, marks: Watermarks): void;
}

/**
 * Policies are class instances, not object literals with arrow functions: an
 * arrow created per channel is a new function per channel, and optimized code
 * that inlined one is thrown away when that channel is collected. Prototype
 * methods are shared, so the hot path stays optimized across channels.
 */
export function createPolicy(strategy: OverflowStrategy, capacity: number, marks: Watermarks, sampleEvery: number): BufferPolicy {
  switch (strategy) {
    case 'block':
      return new FixedPolicy(capacity, Admit.wait);
    case 'drop-newest':
      return new FixedPolicy(capacity, Admit.dropNewest);
    case 'drop-oldest':
      return new FixedPolicy(capacity, Admit.evictOldest);
    case 'reject':
      return new FixedPolicy(capacity, Admit.reject);
    case 'sample':
      return new SamplePolicy(capacity, marks.highStart, sampleEvery);
  }
}

/** Buffers below capacity; at capacity always makes the same decision. */
class FixedPolicy implements BufferPolicy {
  constructor(
    public admitBelow: number,
    private readonly whenFull: Admission,
  ) {}
  admit(): Admission {
    return this.whenFull;
  }
  reconfigure(capacity: number): void {
    this.admitBelow = capacity;
  }
}

class SamplePolicy implements BufferPolicy {
  private counter = 0;
  /** Sampling starts at the high watermark: `admitBelow` is its first size (see {@link Watermarks.highStart}). */
  constructor(
    private capacity: number,
    public admitBelow: number,
    private readonly every: number,
  ) {}
  reconfigure(capacity: number, marks: Watermarks): void {
    this.capacity = capacity;
    this.admitBelow = marks.highStart;
  }
  admit(size: number): Admission {
    this.counter = this.counter + 1 === this.every ? 0 : this.counter + 1;
    if (this.counter !== 0) return Admit.dropSample;
    return size >= this.capacity ? Admit.dropNewest : Admit.accept;
  }
}
