import { NoLoadRtt } from './no-load-rtt.js';
import { AdaptiveLimit, type LimitBounds, type LimitSample } from './types.js';

export interface VegasSettings {
  probeMultiplier: number;
  smoothing: number;
}

/** max(1, floor(log10(limit))): the unit that scales alpha, beta and the threshold. */
export function vegasStep(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(Math.max(1, limit))));
}

/**
 * Delay-based limit after TCP Vegas and Netflix's `VegasLimit`. The queue the
 * limit builds downstream is estimated as ceil(limit × (1 − minRtt / rtt));
 * with step = max(1, floor(log10 limit)), alpha = 3 step, beta = 6 step:
 * - drop: limit − step;
 * - queue <= step: limit + beta (nothing is queueing: grow fast);
 * - queue < alpha: limit + step;
 * - queue > beta: limit − step;
 * - otherwise unchanged.
 * Each result is blended with the current limit by `smoothing`. A sample with
 * a new lowest RTT only records it. See {@link NoLoadRtt} for how the minimum
 * is re-measured.
 */
export class VegasLimit extends AdaptiveLimit {
  private readonly smoothing: number;
  private readonly noLoad: NoLoadRtt;

  constructor(bounds: LimitBounds, settings: VegasSettings) {
    super(bounds);
    this.smoothing = settings.smoothing;
    this.noLoad = new NoLoadRtt(settings.probeMultiplier);
  }

  /** The no-load RTT estimate in ms, 0 before the first sample. */
  get noLoadRttMs(): number {
    return this.noLoad.value;
  }

  get probing(): boolean {
    return this.noLoad.probing;
  }

  protected propose(sample: LimitSample, effective: boolean): number {
    const estimate = this.estimate;
    const step = vegasStep(Math.floor(estimate));
    if (sample.dropped) {
      if (this.noLoad.probing) {
        if (effective) this.noLoad.lowerRestore((limit) => this.smooth(limit, limit - vegasStep(Math.floor(limit))), this.minLimit);
        return estimate;
      }
      return this.smooth(estimate, estimate - step);
    }
    const rtt = sample.rttMs;
    if (!(rtt > 0)) return estimate;
    const previousMin = this.noLoad.value;
    const switchTo = this.noLoad.observe(sample, estimate, this.minLimit, effective);
    if (switchTo !== undefined) {
      this.restoring = this.noLoad.ended;
      return switchTo;
    }
    // An app-limited call's latency is not of our making: it neither grows nor shrinks the limit (as in Netflix's).
    if (this.noLoad.probing || this.noLoad.value !== previousMin || !effective || this.appLimited(sample)) return estimate;
    const queue = Math.ceil(estimate * (1 - this.noLoad.value / rtt));
    if (queue <= step) return this.smooth(estimate, estimate + 6 * step);
    if (queue < 3 * step) return this.smooth(estimate, estimate + step);
    if (queue > 6 * step) return this.smooth(estimate, estimate - step);
    return estimate;
  }

  private smooth(from: number, to: number): number {
    return (1 - this.smoothing) * from + this.smoothing * to;
  }
}
