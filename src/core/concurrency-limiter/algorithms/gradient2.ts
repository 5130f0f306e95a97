import { NoLoadRtt } from './no-load-rtt.js';
import { RttWindow } from './rtt-window.js';
import { roundTripSize } from './vegas.js';
import { AdaptiveLimit, type LimitBounds, type LimitSample } from './types.js';

export interface Gradient2Settings {
  longWindow: number;
  tolerance: number;
  queueSize: number;
  smoothing: number;
  backoffRatio: number;
  probeMultiplier: number;
}

/** Samples averaged plainly before the exponential average takes over. */
const WARMUP_SAMPLES = 10;

/**
 * Gradient limit after Netflix's `Gradient2Limit`:
 * - longRtt: exponential moving average of RTTs over `longWindow` samples,
 *   capped at the no-load RTT (see below);
 * - once per round trip (see {@link RttWindow}: the mean RTT of
 *   {@link roundTripSize} calls admitted since the limit last changed),
 *   gradient = clamp(tolerance × longRtt / meanRtt, 0.5, 1);
 * - target = limit × gradient when the gradient is below 1, limit + queueSize
 *   when it is 1 (latency within tolerance);
 * - limit ← limit × (1 − smoothing) + target × smoothing.
 *
 * Against a downstream of N slots under steady load this settles near
 * tolerance × N: the mean RTT is then tolerance × the no-load RTT (16 permits
 * for 10 slots at the default 1.5, 8 for 5, 32 for 20: simulation.test.ts).
 *
 * Changes from Netflix's, each found necessary in simulation:
 * - decisions on a round trip's mean RTT, not on each call: see
 *   {@link RttWindow};
 * - queueSize is added only while latency is within tolerance. Netflix adds
 *   it on every sample, which puts the equilibrium at tolerance × N +
 *   queueSize: 19 for 10 slots, 11.5 for 5, above the latency the tolerance
 *   is meant to allow;
 * - a drop multiplies the limit by `backoffRatio`. Netflix's version ignores
 *   drops, so a downstream that times out every call lets the limit creep to
 *   the maximum; a dropped call's RTT is not fed to the average either, since
 *   a timeout or an instant refusal says nothing about normal latency;
 * - longRtt is capped at the no-load RTT (see {@link NoLoadRtt}). Under
 *   steady saturation every RTT includes the queue, the average converges on
 *   it, the gradient returns to 1 and the queueSize term grows the limit
 *   without end: the average has learned the queue as normal. The cap stops
 *   that drift. (It used to be tolerance × the no-load RTT, which applied the
 *   tolerance twice: latency up to 2.25× was accepted, and Gradient2 settled
 *   at ~28 permits for 10 slots.)
 */
export class Gradient2Limit extends AdaptiveLimit {
  private readonly settings: Gradient2Settings;
  private readonly longFactor: number;
  private readonly noLoad: NoLoadRtt;
  private longRtt = 0;
  private longCount = 0;
  private readonly window = new RttWindow();

  constructor(bounds: LimitBounds, settings: Gradient2Settings) {
    super(bounds);
    this.settings = settings;
    this.longFactor = 2 / (settings.longWindow + 1);
    this.noLoad = new NoLoadRtt(settings.probeMultiplier);
  }

  /** The long-term RTT in ms (after the cap), 0 before the first sample. */
  get longRttMs(): number {
    return this.longRtt;
  }

  /** The no-load RTT estimate in ms, 0 before the first sample. */
  get noLoadRttMs(): number {
    return this.noLoad.value;
  }

  protected propose(sample: LimitSample, effective: boolean): number {
    const { tolerance, queueSize, smoothing, backoffRatio } = this.settings;
    const estimate = this.estimate;
    if (sample.dropped) {
      if (!this.noLoad.probing) return estimate * backoffRatio;
      if (effective) this.noLoad.lowerRestore((limit) => limit * backoffRatio, this.minLimit);
      return estimate;
    }
    const rtt = sample.rttMs;
    if (!(rtt > 0)) return estimate;
    const switchTo = this.noLoad.observe(sample, estimate, this.minLimit, effective);
    const longRtt = this.addLong(rtt);
    if (switchTo !== undefined) {
      this.restoring = this.noLoad.ended;
      return switchTo;
    }
    // An app-limited call's latency is not of our making: it neither grows nor shrinks the limit (as in Netflix's).
    if (this.noLoad.probing) return estimate;
    const limit = Math.floor(estimate);
    const trip = this.window.add(sample, this.changedAt, roundTripSize(limit));
    if (trip === undefined) return estimate;
    if (!this.noLoad.noteRoundTrip(trip.averageRttMs)) return estimate;
    if (!effective || trip.maxInflight * 2 < limit) return estimate;
    const gradient = Math.max(0.5, Math.min(1, (tolerance * longRtt) / trip.averageRttMs));
    const target = gradient < 1 ? estimate * gradient : estimate + queueSize;
    return estimate * (1 - smoothing) + target * smoothing;
  }

  private addLong(rtt: number): number {
    if (this.longCount < WARMUP_SAMPLES) {
      this.longCount++;
      this.longRtt += (rtt - this.longRtt) / this.longCount;
    } else {
      this.longRtt += (rtt - this.longRtt) * this.longFactor;
    }
    // Netflix: after a long overload the average lags far above the current RTT; pull it down faster.
    if (this.longRtt / rtt > 2) this.longRtt *= 0.9;
    if (this.noLoad.value > 0) this.longRtt = Math.min(this.longRtt, this.noLoad.value);
    return this.longRtt;
  }
}
