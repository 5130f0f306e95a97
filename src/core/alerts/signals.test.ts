import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { trend } from '../pressure/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { fakeLagSources } from '../metrics/lag-fakes.test-helpers.js';
import { AlertMonitor, formatAlert, type AlertEvent, type AlertMonitorOptions } from './index.js';

/**
 * Every `everyMs` from `everyMs / 2` on (so never at the same instant as an
 * evaluation), `perTick` items into `channel` (a producer at a steady rate)
 * while `producing()`; and `drainPerTick` items out while `draining()`.
 */
function steadyTraffic(clock: VirtualClock, channel: Channel<number>, o: { everyMs: number; perTick: number; drainPerTick: number; producing: () => boolean; draining: () => boolean }) {
  let n = 0;
  const tick = () => {
    if (o.producing()) for (let i = 0; i < o.perTick; i++) assert.equal(channel.trySend(n++), true, 'the channel never fills in this test');
    if (o.draining()) for (let i = 0; i < o.drainPerTick; i++) channel.tryReceive();
    clock.schedule(o.everyMs, tick);
  };
  clock.schedule(o.everyMs / 2, tick);
}

function monitorOf(clock: VirtualClock, components: AlertMonitorOptions['components'], thresholds: AlertMonitorOptions['thresholds'], extra: Partial<AlertMonitorOptions> = {}) {
  const events: AlertEvent[] = [];
  const lines: string[] = [];
  const monitor = new AlertMonitor({ components, thresholds, intervalMs: 1000, clock, log: (line) => lines.push(line), ...extra });
  monitor.onAlert((e) => events.push(e));
  return { monitor, events, lines };
}

/** A component whose stats() the test sets. */
function settable(initial: Record<string, number>) {
  const stats = { ...initial };
  return { stats, source: { stats: () => ({ ...stats }) } };
}

describe('AlertMonitor - time_to_full, lag and slope (#12)', () => {
  it('start() - time_to_full: a Channel filling at a steady 100/s fires 5 s before it would be full, while half empty, and resolves once it drains', () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 1000, clock });
    let phase: 'filling' | 'draining' = 'filling';
    steadyTraffic(clock, channel, { everyMs: 100, perTick: 10, drainPerTick: 30, producing: () => phase === 'filling', draining: () => phase === 'draining' });
    const { monitor, events, lines } = monitorOf(clock, { jobs: channel }, { timeToFull: 5000 });
    const sizeAtEvent: number[] = [];
    monitor.onAlert(() => sizeAtEvent.push(channel.size));
    monitor.start();
    clock.advance(4999);
    assert.equal(events.length, 0, 'at 4 s: 400 items, 6 s to go');
    clock.advance(1);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], { component: 'jobs', rule: 'time_to_full', state: 'firing', value: 5000, threshold: 5000, unit: 'ms', at: 5000 });
    assert.ok(sizeAtEvent[0]! < channel.capacity, `fired at size ${sizeAtEvent[0]} of ${channel.capacity}`);
    assert.equal(sizeAtEvent[0], 500);
    assert.deepEqual(monitor.active().map((a) => [a.rule, a.value]), [['time_to_full', 5000]]);
    clock.advance(2000); // still filling: 3 s to go, still firing, no new event
    assert.equal(events.length, 1);
    phase = 'draining';
    clock.advance(1000);
    assert.equal(events.length, 2);
    assert.equal(events[1]!.state, 'resolved');
    assert.equal(events[1]!.at, 8000);
    assert.ok(events[1]!.value > 5000 / 0.9, `resolved at ${events[1]!.value} ms to full`);
    assert.equal(sizeAtEvent[1], 400, 'the channel drained from 700');
    assert.deepEqual(lines, ['sluice alert FIRING time_to_full on jobs: ms 5000 <= 5000 at 5s', `sluice alert RESOLVED time_to_full on jobs: ms ${Math.round(events[1]!.value)} > 5556 at 8s`]);
    monitor.stop();
  });

  it('evaluate() - time_to_full: a buffer that is not filling (Infinity) never fires; a full one (0) fires', () => {
    const clock = new VirtualClock();
    const { stats, source } = settable({ timeToFullMs: Infinity });
    const { monitor, events } = monitorOf(clock, { buffer: source }, { timeToFull: 1000 });
    monitor.evaluate();
    assert.equal(events.length, 0);
    stats.timeToFullMs = 0;
    monitor.evaluate();
    assert.deepEqual(events.map((e) => [e.state, e.value]), [['firing', 0]]);
    stats.timeToFullMs = Infinity;
    monitor.evaluate();
    assert.deepEqual(events.map((e) => [e.state, e.value]), [['firing', 0], ['resolved', Infinity]]);
  });

  it('evaluate() - time_to_full: hysteresis the other way round, resolving only above threshold / resolveRatio; forMs holds the firing', () => {
    const clock = new VirtualClock();
    const { stats, source } = settable({ timeToFullMs: 4000 });
    const { monitor, events } = monitorOf(clock, { buffer: source }, { timeToFull: 5000 }, { resolveRatio: 0.8, forMs: 2000 });
    monitor.evaluate();
    clock.advance(1000);
    monitor.evaluate();
    assert.equal(events.length, 0, 'forMs not yet passed');
    clock.advance(1000);
    monitor.evaluate();
    assert.deepEqual(events.map((e) => e.state), ['firing']);
    for (const ms of [6000, 6250, 5100, 6200]) {
      stats.timeToFullMs = ms; // above 5000, not above 5000 / 0.8 = 6250
      clock.advance(1000);
      monitor.evaluate();
    }
    assert.deepEqual(events.map((e) => e.state), ['firing'], 'no flapping around the threshold');
    stats.timeToFullMs = 6251;
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      monitor.evaluate();
    }
    assert.deepEqual(events.map((e) => e.state), ['firing', 'resolved']);
  });

  it('evaluate() - time_to_full reads a trend: timeToThresholdMs of a reading ramping toward 1', () => {
    const clock = new VirtualClock();
    const ramp = trend(() => clock.now() / 20_000, { windowMs: 2000, sampleEveryMs: 100, clock }); // reaches 1 at 20 s
    const { monitor, events } = monitorOf(clock, { ramp }, { timeToFull: 10_500 });
    monitor.start();
    clock.advance(9000);
    assert.equal(events.length, 0, 'at 9 s: 11 s to go');
    clock.advance(1000);
    assert.deepEqual(events.map((e) => [e.rule, e.state, e.at]), [['time_to_full', 'firing', 10_000]]);
    // As of the trend's latest sample, at most one sampleEveryMs (100 ms) old.
    assert.ok(events[0]!.value >= 10_000 && events[0]!.value <= 10_100 + 1e-6, `${events[0]!.value} ms to the threshold`);
    ramp.close();
    monitor.stop();
  });

  it('evaluate() - lag in items reads the backlog of each lag source (Redis, RabbitMQ, NATS); other components are not checked', async () => {
    const clock = new VirtualClock();
    const { figures, sources, close } = fakeLagSources(clock, { threshold: 500, intervalMs: 1000 });
    const channel = new Channel<number>({ capacity: 5, clock });
    for (let i = 0; i < 5; i++) channel.trySend(i);
    const { monitor, events, lines } = monitorOf(clock, { ...sources, channel }, { lag: { items: 1000 } });
    await flushMicrotasks();
    Object.assign(figures, { undelivered: 600, pending: 400, ready: 999, numPending: 900, numAckPending: 300 });
    clock.advance(1000);
    await flushMicrotasks();
    monitor.evaluate();
    assert.deepEqual(events.map((e) => [e.component, e.rule, e.state, e.value, e.unit]), [
      ['redisLag', 'lag', 'firing', 1000, 'items'],
      ['natsLag', 'lag', 'firing', 1200, 'items'],
    ]);
    assert.equal(lines[0], 'sluice alert FIRING lag on redisLag: items 1000 >= 1000 at 1s');
    Object.assign(figures, { undelivered: 500, pending: 400, numPending: 800, numAckPending: 0 });
    clock.advance(1000);
    await flushMicrotasks();
    monitor.evaluate();
    assert.deepEqual(events.slice(2).map((e) => [e.component, e.state]), [['natsLag', 'resolved']], 'redis at 900 is not below 1000 × 0.9');
    close();
  });

  it('evaluate() - lag as pressure reads the source\'s backlog / its threshold', async () => {
    const clock = new VirtualClock();
    const { figures, sources, close } = fakeLagSources(clock, { threshold: 200, intervalMs: 1000 });
    const { monitor, events } = monitorOf(clock, { amqp: sources.amqpLag }, { lag: { pressure: 1.5 } });
    await flushMicrotasks();
    figures.ready = 300;
    clock.advance(1000);
    await flushMicrotasks();
    monitor.evaluate();
    assert.deepEqual(events.map((e) => [e.rule, e.value, e.threshold, e.unit]), [['lag', 1.5, 1.5, 'pressure']]);
    close();
  });

  it('evaluate() - slope fires on a trend rising faster than the threshold per second and resolves when it flattens', () => {
    const clock = new VirtualClock();
    let level = 0;
    let step = 0.01; // per 100 ms: 0.1 per second
    const ticker = () => {
      level += step;
      clock.schedule(100, ticker);
    };
    clock.schedule(100, ticker);
    const rising = trend(() => level, { windowMs: 2000, sampleEveryMs: 100, clock });
    const { monitor, events, lines } = monitorOf(clock, { rising }, { slope: 0.05 });
    monitor.start();
    clock.advance(2000);
    assert.deepEqual(events.map((e) => [e.rule, e.state, e.unit]), [['slope', 'firing', 'per_second']]);
    assert.ok(Math.abs(events[0]!.value - 0.1) < 1e-9);
    assert.match(lines[0]!, /^sluice alert FIRING slope on rising: per_second 0\.1 >= 0\.05 at \ds$/);
    step = 0;
    clock.advance(3000);
    assert.deepEqual(events.map((e) => e.state), ['firing', 'resolved']);
    rising.close();
    monitor.stop();
  });

  it('formatAlert() - time_to_full compares the other way: <= when firing, > threshold / resolveRatio when resolved', () => {
    assert.equal(formatAlert({ component: 'q', rule: 'time_to_full', state: 'firing', value: 1234.4, threshold: 5000, unit: 'ms', at: 2000 }), 'sluice alert FIRING time_to_full on q: ms 1234 <= 5000 at 2s');
    assert.equal(formatAlert({ component: 'q', rule: 'time_to_full', state: 'resolved', value: Infinity, threshold: 5000, unit: 'ms', at: 3000 }, 0.5), 'sluice alert RESOLVED time_to_full on q: ms Infinity > 10000 at 3s');
  });
});
