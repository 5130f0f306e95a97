import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveRate } from '../adaptive-rate/index.js';
import { Credits } from '../credits/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { IntervalAdaptiveRate, TimedCredits } from './components.js';
import { fromConfig, parseConfig } from './index.js';

describe('TimedCredits', () => {
  it('acquire() - a wait longer than acquireTimeoutMs rejects with TimeoutError and takes nothing', async () => {
    const clock = new VirtualClock();
    const credits = new TimedCredits({ initial: 0, acquireTimeoutMs: 30_000, clock });
    const waiting = credits.acquire();
    let settled = false;
    waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    clock.advance(29_999);
    await flushMicrotasks();
    assert.equal(settled, false);
    assert.equal(credits.waiting, 1);
    clock.advance(1);
    await assert.rejects(waiting, (e: unknown) => e instanceof DOMException && e.name === 'TimeoutError' && /no credits within 30000 ms/.test(e.message));
    assert.equal(credits.waiting, 0);
    credits.grant(1);
    assert.equal(credits.available, 1, 'the timed-out call took nothing');
  });

  it('acquire() - credits granted in time resolve it and cancel the timer', async () => {
    const clock = new VirtualClock();
    const credits = new TimedCredits({ initial: 0, acquireTimeoutMs: 1000, clock });
    const waiting = credits.acquire(2);
    clock.advance(500);
    credits.grant(2);
    await waiting;
    assert.equal(clock.pending, 0, "the timeout timer was cancelled");
    assert.equal(credits.stats().acquired, 2);
  });

  it('acquire() - the caller\'s signal still aborts with its own reason', async () => {
    const clock = new VirtualClock();
    const credits = new TimedCredits({ initial: 0, acquireTimeoutMs: 1000, clock });
    const controller = new AbortController();
    const waiting = credits.acquire(1, { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await assert.rejects(waiting, /caller gave up/);
    assert.equal(credits.waiting, 0);
  });

  it('TimedCredits - without acquireTimeoutMs it is a plain Credits; a bad timeout is an invalid option', () => {
    const credits = new TimedCredits({ initial: 1 });
    assert.ok(credits instanceof Credits);
    assert.equal(credits.acquireTimeoutMs, undefined);
    assert.throws(() => new TimedCredits({ initial: 1, acquireTimeoutMs: -5 }), { code: 'ERR_SLUICE_INVALID_OPTION' });
  });
});

describe('IntervalAdaptiveRate', () => {
  it('record() - adjusts once per interval from the interval\'s mean latency', () => {
    const clock = new VirtualClock();
    const rate = new IntervalAdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, adjustmentIntervalMs: 10_000, clock });
    for (let i = 0; i < 50; i++) {
      rate.record(500); // far above target: a plain AdaptiveRate would cut the rate on every sample
      clock.advance(100);
    }
    assert.equal(rate.rate, 500, 'nothing adjusted inside the first interval');
    clock.advance(5000);
    rate.record(500); // closes the first interval (mean 500 ms)
    assert.equal(rate.rate, 450);
    assert.deepEqual([rate.stats().adjustmentsDown, rate.stats().adjustmentsUp], [1, 0]);
    clock.advance(10_000);
    rate.record(10); // closes the second interval: its mean is the one 500 ms sample
    assert.equal(rate.rate, 405);
  });

  it('record() - without adjustmentIntervalMs it behaves as AdaptiveRate; bad latencies are refused', () => {
    const clock = new VirtualClock();
    const plain = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, clock });
    const same = new IntervalAdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, clock });
    for (const ms of [500, 500, 10]) {
      plain.record(ms);
      same.record(ms);
    }
    assert.equal(same.rate, plain.rate);
    const timed = new IntervalAdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, adjustmentIntervalMs: 1000, clock });
    assert.throws(() => timed.record(-1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });
});

describe('fromConfig() with the seed keys', () => {
  it('fromConfig() - credit_timeout and adjustment_interval reach the built components', async () => {
    const clock = new VirtualClock();
    const built = fromConfig(
      parseConfig({
        flow_control: { type: 'credit_based', initial_credits: 0, credit_timeout: '30s' },
        adaptive: { target_latency_ms: 100, adjustment_interval: '10s' },
      }),
      { clock, alertLog: false },
    );
    const credits = built.credits.flow_control!;
    assert.ok(credits instanceof TimedCredits);
    const waiting = credits.acquire();
    clock.advance(30_000);
    await assert.rejects(waiting, { name: 'TimeoutError' });
    const adaptive = built.adaptiveRates.adaptive!;
    assert.ok(adaptive instanceof IntervalAdaptiveRate);
    assert.equal(adaptive.adjustmentIntervalMs, 10_000);
    assert.deepEqual([adaptive.minRate, adaptive.maxRate], [1, 1000]);
    built.close();
  });

  it('fromConfig() - without the keys the plain classes are built', () => {
    const built = fromConfig(parseConfig({ credits: { c: { initial: 1 } }, flow_control: { type: 'credit_based', initial_credits: 1 } }), { clock: new VirtualClock() });
    assert.equal(built.credits.flow_control!.constructor, Credits);
    assert.equal(built.credits.c!.constructor, Credits);
    built.close();
  });
});
