import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../../core/channel/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { governor, trend } from '../../core/pressure/index.js';
import { readiness } from '../../adapters/http/index.js';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';
import { fakeLagSources } from '../../core/metrics/lag-fakes.test-helpers.js';
import { componentKind, dashboardHandler, type DashboardComponentView } from './index.js';

function view(dashboard: ReturnType<typeof dashboardHandler>, name: string): DashboardComponentView {
  const found = dashboard.snapshot()!.components.find((c) => c.name === name);
  assert.ok(found, `component ${name} in the snapshot`);
  return found;
}

describe('dashboard: fill rate, time to full, lag and slope (#12)', () => {
  it('snapshot() - a channel filling at 100/s shows its fill rate and the time until full; draining, a negative rate and no time to full', () => {
    const clock = new VirtualClock();
    const jobs = new Channel<number>({ capacity: 10_000, clock });
    const dashboard = dashboardHandler({ jobs }, { clock, intervalMs: 1000 });
    let draining = false;
    const traffic = () => {
      if (draining) for (let i = 0; i < 30; i++) jobs.tryReceive();
      else for (let i = 0; i < 10; i++) jobs.trySend(i);
      clock.schedule(100, traffic);
    };
    clock.schedule(50, traffic);
    clock.advance(15_000);
    const filling = view(dashboard, 'jobs');
    assert.equal(filling.size, 1500);
    assert.equal(filling.fillRatePerSec, 100); // over the channel's 10 s look-back
    assert.equal(filling.timeToFullMs, 85_000);
    draining = true;
    clock.advance(3000); // 1500 -> 600 items: 800 ten seconds ago
    const drained = view(dashboard, 'jobs');
    assert.equal(drained.fillRatePerSec, -20);
    assert.equal(drained.timeToFullMs, undefined, 'not filling: no time to full');
    assert.ok('fillRatePerSec' in JSON.parse(JSON.stringify(drained)), 'the wire keeps the rate');
    dashboard.close();
  });

  it('snapshot() - lag sources show their figures by meaning (undelivered, unacked) and turn stale when polls fail', async () => {
    const clock = new VirtualClock();
    const { figures, sources, close } = fakeLagSources(clock, { threshold: 100, intervalMs: 1000 });
    const dashboard = dashboardHandler(sources, { clock, intervalMs: 1000 });
    await flushMicrotasks();
    Object.assign(figures, { undelivered: 70, pending: 30, ready: 40, consumers: 2, numPending: 20, numAckPending: 5 });
    clock.advance(1000);
    await flushMicrotasks();
    clock.advance(1000);
    const redis = view(dashboard, 'redisLag');
    assert.equal(redis.kind, 'lag-source');
    assert.deepEqual(redis.lag, { undelivered: 70, unacked: 30 });
    assert.equal(redis.stale, false);
    assert.equal(redis.gauges!.pressure, 1);
    assert.deepEqual(view(dashboard, 'amqpLag').lag, { undelivered: 40 });
    assert.equal(view(dashboard, 'amqpLag').gauges!.consumers, 2);
    assert.deepEqual(view(dashboard, 'natsLag').lag, { undelivered: 20, unacked: 5 });
    figures.fail = 'connection reset';
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      await flushMicrotasks();
    }
    const failing = view(dashboard, 'redisLag');
    assert.equal(failing.stale, true);
    assert.deepEqual(failing.lag, { undelivered: 70, unacked: 30 }, 'the last good figures are kept');
    dashboard.close();
    close();
  });

  it('snapshot() - a trend shows its slope, the time until its reading reaches 1, and the reading now and ahead', () => {
    const clock = new VirtualClock();
    const ramp = trend(() => 0.2 + clock.now() / 10_000, { windowMs: 2000, sampleEveryMs: 100, horizonMs: 1000, clock });
    const dashboard = dashboardHandler({ ramp }, { clock, intervalMs: 1000 });
    clock.advance(3000);
    const t = view(dashboard, 'ramp');
    assert.equal(t.kind, 'trend');
    assert.equal(t.slope, 0.1);
    assert.ok(Math.abs(t.timeToThresholdMs! - 5000) <= 100, `${t.timeToThresholdMs} ms`);
    assert.ok(Math.abs(t.gauges!.predicted! - t.gauges!.current! - 0.1) < 1e-9, JSON.stringify(t.gauges));
    dashboard.close();
    ramp.close();
  });

  it('componentKind() - recognises a governor and readiness by their stats', () => {
    const clock = new VirtualClock();
    const g = governor({ pressure: () => 0.5, target: new TokenBucket({ ratePerSecond: 10, burst: 1, clock }), minRate: 1, maxRate: 10, clock });
    assert.equal(componentKind({ ...g.stats() }), 'governor');
    assert.equal(componentKind({ ...readiness({ pressure: () => 0, clock }).stats() }), 'readiness');
    g.close();
  });
});
