import { NoLoadRtt } from './no-load-rtt.js';
import { RttWindow } from './rtt-window.js';
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
 * Calls averaged per decision: `limit` (one round trip), at least 10 so that
 * a small limit's mean is not a few calls' luck.
 */
export function roundTripSize(limit: number): number {
  return Math.max(10, limit);
}

/** Vegas's thresholds for an integer `limit`: queue lengths, in calls. */
export interface VegasThresholds {
  /** No more than this queueing: grow by beta. */
  threshold: number;
  /** Less than this queueing: grow by step. */
  alpha: number;
  /** More than this queueing: shrink by step. */
  beta: number;
  step: number;
}

/**
 * Netflix's thresholds (step = max(1, floor(log10 limit)), alpha = 3 step,
 * beta = 6 step, threshold = step), with alpha capped at limit / 6 and beta
 * at limit / 3 (both at least 1).
 *
 * The caps keep the queue Vegas holds downstream to at most a third of its
 * permits, i.e. the mean RTT within 1.5× the no-load RTT (limit calls, two
 * thirds of them in service). Netflix's fixed 3 and 6 calls are 60% of a
 * 10-slot downstream, and more than a whole 5-slot one: there Vegas would
 * settle at 8 to 11 permits, up to 2.2× the no-load latency. From a limit of
 * 18 (alpha) and 36 (beta) on, the caps no longer bind.
 */
export function vegasThresholds(limit: number): VegasThresholds {
  const step = vegasStep(limit);
  return {
    step,
    threshold: step,
    alpha: Math.min(3 * step, Math.max(1, Math.floor(limit / 6))),
    beta: Math.min(6 * step, Math.max(1, Math.floor(limit / 3))),
  };
}

/**
 * Delay-based limit after TCP Vegas and Netflix's `VegasLimit`. Once per
 * round trip (see {@link RttWindow}: the mean RTT of {@link roundTripSize}
 * calls admitted since the limit last changed), the queue the limit builds downstream is
 * estimated as ceil(limit × (1 − noLoadRtt / meanRtt)); with the thresholds
 * of {@link vegasThresholds}:
 * - drop: limit − step, at once (at most once per round trip);
 * - queue <= threshold: limit + beta (nothing is queueing: grow fast);
 * - queue < alpha: limit + step;
 * - queue > beta: limit − step;
 * - otherwise unchanged.
 * Each result is blended with the current limit by `smoothing`. A round trip
 * in which less than half the limit was in use changes nothing. See
 * {@link NoLoadRtt} for how the no-load RTT is measured.
 *
 * Against a downstream of N slots under steady load this settles where
 * alpha <= limit − N <= beta: 12 to 15 permits for 10 slots, 7 for 5, 23 to
 * 26 for 20 (simulation.test.ts).
 */
export class VegasLimit extends AdaptiveLimit {
  private readonly smoothing: number;
  private readonly noLoad: NoLoadRtt;
  private readonly window = new RttWindow();

  constructor(bounds: LimitBounds, settings: VegasSettings) {
    super(bounds);
    this.smoothing = settings.smoothing;
    this.noLoad = new NoLoadRtt(settings.probeMultiplier);
  }

  /** The no-load RTT estimate in ms, 0 before the first round trip. */
  get noLoadRttMs(): number {
    return this.noLoad.value;
  }

  get probing(): boolean {
    return this.noLoad.probing;
  }

  protected propose(sample: LimitSample, effective: boolean): number {
    const estimate = this.estimate;
    if (sample.dropped) {
      if (this.noLoad.probing) {
        if (effective) this.noLoad.lowerRestore((limit) => this.smooth(limit, limit - vegasStep(Math.floor(limit))), this.minLimit);
        return estimate;
      }
      return this.smooth(estimate, estimate - vegasStep(Math.floor(estimate)));
    }
    if (!(sample.rttMs > 0)) return estimate;
    const switchTo = this.noLoad.observe(sample, estimate, this.minLimit, effective);
    if (switchTo !== undefined) {
      this.restoring = this.noLoad.ended;
      return switchTo;
    }
    if (this.noLoad.probing) return estimate;
    const limit = Math.floor(estimate);
    const trip = this.window.add(sample, this.changedAt, roundTripSize(limit));
    if (trip === undefined) return estimate;
    if (!this.noLoad.noteRoundTrip(trip.averageRttMs)) return estimate;
    // An app-limited round trip's latency is not of our making: it neither grows nor shrinks the limit (as in Netflix's).
    if (!effective || trip.maxInflight * 2 < limit) return estimate;
    const queue = Math.ceil(estimate * (1 - this.noLoad.value / trip.averageRttMs));
    const { step, threshold, alpha, beta } = vegasThresholds(limit);
    if (queue <= threshold) return this.smooth(estimate, estimate + beta);
    if (queue < alpha) return this.smooth(estimate, estimate + step);
    if (queue > beta) return this.smooth(estimate, estimate - step);
    return estimate;
  }

  private smooth(from: number, to: number): number {
    return (1 - this.smoothing) * from + this.smoothing * to;
  }
}
