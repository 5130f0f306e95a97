import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { Credits } from '../credits/index.js';
import { TokenBucket } from '../token-bucket/index.js';
import { CongestionWindow } from '../congestion-window/index.js';
import { VirtualClock } from '../testing/index.js';
import { AlertMonitor, formatAlert, type AlertEvent, type AlertMonitorOptions } from './index.js';

function setup({ capacity, ...options }: Partial<AlertMonitorOptions> & { capacity?: number } = {}) {
  const clock = new VirtualClock();
  const channel = new Channel<number>({ capacity: capacity ?? 10, overflow: 'drop-newest', clock });
  const lines: string[] = [];
  const monitor = new AlertMonitor({
    components: { jobs: channel },
    thresholds: { queueDepth: { utilization: 0.9 } },
    intervalMs: 1000,
    log: (line) => lines.push(line),
    clock,
    ...options,
  });
  const events: AlertEvent[] = [];
  monitor.onAlert((e) => events.push(e));
  return { clock, channel, monitor, events, lines };
}

function fill(channel: Channel<number>, n: number) {
  for (let i = 0; i < n; i++) channel.trySend(i);
}

describe('AlertMonitor', () => {
  it('evaluate() - fires queue_depth when utilization reaches the threshold', () => {
    const { channel, monitor, events } = setup();
    fill(channel, 9);
    const out = monitor.evaluate();
    assert.equal(out.length, 1);
    assert.deepEqual(events, [{ component: 'jobs', rule: 'queue_depth', state: 'firing', value: 0.9, threshold: 0.9, unit: 'utilization', at: 0 }]);
  });

  it('evaluate() - stays quiet below the threshold', () => {
    const { channel, monitor, events } = setup();
    fill(channel, 8);
    monitor.evaluate();
    assert.deepEqual(events, []);
    assert.equal(monitor.stats().evaluations, 1);
  });

  it('start() - evaluates every intervalMs on the clock', () => {
    const { clock, channel, monitor, events } = setup();
    monitor.start();
    clock.advance(2500);
    assert.equal(monitor.stats().evaluations, 2);
    fill(channel, 10);
    clock.advance(499);
    assert.equal(events.length, 0, 'no evaluation between ticks');
    clock.advance(1);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.at, 3000);
    assert.equal(monitor.stats().running, true);
  });

  it('stop() - no evaluations after it; start() resumes', () => {
    const { clock, monitor } = setup();
    monitor.start();
    clock.advance(1000);
    monitor.stop();
    clock.advance(10_000);
    assert.equal(monitor.stats().evaluations, 1);
    assert.equal(monitor.stats().running, false);
    monitor.start();
    clock.advance(1000);
    assert.equal(monitor.stats().evaluations, 2);
  });

  it('evaluate() - resolves only below threshold × resolveRatio (hysteresis)', () => {
    const { channel, monitor, events } = setup({ capacity: 100, resolveRatio: 0.8 });
    fill(channel, 95);
    monitor.evaluate();
    while (channel.size > 80) channel.tryReceive(); // 0.80 < 0.9 but not < 0.72
    monitor.evaluate();
    assert.equal(events.length, 1);
    while (channel.size > 71) channel.tryReceive(); // 0.71 < 0.72
    monitor.evaluate();
    assert.equal(events.length, 2);
    assert.equal(events[1]!.state, 'resolved');
    assert.equal(events[1]!.value, 0.71);
  });

  it('evaluate() - forMs delays firing and a dip resets it', () => {
    const { clock, channel, monitor, events } = setup({ forMs: 3000 });
    monitor.start();
    fill(channel, 10);
    clock.advance(3000); // over at 1 s, 2 s, 3 s: only 2 s elapsed since the first
    assert.equal(events.length, 0);
    channel.tryReceive();
    channel.tryReceive(); // 0.8 at 4 s: resets
    clock.advance(1000);
    fill(channel, 2);
    clock.advance(3000); // over at 5, 6, 7 s
    assert.equal(events.length, 0);
    clock.advance(1000); // 8 s: 3 s since 5 s
    assert.equal(events.length, 1);
    assert.equal(events[0]!.at, 8000);
  });

  it('evaluate() - resolveForMs delays resolution', () => {
    const { clock, channel, monitor, events } = setup({ resolveForMs: 2000 });
    monitor.start();
    fill(channel, 10);
    clock.advance(1000);
    assert.equal(events.length, 1);
    while (channel.size > 0) channel.tryReceive();
    clock.advance(2000); // below at 2 s and 3 s: 1 s elapsed
    assert.equal(events.length, 1);
    clock.advance(1000);
    assert.equal(events.length, 2);
    assert.equal(events[1]!.at, 4000);
  });

  it('evaluate() - queue_depth in items reads stats().size', () => {
    const { channel, monitor, events } = setup({ thresholds: { queueDepth: { items: 5 } } });
    fill(channel, 5);
    monitor.evaluate();
    assert.equal(events[0]!.unit, 'items');
    assert.equal(events[0]!.value, 5);
  });

  it('evaluate() - drop_rate compares drops to offers over the window', () => {
    const { clock, channel, monitor, events } = setup({ capacity: 10, thresholds: { dropRate: 0.1 }, windowMs: 2000 });
    monitor.start();
    fill(channel, 10); // 10 offered, 0 dropped
    clock.advance(1000);
    assert.equal(events.length, 0);
    fill(channel, 5); // 15 offered, 5 dropped
    clock.advance(1000);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.rule, 'drop_rate');
    assert.equal(events[0]!.value, 5 / 15);
    // Nothing offered for a full window: the rate falls to 0 and the alert resolves.
    clock.advance(1000);
    assert.equal(events.length, 1, 'the window (1 s to 3 s) still holds the drops');
    clock.advance(1000);
    assert.equal(events.length, 2, 'the window (2 s to 4 s) holds none');
    assert.equal(events[1]!.state, 'resolved');
  });

  it('evaluate() - blocked_time: one producer blocked 20 s fires a 5 s alert, with the age of its block', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 1, clock });
    const events: AlertEvent[] = [];
    const monitor = new AlertMonitor({ components: { jobs: channel }, thresholds: { blockedTime: 5000 }, log: false, clock, windowMs: 60_000 });
    monitor.onAlert((e) => events.push(e));
    monitor.start();
    channel.trySend(1);
    clock.advance(10_000); // 10 s of nothing blocked: no alert, however long the window
    const pending = channel.send(2); // blocked from 10 s
    clock.advance(4000);
    assert.equal(events.length, 0, 'blocked 4 s so far');
    clock.advance(1000);
    assert.deepEqual(events, [{ component: 'jobs', rule: 'blocked_time', state: 'firing', value: 5000, threshold: 5000, unit: 'ms', at: 15_000 }]);
    clock.advance(15_000);
    assert.deepEqual(monitor.active(), [{ component: 'jobs', rule: 'blocked_time', value: 20_000, threshold: 5000, since: 15_000 }]);
    channel.tryReceive();
    await pending;
    clock.advance(1000);
    assert.deepEqual(events.map((e) => [e.state, e.value]), [['firing', 5000], ['resolved', 0]]);
  });

  it('evaluate() - blocked_time reads the current longest block, not a sum: ten 2 s blocks in a row do not fire a 5 s alert', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 1, clock });
    const monitor = new AlertMonitor({ components: { jobs: channel }, thresholds: { blockedTime: 5000 }, log: false, clock });
    const events: AlertEvent[] = [];
    monitor.onAlert((e) => events.push(e));
    monitor.start();
    channel.trySend(0);
    for (let i = 1; i <= 10; i++) {
      const send = channel.send(i);
      clock.advance(2000);
      assert.equal(channel.stats().longestBlockedMs, 2000);
      channel.tryReceive();
      await send;
      assert.equal(channel.stats().longestBlockedMs, 0);
    }
    assert.equal(channel.stats().blockedMs, 20_000);
    assert.deepEqual(events, []);
  });

  it('evaluate() - blocked_time reads a TokenBucket, Credits and a CongestionWindow: longestBlockedMs of the queue head', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 0.01, burst: 1, clock });
    bucket.tryAcquire();
    const credits = new Credits({ initial: 0, clock });
    const window = new CongestionWindow({ initialWindow: 1, clock });
    window.tryAcquire();
    const monitor = new AlertMonitor({ components: { bucket, credits, window }, thresholds: { blockedTime: 5000 }, log: false, clock });
    const events: AlertEvent[] = [];
    monitor.onAlert((e) => events.push(e));
    monitor.start();
    clock.advance(3000);
    const controller = new AbortController();
    const waits = [bucket.acquire(1, { signal: controller.signal }), credits.acquire(1, { signal: controller.signal }), window.acquire({ signal: controller.signal })];
    clock.advance(5000);
    assert.deepEqual(events.map((e) => [e.component, e.rule, e.value]), [
      ['bucket', 'blocked_time', 5000],
      ['credits', 'blocked_time', 5000],
      ['window', 'blocked_time', 5000],
    ]);
    controller.abort(new Error('done'));
    await Promise.allSettled(waits);
  });

  it('evaluate() - reads limiter stats: rejected over acquired + rejected, starvationMs as blocked', () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 1, clock });
    const events: AlertEvent[] = [];
    const monitor = new AlertMonitor({ components: { credits }, thresholds: { dropRate: 0.5, queueDepth: { utilization: 0.5 } }, log: false, clock });
    monitor.onAlert((e) => events.push(e));
    monitor.start();
    credits.tryAcquire();
    credits.tryAcquire();
    credits.tryAcquire();
    clock.advance(1000);
    assert.deepEqual(
      events.map((e) => [e.rule, e.value]),
      [['drop_rate', 2 / 3]],
      'queue_depth is skipped: Credits has no utilization',
    );
  });

  it('onAlert() - unsubscribe stops delivery to that listener only', () => {
    const { channel, monitor, events } = setup();
    const seen: string[] = [];
    const off = monitor.onAlert((e) => seen.push(e.state));
    fill(channel, 10);
    monitor.evaluate();
    off();
    while (channel.size > 0) channel.tryReceive();
    monitor.evaluate();
    assert.deepEqual(seen, ['firing']);
    assert.deepEqual(events.map((e) => e.state), ['firing', 'resolved']);
  });

  it('evaluate() - logs one line per transition', () => {
    const { channel, monitor, lines } = setup();
    fill(channel, 10);
    monitor.evaluate();
    monitor.evaluate();
    while (channel.size > 0) channel.tryReceive();
    monitor.evaluate();
    assert.deepEqual(lines, [
      'sluice alert FIRING queue_depth on jobs: utilization 1 >= 0.9 at 0s',
      'sluice alert RESOLVED queue_depth on jobs: utilization 0 < 0.81 at 0s',
    ]);
  });

  it('active() - lists firing alerts with their latest value', () => {
    const { clock, channel, monitor } = setup();
    monitor.start();
    fill(channel, 9);
    clock.advance(1000);
    channel.trySend(99);
    clock.advance(1000);
    assert.deepEqual(monitor.active(), [{ component: 'jobs', rule: 'queue_depth', value: 1, threshold: 0.9, since: 1000 }]);
    assert.equal(monitor.stats().firing, 1);
    assert.equal(monitor.stats().fired, 1);
  });

  it('formatAlert() - words ms and items', () => {
    assert.equal(
      formatAlert({ component: 'a', rule: 'blocked_time', state: 'firing', value: 20_000.4, threshold: 5000, unit: 'ms', at: 1500 }),
      'sluice alert FIRING blocked_time on a: ms 20000 >= 5000 at 1.5s',
    );
  });

  describe('options', () => {
    const clock = new VirtualClock();
    const channel = new Channel({ clock });
    const bad: [string, Partial<AlertMonitorOptions>][] = [
      ['components', { components: {} }],
      ['components.x', { components: { x: {} as never } }],
      ['thresholds', { thresholds: {} }],
      ['thresholds.queueDepth', { thresholds: { queueDepth: 0.9 as never } }],
      ['thresholds.queueDepth.utilization', { thresholds: { queueDepth: { utilization: 1.5 } } }],
      ['thresholds.queueDepth.items', { thresholds: { queueDepth: { items: 0 } } }],
      ['thresholds.dropRate', { thresholds: { dropRate: 0 } }],
      ['thresholds.blockedTime', { thresholds: { blockedTime: -1 } }],
      ['thresholds.lag', { thresholds: { lag: 1000 as never } }],
      ['thresholds.lag.items', { thresholds: { lag: { items: 0.5 } } }],
      ['thresholds.lag.pressure', { thresholds: { lag: { pressure: 0 } } }],
      ['thresholds.slope', { thresholds: { slope: -0.1 } }],
      ['thresholds.timeToFull', { thresholds: { timeToFull: 0 } }],
      ['intervalMs', { intervalMs: 0 }],
      ['windowMs', { windowMs: -5 }],
      ['forMs', { forMs: -1 }],
      ['resolveRatio', { resolveRatio: 1.2 }],
      ['resolveForMs', { resolveForMs: Number.NaN }],
      ['log', { log: 'yes' as never }],
      ['clock', { clock: {} as never }],
    ];
    for (const [field, patch] of bad) {
      it(`constructor - rejects a bad ${field}`, () => {
        assert.throws(
          () => new AlertMonitor({ components: { channel }, thresholds: { dropRate: 0.1 }, clock, ...patch }),
          (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && e.message.includes(`"${field}"`),
        );
      });
    }
  });
});
