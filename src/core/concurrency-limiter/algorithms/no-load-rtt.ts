import type { LimitSample } from './types.js';

/**
 * The round-trip time of a call that did not queue downstream, as Vegas and
 * Gradient2 need it: the lowest RTT seen, re-measured every
 * `probeMultiplier × limit` samples (deterministic: Netflix adds random jitter).
 *
 * Netflix's Vegas re-measures by adopting the next sample as the new minimum.
 * Under steady saturation every call queues, so that sample includes the
 * queue and the minimum ratchets up at each probe, the limit with it. In our
 * simulation (simulation.test.ts) that made Vegas's limit rise from ~31 to
 * ~46 when the server lost half its capacity, calls timed out and throughput
 * fell to 68% of what was left; Gradient2's limit went to ~86.
 *
 * Here a probe lowers the limit to half the estimated bandwidth-delay product
 * (limit × minRtt / rtt: the calls that keep the downstream busy without
 * queueing), which stays below the downstream's concurrency even if the old
 * minimum is up to twice too high. The first call admitted under the probe
 * limit therefore does not queue; when it completes its RTT becomes the new
 * minimum, higher or lower than the old one, and the limit goes back. The
 * cost is about one round trip at reduced concurrency per probe.
 */
export class NoLoadRtt {
  /** The estimate in ms; 0 until the first usable sample. */
  value = 0;
  /** True right after `observe()` returned the limit a probe ends on. */
  ended = false;
  private samplesSinceProbe = 0;
  /** While probing: the limit to return to; undefined otherwise. */
  private restoreTo: number | undefined;
  /** While probing: calls admitted from this time on ran under the probe limit. */
  private probeFrom = 0;

  constructor(private readonly probeMultiplier: number) {}

  get probing(): boolean {
    return this.restoreTo !== undefined;
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
      this.value = rtt;
      const restore = this.restoreTo;
      this.restoreTo = undefined;
      this.ended = true;
      return restore;
    }
    this.samplesSinceProbe++;
    if (this.value === 0 || rtt < this.value) this.value = rtt;
    if (!effective || this.samplesSinceProbe < this.probeMultiplier * Math.floor(estimate)) return undefined;
    this.samplesSinceProbe = 0;
    const probeLimit = Math.max(minLimit, Math.floor(Math.min(estimate, (estimate * this.value) / rtt) / 2));
    if (probeLimit >= estimate) return undefined; // already as low as it goes: its samples are probes
    this.restoreTo = estimate;
    this.probeFrom = sample.startedAt + rtt;
    return probeLimit;
  }

  /** A drop during a probe lowers the limit the probe returns to. */
  lowerRestore(lower: (limit: number) => number, minLimit: number): void {
    if (this.restoreTo !== undefined) this.restoreTo = Math.max(minLimit, lower(this.restoreTo));
  }
}
