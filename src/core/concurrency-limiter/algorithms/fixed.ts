import type { LimitAlgorithm, LimitBounds } from './types.js';

/** A limit that never changes: a plain semaphore. Samples are counted, not used. */
export class FixedLimit implements LimitAlgorithm {
  readonly limit: number;

  constructor(bounds: Pick<LimitBounds, 'initialLimit'>) {
    this.limit = bounds.initialLimit;
  }

  update(): number {
    return this.limit;
  }
}
