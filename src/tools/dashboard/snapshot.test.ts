import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Channel } from '../../core/channel/index.js';
import { ErrorCode } from '../../core/errors/index.js';
import fc from 'fast-check';
import { LatencyRecorder, type HistogramSnapshot } from '../../core/metrics/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { CircuitBreaker } from '../../core/circuit-breaker/index.js';
import { componentKind, dashboardHandler, histogramPercentile, type DashboardAlertEvent, type DashboardComponentView } from './index.js';
import { resolveDashboardOptions, type DashboardSource } from './options.js';
import { histogramDelta } from './percentiles.js';
import { DashboardSampler } from './snapshot.js';
import { NodeSseClient } from './sse.js';

function view(dashboard: ReturnType<typeof dashboardHandler>, name: string): DashboardComponentView {
  const found = dashboard.snapshot()!.components.find((c) => c.name === name);
  assert.ok(found, `component ${name} in the snapshot`);
  return found;
}

describe('snapshots', () => {
  it('snapshot() - rates in and out come from counter differences per second', () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 1000, clock });
    const dashboard = dashboardHandler({ jobs: channel }, { clock, intervalMs: 500 });
    for (let i = 0; i < 300; i++) channel.trySend(i);
    for (let i = 0; i < 100; i++) channel.tryReceive();
    clock.advance(500);
    const jobs = view(dashboard, 'jobs');
    assert.equal(jobs.inRate, 600);
    assert.equal(jobs.outRate, 200);
    assert.equal(jobs.inTotal, 300);
    assert.equal(jobs.size, 200);
    clock.advance(500);
    assert.equal(view(dashboard, 'jobs').inRate, 0, 'nothing new in the second interval');
    dashboard.close();
  });

  it('snapshot() - drops by reason, as totals and per second', () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 10, overflow: 'drop-oldest', clock });
    const dashboard = dashboardHandler({ telemetry: channel }, { clock, intervalMs: 1000 });
    for (let i = 0; i < 35; i++) channel.trySend(i);
    clock.advance(1000);
    const t = view(dashboard, 'telemetry');
    assert.equal(t.dropped, 25);
    assert.equal(t.droppedBy!['drop-oldest'], 25);
    assert.equal(t.dropRateBy!['drop-oldest'], 25);
    assert.equal(t.dropRateBy!.timeout, 0);
    dashboard.close();
  });

  it('snapshot() - a counter that goes backwards reads a rate of 0, not a negative one', () => {
    const clock = new VirtualClock();
    let offered = 100;
    const dashboard = dashboardHandler({ custom: { stats: () => ({ offered, delivered: 0 }) } }, { clock });
    offered = 10;
    clock.advance(500);
    assert.equal(view(dashboard, 'custom').inRate, 0);
    dashboard.close();
  });

  it('snapshot() - recognises components by their stats, and a kind field names it outright', () => {
    assert.equal(componentKind({ written: 1, flushed: 1 }), 'batch-writer');
    assert.equal(componentKind({ algorithm: 'aimd', limit: 10, inflight: 2 }), 'concurrency-limiter');
    assert.equal(componentKind({ ratePerSecond: 5, burst: 10 }), 'token-bucket');
    assert.equal(componentKind({ granted: 5, max: 10 }), 'credits');
    assert.equal(componentKind({ served: 1, shed: 0 }), 'load-shedder');
    assert.equal(componentKind({ offered: 1, delivered: 1, acked: 1 }), 'durable-channel');
    assert.equal(componentKind({ kind: 'log fleet', offered: 1, delivered: 0 }), 'log fleet');
    assert.equal(componentKind({ anything: 1 }), 'custom');
  });

  it('snapshot() - limiter limits and credits become gauges, durations become timings', () => {
    const clock = new VirtualClock();
    const limiter = { stats: () => ({ algorithm: 'aimd', limit: 12, inflight: 7, waiting: 3, acquired: 40, rejected: 2, successes: 30, drops: 1, ignored: 0 }) };
    const writer = { stats: () => ({ written: 10, flushed: 8, buffered: 2, inFlight: 0, capacity: 100, lastFlushLatencyMs: 42, flushIntervalMs: 100, breaker: { state: 'open' } }) };
    const dashboard = dashboardHandler({ db: limiter, writer }, { clock });
    const db = view(dashboard, 'db');
    assert.deepEqual(db.gauges, { limit: 12, inflight: 7, waiting: 3 });
    assert.deepEqual(db.droppedBy, { rejected: 2 });
    assert.equal(db.outTotal, 31);
    const w = view(dashboard, 'writer');
    assert.equal(w.size, 2);
    assert.equal(w.utilization, 0.02);
    assert.deepEqual(w.timings, { lastFlushLatencyMs: 42, flushIntervalMs: 100 });
    assert.equal(w.breakerState, 'open');
    dashboard.close();
  });

  it('snapshot() - a CircuitBreaker is recognised; its own state is shown as the breaker state, not a component state', async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ windowSize: 2, minimumCalls: 2, resetAfterMs: 1000, clock });
    for (let i = 0; i < 2; i++) await breaker.run(() => Promise.reject(new Error('down'))).catch(() => {});
    await breaker.run(() => Promise.resolve(1)).catch(() => {});
    const dashboard = dashboardHandler({ db: breaker }, { clock });
    const db = view(dashboard, 'db');
    assert.equal(db.kind, 'circuit-breaker');
    assert.equal(db.breakerState, 'open');
    assert.equal(db.state, undefined);
    dashboard.close();
  });

  it('snapshot() - watermarks come from the source, e.g. a wrapped writer', () => {
    const clock = new VirtualClock();
    const source = { stats: () => ({ size: 5, capacity: 10 }), highWatermark: 0.9, lowWatermark: 0.3 };
    const dashboard = dashboardHandler({ q: source }, { clock });
    const q = view(dashboard, 'q');
    assert.equal(q.utilization, 0.5);
    assert.equal(q.highWatermark, 0.9);
    assert.equal(q.lowWatermark, 0.3);
    dashboard.close();
  });

  it('snapshot() - latency percentiles cover the last latencyWindowMs of a LatencyRecorder', () => {
    const clock = new VirtualClock();
    const latency = new LatencyRecorder({ bucketsMs: [10, 20, 50, 100, 200] });
    const dashboard = dashboardHandler({ writer: { stats: () => ({ written: 0, flushed: 0 }) } }, { clock, latency, intervalMs: 1000, latencyWindowMs: 2000 });
    for (let i = 0; i < 100; i++) latency.record('writer', 5);
    clock.advance(1000);
    assert.equal(view(dashboard, 'writer').latency!.p50, 5, 'interpolated within the 0-10 ms bucket');
    clock.advance(2000); // the fast observations leave the window
    for (let i = 0; i < 100; i++) latency.record('writer', 150);
    clock.advance(1000);
    const l = view(dashboard, 'writer').latency!;
    assert.equal(l.count, 100);
    assert.equal(l.p50, 150);
    assert.equal(l.p99, 199);
    for (let i = 0; i < 4; i++) clock.advance(1000);
    assert.equal(view(dashboard, 'writer').latency, undefined, 'no observation in the window');
    dashboard.close();
  });

  it('snapshot() - a histogram whose name is not a component gets a card of its own; latencyMs in stats is charted', () => {
    const clock = new VirtualClock();
    const latency = new LatencyRecorder();
    latency.record('http', 3);
    const custom = { stats: () => ({ latencyMs: { p50: 1, p90: 2, p99: 3, count: 10 } }) };
    const dashboard = dashboardHandler({ custom }, { clock, latency });
    assert.equal(view(dashboard, 'http').kind, 'latency');
    assert.deepEqual(view(dashboard, 'custom').latency, { p50: 1, p90: 2, p99: 3, count: 10 });
    dashboard.close();
  });

  it('sample() - components first in source order, then one card per histogram that names no component, in histogram order', () => {
    const clock = new VirtualClock();
    const latency = new LatencyRecorder();
    for (const name of ['b', 'http', 'a', 'grpc']) latency.record(name, 3);
    const stub = { stats: () => ({}) };
    const sampler = new DashboardSampler(
      [
        ['a', stub],
        ['b', stub],
        ['c', stub],
      ],
      resolveDashboardOptions({ clock, latency }),
    );
    const { components } = sampler.sample();
    assert.deepEqual(
      components.map((c) => [c.name, c.kind, c.latency?.count]),
      [
        ['a', 'custom', 1],
        ['b', 'custom', 1],
        ['c', 'custom', undefined],
        ['http', 'latency', 1],
        ['grpc', 'latency', 1],
      ],
    );
  });

  it('sample() - reads the source list a constant number of times per component, however many histograms there are', () => {
    // A proxy counts element reads: matching each histogram against the list
    // by walking it made a tick quadratic (377 ms at 10,000 channels).
    const clock = new VirtualClock();
    const readsPerTick = (n: number): number => {
      const latency = new LatencyRecorder();
      const list: [string, DashboardSource][] = [];
      for (let i = 0; i < n; i++) {
        list.push([`c${i}`, { stats: () => ({}) }]);
        latency.record(`c${i}`, 3);
        latency.record(`extra${i}`, 3);
      }
      let reads = 0;
      const sources = new Proxy(list, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      const sampler = new DashboardSampler(sources, resolveDashboardOptions({ clock, latency }));
      reads = 0;
      const { components } = sampler.sample();
      assert.ok(components.length >= 2 * n);
      return reads;
    };
    for (const n of [10, 1000]) {
      const reads = readsPerTick(n);
      assert.ok(reads <= 2 * n, `${reads} element reads for ${n} components`);
    }
  });

  it('sample() - drop rates follow each reason when a component reports new reasons or a different order', () => {
    const clock = new VirtualClock();
    let droppedBy: Record<string, number> = { timeout: 10, rejected: 0 };
    const sampler = new DashboardSampler([['q', { stats: () => ({ offered: 0, delivered: 0, droppedBy }) }]], resolveDashboardOptions({ clock }));
    sampler.sample();
    clock.advance(1000);
    droppedBy = { timeout: 14, rejected: 2 };
    assert.deepEqual(sampler.sample().components[0]!.dropRateBy, { timeout: 4, rejected: 2 });
    clock.advance(1000);
    droppedBy = { rejected: 5, shed: 7, timeout: 15 };
    assert.deepEqual(sampler.sample().components[0]!.dropRateBy, { rejected: 3, shed: 0, timeout: 1 }, 'a reason seen for the first time has no rate yet');
    clock.advance(2000);
    droppedBy = { rejected: 9, shed: 11, timeout: 15 };
    assert.deepEqual(sampler.sample().components[0]!.dropRateBy, { rejected: 2, shed: 2, timeout: 0 });
  });

  it('sample() - rates of a component whose stats() threw are measured from its last good reading', () => {
    const clock = new VirtualClock();
    let offered = 0;
    let broken = false;
    const source = {
      stats: () => {
        if (broken) throw new Error('down');
        return { offered, delivered: 0, blockedMs: offered * 10 };
      },
    };
    const sampler = new DashboardSampler([['q', source]], resolveDashboardOptions({ clock }));
    sampler.sample();
    broken = true;
    clock.advance(1000);
    assert.equal(sampler.sample().components[0]!.error, 'down');
    broken = false;
    offered = 40;
    clock.advance(1000);
    const q = sampler.sample().components[0]!;
    assert.deepEqual([q.inRate, q.blockedMsPerSec], [20, 200], 'over the 2 s since the last reading');
  });

  it('sample() - latency window: ticks closer than intervalMs keep every reading the window needs', () => {
    const clock = new VirtualClock();
    const latency = new LatencyRecorder({ bucketsMs: [10, 100] });
    const sampler = new DashboardSampler([], resolveDashboardOptions({ clock, latency, intervalMs: 1000, latencyWindowMs: 3000 }));
    const window = () => sampler.sample().components.find((c) => c.name === 'h')?.latency;
    // Ticks 100 ms apart, one observation before each: the window's baseline is
    // the reading 3 s (30 ticks) back, so it holds up to 30 observations.
    for (let i = 0; i < 40; i++) {
      latency.record('h', i < 30 ? 5 : 50);
      const l = window()!;
      assert.equal(l.count, i === 0 ? 1 : Math.min(i, 30), `tick ${i}`);
      if (i === 39) assert.equal(l.p50, 7.5, 'the last 3 s: 20 fast and 10 slow observations, the median interpolated in 0-10 ms');
      clock.advance(100);
    }
    clock.advance(3000);
    assert.equal(window(), undefined, 'nothing in the window');
  });

  it('sample() - latency windows equal those of a full history of readings, for any observations, idle spells and tick spacing', () => {
    // The reference keeps every reading as an object, as the sampler did before
    // it kept numbers in a ring and skipped readings equal to the newest.
    const ops = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('record' as const), histogram: fc.integer({ min: 0, max: 2 }), ms: fc.integer({ min: 0, max: 300 }) }),
        fc.record({ kind: fc.constant('tick' as const), advanceMs: fc.oneof(fc.constantFrom(0, 500, 1000), fc.integer({ min: 1, max: 4000 })) }),
      ),
      { maxLength: 120 },
    );
    fc.assert(
      fc.property(ops, fc.constantFrom(1000, 2500, 5000), (list, latencyWindowMs) => {
        const clock = new VirtualClock();
        const latency = new LatencyRecorder({ bucketsMs: [10, 50, 100, 200] });
        const names = ['a', 'b', 'c'];
        for (const name of names) latency.histogram(name);
        const sampler = new DashboardSampler([['a', { stats: () => ({}) }]], resolveDashboardOptions({ clock, latency, intervalMs: 500, latencyWindowMs }));
        const history = new Map<string, { at: number; snapshot: HistogramSnapshot }[]>();
        for (const op of list) {
          if (op.kind === 'record') {
            latency.record(names[op.histogram]!, op.ms);
            continue;
          }
          clock.advance(op.advanceMs);
          const now = clock.now();
          const got = new Map(sampler.sample().components.map((c) => [c.name, c.latency]));
          for (const name of names) {
            const snapshot = latency.histogram(name).snapshot();
            let h = history.get(name);
            if (!h) history.set(name, (h = []));
            h.push({ at: now, snapshot });
            while (h.length > 2 && h[1]!.at <= now - latencyWindowMs) h.shift();
            const window = histogramDelta(snapshot, h.length > 1 ? h[0]!.snapshot : undefined);
            const p50 = histogramPercentile(window, 0.5);
            const round = (x: number) => Math.round(x * 100) / 100;
            const expected = p50 === undefined ? undefined : { p50: round(p50), p90: round(histogramPercentile(window, 0.9)!), p99: round(histogramPercentile(window, 0.99)!), count: window.count };
            assert.deepEqual(got.get(name), expected, `${name} at ${now}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('sample() - a histogram that went backwards (replaced or reset) reports what it holds now', () => {
    const clock = new VirtualClock();
    let snapshot = { bucketsMs: [10, 100], cumulativeCounts: [50, 60], count: 60, sumMs: 0 };
    const latency = { entries: () => [['h', { snapshot: () => snapshot }] as [string, { snapshot: () => typeof snapshot }]] };
    const sampler = new DashboardSampler([], resolveDashboardOptions({ clock, latency }));
    assert.equal(sampler.sample().components[0]!.latency!.count, 60);
    clock.advance(500);
    snapshot = { bucketsMs: [10, 100], cumulativeCounts: [1, 3], count: 4, sumMs: 0 };
    assert.equal(sampler.sample().components[0]!.latency!.count, 4);
    clock.advance(500);
    snapshot = { bucketsMs: [10, 50, 100], cumulativeCounts: [1, 2, 3], count: 5, sumMs: 0 };
    assert.equal(sampler.sample().components[0]!.latency!.count, 5, 'a new bucket layout starts a new window');
    clock.advance(500);
    snapshot = { bucketsMs: [10, 50, 100], cumulativeCounts: [1, 2, 4], count: 7, sumMs: 0 };
    assert.equal(sampler.sample().components[0]!.latency!.count, 2);
  });

  it('snapshot() - a stats() that throws is shown as an error, the others still report', () => {
    const clock = new VirtualClock();
    const broken = {
      stats: () => {
        throw new Error('db gone');
      },
    };
    const dashboard = dashboardHandler({ broken, jobs: new Channel({ clock }) }, { clock });
    assert.equal(view(dashboard, 'broken').error, 'db gone');
    assert.equal(view(dashboard, 'jobs').kind, 'channel');
    dashboard.close();
  });

  it('snapshot() - alerts show as firing until resolved; each transition appears once in alertEvents', () => {
    const clock = new VirtualClock();
    const listeners = new Set<(e: DashboardAlertEvent) => void>();
    const alerts = {
      onAlert: (l: (e: DashboardAlertEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      active: () => [{ component: 'jobs', rule: 'drop_rate', value: 0.2, threshold: 0.1 }],
    };
    const emit = (e: DashboardAlertEvent) => listeners.forEach((l) => l(e));
    const dashboard = dashboardHandler({ jobs: new Channel({ clock }) }, { clock, alerts });
    assert.deepEqual(dashboard.snapshot()!.alerts.map((a) => a.rule), ['drop_rate'], 'already firing at start');
    emit({ component: 'jobs', rule: 'queue_depth', state: 'firing', value: 0.95, threshold: 0.9, unit: 'utilization' });
    clock.advance(500);
    let s = dashboard.snapshot()!;
    assert.deepEqual(s.alerts.map((a) => a.rule).sort(), ['drop_rate', 'queue_depth']);
    assert.equal(s.alertEvents.length, 1);
    assert.equal(s.alertEvents[0]!.state, 'firing');
    clock.advance(500);
    assert.equal(dashboard.snapshot()!.alertEvents.length, 0);
    emit({ component: 'jobs', rule: 'queue_depth', state: 'resolved', value: 0.5, threshold: 0.9 });
    clock.advance(500);
    s = dashboard.snapshot()!;
    assert.deepEqual(s.alerts.map((a) => a.rule), ['drop_rate']);
    dashboard.close();
    assert.equal(listeners.size, 0, 'close() unsubscribes');
  });
});

describe('histogramPercentile()', () => {
  const snapshot = { bucketsMs: [10, 20, 50], cumulativeCounts: [50, 90, 100], count: 100, sumMs: 0 };

  it('histogramPercentile() - interpolates within the bucket the rank falls in', () => {
    assert.equal(histogramPercentile(snapshot, 0.5), 10);
    assert.equal(histogramPercentile(snapshot, 0.25), 5);
    assert.equal(histogramPercentile(snapshot, 0.7), 15);
    assert.equal(histogramPercentile(snapshot, 0.95), 35);
  });

  it('histogramPercentile() - returns the last bound for the +Inf bucket and undefined when empty', () => {
    assert.equal(histogramPercentile({ ...snapshot, count: 200 }, 0.99), 50);
    assert.equal(histogramPercentile({ bucketsMs: [10], cumulativeCounts: [0], count: 0, sumMs: 0 }, 0.5), undefined);
  });

  it('histogramPercentile() - rejects q outside [0, 1]', () => {
    assert.throws(() => histogramPercentile(snapshot, 1.5), (e: Error & { code?: string }) => e.code === ErrorCode.invalidArgument);
  });
});

describe('event stream clients', () => {
  class FakeResponse extends EventEmitter {
    writes: string[] = [];
    accept = true;
    writableEnded = false;
    destroyed = false;
    write(chunk: string): boolean {
      this.writes.push(chunk);
      return this.accept;
    }
    end(): void {
      this.writableEnded = true;
    }
  }

  it('send() - skips messages while the connection is full, resumes after drain', () => {
    const res = new FakeResponse();
    let now = 1000;
    const client = new NodeSseClient(res as unknown as ServerResponse, () => now);
    assert.equal(client.send('0'), true);
    assert.ok(Number.isNaN(client.stalledSince));
    res.accept = false;
    res.writes.length = 0;
    assert.equal(client.send('a'), true, 'the write that fills the buffer still goes out');
    assert.equal(client.stalledSince, 1000, 'stalled from the write that filled it');
    now = 2000;
    assert.equal(client.send('b'), false);
    assert.equal(client.stalledSince, 1000);
    assert.equal(client.send('c'), false);
    assert.deepEqual(res.writes, ['a']);
    assert.equal(client.skipped, 2);
    res.accept = true;
    res.emit('drain');
    assert.ok(Number.isNaN(client.stalledSince), 'a drain ends the stall');
    assert.equal(client.send('d'), true);
    assert.deepEqual(res.writes, ['a', 'd']);
  });

  it('dashboard - counts skipped snapshots for a stalled fetch page, then drops it after clientStallTimeoutMs', async () => {
    const clock = new VirtualClock();
    const dashboard = dashboardHandler({ jobs: new Channel({ clock }) }, { clock, clientStallTimeoutMs: 60_000 });
    const response = await dashboard.fetch(new Request('http://localhost/events'));
    // Nobody reads the body: after 64 KiB the stream is full and snapshots are skipped.
    let firstSkipAt = NaN;
    for (let i = 0; i < 400 && Number.isNaN(firstSkipAt); i++) {
      clock.advance(500);
      if (dashboard.stats().skipped > 0) firstSkipAt = clock.now();
    }
    assert.ok(dashboard.stats().skipped > 0, 'the stream filled up');
    assert.ok(dashboard.stats().sent < 400);
    assert.equal(dashboard.stats().clients, 1);
    // Stalled since the first refused snapshot; dropped 60 s later.
    clock.advance(59_500);
    assert.equal(dashboard.stats().clients, 1);
    clock.advance(500);
    assert.deepEqual({ clients: dashboard.stats().clients, stalled: dashboard.stats().stalled }, { clients: 0, stalled: 1 });
    await assert.rejects(response.body!.getReader().read(), { code: 'ERR_SLUICE_CLOSED', message: /client evicted/ });
    dashboard.close();
  });
});
