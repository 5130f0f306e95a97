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
 *
 * AIMD does not measure the downstream's capacity: it settles where calls
 * reach its RTT timeout, i.e. where the queue it builds downstream makes
 * calls slower than `timeoutMs`. Set `timeoutMs` just above the no-load RTT
 * to keep that queue short: at 1.5× the no-load RTT it settles at about 11
 * permits for a 10-slot downstream, 8 to 9 for 5 slots, 20 to 21 for 20
 * (simulation.test.ts). With the default of 5000 ms it only backs off on
 * drops, after the downstream's queue has grown to seconds.
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
