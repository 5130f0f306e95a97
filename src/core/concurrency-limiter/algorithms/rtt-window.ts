import type { LimitSample } from './types.js';

/** What one round trip of calls looked like. */
export interface RoundTrip {
  /** Mean RTT of the calls in the window, in ms. */
  averageRttMs: number;
  /** Highest `inflight` among them: how much of the limit was in use. */
  maxInflight: number;
}

/**
 * Collects the successful calls admitted since the limit last changed and,
 * once it holds `size` of them (about one round trip at the current limit),
 * hands back their mean RTT. Vegas and Gradient2 decide on that mean rather
 * than on single calls.
 *
 * Why: a downstream serves calls in batches (its slots free up together), so
 * within one round trip some calls find a free slot and some queue behind a
 * whole batch. With 10 slots and a limit of 18, each round trip has 2 calls
 * at the no-load RTT and 8 at twice it. Deciding on whichever call completes
 * first made Vegas alternate between "no queue: + beta" and "long queue:
 * − step" and settle at about 21, Gradient2 at about 28 (simulation.test.ts).
 * The mean over the round trip is what the limit actually costs in latency
 * (Little's law: mean RTT = limit / throughput), and is stable. Netflix gets
 * the same effect by wrapping its limits in a `WindowedLimit` with an
 * `AverageSampleWindow`, over a fixed time rather than a round trip.
 */
export class RttWindow {
  private from = -Infinity;
  private sum = 0;
  private count = 0;
  private maxInflight = 0;

  /**
   * Adds `sample` if it was admitted at or after `since` (the last change of
   * the limit; an earlier `since` than before restarts the window). Returns
   * the round trip when `size` calls have been collected, and starts a new
   * window from the same `since`.
   */
  add(sample: LimitSample, since: number, size: number): RoundTrip | undefined {
    if (since !== this.from) {
      this.from = since;
      this.clear();
    }
    if (sample.startedAt < since) return undefined;
    this.sum += sample.rttMs;
    this.count++;
    this.maxInflight = Math.max(this.maxInflight, sample.inflight);
    if (this.count < size) return undefined;
    const trip = { averageRttMs: this.sum / this.count, maxInflight: this.maxInflight };
    this.clear();
    return trip;
  }

  private clear(): void {
    this.sum = 0;
    this.count = 0;
    this.maxInflight = 0;
  }
}
