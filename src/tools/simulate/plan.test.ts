import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mm1kLoss, planCapacity } from './index.js';

describe('planCapacity()', () => {
  it('planCapacity() - lossy, low criticality: drop-oldest sized by the loss budget', () => {
    const plan = planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, latencyBudgetMs: 500, lossBudget: 0.001 });
    assert.equal(plan.strategy, 'drop-oldest');
    assert.equal(plan.overflow, 'drop-oldest');
    assert.equal(plan.systemCapacity, 24);
    assert.equal(plan.capacity, 23);
    assert.equal(plan.figures.rho, 0.8);
    assert.equal(plan.figures.loss, mm1kLoss(0.8, 24));
    assert.ok(plan.figures.loss <= 0.001 && mm1kLoss(0.8, 23) > 0.001);
    assert.deepEqual(plan.sizing, { byLoss: 24, byLatency: 500 });
    assert.equal(plan.figures.memoryBytes, 23 * 1024);
    assert.ok(plan.ok);
    assert.deepEqual([plan.highWatermark, plan.lowWatermark], [0.8, 0.6]);
  });

  it("planCapacity() - Little's law: L = λ_eff × W", () => {
    const { figures: f } = planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, lossBudget: 0.001 });
    assert.ok(Math.abs(f.meanInSystem - (f.throughput * f.meanSojournMs) / 1000) < 1e-9);
  });

  it('planCapacity() - lossy, high criticality: sample', () => {
    const plan = planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, lossBudget: 0.01, criticality: 'high' });
    assert.equal(plan.strategy, 'sample');
    assert.match(plan.decision.join('\n'), /Criticality\? high → sample/);
  });

  it('planCapacity() - lossless, not latency sensitive: block sized for 1 % blocking', () => {
    const plan = planCapacity({ arrivalRate: 500, serviceTimeMs: 1 });
    assert.equal(plan.strategy, 'block');
    assert.equal(plan.sizing.byBlocking, 6); // ρ = 0.5: 0.5^K / (2 − 0.5^K) ≤ 1 % from K = 6
    assert.equal(plan.capacity, 5);
  });

  it('planCapacity() - lossless, latency sensitive, bursty: adaptive with an AdaptiveRate upstream', () => {
    const plan = planCapacity({ arrivalRate: 400, serviceTimeMs: 2, latencyBudgetMs: 500, burst: { factor: 10, durationMs: 1000 } });
    assert.equal(plan.strategy, 'adaptive');
    assert.equal(plan.overflow, 'block');
    assert.deepEqual(plan.upstream, { kind: 'AdaptiveRate', targetLatencyMs: 250, minRate: 50, maxRate: 500 });
  });

  it('planCapacity() - lossless, latency sensitive, steady: credit with Credits upstream', () => {
    const plan = planCapacity({ arrivalRate: 400, serviceTimeMs: 2, latencyBudgetMs: 500 });
    assert.equal(plan.strategy, 'credit');
    assert.deepEqual(plan.upstream, { kind: 'Credits', initial: plan.capacity, max: plan.capacity });
  });

  it('planCapacity() - the latency budget caps capacity at 80 % of what the consumer serves in it', () => {
    const plan = planCapacity({ arrivalRate: 1000, serviceTimeMs: 2, latencyBudgetMs: 500, lossBudget: 0.6, burst: { factor: 100, durationMs: 20_000 }, itemBytes: 512 });
    assert.equal(plan.sizing.byLatency, 200);
    assert.equal(plan.sizing.byBurst, 1_990_001);
    assert.equal(plan.capacity, 199);
    assert.equal(plan.figures.memoryBytes, 199 * 512);
    assert.equal(plan.figures.burstAbsorbMs, (199 / (100_000 - 500)) * 1000);
    assert.equal(plan.figures.burstExcess, 1_990_000);
    assert.equal(plan.figures.fullBufferWaitMs, 398);
    assert.ok(plan.ok, 'a 60 % loss budget is met at ρ = 2');
    assert.equal(plan.warnings.length, 2);
  });

  it('planCapacity() - an unreachable loss budget at ρ ≥ 1 is an issue (ok false)', () => {
    const plan = planCapacity({ arrivalRate: 1000, serviceTimeMs: 2, lossBudget: 0.001 });
    assert.equal(plan.ok, false);
    assert.match(plan.issues[0]!, /at least 1 − 1\/ρ = 50%/);
  });

  it('planCapacity() - a loss budget the latency cap prevents is an issue', () => {
    const plan = planCapacity({ arrivalRate: 900, serviceTimeMs: 1, latencyBudgetMs: 10, lossBudget: 0.001 });
    assert.equal(plan.capacity, 7);
    assert.equal(plan.ok, false);
    assert.match(plan.issues[0]!, /The loss budget needs \d+ items but the latency budget .* allows 7/);
  });

  it('planCapacity() - memory budget caps the buffer', () => {
    const plan = planCapacity({ arrivalRate: 500, serviceTimeMs: 1, burst: { factor: 4, durationMs: 10_000 }, itemBytes: 1000, memoryBudgetBytes: 1e6 });
    assert.equal(plan.sizing.byMemory, 1001);
    assert.equal(plan.capacity, 1000);
    assert.equal(plan.figures.memoryBytes, 1e6);
    // The burst needs more than the budget holds: a budget not met, not a warning.
    assert.equal(plan.ok, false);
    assert.match(plan.issues.join('\n'), /Absorbing the burst needs \d+ items but the memory budget allows 1000/);
  });

  it('planCapacity() - a memory budget the plan fits in is no issue; one below a single item is an invalid option', () => {
    const fits = planCapacity({ arrivalRate: 500, serviceTimeMs: 1, itemBytes: 1000, memoryBudgetBytes: 1e9 });
    assert.equal(fits.ok, true);
    assert.deepEqual(fits.issues, []);
    assert.throws(() => planCapacity({ arrivalRate: 500, serviceTimeMs: 1, itemBytes: 1024, memoryBudgetBytes: 1 }), {
      code: 'ERR_SLUICE_INVALID_OPTION',
      message: /memoryBudgetBytes.*must hold one item/,
    });
  });

  it('planCapacity() - rejects bad input naming the field', () => {
    for (const [field, input] of [
      ['arrivalRate', { arrivalRate: 0, serviceTimeMs: 1 }],
      ['serviceTimeMs', { arrivalRate: 1, serviceTimeMs: -1 }],
      ['lossBudget', { arrivalRate: 1, serviceTimeMs: 1, lossBudget: 2 }],
      ['criticality', { arrivalRate: 1, serviceTimeMs: 1, criticality: 'medium' }],
      ['burst.factor', { arrivalRate: 1, serviceTimeMs: 1, burst: { factor: 0.5, durationMs: 1 } }],
    ] as const) {
      assert.throws(() => planCapacity(input as never), (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && e.message.includes(`"${field}"`));
    }
  });
});
