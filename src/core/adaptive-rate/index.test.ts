import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveRate, type AdaptiveRateOptions } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { ChannelClosedError, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

const base = { targetLatencyMs: 100, minRate: 10, maxRate: 1000 };

function make(extra: Partial<AdaptiveRateOptions> = {}) {
  const clock = new VirtualClock();
  return { clock, limiter: new AdaptiveRate({ ...base, clock, ...extra }) };
}

/** Runs a continuous acquire() loop for `ms` of virtual time; returns how many got through. */
async function grantsDuring(clock: VirtualClock, limiter: AdaptiveRate, ms: number): Promise<number> {
  let granted = 0;
  let stopped = false;
  const ac = new AbortController();
  const loop = (async () => {
    while (!stopped) {
      await limiter.acquire({ signal: ac.signal });
      granted++;
    }
  })().catch(() => undefined);
  await clock.advanceAsync(ms);
  const counted = granted;
  stopped = true;
  ac.abort();
  await loop;
  return counted;
}

describe('AdaptiveRate', () => {
  it('constructor - rejects invalid options, naming the field', () => {
    assertInvalidOption(() => new AdaptiveRate({ ...base, targetLatencyMs: 0 }), 'targetLatencyMs');
    assertInvalidOption(() => new AdaptiveRate({ ...base, minRate: 0 }), 'minRate');
    assertInvalidOption(() => new AdaptiveRate({ ...base, maxRate: Infinity }), 'maxRate');
    assertInvalidOption(() => new AdaptiveRate({ ...base, minRate: 50, maxRate: 20 }), 'minRate');
    assertInvalidOption(() => new AdaptiveRate({ ...base, initialRate: 5 }), 'initialRate');
    assertInvalidOption(() => new AdaptiveRate({ ...base, initialRate: 1001 }), 'initialRate');
    assertInvalidOption(() => new AdaptiveRate({ ...base, increase: 1 }), 'increase');
    assertInvalidOption(() => new AdaptiveRate({ ...base, decrease: 1 }), 'decrease');
    assertInvalidOption(() => new AdaptiveRate({ ...base, decrease: 0 }), 'decrease');
    assertInvalidOption(() => new AdaptiveRate({ ...base, window: 0 }), 'window');
    assertInvalidOption(() => new AdaptiveRate({ ...base, window: 2.5 }), 'window');
    assertInvalidOption(() => new AdaptiveRate({ ...base, burst: 0 }), 'burst');
    assertInvalidOption(() => new AdaptiveRate({ ...base, clock: null as never }), 'clock');
  });

  it('constructor - initialRate defaults to the middle of [minRate, maxRate]', () => {
    assert.equal(make().limiter.rate, 505);
  });

  it('record() - does not adjust until half the window is filled', () => {
    const { limiter } = make({ initialRate: 500 });
    for (let i = 0; i < 4; i++) limiter.record(1000);
    assert.equal(limiter.rate, 500);
    limiter.record(1000);
    assert.equal(limiter.rate, 450);
  });

  it('record() - lowers the rate while latency exceeds target × 1.2, down to minRate', () => {
    const { limiter } = make({ initialRate: 500 });
    const rates: number[] = [];
    for (let i = 0; i < 8; i++) {
      limiter.record(200);
      rates.push(limiter.rate);
    }
    assert.deepEqual(rates.map((r) => r.toFixed(2)), ['500.00', '500.00', '500.00', '500.00', '450.00', '405.00', '364.50', '328.05']);
    for (let i = 0; i < 100; i++) limiter.record(200);
    assert.equal(limiter.rate, 10);
    // 500 × 0.9^k first drops below 10 at k = 38; that step is floored at 10 and no step follows
    assert.equal(limiter.stats().adjustmentsDown, 38);
  });

  it('record() - raises the rate back once latency falls below target × 0.8, up to maxRate', () => {
    const { limiter } = make({ initialRate: 500 });
    for (let i = 0; i < 10; i++) limiter.record(200);
    const lowered = limiter.rate;
    assert.ok(lowered < 500);
    for (let i = 0; i < 8; i++) limiter.record(50); // the window's average is still >= 80
    assert.ok(limiter.rate < lowered, 'kept falling while the average stayed high');
    const bottom = limiter.rate;
    limiter.record(50); // average (200 + 9 × 50) / 10 = 65
    assert.ok(Math.abs(limiter.rate - bottom * 1.1) < 1e-9, 'latency low: the rate rises');
    for (let i = 0; i < 100; i++) limiter.record(50);
    assert.equal(limiter.rate, 1000);
    assert.ok(limiter.stats().adjustmentsUp > 0);
  });

  it('record() - holds the rate while the average is within target ± 20%', () => {
    const { limiter } = make({ initialRate: 500 });
    for (let i = 0; i < 20; i++) limiter.record(i % 2 === 0 ? 85 : 115);
    assert.equal(limiter.rate, 500);
    assert.deepEqual([limiter.stats().adjustmentsUp, limiter.stats().adjustmentsDown], [0, 0]);
  });

  it('record() - rejects a negative or non-finite latency', () => {
    const { limiter } = make();
    assert.throws(() => limiter.record(-1), InvalidArgumentError);
    assert.throws(() => limiter.record(NaN), InvalidArgumentError);
    assert.equal(limiter.stats().samples, 0);
  });

  it('acquire() - pacing follows the current rate, counted over simulated seconds', async () => {
    const { clock, limiter } = make({ initialRate: 400, decrease: 0.5, increase: 2, window: 1, burst: 1 });
    const first = await grantsDuring(clock, limiter, 1000);
    assert.ok(Math.abs(first - 401) <= 1, `at 400/s: ${first}`); // 1 from the full bucket at t=0
    limiter.record(500);
    assert.equal(limiter.rate, 200);
    const second = await grantsDuring(clock, limiter, 1000);
    assert.ok(Math.abs(second - 200) <= 1, `at 200/s: ${second}`);
    limiter.record(10);
    limiter.record(10);
    assert.equal(limiter.rate, 800);
    const third = await grantsDuring(clock, limiter, 1000);
    assert.ok(Math.abs(third - 800) <= 1, `at 800/s: ${third}`);
  });

  it('acquire() - a rate change re-times a caller already waiting', async () => {
    const { clock, limiter } = make({ initialRate: 10, window: 1, decrease: 0.5, increase: 10, burst: 1 });
    assert.ok(limiter.tryAcquire());
    let done = false;
    const waiting = limiter.acquire().then(() => (done = true));
    await clock.advanceAsync(10);
    limiter.record(1); // rate 100/s: the missing 0.9 token takes 9 ms instead of 90
    await clock.advanceAsync(8);
    assert.equal(done, false);
    await clock.advanceAsync(1);
    await waiting;
    assert.equal(done, true);
  });

  it('tryAcquire() - refuses beyond the current pace', () => {
    const { clock, limiter } = make({ initialRate: 100, burst: 2 });
    assert.ok(limiter.tryAcquire());
    assert.ok(limiter.tryAcquire());
    assert.equal(limiter.tryAcquire(), false);
    clock.advance(10);
    assert.ok(limiter.tryAcquire());
    assert.equal(limiter.stats().rejected, 1);
  });

  it('acquire() - an abort while waiting rejects with signal.reason', async () => {
    const { limiter } = make({ initialRate: 10, burst: 1 });
    assert.ok(limiter.tryAcquire());
    const ac = new AbortController();
    const pending = limiter.acquire({ signal: ac.signal });
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.equal(limiter.stats().waiting, 0);
  });

  it('close() - rejects waiting callers with ChannelClosedError', async () => {
    const { limiter } = make({ initialRate: 10, burst: 1 });
    assert.ok(limiter.tryAcquire());
    const pending = limiter.acquire();
    limiter.close();
    await assert.rejects(pending, ChannelClosedError);
    await flushMicrotasks();
    await assert.rejects(limiter.acquire(), ChannelClosedError);
  });

  it('stats() - reports rate, adjustments, average latency and pacing counters', () => {
    const { limiter } = make({ initialRate: 100, window: 4, burst: 1 });
    limiter.record(200);
    limiter.record(200); // half of 4 filled, average 200: down to 90
    limiter.record(20); // average 140: down to 81
    limiter.record(20); // average 110: hold
    limiter.record(20); // window 200, 20, 20, 20: average 65, up to 89.1
    assert.ok(limiter.tryAcquire());
    assert.equal(limiter.tryAcquire(), false);
    assert.deepEqual(limiter.stats(), {
      rate: 100 * 0.9 * 0.9 * 1.1,
      adjustmentsUp: 1,
      adjustmentsDown: 2,
      averageLatencyMs: 65,
      samples: 4,
      acquired: 1,
      waiting: 0,
      rejected: 1,
      adjustments: 0,
    });
  });
});

describe('AdaptiveRate setRateCap()', () => {
  it('setRateCap() - paces at min(rate, cap) while the adaptation goes on underneath, and Infinity lifts it', async () => {
    const { clock, limiter } = make({ initialRate: 100, burst: 1, window: 1 });
    assert.ok(Math.abs((await grantsDuring(clock, limiter, 1000)) - 100) <= 2);
    limiter.setRateCap(20);
    assert.ok(Math.abs((await grantsDuring(clock, limiter, 1000)) - 20) <= 2, 'capped at 20/s');
    limiter.record(10); // low latency: the adapted rate rises, the cap still holds
    assert.ok(Math.abs(limiter.rate - 110) < 1e-9, `rate ${limiter.rate}`);
    assert.ok(Math.abs((await grantsDuring(clock, limiter, 1000)) - 20) <= 2, 'still 20/s');
    limiter.setRateCap(Infinity);
    assert.ok(Math.abs((await grantsDuring(clock, limiter, 1000)) - 110) <= 2, 'the adapted 110/s again');
    limiter.close();
  });

  it('setRateCap() - a cap above the adapted rate changes nothing', async () => {
    const { clock, limiter } = make({ initialRate: 50, burst: 1 });
    limiter.setRateCap(500);
    assert.ok(Math.abs((await grantsDuring(clock, limiter, 1000)) - 50) <= 2);
    limiter.close();
  });

  it('setRateCap() - rejects a cap that is not a number > 0', () => {
    const { limiter } = make();
    for (const bad of [0, -1, Number.NaN, '10' as unknown as number]) {
      assert.throws(() => limiter.setRateCap(bad), InvalidArgumentError);
    }
  });
});

describe('AdaptiveRate adjustmentIntervalMs', () => {
  it('record() - adjusts once per interval from the interval\'s mean latency', () => {
    const clock = new VirtualClock();
    const rate = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, adjustmentIntervalMs: 10_000, clock });
    for (let i = 0; i < 50; i++) {
      rate.record(500); // far above target: without the interval every sample would cut the rate
      clock.advance(100);
    }
    assert.equal(rate.rate, 500, 'nothing adjusted inside the first interval');
    assert.equal(rate.stats().samples, 0);
    clock.advance(5000);
    rate.record(500); // closes the first interval (mean 500 ms)
    assert.equal(rate.rate, 450);
    assert.deepEqual([rate.stats().adjustmentsDown, rate.stats().adjustmentsUp], [1, 0]);
    clock.advance(10_000);
    rate.record(10); // closes the second interval: its mean is the one 500 ms sample
    assert.equal(rate.rate, 405);
  });

  it('record() - the mean covers every latency of the interval; no timer is started', () => {
    const clock = new VirtualClock();
    const rate = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, adjustmentIntervalMs: 1000, clock });
    assert.equal(clock.pending, 0);
    for (const ms of [10, 20, 300]) rate.record(ms); // mean 110: inside the hold band
    clock.advance(1000);
    rate.record(0);
    assert.equal(rate.averageLatencyMs, 110);
    assert.equal(rate.rate, 500);
    assert.equal(clock.pending, 0);
  });

  it('record() - without adjustmentIntervalMs every record() is a sample; bad latencies are refused with it too', () => {
    const clock = new VirtualClock();
    const plain = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: 500, window: 1, clock });
    for (const ms of [500, 500, 10]) plain.record(ms);
    assert.equal(plain.rate, 500 * 0.9 * 0.9 * 1.1);
    assert.equal(plain.adjustmentIntervalMs, undefined);
    const timed = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, adjustmentIntervalMs: 1000, clock });
    assert.throws(() => timed.record(-1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('constructor - adjustmentIntervalMs must be a finite number > 0', () => {
    for (const adjustmentIntervalMs of [0, -1, NaN, Infinity, '10s']) {
      assertInvalidOption(() => new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 10, adjustmentIntervalMs } as never), 'adjustmentIntervalMs');
    }
  });
});
