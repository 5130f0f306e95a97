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
 * A probe whose median is within this share of the estimate it re-measures
 * confirms it. Consecutive probes of a steady downstream agree within ~3% on
 * a real server (20 ms calls on loopback) and within ~10% with service times
 * of 10 ms ± 50% (the median of 10 calls).
 */
const CONFIRM_TOLERANCE = 0.1;
/**
 * Probes that keep confirming the estimate move apart up to this many times
 * `probeMultiplier × limit` samples: 240 × limit at the default, ~6 s at
 * 500 calls/s and a limit of 12. That bounds how late a change of the
 * no-load RTT that shows none of the signs below is noticed.
 */
const MAX_BACKOFF = 8;
/**
 * The limit falling below this share of the limit the last probe restored
 * brings back the base interval: a downstream that became slower for good
 * reads as queue, and the limit is cut for it until a probe re-measures.
 */
const FALL_RATIO = 0.75;

/**
 * The round-trip time of a call that did not queue downstream, as Vegas and
 * Gradient2 need it. A typical such call, not the fastest one ever seen: with
 * service times of 10 ms ± 50% the lowest RTT tends to 5 ms, and Vegas then
 * reads half of every round trip as queue and holds the limit below capacity.
 *
 * - It starts as the mean RTT of the first round trip (see {@link RttWindow}),
 *   which may already have queued, so a probe follows at once.
 * - It is measured again (probed; deterministic, where Netflix adds random
 *   jitter to the interval) every `probeMultiplier × limit` samples at first:
 *   the limit drops to half the estimated bandwidth-delay product (limit ×
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
 * - Probes move apart while they confirm the estimate (a median within 10%
 *   of it): the interval doubles after each, up to 8 × `probeMultiplier ×
 *   limit` samples. A probe costs the drain and one to three round trips at
 *   half concurrency, and every 30 × limit samples that was 4% of a real
 *   server's capacity (a 10-slot, 20 ms downstream at ~480 calls/s under
 *   Vegas at 12 permits: a probe every 0.75 s, 60 to 80 ms each at 4 or 5
 *   permits; 3.8% to 4.6% of the slot time idle during probes, 0.3% to 0.7%
 *   otherwise). A steady downstream does not need re-measuring that often;
 *   with the back-off 0.3% to 1.2% of the slot time went to probes. The
 *   first probe never counts as confirming (it corrects a guess). The base
 *   interval comes back at the first sign that the no-load RTT may have
 *   moved:
 *   - a probe whose median differs from the estimate by more than 10%. One
 *     round trip later another probe checks it (once: a check that moves the
 *     estimate again is not checked in turn), since a single probe can land
 *     on a stall of the machine: on a loaded 2-core machine one measured
 *     34 ms for a 20 ms downstream, and Vegas grew from 12 to 22 permits on
 *     it before the next probe, 0.7 s later;
 *   - the limit falling below three quarters of the limit the last probe
 *     restored (a slower downstream reads as queue, and the limit is cut);
 *   - a round trip whose mean RTT is more than 10% below the estimate (a
 *     faster downstream: no call beats the no-load RTT, and Vegas would grow
 *     the limit until the queue brought the mean up to the stale estimate).
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
 * The cost, against never re-probing, in the simulation (simulation.test.ts,
 * 10 slots of 10 ms): 0.5% (Vegas) and 0.3% (Gradient2) of throughput; 1.6%
 * and 1.8% with a probe every 30 × limit samples. The same file checks that
 * a service time going from 10 to 20 ms or to 5 ms is still re-measured in
 * time for the limit to settle within its bounds.
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
  /** While probing: calls admitted from this time on ran under the probe limit (see {@link underProbe}). */
  private probeFrom = 0;
  /** While probing: the probe limit. */
  private probeLimit = 0;
  /** While probing: how many calls to measure, and their RTTs so far. */
  private probeSize = 0;
  private probeRtts: number[] = [];
  /** The interval to the next probe, in multiples of `probeMultiplier × limit` samples: 1 to MAX_BACKOFF. */
  private backoff = 1;
  /** Probes ended so far (the first only corrects the first round trip's guess). */
  private probesEnded = 0;
  /** The limit the last probe restored; 0 before the first. */
  private probedAt = 0;
  /** The next probe checks a probe that moved the estimate, one round trip after it. */
  private recheck = false;
  /** While probing: this probe is such a check. */
  private probeIsRecheck = false;

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
    // No call is faster than the no-load RTT: a round trip well below the estimate says it is stale.
    if (averageRttMs < this.value * (1 - CONFIRM_TOLERANCE)) this.backoff = 1;
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
      if (!this.underProbe(sample)) return undefined;
      this.probeRtts.push(rtt);
      if (this.probeRtts.length < this.probeSize) return undefined;
      const measured = median(this.probeRtts);
      const moved = Math.abs(measured - this.value) > CONFIRM_TOLERANCE * this.value;
      // The interval doubles on a confirming probe; any move, and the first probe, bring back the base.
      this.backoff = this.probesEnded > 0 && !moved ? Math.min(MAX_BACKOFF, 2 * this.backoff) : 1;
      this.recheck = moved && !this.probeIsRecheck;
      this.probesEnded++;
      this.value = measured;
      this.probeRtts = [];
      const restore = this.restoreTo;
      this.restoreTo = undefined;
      this.probedAt = restore;
      this.ended = true;
      return restore;
    }
    this.samplesSinceProbe++;
    if (this.backoff > 1 && estimate < FALL_RATIO * this.probedAt) this.backoff = 1;
    const base = this.probeMultiplier * Math.floor(estimate);
    // A check follows one round trip (as RttWindow counts one) after the probe it checks, never later than the base interval.
    const interval = this.recheck ? Math.min(base, Math.max(PROBE_SAMPLES, Math.floor(estimate))) : this.backoff * base;
    if (!effective || this.value === 0 || this.samplesSinceProbe < interval) return undefined;
    this.samplesSinceProbe = 0;
    const current = this.lastRoundTrip > 0 ? this.lastRoundTrip : rtt;
    const probeLimit = Math.max(minLimit, Math.floor(Math.min(estimate, (estimate * this.value) / current) * PROBE_DEPTH), Math.floor(estimate / 4));
    if (probeLimit >= estimate) return undefined; // already as low as it goes: nothing to drain
    this.restoreTo = estimate;
    this.probeIsRecheck = this.recheck;
    this.recheck = false;
    this.probeFrom = sample.startedAt + rtt;
    this.probeLimit = probeLimit;
    this.probeSize = Math.max(probeLimit, Math.min(PROBE_SAMPLES, 3 * probeLimit));
    return probeLimit;
  }

  /**
   * Whether `sample` was admitted under the probe limit: after the probe
   * started, or at the same clock reading with no more permits in use than
   * the probe allows. A release that starts a probe is one of several in the
   * same instant when the downstream completes a batch (always so on a
   * virtual clock), and the others may already have admitted calls at the
   * old limit: those queued downstream, and counting them made the median a
   * queued RTT. In simulation (10 slots whose service time fell from 10 to
   * 5 ms) that kept the estimate at 10 ms and Vegas at ~25 permits, where a
   * probe starting one round trip after the last always met such a batch.
   */
  private underProbe(sample: LimitSample): boolean {
    return sample.startedAt > this.probeFrom || (sample.startedAt === this.probeFrom && sample.inflight <= this.probeLimit);
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
