// The sliding windows of a CircuitBreaker: calls, failures and slow calls of
// the last N calls, or of the last windowMs. Both record in O(1) and hold their
// totals, so reading a rate is a division; neither runs anything while idle.

/** @internal */
export interface OutcomeWindow {
  calls: number;
  failures: number;
  slow: number;
  /** Adds one outcome at time `now`. */
  add(failure: boolean, slow: boolean, now: number): void;
  /** Lets calls older than the window go (time windows); a no-op for count windows. */
  expire(now: number): void;
  clear(): void;
}

const FAILURE = 1;
const SLOW = 2;

/** @internal The last `size` outcomes in a ring of flags. */
export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly ring: Uint8Array;
  private next = 0;

  constructor(private readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  add(failure: boolean, slow: boolean): void {
    const ring = this.ring;
    const i = this.next;
    if (this.calls === this.size) {
      const old = ring[i]!;
      if (old & FAILURE) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    ring[i] = (failure ? FAILURE : 0) | (slow ? SLOW : 0);
    if (failure) this.failures++;
    if (slow) this.slow++;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  expire(): void {}

  clear(): void {
    this.calls = this.failures = this.slow = 0;
    this.next = 0;
  }
}

/**
 * @internal `buckets` buckets of `ms / buckets` each, indexed by
 * `floor(now / width)`. A bucket is emptied when time moves past the window's
 * end for it; only the buckets time skipped over are visited, so a record
 * costs O(1) amortized and a long idle gap at most `buckets` steps.
 */
export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly width: number;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlow: Float64Array;
  /** Index (floor(now / width)) of the newest bucket in use; -Infinity before the first call. */
  private head = -Infinity;

  constructor(
    ms: number,
    private readonly buckets: number,
  ) {
    this.width = ms / buckets;
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlow = new Float64Array(buckets);
  }

  add(failure: boolean, slow: boolean, now: number): void {
    this.expire(now);
    const slot = this.slotOf(this.head);
    this.bucketCalls[slot]!++;
    this.calls++;
    if (failure) {
      this.bucketFailures[slot]!++;
      this.failures++;
    }
    if (slow) {
      this.bucketSlow[slot]!++;
      this.slow++;
    }
  }

  expire(now: number): void {
    const index = Math.floor(now / this.width);
    if (index <= this.head) return;
    if (this.calls !== 0) {
      // Empty the buckets between the old head (exclusive) and the new one (inclusive): they are reused.
      const steps = Math.min(index - this.head, this.buckets);
      for (let k = 1; k <= steps; k++) this.emptySlot(this.slotOf(this.head + k));
    }
    this.head = index;
  }

  clear(): void {
    this.calls = this.failures = this.slow = 0;
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
  }

  private slotOf(index: number): number {
    const m = index % this.buckets;
    return m < 0 ? m + this.buckets : m;
  }

  private emptySlot(slot: number): void {
    this.calls -= this.bucketCalls[slot]!;
    this.failures -= this.bucketFailures[slot]!;
    this.slow -= this.bucketSlow[slot]!;
    this.bucketCalls[slot] = this.bucketFailures[slot] = this.bucketSlow[slot] = 0;
  }
}
