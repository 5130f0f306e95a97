import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit } from './algorithms/aimd.js';
import { FixedLimit } from './algorithms/fixed.js';
import { Gradient2Limit, type Gradient2Settings } from './algorithms/gradient2.js';
import type { LimitAlgorithm, LimitBounds, LimitSample } from './algorithms/types.js';
import { VegasLimit, vegasStep } from './algorithms/vegas.js';

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

describe('VegasLimit', () => {
  const vegas = (initial: number, smoothing = 1, probeMultiplier = 1000) =>
    new Feeder(new VegasLimit(bounds(initial), { probeMultiplier, smoothing }));

  it('vegasStep() - is max(1, floor(log10(limit)))', () => {
    assert.deepEqual([1, 9, 10, 99, 100, 999, 1000].map(vegasStep), [1, 1, 1, 1, 2, 2, 3]);
  });

  it('update() - the first sample, and any lower RTT, only records the no-load RTT', () => {
    const algorithm = new VegasLimit(bounds(20), { probeMultiplier: 1000, smoothing: 1 });
    const f = new Feeder(algorithm);
    assert.equal(f.ok(10), 20);
    assert.equal(algorithm.noLoadRttMs, 10);
    assert.equal(f.ok(8), 20);
    assert.equal(algorithm.noLoadRttMs, 8);
  });

  it('update() - no queue (queue <= step) grows by beta = 6 × step', () => {
    const f = vegas(20);
    f.ok(10);
    assert.equal(f.ok(10), 26); // queue = ceil(20 × (1 − 10/10)) = 0
  });

  it('update() - a short queue (step < queue < alpha) grows by step', () => {
    const f = vegas(26);
    f.ok(10);
    assert.equal(f.ok(10.8), 27); // queue = ceil(26 × (1 − 10/10.8)) = ceil(1.93) = 2
  });

  it('update() - a queue between alpha and beta leaves the limit alone', () => {
    const f = vegas(26);
    f.ok(10);
    assert.equal(f.ok(12), 26); // queue = ceil(26 × (1 − 10/12)) = ceil(4.33) = 5
    assert.equal(f.ok(11.2), 26); // queue = ceil(26 × 0.107) = 3 = alpha
  });

  it('update() - a long queue (queue > beta) shrinks by step', () => {
    const f = vegas(27);
    f.ok(10);
    assert.equal(f.ok(20), 26); // queue = ceil(27 × 0.5) = 14
  });

  it('update() - a drop shrinks by step', () => {
    const f = vegas(27);
    assert.equal(f.drop(), 26);
  });

  it('update() - step, alpha and beta scale with log10 of the limit', () => {
    const f = vegas(150);
    f.ok(10);
    assert.equal(f.ok(10), 162); // step 2: + beta 12
    assert.equal(f.drop(), 160); // − step 2
  });

  it('update() - smoothing blends the new estimate with the current limit', () => {
    const algorithm = new VegasLimit(bounds(20), { probeMultiplier: 1000, smoothing: 0.5 });
    const f = new Feeder(algorithm);
    f.ok(10);
    assert.equal(f.ok(10), 23); // 0.5 × 20 + 0.5 × 26
    assert.equal(algorithm.estimatedLimit, 23);
  });

  it('update() - an app-limited call neither grows nor shrinks the limit; a drop still shrinks it', () => {
    const f = vegas(20);
    f.ok(10);
    assert.equal(f.ok(10, 9), 20); // no queue, but 9 × 2 < 20
    assert.equal(f.ok(40, 9), 20); // long queue, but not of our making
    assert.equal(f.drop(100, 1), 19);
  });

  it('update() - a probe halves the bandwidth-delay product, adopts the RTT of a call admitted under it, then restores the limit', () => {
    const algorithm = new VegasLimit(bounds(10), { probeMultiplier: 1, smoothing: 1 });
    const f = new Feeder(algorithm);
    f.ok(10); // no-load RTT 10; sample 1 of 10 before the probe
    for (let i = 2; i <= 9; i++) assert.equal(f.ok(15), 10); // queue = ceil(10 × (1 − 10/15)) = 4: hold
    // 10th sample: probe at floor(min(10, 10 × 10/15) / 2) = floor(3.33) = 3
    assert.equal(f.ok(15), 3);
    assert.equal(algorithm.probing, true);
    const probeFrom = f.time;
    assert.equal(f.at(probeFrom - 1, 15), 3, 'a call admitted before the probe does not end it');
    assert.equal(f.at(probeFrom + 1, 12, { inflight: 1 }), 10, 'the first call admitted under the probe ends it, even app-limited');
    assert.equal(algorithm.probing, false);
    assert.equal(algorithm.noLoadRttMs, 12, 'the re-measured minimum may be higher than the old one');
    assert.equal(f.ok(12), 16); // queue 0 against the new minimum: + beta
  });

  it('update() - a drop during a probe lowers the limit the probe returns to', () => {
    const algorithm = new VegasLimit(bounds(10), { probeMultiplier: 1, smoothing: 1 });
    const f = new Feeder(algorithm);
    for (let i = 1; i <= 9; i++) f.ok(i === 1 ? 10 : 15);
    assert.equal(f.ok(15), 3);
    const probeFrom = f.time;
    assert.equal(f.at(probeFrom, 100, { dropped: true }), 3);
    assert.equal(f.at(probeFrom + 1, 12), 9);
  });
});

describe('Gradient2Limit', () => {
  const settings: Gradient2Settings = { longWindow: 600, tolerance: 1.5, queueSize: 4, smoothing: 0.2, backoffRatio: 0.9, probeMultiplier: 1_000_000 };
  const gradient2 = (initial = 20, overrides: Partial<Gradient2Settings> = {}, min = 1, max = 1000) => {
    const algorithm = new Gradient2Limit(bounds(initial, min, max), { ...settings, ...overrides });
    return { algorithm, f: new Feeder(algorithm) };
  };
  const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≉ ${expected}`);
  /** Ten samples at 10 ms: the warm-up average is exactly 10 and the estimate grows by 0.8 each. */
  const warm = (f: Feeder) => {
    for (let i = 0; i < 10; i++) f.ok(10);
  };

  it('update() - steady latency grows the estimate by smoothing × queueSize per sample', () => {
    const { algorithm, f } = gradient2();
    f.ok(10);
    close(algorithm.estimatedLimit, 20.8); // gradient 1: 0.8 × 20 + 0.2 × (20 + 4)
    f.ok(10);
    close(algorithm.estimatedLimit, 21.6);
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

  it('update() - a slower call shrinks the estimate by gradient = tolerance × longRtt / rtt', () => {
    const { algorithm, f } = gradient2();
    warm(f);
    close(algorithm.estimatedLimit, 28);
    f.ok(30);
    const longRtt = 10 + (30 - 10) * (2 / 601);
    const gradient = (1.5 * longRtt) / 30;
    close(algorithm.estimatedLimit, 0.8 * 28 + 0.2 * (28 * gradient + 4));
    assert.equal(algorithm.limit, 26);
  });

  it('update() - the gradient is floored at 0.5', () => {
    const { algorithm, f } = gradient2();
    warm(f);
    f.ok(100);
    close(algorithm.estimatedLimit, 0.8 * 28 + 0.2 * (28 * 0.5 + 4)); // 26
  });

  it('update() - a drop multiplies the estimate by backoffRatio', () => {
    const { algorithm, f } = gradient2();
    warm(f);
    f.drop();
    close(algorithm.estimatedLimit, 28 * 0.9);
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

  it('update() - caps the long RTT at tolerance × the no-load RTT, so steady queueing does not become the norm', () => {
    const { algorithm, f } = gradient2();
    warm(f);
    for (let i = 0; i < 5000; i++) f.ok(30);
    close(algorithm.longRttMs, 15); // uncapped it would have converged on 30
    // Fixed point of L = 0.8 L + 0.2 (L × 1.5 × 15 / 30 + 4): L = 16.
    close(algorithm.estimatedLimit, 16);
  });

  it('update() - an app-limited call neither grows nor shrinks the limit', () => {
    const { algorithm, f } = gradient2();
    warm(f);
    f.ok(10, 13); // 13 × 2 < 28
    close(algorithm.estimatedLimit, 28);
    f.ok(100, 13);
    close(algorithm.estimatedLimit, 28);
  });

  it('update() - is clamped to [minLimit, maxLimit]', () => {
    const { algorithm, f } = gradient2(20, {}, 10, 22);
    for (let i = 0; i < 10; i++) f.ok(10);
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
