import type { LimitSample } from './types.js';

/**
 * The probe limit as a share of the estimated bandwidth-delay product. At
 * 0.75 an estimate that starts too high (the first round trip queued) is
 * never corrected: the probe's own calls queue and confirm it.
 */
const PROBE_DEPTH = 0.5;
/**
 * A probe measures this many calls (but no more than three round trips at the
 * probe limit, nor fewer than one), so that its median is not one call's luck.
 */
const PROBE_SAMPLES = 10;

/**
 * The round-trip time of a call that did not queue downstream, as Vegas and
 * Gradient2 need it. A typical such call, not the fastest one ever seen: with
 * service times of 10 ms ± 50% the lowest RTT tends to 5 ms, and Vegas then
 * reads half of every round trip as queue and holds the limit below capacity.
 *
 * - It starts as the mean RTT of the first round trip (see {@link RttWindow}),
 *   which may already have queued, so a probe follows at once.
 * - Every `probeMultiplier × limit` samples it is measured again (probed;
 *   deterministic, where Netflix adds random jitter to the interval): the
 *   limit drops to half the estimated bandwidth-delay product (limit ×
 *   no-load RTT / last round trip's mean RTT: the calls that keep the
 *   downstream busy without queueing), and to no less than a quarter of the
 *   limit (one slow round trip, such as a stalled event loop, makes the
 *   estimate tiny, and a probe at 1 permit would take ten round trips). Once
 *   the calls in flight have drained, the calls admitted under the probe
 *   limit do not queue; the median RTT of up to 10 of them (three round
 *   trips' worth at most) becomes the new estimate, higher or lower than the
 *   old one, and the limit goes back. The median, not the mean, so that the
 *   first probe, whose estimate may be far too high, still measures right: as
 *   long as the probe limit is within twice the downstream's concurrency, at
 *   least half of its calls find a free slot.
 * - Between probes it does not move. Lowering it to the lowest round trip
 *   seen, as a minimum would, ratchets it down on noise: with service times
 *   of 10 ms ± 50% and a 5-slot downstream it fell to ~6 ms and Vegas held
 *   the limit at ~4.
 *
 * Netflix's Vegas re-measures by adopting the next sample as the new minimum.
 * Under steady saturation every call queues, so that sample includes the
 * queue and the minimum ratchets up at each probe, the limit with it: in our
 * simulation (simulation.test.ts) Vegas's limit rose from ~31 to ~46 when
 * the server lost half its capacity, Gradient2's to ~86.
 *
 * The cost is the drain and one to three round trips at half concurrency per
 * probe: 1.6% (Vegas) and 1.8% (Gradient2) of throughput at the default
 * `probeMultiplier` of 30 in the simulation, against never re-probing
 * (simulation.test.ts).
 */
export class NoLoadRtt {
  /** The estimate in ms; 0 until the first round trip. */
  value = 0;
  /** True right after `observe()` returned the limit a probe ends on. */
  ended = false;
  private samplesSinceProbe = 0;
  /** Mean RTT of the last round trip outside a probe; 0 before the first. */
  private lastRoundTrip = 0;
  /** While probing: the limit to return to; undefined otherwise. */
  private restoreTo: number | undefined;
  /** While probing: calls admitted from this time on ran under the probe limit. */
  private probeFrom = 0;
  /** While probing: how many calls to measure, and their RTTs so far. */
  private probeSize = 0;
  private probeRtts: number[] = [];

  constructor(private readonly probeMultiplier: number) {}

  get probing(): boolean {
    return this.restoreTo !== undefined;
  }

  /**
   * Records the mean RTT of a round trip outside a probe (the probe limit is
   * computed from the last one). Returns false for the first round trip,
   * which only gives a first estimate (it may have queued: a probe follows
   * at once) and should not move the limit.
   */
  noteRoundTrip(averageRttMs: number): boolean {
    this.lastRoundTrip = averageRttMs;
    if (this.value === 0) {
      this.value = averageRttMs;
      this.samplesSinceProbe = Infinity;
      return false;
    }
    return true;
  }

  /**
   * Feeds one successful sample with a positive RTT. Returns the limit to
   * switch to when a probe starts or ends (see {@link ended}); otherwise
   * undefined, and during a probe the caller should hold its limit.
   * @param effective whether a change returned now would take effect; a probe only starts on such a sample.
   */
  observe(sample: LimitSample, estimate: number, minLimit: number, effective: boolean): number | undefined {
    const rtt = sample.rttMs;
    this.ended = false;
    if (this.restoreTo !== undefined) {
      if (sample.startedAt < this.probeFrom) return undefined;
      this.probeRtts.push(rtt);
      if (this.probeRtts.length < this.probeSize) return undefined;
      this.value = median(this.probeRtts);
      this.probeRtts = [];
      const restore = this.restoreTo;
      this.restoreTo = undefined;
      this.ended = true;
      return restore;
    }
    this.samplesSinceProbe++;
    if (!effective || this.value === 0 || this.samplesSinceProbe < this.probeMultiplier * Math.floor(estimate)) return undefined;
    this.samplesSinceProbe = 0;
    const current = this.lastRoundTrip > 0 ? this.lastRoundTrip : rtt;
    const probeLimit = Math.max(minLimit, Math.floor(Math.min(estimate, (estimate * this.value) / current) * PROBE_DEPTH), Math.floor(estimate / 4));
    if (probeLimit >= estimate) return undefined; // already as low as it goes: nothing to drain
    this.restoreTo = estimate;
    this.probeFrom = sample.startedAt + rtt;
    this.probeSize = Math.max(probeLimit, Math.min(PROBE_SAMPLES, 3 * probeLimit));
    return probeLimit;
  }

  /** A drop during a probe lowers the limit the probe returns to. */
  lowerRestore(lower: (limit: number) => number, minLimit: number): void {
    if (this.restoreTo !== undefined) this.restoreTo = Math.max(minLimit, lower(this.restoreTo));
  }
}

/** The median of a non-empty list (sorts it). */
function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}
