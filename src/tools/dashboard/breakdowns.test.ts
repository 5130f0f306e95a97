import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../core/circuit-breaker/index.js';
import { ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import { FairChannel } from '../../core/fair-channel/index.js';
import { PriorityChannel } from '../../core/priority-channel/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { dashboardHandler, type DashboardComponentView } from './index.js';

// #13 part 6: the dashboard shows levels, partitions, keys and breakers.
function view(dashboard: ReturnType<typeof dashboardHandler>, name: string): DashboardComponentView {
  const found = dashboard.snapshot()!.components.find((c) => c.name === name);
  assert.ok(found, `component ${name} in the snapshot`);
  return found;
}

describe('snapshots of priorities, partitions, keys and breakers', () => {
  it('snapshot() - a PriorityChannel shows size, offered, delivered and dropped per level, highest first', () => {
    const clock = new VirtualClock();
    const ch = new PriorityChannel<number, 'critical' | 'normal' | 'batch'>({ levels: ['critical', 'normal', 'batch'], capacity: 4, overflow: 'shed-lowest', clock });
    for (let i = 0; i < 4; i++) ch.trySend(i, { priority: 'batch' });
    ch.trySend(10, { priority: 'critical' }); // sheds the oldest batch item
    ch.trySend(11, { priority: 'normal' }); // and another
    assert.equal(ch.tryReceive(), 10);
    const dashboard = dashboardHandler({ requests: ch }, { clock });
    const v = view(dashboard, 'requests');
    assert.equal(v.kind, 'priority-channel');
    assert.deepEqual(v.levels, [
      { name: 'critical', size: 0, offered: 1, delivered: 1, dropped: 0 },
      { name: 'normal', size: 1, offered: 1, delivered: 0, dropped: 0 },
      { name: 'batch', size: 2, offered: 4, delivered: 0, dropped: 2 },
    ]);
    assert.equal(v.size, 3, 'totals stay as for a Channel');
    assert.equal(v.droppedBy?.shed, 2);
    dashboard.close();
  });

  it('snapshot() - a FairChannel shows its keys and top droppers, most first', () => {
    const clock = new VirtualClock();
    const ch = new FairChannel<number>({ perKeyCapacity: 2, capacity: 100, clock });
    for (let i = 0; i < 12; i++) ch.trySend(i, { key: 'noisy' });
    for (let i = 0; i < 5; i++) ch.trySend(i, { key: 'loud' });
    ch.trySend(0, { key: 'quiet' });
    const dashboard = dashboardHandler({ jobs: ch }, { clock });
    const v = view(dashboard, 'jobs');
    assert.equal(v.kind, 'fair-channel');
    assert.equal(v.keys, 3);
    assert.deepEqual(v.topDroppers, [
      { key: 'noisy', dropped: 10, error: 0 },
      { key: 'loud', dropped: 3, error: 0 },
    ]);
    dashboard.close();
  });

  it('snapshot() - a partitioned ConcurrencyLimiter shows in-flight against the guaranteed limit per partition', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ initialLimit: 10, partitions: { critical: 0.6, batch: 0.2 }, clock });
    for (let i = 0; i < 3; i++) limiter.tryAcquire({ partition: 'batch' });
    limiter.tryAcquire({ partition: 'critical' });
    const dashboard = dashboardHandler({ api: limiter }, { clock });
    const v = view(dashboard, 'api');
    assert.equal(v.kind, 'concurrency-limiter');
    assert.deepEqual(v.partitions, [
      { name: 'critical', inflight: 1, limit: 6, waiting: 0, share: 0.6 },
      { name: 'batch', inflight: 3, limit: 2, waiting: 0, share: 0.2 },
      { name: 'unpartitioned', inflight: 0, limit: 2, waiting: 0, share: 0.2 },
    ]);
    const plain = new ConcurrencyLimiter({ initialLimit: 10, clock });
    const other = dashboardHandler({ plain }, { clock });
    assert.equal(view(other, 'plain').partitions, undefined, 'no partitions, no table');
    other.close();
    dashboard.close();
  });

  it('snapshot() - a CircuitBreaker shows its failure rate, slow-call rate and opens', async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ windowSize: 4, minimumCalls: 4, failureRateThreshold: 0.75, resetAfterMs: 1000, clock });
    await breaker.run(() => 1);
    await breaker.run(() => Promise.reject(new Error('down'))).catch(() => {});
    const dashboard = dashboardHandler({ db: breaker }, { clock });
    let v = view(dashboard, 'db');
    assert.equal(v.breakerState, 'closed');
    assert.equal(v.failureRate, 0.5);
    assert.equal(v.slowCallRate, 0);
    assert.equal(v.opens, 0);
    for (let i = 0; i < 2; i++) await breaker.run(() => Promise.reject(new Error('down'))).catch(() => {});
    clock.advance(1000);
    v = view(dashboard, 'db');
    assert.equal(v.opens, 1, '3 failures of 4 calls');
    assert.equal(v.breakerState, 'half-open', 'after resetAfterMs');
    dashboard.close();
  });
});
