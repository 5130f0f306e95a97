import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mm1k, mm1kLoss, mm1kMeanInSystem, smallestKForLoss } from './index.js';

// Stationary distribution of M/M/1/K by brute force: p_n ∝ ρ^n, n = 0..K.
function bruteForce(rho: number, k: number) {
  const weights = Array.from({ length: k + 1 }, (_, n) => rho ** n);
  const total = weights.reduce((a, b) => a + b, 0);
  const p = weights.map((w) => w / total);
  return { loss: p[k]!, mean: p.reduce((sum, pn, n) => sum + n * pn, 0) };
}

const close = (actual: number, expected: number, rel = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${actual} is not within ${rel} of ${expected}`);

describe('queueing', () => {
  it('mm1kLoss() - equals (1 − ρ)ρ^K / (1 − ρ^(K+1)) and the stationary distribution', () => {
    for (const rho of [0.3, 0.8, 1.5, 3]) {
      for (const k of [1, 5, 10, 40]) {
        close(mm1kLoss(rho, k), ((1 - rho) * rho ** k) / (1 - rho ** (k + 1)));
        close(mm1kLoss(rho, k), bruteForce(rho, k).loss);
      }
    }
  });

  it('mm1kLoss() - is 1 / (K + 1) at ρ = 1', () => {
    assert.equal(mm1kLoss(1, 10), 1 / 11);
    close(mm1kLoss(1 + 1e-12, 10), 1 / 11);
  });

  it('mm1kLoss() - stays finite for huge K when ρ > 1 (tends to 1 − 1/ρ)', () => {
    close(mm1kLoss(1.5, 100_000), 1 - 1 / 1.5);
    assert.equal(mm1kLoss(0.5, 100_000), 0);
  });

  it('mm1kMeanInSystem() - matches the stationary distribution, K / 2 at ρ = 1', () => {
    for (const rho of [0.5, 0.8, 1.2, 2]) for (const k of [1, 4, 25]) close(mm1kMeanInSystem(rho, k), bruteForce(rho, k).mean, 1e-9);
    assert.equal(mm1kMeanInSystem(1, 10), 5);
  });

  it("mm1k() - applies Little's law: W = L / λ(1 − loss)", () => {
    const m = mm1k(800, 1, 10); // ρ = 0.8
    assert.equal(m.rho, 0.8);
    close(m.throughput, 800 * (1 - mm1kLoss(0.8, 10)));
    close(m.meanSojournMs, (m.meanInSystem / m.throughput) * 1000);
    close(m.meanWaitMs, m.meanSojournMs - 1);
  });

  it('smallestKForLoss() - returns the smallest K within budget', () => {
    for (const [rho, budget] of [[0.8, 0.001], [0.5, 1e-6], [1, 0.01], [1.2, 0.2]] as const) {
      const k = smallestKForLoss(rho, budget)!;
      assert.ok(mm1kLoss(rho, k) <= budget);
      if (k > 1) assert.ok(mm1kLoss(rho, k - 1) > budget);
    }
    assert.equal(smallestKForLoss(0.8, 0.001), 24);
  });

  it('smallestKForLoss() - undefined when ρ ≥ 1 puts the budget below 1 − 1/ρ', () => {
    assert.equal(smallestKForLoss(2, 0.4), undefined);
    assert.equal(smallestKForLoss(1.5, 0.3), undefined);
    assert.ok(smallestKForLoss(1.5, 0.34)! > 1);
  });
});
