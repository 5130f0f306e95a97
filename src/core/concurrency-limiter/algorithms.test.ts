import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit } from './algorithms/aimd.js';
import { FixedLimit } from './algorithms/fixed.js';
import { Gradient2Limit, type Gradient2Settings } from './algorithms/gradient2.js';
import type { LimitAlgorithm, LimitBounds, LimitSample } from './algorithms/types.js';
import { roundTripSize, VegasLimit, vegasStep, vegasThresholds } from './algorithms/vegas.js';

/** Permits in use at the start of a call when the limiter is saturated (never app-limited). */
const BUSY = 1000;

/**
 * Feeds samples back to back: each call is admitted when the previous one
 * finishes, so every sample is fresh for the one-move-per-round-trip rule
 * unless a test places it explicitly with `at()`.
 */
class Feeder {
  time = 0;
  constructor(readonly algorithm: LimitAlgorithm) {}

  ok(rttMs: number, inflight = BUSY): number {
    return this.next({ startedAt: this.time, rttMs, inflight, dropped: false });
  }

  drop(rttMs = 100, inflight = BUSY): number {
    return this.next({ startedAt: this.time, rttMs, inflight, dropped: true });
  }

  /** A sample admitted at `startedAt`, whatever the feeder's time. */
  at(startedAt: number, rttMs: number, options: { inflight?: number; dropped?: boolean } = {}): number {
    const sample: LimitSample = { startedAt, rttMs, inflight: options.inflight ?? BUSY, dropped: options.dropped ?? false };
    this.time = Math.max(this.time, startedAt + rttMs);
    return this.algorithm.update(sample);
  }

  private next(sample: LimitSample): number {
    this.time += sample.rttMs;
    return this.algorithm.update(sample);
  }
}

const bounds = (initialLimit: number, minLimit = 1, maxLimit = 1000): LimitBounds => ({ initialLimit, minLimit, maxLimit });

describe('FixedLimit', () => {
  it('update() - never changes the limit, whatever the samples say', () => {
    const f = new Feeder(new FixedLimit({ initialLimit: 7 }));
    assert.equal(f.ok(1), 7);
    assert.equal(f.drop(), 7);
    assert.equal(f.ok(10_000), 7);
  });
});

describe('AimdLimit', () => {
  const aimd = (initial: number, settings = { backoffRatio: 0.9, timeoutMs: 100 }, min = 1, max = 1000) =>
    new Feeder(new AimdLimit(bounds(initial, min, max), settings));

  it('update() - adds 1 per good sample', () => {
    const f = aimd(10);
    assert.equal(f.ok(10), 11);
    assert.equal(f.ok(10), 12);
    assert.equal(f.ok(99), 13);
  });

  it('update() - a drop multiplies by backoffRatio, rounding down', () => {
    const f = aimd(20);
    assert.equal(f.drop(), 18); // floor(20 × 0.9)
    assert.equal(f.drop(), 16); // floor(16.2)
    assert.equal(f.drop(), 14); // floor(14.4)
  });

  it('update() - a success slower than timeoutMs counts as a drop', () => {
    const f = aimd(20);
    assert.equal(f.ok(100), 21); // at the timeout: fine
    assert.equal(f.ok(101), 18); // floor(21 × 0.9)
  });

  it('update() - a small limit still falls by at least 1', () => {
    const f = aimd(5, { backoffRatio: 0.95, timeoutMs: 100 });
    assert.equal(f.drop(), 4); // floor(4.75)
    assert.equal(f.drop(), 3); // floor(3.8)
  });

  it('update() - honours a custom backoffRatio', () => {
    assert.equal(aimd(10, { backoffRatio: 0.5, timeoutMs: 100 }).drop(), 5);
  });

  it('update() - is clamped to [minLimit, maxLimit]', () => {
    const f = aimd(3, undefined, 2, 4);
    assert.equal(f.ok(1), 4);
    assert.equal(f.ok(1), 4);
    assert.equal(f.drop(), 3);
    assert.equal(f.drop(), 2);
    assert.equal(f.drop(), 2);
  });

  it('update() - does not grow while less than half the limit was in use (app-limited)', () => {
    const f = aimd(10);
    assert.equal(f.ok(10, 4), 10); // 4 × 2 < 10
    assert.equal(f.ok(10, 5), 11); // 5 × 2 >= 10
  });

  it('update() - still shrinks on a drop while app-limited', () => {
    assert.equal(aimd(10).drop(100, 1), 9);
  });
});

describe('AdaptiveLimit shared rules', () => {
  const aimd = () => new Feeder(new AimdLimit(bounds(10), { backoffRatio: 0.9, timeoutMs: 100 }));

  it('update() - a call admitted before the last change cannot grow the limit again', () => {
    const f = aimd();
    assert.equal(f.at(0, 10), 11); // change at t=10
    assert.equal(f.at(5, 10), 11); // admitted at 5, before the change: stale
    assert.equal(f.at(10, 10), 12); // admitted at the change: fresh
  });

  it('update() - shrinks at most once per round trip: drops admitted before the last decrease are ignored', () => {
    const f = aimd();
    assert.equal(f.at(0, 10, { dropped: true }), 9); // decrease at t=10
    assert.equal(f.at(1, 10, { dropped: true }), 9);
    assert.equal(f.at(9, 10, { dropped: true }), 9);
    assert.equal(f.at(10, 10, { dropped: true }), 8); // admitted after the decrease
  });

  it('update() - a call admitted before an increase may still shrink the limit', () => {
    const f = aimd();
    assert.equal(f.at(0, 10), 11); // increase at t=10
    assert.equal(f.at(5, 10, { dropped: true }), 9); // floor(11 × 0.9): the increase went too far
  });

  it('update() - a burst of simultaneous timeouts costs one backoff, not one per call', () => {
    const f = aimd();
    for (let i = 0; i < 50; i++) f.at(0, 100, { dropped: true });
    assert.equal(f.algorithm.limit, 9);
  });
});

/** Feeds `count` back-to-back samples at `rttMs` and returns the limit after the last. */
function trip(f: Feeder, count: number, rttMs: number, inflight = BUSY): number {
  let limit = f.algorithm.limit;
  for (let i = 0; i < count; i++) limit = f.ok(rttMs, inflight);
  return limit;
}

/**
 * Takes a fresh Vegas or Gradient2 through its start: the first round trip
 * (roundTripSize(limit) calls at `rttMs`) only gives a first no-load RTT, the
 * next call starts a probe at half the limit, and 10 calls under the probe
 * (with no more permits in use than it allows, as a limiter admits them)
 * give the no-load RTT and restore the limit.
 */
function ready(f: Feeder, rttMs = 10): void {
  const limit = f.algorithm.limit;
  const probeLimit = Math.max(1, Math.floor(limit / 2));
  assert.equal(trip(f, roundTripSize(limit), rttMs), limit, 'the first round trip does not move the limit');
  assert.equal(f.ok(rttMs), probeLimit, 'a probe at half the limit follows at once');
  assert.equal(trip(f, Math.max(10, probeLimit), rttMs, probeLimit), limit, 'the probe ends and restores the limit');
}

describe('VegasLimit', () => {
  const vegas = (initial: number, smoothing = 1, probeMultiplier = 1_000_000) => {
    const algorithm = new VegasLimit(bounds(initial), { probeMultiplier, smoothing });
    return { algorithm, f: new Feeder(algorithm) };
  };
  const readyVegas = (initial: number, smoothing = 1) => {
    const v = vegas(initial, smoothing);
    ready(v.f);
    return v;
  };

  it('vegasStep() - is max(1, floor(log10(limit)))', () => {
    assert.deepEqual([1, 9, 10, 99, 100, 999, 1000].map(vegasStep), [1, 1, 1, 1, 2, 2, 3]);
  });

  it("vegasThresholds() - Netflix's 3 step and 6 step, with alpha capped at limit / 6 and beta at limit / 3 (at least 1)", () => {
    assert.deepEqual(vegasThresholds(5), { step: 1, threshold: 1, alpha: 1, beta: 1 });
    assert.deepEqual(vegasThresholds(9), { step: 1, threshold: 1, alpha: 1, beta: 3 });
    assert.deepEqual(vegasThresholds(12), { step: 1, threshold: 1, alpha: 2, beta: 4 });
    assert.deepEqual(vegasThresholds(40), { step: 1, threshold: 1, alpha: 3, beta: 6 });
    assert.deepEqual(vegasThresholds(150), { step: 2, threshold: 2, alpha: 6, beta: 12 });
  });

  it('roundTripSize() - is the limit, at least 10', () => {
    assert.deepEqual([1, 10, 18, 150].map(roundTripSize), [10, 10, 18, 150]);
  });

  it('update() - the first round trip gives the no-load RTT without moving the limit; a probe follows at once and adopts the median of 10 calls', () => {
    const { algorithm, f } = vegas(20);
    assert.equal(trip(f, 20, 15), 20);
    assert.equal(algorithm.noLoadRttMs, 15, 'the mean of the first round trip');
    assert.equal(f.ok(15), 10, 'probe at half the bandwidth-delay product: floor(20 × 15 / 15 / 2)');
    assert.equal(algorithm.probing, true);
    const probeFrom = f.time;
    assert.equal(f.at(probeFrom - 1, 30), 10, 'a call admitted before the probe does not count');
    for (const rtt of [10, 10, 10, 10, 10, 10, 20, 20, 20]) assert.equal(f.at(f.time, rtt), 10);
    assert.equal(f.at(f.time, 20), 20, 'the 10th call under the probe ends it');
    assert.equal(algorithm.probing, false);
    assert.equal(algorithm.noLoadRttMs, 10, 'the median ignores the calls that queued behind a probe limit above capacity');
  });

  it('update() - decides once per round trip: limit calls admitted since the last change, on their mean RTT', () => {
    const { f } = readyVegas(20);
    assert.equal(trip(f, 19, 10), 20);
    assert.equal(f.ok(10), 26, 'queue = ceil(20 × (1 − 10/10)) = 0 <= threshold: + beta = 6');
  });

  it('update() - a round trip where a few calls found a free slot and most queued shrinks the limit (the mean decides, not the first call)', () => {
    const { f } = readyVegas(18);
    // A 10-slot downstream at limit 18 serves in batches: 2 calls of each round trip at the no-load RTT, 16 after a batch.
    assert.equal(f.ok(10), 18);
    assert.equal(f.ok(10), 18);
    assert.equal(trip(f, 16, 20), 17); // mean 18.9: queue = ceil(18 × (1 − 10/18.9)) = 9 > beta 6
  });

  it('update() - a short queue (threshold < queue < alpha) grows by step', () => {
    const { f } = readyVegas(26);
    assert.equal(trip(f, 26, 10.8), 27); // queue = ceil(26 × (1 − 10/10.8)) = 2 < alpha 3
  });

  it('update() - a queue between alpha and beta leaves the limit alone', () => {
    const { f } = readyVegas(26);
    assert.equal(trip(f, 26, 12), 26); // queue = ceil(26 × (1 − 10/12)) = 5
    assert.equal(trip(f, 26, 11.2), 26); // queue = ceil(26 × 0.107) = 3 = alpha
  });

  it('update() - a long queue (queue > beta) shrinks by step', () => {
    const { f } = readyVegas(27);
    assert.equal(trip(f, 27, 20), 26); // queue = ceil(27 × 0.5) = 14
  });

  it('update() - at a small limit beta is a third of it: a queue Netflix would keep (4 of 9) shrinks the limit', () => {
    const { f } = readyVegas(9);
    assert.equal(trip(f, 10, 16), 8); // queue = ceil(9 × (1 − 10/16)) = 4 > beta = floor(9 / 3) = 3
  });

  it('update() - a drop shrinks by step at once', () => {
    const { f } = vegas(27);
    assert.equal(f.drop(), 26);
  });

  it('update() - step, alpha and beta scale with log10 of the limit', () => {
    const { f } = readyVegas(150);
    assert.equal(trip(f, 150, 10), 162); // step 2: + beta 12
    assert.equal(f.drop(), 160); // − step 2
  });

  it('update() - smoothing blends the new estimate with the current limit', () => {
    const { algorithm, f } = readyVegas(20, 0.5);
    assert.equal(trip(f, 20, 10), 23); // 0.5 × 20 + 0.5 × 26
    assert.equal(algorithm.estimatedLimit, 23);
  });

  it('update() - an app-limited round trip neither grows nor shrinks the limit; a drop still shrinks it', () => {
    const { f } = readyVegas(20);
    assert.equal(trip(f, 20, 10, 9), 20); // no queue, but 9 × 2 < 20
    assert.equal(trip(f, 20, 40, 9), 20); // long queue, but not of our making
    assert.equal(f.drop(100, 1), 19);
  });

  it('update() - every probeMultiplier × limit samples a probe re-measures the no-load RTT, which may come out higher', () => {
    const algorithm = new VegasLimit(bounds(10), { probeMultiplier: 1, smoothing: 1 });
    const f = new Feeder(algorithm);
    ready(f);
    assert.equal(trip(f, 9, 15), 10);
    assert.equal(f.ok(15), 5, '10th sample since the last probe: probe at floor(10 × 10 / 10 / 2)');
    assert.equal(trip(f, 10, 12, 5), 10);
    assert.equal(algorithm.noLoadRttMs, 12);
  });

  describe('probe interval', () => {
    /** A Vegas at 10 permits, ready, probing every probeMultiplier × 10 samples at the base interval. */
    const probingVegas = (probeMultiplier: number) => {
      const algorithm = new VegasLimit(bounds(10), { probeMultiplier, smoothing: 1 });
      const f = new Feeder(algorithm);
      ready(f);
      return { algorithm, f };
    };
    /** Samples at `rttMs` until a probe starts; returns how many it took (at most `max`). */
    const untilProbe = ({ algorithm, f }: ReturnType<typeof probingVegas>, rttMs: number, max = 1000, inflight = BUSY): number => {
      for (let n = 1; n <= max; n++) {
        f.ok(rttMs, inflight);
        if (algorithm.probing) return n;
      }
      return Infinity;
    };
    /** Ends a probe with 10 calls at `rttMs`, admitted under the probe limit. */
    const endProbe = ({ algorithm, f }: ReturnType<typeof probingVegas>, rttMs: number): void => {
      trip(f, 10, rttMs, algorithm.limit);
      assert.equal(algorithm.probing, false);
    };
    // At 10 permits on a no-load RTT of 10 ms, round trips at 12 ms (a queue of 2: between alpha and beta) hold the limit.
    const HOLD = 12;

    it('update() - each probe that confirms the estimate (within 10%) doubles the interval to the next, up to 8 times probeMultiplier × limit', () => {
      const v = probingVegas(1);
      const intervals: number[] = [];
      for (let i = 0; i < 6; i++) {
        intervals.push(untilProbe(v, HOLD));
        endProbe(v, i % 2 === 0 ? 10.5 : 10);
      }
      assert.deepEqual(intervals, [10, 20, 40, 80, 80, 80], 'the first probe after start-up corrects a guess and does not count');
      assert.equal(v.algorithm.limit, 10);
    });

    it('update() - a probe that moves the estimate by more than 10% brings back the base interval, after a check one round trip later', () => {
      const v = probingVegas(3);
      assert.equal(untilProbe(v, HOLD), 30);
      endProbe(v, 10);
      assert.equal(untilProbe(v, HOLD), 60, 'confirmed: twice the base');
      endProbe(v, 12);
      assert.equal(v.algorithm.noLoadRttMs, 12);
      assert.equal(untilProbe(v, 14.4), 10, 'moved by 20%: checked after one round trip (10 calls)');
      endProbe(v, 12);
      assert.equal(untilProbe(v, 14.4), 60, 'the check confirmed the move: twice the base again');
      endProbe(v, 15);
      assert.equal(untilProbe(v, 18), 10, 'moved again: checked after one round trip');
      endProbe(v, 12);
      assert.equal(v.algorithm.noLoadRttMs, 12);
      assert.equal(untilProbe(v, 14.4), 30, 'a check that moves the estimate is not checked in turn: the base interval');
    });

    it('update() - the limit falling below 3/4 of the limit the last probe restored brings back the base interval', () => {
      const v = probingVegas(1);
      for (const expected of [10, 20, 40]) {
        assert.equal(untilProbe(v, HOLD), expected);
        endProbe(v, 10);
      }
      // Next probe due after 80 samples. Round trips at 20 ms (a queue of 5 > beta 3) take the limit down by 1 each: 9, 8, 7.
      assert.equal(trip(v.f, 30, 20), 7);
      assert.equal(v.algorithm.probing, false);
      assert.equal(untilProbe(v, 20), 1, '7 < 7.5: 30 samples are past the base interval of 7, the probe starts at once');
    });

    it('update() - a round trip whose mean RTT is more than 10% below the estimate brings back the base interval', () => {
      const v = probingVegas(1);
      for (const expected of [10, 20, 40]) {
        assert.equal(untilProbe(v, HOLD), expected);
        endProbe(v, 10);
      }
      // App-limited round trips (4 of 10 permits in use), so that a fast one does not also grow the limit.
      assert.equal(trip(v.f, 10, 9.5, 4), 10, 'within 10%: nothing');
      assert.equal(v.algorithm.probing, false);
      assert.equal(untilProbe(v, 8.5, 20, 4), 11, 'a round trip at 8.5 ms (15% below) ends with the 10th call; the next call probes');
    });
  });

  it('update() - a call admitted at the instant a probe starts counts only with no more permits in use than the probe limit', () => {
    const { algorithm, f } = vegas(20);
    trip(f, 20, 10);
    assert.equal(f.ok(10), 10, 'the probe starts at f.time');
    const probeFrom = f.time;
    // Released in the same instant as the call that started the probe, these were admitted at the old limit and queued.
    for (let i = 0; i < 10; i++) assert.equal(f.at(probeFrom, 30, { inflight: 20 }), 10);
    assert.equal(algorithm.probing, true, 'none of them counted');
    for (let i = 0; i < 9; i++) assert.equal(f.at(probeFrom, 10, { inflight: 10 }), 10);
    assert.equal(f.at(probeFrom + 1, 10), 20, 'admitted later, it counts whatever the permits in use: the 10th call ends the probe');
    assert.equal(algorithm.noLoadRttMs, 10);
  });

  it('update() - a drop during a probe lowers the limit the probe returns to', () => {
    const { algorithm, f } = vegas(10);
    trip(f, 10, 10);
    assert.equal(f.ok(10), 5);
    assert.equal(algorithm.probing, true);
    assert.equal(f.at(f.time, 100, { dropped: true }), 5);
    assert.equal(trip(f, 10, 10, 5), 9);
  });
});

describe('Gradient2Limit', () => {
  const settings: Gradient2Settings = { longWindow: 600, tolerance: 1.5, queueSize: 4, smoothing: 0.2, backoffRatio: 0.9, probeMultiplier: 1_000_000 };
  const gradient2 = (initial = 20, overrides: Partial<Gradient2Settings> = {}, min = 1, max = 1000) => {
    const algorithm = new Gradient2Limit(bounds(initial, min, max), { ...settings, ...overrides });
    return { algorithm, f: new Feeder(algorithm) };
  };
  const readyGradient2 = (initial = 20) => {
    const g = gradient2(initial);
    ready(g.f);
    return g;
  };
  const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≉ ${expected}`);

  it('update() - a round trip within tolerance grows the estimate by smoothing × queueSize', () => {
    const { algorithm, f } = readyGradient2();
    trip(f, 19, 10);
    close(algorithm.estimatedLimit, 20);
    f.ok(10);
    close(algorithm.estimatedLimit, 20.8); // gradient 1: 0.8 × 20 + 0.2 × (20 + 4)
    trip(f, 20, 14);
    close(algorithm.estimatedLimit, 21.6); // 14 ms is within 1.5 × 10
    assert.equal(algorithm.limit, 21);
  });

  it('update() - the long RTT is a plain average for 10 samples, then an EMA with factor 2 / (longWindow + 1)', () => {
    const { algorithm, f } = gradient2();
    f.ok(10);
    f.ok(12);
    close(algorithm.longRttMs, 11);
    for (let i = 0; i < 8; i++) f.ok(11);
    close(algorithm.longRttMs, 11);
    f.ok(14);
    close(algorithm.longRttMs, 11 + (14 - 11) * (2 / 601));
  });

  it('update() - a slow round trip shrinks the estimate by gradient = tolerance × longRtt / mean RTT, without adding queueSize', () => {
    const { algorithm, f } = readyGradient2();
    trip(f, 20, 20);
    close(algorithm.longRttMs, 10);
    close(algorithm.estimatedLimit, 0.8 * 20 + 0.2 * (20 * 0.75)); // gradient 1.5 × 10 / 20
    assert.equal(algorithm.limit, 19);
  });

  it('update() - the gradient is floored at 0.5', () => {
    const { algorithm, f } = readyGradient2();
    trip(f, 20, 100);
    close(algorithm.estimatedLimit, 0.8 * 20 + 0.2 * (20 * 0.5)); // 18
  });

  it('update() - a drop multiplies the estimate by backoffRatio', () => {
    const { algorithm, f } = readyGradient2();
    f.drop();
    close(algorithm.estimatedLimit, 20 * 0.9);
  });

  it('update() - never creeps up when every call is a drop, even with the latency of a timeout', () => {
    const { algorithm, f } = gradient2(50);
    let previous = algorithm.estimatedLimit;
    for (let i = 0; i < 200; i++) {
      f.drop(100);
      assert.ok(algorithm.estimatedLimit <= previous, `sample ${i}: ${algorithm.estimatedLimit} > ${previous}`);
      previous = algorithm.estimatedLimit;
    }
    assert.equal(algorithm.limit, 1);
  });

  it('update() - never creeps up under a storm of concurrent timeouts', () => {
    const { algorithm, f } = gradient2(50);
    for (let round = 0; round < 40; round++) {
      const start = f.time;
      for (let i = 0; i < 50; i++) f.at(start, 100, { dropped: true });
    }
    assert.ok(algorithm.limit <= 1 + 50 * 0.9 ** 40, `limit ${algorithm.limit}`);
    assert.equal(algorithm.limit, 1);
  });

  it('update() - caps the long RTT at the no-load RTT, so steady queueing does not become the norm', () => {
    const { algorithm, f } = readyGradient2();
    trip(f, 5000, 20);
    close(algorithm.longRttMs, 10); // uncapped it would have converged on 20
    assert.equal(algorithm.limit, 1, 'a mean RTT above tolerance × no-load RTT keeps shrinking the limit');
  });

  it('update() - an app-limited round trip neither grows nor shrinks the limit', () => {
    const { algorithm, f } = readyGradient2();
    trip(f, 20, 10, 9); // 9 × 2 < 20
    close(algorithm.estimatedLimit, 20);
    trip(f, 20, 100, 9);
    close(algorithm.estimatedLimit, 20);
  });

  it('update() - is clamped to [minLimit, maxLimit]', () => {
    const { algorithm, f } = gradient2(20, {}, 10, 22);
    ready(f);
    trip(f, 200, 10);
    assert.equal(algorithm.estimatedLimit, 22);
    for (let i = 0; i < 50; i++) f.drop();
    assert.equal(algorithm.estimatedLimit, 10);
  });

  it('update() - a zero RTT changes nothing', () => {
    const { algorithm, f } = gradient2();
    f.ok(0);
    assert.equal(algorithm.estimatedLimit, 20);
    assert.equal(algorithm.longRttMs, 0);
  });
});
