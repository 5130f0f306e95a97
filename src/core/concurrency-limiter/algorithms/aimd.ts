import { AdaptiveLimit, type LimitBounds, type LimitSample } from './types.js';

export interface AimdSettings {
  backoffRatio: number;
  timeoutMs: number;
}

/**
 * Additive increase, multiplicative decrease (after Netflix's `AIMDLimit`).
 * - A drop, or a call slower than `timeoutMs`: floor(limit × `backoffRatio`),
 *   so always at least one less.
 * - Any other sample: limit + 1 (subject to the app-limited guard).
 */
export class AimdLimit extends AdaptiveLimit {
  private readonly backoffRatio: number;
  private readonly timeoutMs: number;

  constructor(bounds: LimitBounds, settings: AimdSettings) {
    super(bounds);
    this.backoffRatio = settings.backoffRatio;
    this.timeoutMs = settings.timeoutMs;
  }

  protected propose(sample: LimitSample, effective: boolean): number {
    if (!effective) return this.estimate;
    const limit = Math.floor(this.estimate);
    if (sample.dropped || sample.rttMs > this.timeoutMs) {
      return Math.floor(limit * this.backoffRatio); // integer limit, ratio < 1: at least 1 less
    }
    return limit + 1;
  }
}
