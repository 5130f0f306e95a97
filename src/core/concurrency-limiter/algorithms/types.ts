/** One finished call, as the limit algorithms see it. */
export interface LimitSample {
  /** Clock time at which the permit was granted. */
  startedAt: number;
  /** Time from the permit being granted to the call finishing, in ms. */
  rttMs: number;
  /** Permits in use right after this one was granted, itself included. */
  inflight: number;
  /** True when the call failed from overload (timeout, 503, ...). */
  dropped: boolean;
}

export interface LimitBounds {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
}

/** Turns samples into a concurrency limit. Each limiter owns one instance. */
export interface LimitAlgorithm {
  /** The current limit: an integer within [minLimit, maxLimit]. */
  readonly limit: number;
  /** Learns from one sample and returns the (possibly new) limit. */
  update(sample: LimitSample): number;
  /**
   * Moves the bounds (validated by the caller: integers, 1 <= min <= max) and
   * clamps the limit into them. Returns the (possibly new) limit.
   */
  setBounds(minLimit: number, maxLimit: number): number;
}

/**
 * Shared rules of the adaptive algorithms, applied to whatever estimate
 * `propose()` returns:
 * - at most one move each way per round trip. A call admitted before the
 *   last change reports on conditions that change already answered: it may
 *   not grow the limit again, nor shrink it again after a decrease (it may
 *   still shrink it after an increase: it can be the first to show the
 *   increase went too far). Without this, every call in flight when the
 *   downstream saturates reports the same congestion and the limit collapses,
 *   or, growing, overshoots by a whole window before the first call admitted
 *   after the change can say whether it helped. TCP moves its window once per
 *   round trip for the same reason. Measurements (minimum RTT, long-term
 *   average) still learn from every sample;
 * - app-limited guard: the limit only grows while at least half of it was in
 *   use when the sampled call started; otherwise a quiet period would let the
 *   limit drift to `maxLimit` with no evidence the downstream can take it
 *   (Vegas and Gradient2 also ignore such a call's latency for shrinking);
 * - the estimate is clamped to [minLimit, maxLimit] so it never winds up
 *   beyond the bounds and then needs many samples to come back;
 * - a non-finite proposal (a zero RTT divided into something) changes nothing.
 *
 * The estimate is fractional so that smoothing and small multiplicative steps
 * accumulate; the limit is its integer part.
 */
export abstract class AdaptiveLimit implements LimitAlgorithm {
  protected estimate: number;
  protected minLimit: number;
  protected maxLimit: number;
  /** Clock time of the last change of the estimate, either way. */
  protected changedAt = -Infinity;
  /** Clock time of the last decrease of the estimate. */
  private shrunkAt = -Infinity;
  /**
   * Set by `propose()` when it returns to a limit established earlier (the
   * end of a probe) rather than growing on new evidence: the app-limited
   * guard does not apply, or a probe during a quiet spell would leave the
   * limit cut until the next busy one.
   */
  protected restoring = false;

  constructor(bounds: LimitBounds) {
    this.estimate = bounds.initialLimit;
    this.minLimit = bounds.minLimit;
    this.maxLimit = bounds.maxLimit;
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  /** The fractional estimate behind {@link limit}; exposed for tests and dashboards. */
  get estimatedLimit(): number {
    return this.estimate;
  }

  update(sample: LimitSample): number {
    const current = this.estimate;
    const mayShrink = sample.startedAt >= this.shrunkAt;
    this.restoring = false;
    let next = this.propose(sample, mayShrink);
    if (next === current || !Number.isFinite(next)) return this.limit;
    if (next > current) {
      if (sample.startedAt < this.changedAt) return this.limit;
      if (!this.restoring && this.appLimited(sample)) return this.limit;
    } else if (!mayShrink) {
      return this.limit;
    }
    next = Math.min(this.maxLimit, Math.max(this.minLimit, next));
    if (next !== current) {
      const now = sample.startedAt + sample.rttMs;
      this.estimate = next;
      this.changedAt = now;
      if (next < current) this.shrunkAt = now;
    }
    return this.limit;
  }

  setBounds(minLimit: number, maxLimit: number): number {
    this.minLimit = minLimit;
    this.maxLimit = maxLimit;
    // The estimate is clamped so the limit obeys the new bounds at once; the
    // adaptation then goes on from there within them.
    if (this.estimate < minLimit) this.estimate = minLimit;
    else if (this.estimate > maxLimit) this.estimate = maxLimit;
    return this.limit;
  }

  /** Less than half the limit was in use when the sampled call started. */
  protected appLimited(sample: LimitSample): boolean {
    return sample.inflight * 2 < Math.floor(this.estimate);
  }

  /**
   * Updates the algorithm's measurements from `sample` and returns its next
   * estimate. When `effective` is false the sample is stale (see above) and
   * any change returned is discarded, so it should only touch measurements.
   */
  protected abstract propose(sample: LimitSample, effective: boolean): number;
}
