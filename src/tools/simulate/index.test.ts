import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mm1k, mm1kLoss, scenarioPhases, simulate, type SimulatedQueue } from './index.js';

const queue = (patch: Partial<SimulatedQueue> = {}): SimulatedQueue => ({
  name: 'q',
  capacity: 50,
  strategy: 'drop-newest',
  arrivalRate: 800,
  serviceTimeMs: 1,
  ...patch,
});

function accounting(r: ReturnType<typeof simulate>['queues'][number]) {
  const t = r.totals;
  return t.delivered + t.dropped + t.bufferedAtEnd + t.upstreamBacklog;
}

describe('simulate() against M/M/1/K', () => {
  // The consumer takes an item out of the Channel and holds it while serving,
  // so the system holds capacity + 1 items: K = capacity + 1.
  const capacity = 9;
  const k = capacity + 1;
  const arrivals = 2_000_000;
  for (const rho of [0.8, 1.0, 1.5]) {
    it(`simulate() - drop-newest loss is within 5 % of (1 − ρ)ρ^K / (1 − ρ^(K+1)) at ρ = ${rho}`, () => {
      const lambda = 1000;
      const result = simulate({
        queues: [queue({ capacity, arrivalRate: lambda, serviceTimeMs: (rho / lambda) * 1000 })],
        durationMs: (arrivals / lambda) * 1000,
        seed: 2024,
        samplePoints: 10,
      });
      const q = result.queues[0]!;
      const expected = mm1kLoss(rho, k);
      assert.equal(q.theory.mm1kLoss, expected);
      assert.equal(q.theory.systemCapacity, k);
      const error = Math.abs(q.totals.lossFraction - expected) / expected;
      assert.ok(error < 0.05, `loss ${q.totals.lossFraction} vs theory ${expected}: ${(error * 100).toFixed(2)} % off`);
      assert.ok(q.totals.arrivals > arrivals * 0.99);
      assert.equal(q.totals.droppedBy['drop-newest'], q.totals.dropped);
      if (rho === 0.8) {
        const theory = mm1k(lambda, 0.8, k);
        const waitError = Math.abs(q.latency.meanMs - theory.meanWaitMs) / theory.meanWaitMs;
        assert.ok(waitError < 0.05, `mean wait ${q.latency.meanMs} vs Wq ${theory.meanWaitMs}`);
      }
    });
  }
});

describe('simulate()', () => {
  it('simulate() - the same seed gives the identical result; another seed does not', () => {
    const options = { queues: [queue(), queue({ name: 'b', strategy: 'block' as const, capacity: 20 })], scenario: 'burst' as const, durationMs: 60_000, samplePoints: 50 };
    const a = JSON.stringify(simulate({ ...options, seed: 7 }));
    const b = JSON.stringify(simulate({ ...options, seed: 7 }));
    const c = JSON.stringify(simulate({ ...options, seed: 8 }));
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('simulate() - accounts for every arrival: delivered + dropped + buffered + waiting upstream', () => {
    for (const strategy of ['block', 'drop-newest', 'drop-oldest', 'sample', 'reject'] as const) {
      const r = simulate({ queues: [queue({ strategy, capacity: 30 })], scenario: 'sustained-overload', durationMs: 30_000, samplePoints: 30 }).queues[0]!;
      assert.equal(accounting(r), r.totals.arrivals, strategy);
    }
  });

  it("simulate() - 'block' loses nothing under overload; the backlog waits upstream and the producer is blocked", () => {
    const r = simulate({ queues: [queue({ strategy: 'block', capacity: 30 })], scenario: 'sustained-overload', durationMs: 60_000, samplePoints: 60 }).queues[0]!;
    assert.equal(r.totals.dropped, 0);
    assert.ok(r.totals.peakUpstreamBacklog > 1000, `peak backlog ${r.totals.peakUpstreamBacklog}`);
    assert.ok(r.totals.blockedMs > 10_000, `blocked ${r.totals.blockedMs} ms`);
    assert.ok(r.timeInState.blocked > 10_000);
    assert.ok(Math.max(...r.series.backlog) > 1000);
  });

  it("simulate() - 'block' with maxBlockMs drops items the producer held too long (reason 'timeout')", () => {
    const r = simulate({ queues: [queue({ strategy: 'block', capacity: 30, maxBlockMs: 5 })], scenario: 'sustained-overload', durationMs: 60_000, samplePoints: 60 }).queues[0]!;
    assert.ok(r.totals.droppedBy.timeout > 0);
    assert.equal(r.totals.dropped, r.totals.droppedBy.timeout);
    assert.equal(accounting(r), r.totals.arrivals);
  });

  it("simulate() - 'drop-oldest' evicts and counts reason 'drop-oldest'", () => {
    const r = simulate({ queues: [queue({ strategy: 'drop-oldest' })], scenario: 'sustained-overload', durationMs: 30_000, samplePoints: 30 }).queues[0]!;
    assert.ok(r.totals.droppedBy['drop-oldest'] > 0);
    assert.equal(r.totals.dropped, r.totals.droppedBy['drop-oldest']);
  });

  it("simulate() - 'consumer-failure' stops deliveries for the outage and fills the buffer", () => {
    const result = simulate({ queues: [queue()], scenario: 'consumer-failure', durationMs: 60_000, samplePoints: 60 });
    const r = result.queues[0]!;
    // Outage from 20 s to 30 s: samples ending at 21..30 s cover only outage time.
    for (let i = 20; i < 30; i++) assert.equal(r.series.delivered[i], 0, `delivered during second ${i}`);
    assert.ok(r.series.delivered[35]! > 0);
    assert.equal(r.series.utilization[25], 1);
    assert.equal(r.series.state[25], 'blocked');
    assert.ok(r.totals.droppedBy['drop-newest'] > 5000);
  });

  it("simulate() - 'burst' multiplies arrivals during each burst", () => {
    const result = simulate({ queues: [queue({ arrivalRate: 100 })], scenario: 'burst', durationMs: 400_000, samplePoints: 400, burst: { factor: 10, durationMs: 20_000 } });
    const phases = result.phases.q!;
    assert.equal(phases.filter((p) => p.label === 'burst').length, 4);
    const r = result.queues[0]!;
    const inBurst = r.series.arrivals.slice(55, 65); // first burst: 50 s to 70 s
    const quiet = r.series.arrivals.slice(10, 40);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(inBurst) > 800 && mean(inBurst) < 1200, `burst rate ${mean(inBurst)}`);
    assert.ok(mean(quiet) > 80 && mean(quiet) < 120, `quiet rate ${mean(quiet)}`);
  });

  it('simulate() - fixed service below capacity loses nothing', () => {
    const r = simulate({ queues: [queue({ serviceDistribution: 'fixed', serviceTimeMs: 0.5, capacity: 100 })], durationMs: 60_000, samplePoints: 10 }).queues[0]!;
    assert.equal(r.totals.dropped, 0);
    assert.equal(r.latency.p50Ms, 0);
  });

  it('simulate() - more consumers share the load', () => {
    const one = simulate({ queues: [queue({ serviceTimeMs: 2, consumers: 1 })], durationMs: 30_000, samplePoints: 10 }).queues[0]!;
    const three = simulate({ queues: [queue({ serviceTimeMs: 2, consumers: 3 })], durationMs: 30_000, samplePoints: 10 }).queues[0]!;
    assert.ok(one.totals.lossFraction > 0.3);
    assert.ok(three.totals.lossFraction < 0.01);
    assert.equal(three.theory.mm1kLoss, null);
  });

  it('simulate() - raises and resolves alerts in virtual time', () => {
    const r = simulate({
      queues: [queue()],
      scenario: 'consumer-failure',
      durationMs: 60_000,
      samplePoints: 60,
      alerts: { thresholds: { queueDepth: { utilization: 0.9 }, dropRate: 0.5 }, intervalMs: 1000, windowMs: 5000 },
    }).queues[0]!;
    const depth = r.alerts.filter((a) => a.rule === 'queue_depth');
    assert.equal(depth[0]!.state, 'firing');
    assert.ok(depth[0]!.at >= 20_000 && depth[0]!.at <= 21_000, `fired at ${depth[0]!.at}`);
    assert.equal(depth.at(-1)!.state, 'resolved');
    assert.ok(depth.at(-1)!.at > 30_000);
    assert.ok(r.alerts.some((a) => a.rule === 'drop_rate' && a.state === 'firing'));
  });

  it('simulate() - reports progress up to 1', () => {
    const seen: number[] = [];
    simulate({ queues: [queue(), queue({ name: 'b' })], durationMs: 200_000, samplePoints: 10, onProgress: (f) => seen.push(f) });
    assert.ok(seen.length > 2);
    assert.equal(seen.at(-1), 1);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!);
  });

  it('simulate() - samples exactly samplePoints points, the last at the duration', () => {
    const r = simulate({ queues: [queue()], durationMs: 10_000, samplePoints: 7 }).queues[0]!;
    assert.equal(r.series.t.length, 7);
    assert.equal(r.series.t.at(-1), 10);
    assert.equal(r.series.state.length, 7);
  });

  it('simulate() - rejects bad options naming the field', () => {
    const cases: [string, Parameters<typeof simulate>[0]][] = [
      ['queues', { queues: [] }],
      ['queues[0].capacity', { queues: [queue({ capacity: 0 })] }],
      ['queues[0].strategy', { queues: [queue({ strategy: 'blok' as never })] }],
      ['queues[0].serviceTimeMs', { queues: [queue({ serviceTimeMs: 0 })] }],
      ['queues[0].maxBlockMs', { queues: [queue({ maxBlockMs: 10 })] }],
      ['queues[0].lowWatermark', { queues: [queue({ highWatermark: 0.5, lowWatermark: 0.6 })] }],
      ['queues[1].name', { queues: [queue(), queue()] }],
      ['scenario', { queues: [queue()], scenario: 'chaos' as never }],
      ['durationMs', { queues: [queue()], durationMs: 0 }],
      ['seed', { queues: [queue()], seed: -1 }],
      ['burst.factor', { queues: [queue()], burst: { factor: 1, durationMs: 10 } }],
    ];
    for (const [field, options] of cases) {
      assert.throws(
        () => simulate(options),
        (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && e.message.includes(`"${field}"`),
        field,
      );
    }
  });
});

describe('scenarioPhases()', () => {
  it('scenarioPhases() - covers the run without gaps for every scenario', () => {
    for (const name of ['normal', 'burst', 'sustained-overload', 'consumer-failure'] as const) {
      const phases = scenarioPhases(name, { durationMs: 1000, arrivalRate: 10, serviceRate: 20 });
      assert.equal(phases[0]!.from, 0);
      assert.equal(phases.at(-1)!.to, 1000);
      for (let i = 1; i < phases.length; i++) assert.equal(phases[i]!.from, phases[i - 1]!.to);
    }
  });

  it("scenarioPhases() - 'sustained-overload' runs at overloadFactor × the service rate", () => {
    const phases = scenarioPhases('sustained-overload', { durationMs: 600, arrivalRate: 10, serviceRate: 20, overloadFactor: 2 });
    assert.deepEqual(phases[1], { from: 100, to: 500, arrivalRate: 40, consumersUp: true, label: 'overload' });
  });
});
