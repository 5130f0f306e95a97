import type { LatencySummary } from './engine.js';

// Measuring helpers of the simulator: the blocked producer's FIFO and the wait histogram.

/** FIFO of numbers in a growable ring: the items a blocked producer holds, by arrival time. */
export class FloatQueue {
  private buf = new Float64Array(1024);
  private head = 0;
  length = 0;

  push(value: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.length; i++) bigger[i] = this.buf[(this.head + i) % this.buf.length]!;
      this.buf = bigger;
      this.head = 0;
    }
    this.buf[(this.head + this.length) % this.buf.length] = value;
    this.length++;
  }

  shift(): number {
    const value = this.buf[this.head]!;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return value;
  }
}

// Log-linear buckets: 16 per doubling from 1 µs to about 3 years, about 4.4 % wide.
const SUB = 16;
const MIN_LOG2 = -10;
const BUCKETS = (37 - MIN_LOG2) * SUB;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS + 1);
  private n = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    const index = ms <= 0 ? 0 : Math.min(BUCKETS, Math.max(0, Math.floor((Math.log2(ms) - MIN_LOG2) * SUB) + 1));
    this.counts[index]!++;
  }

  summary(): LatencySummary {
    return { meanMs: this.n ? this.sum / this.n : 0, p50Ms: this.quantile(0.5), p90Ms: this.quantile(0.9), p99Ms: this.quantile(0.99), maxMs: this.max };
  }

  /** Upper edge of the bucket holding the q-quantile, capped at the maximum seen. */
  private quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = q * this.n;
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank && seen > 0) return i === 0 ? 0 : Math.min(this.max, 2 ** (i / SUB + MIN_LOG2));
    }
    return this.max;
  }
}
