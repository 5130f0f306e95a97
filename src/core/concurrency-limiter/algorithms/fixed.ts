import type { LimitAlgorithm, LimitBounds } from './types.js';

/** A limit that changes only when set: a plain semaphore. Samples are counted, not used. */
export class FixedLimit implements LimitAlgorithm {
  limit: number;

  constructor(bounds: Pick<LimitBounds, 'initialLimit'>) {
    this.limit = bounds.initialLimit;
  }

  update(): number {
    return this.limit;
  }

  setBounds(minLimit: number, maxLimit: number): number {
    this.limit = Math.min(maxLimit, Math.max(minLimit, this.limit));
    return this.limit;
  }
}
