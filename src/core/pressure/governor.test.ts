import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveRate } from '../adaptive-rate/index.js';
import { ErrorCode, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { TokenBucket } from '../token-bucket/index.js';
import { governor, Governor, throttleFactor, trend } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    return true;
  });
}

function setup(extra: { minRate?: number; maxRate?: number; intervalMs?: number } = {}) {
  const clock = new VirtualClock();
  let pressure = 0;
  const bucket = new TokenBucket({ ratePerSecond: 1, clock });
  const gov = governor({ pressure: () => pressure, target: bucket, minRate: extra.minRate ?? 10, maxRate: extra.maxRate ?? 1000, intervalMs: extra.intervalMs ?? 100, clock });
  return {
    clock,
    bucket,
    gov,
    set: (p: number) => void (pressure = p),
  };
}

describe('governor()', () => {
  it('governor() - sets the target to maxRate at creation while the pressure is at most 1', () => {
    const { bucket, gov } = setup();
    assert.equal(bucket.ratePerSecond, 1000);
    assert.equal(gov.rate, 1000);
    assert.equal(gov.stats().adjustments, 1);
    gov.close();
  });

  it('governor() - rising pressure lowers the rate, never below minRate', () => {
    const { clock, bucket, gov, set } = setup();
    const rates: number[] = [];
    for (let p = 0; p <= 12; p += 0.25) {
      set(p);
      clock.advance(100);
      rates.push(gov.rate);
      assert.equal(bucket.ratePerSecond, gov.rate, 'the target has the governor’s rate');
      assert.ok(gov.rate >= 10, `rate ${gov.rate} at pressure ${p}`);
    }
    for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! <= rates[i - 1]!, `rate rose from ${rates[i - 1]} to ${rates[i]}`);
    assert.equal(rates[0], 1000, 'unchanged up to pressure 1');
    assert.equal(gov.rate, 10, 'at minRate under a very high pressure');
    assert.ok(gov.stats().decreases > 5);
    assert.equal(gov.stats().increases, 0);
    gov.close();
  });

  it('governor() - the rate heads for maxRate × throttleFactor(pressure), falling at most by half per interval', () => {
    const { clock, gov, set } = setup();
    set(2.5); // asks for 1000 × throttleFactor(2.5) ≈ 353.6
    clock.advance(100);
    assert.equal(gov.rate, 500, 'halved, not more, in one interval');
    clock.advance(100);
    assert.ok(Math.abs(gov.rate - 1000 * throttleFactor(2.5)) < 1e-9, `rate ${gov.rate}`);
    assert.equal(gov.stats().desiredRate, gov.rate);
    assert.equal(gov.stats().pressure, 2.5);
    // Settled: the same pressure changes nothing more.
    const adjustments = gov.stats().adjustments;
    clock.advance(1000);
    assert.equal(gov.stats().adjustments, adjustments);
    gov.close();
  });

  it('governor() - pressure falling back restores maxRate gradually, one step per interval', () => {
    const g = setup({ minRate: 100, maxRate: 1000 });
    g.set(20);
    g.clock.advance(1000); // down to minRate
    assert.equal(g.gov.rate, 100);
    g.set(0.2);
    const rates: number[] = [];
    for (let i = 0; i < 12; i++) {
      g.clock.advance(100);
      rates.push(g.gov.rate);
    }
    // (1000 - 100) / 10 = 90 items/s per interval: ten intervals back to maxRate.
    assert.deepEqual(rates.slice(0, 3).map(Math.round), [190, 280, 370]);
    assert.equal(rates[8]! < 1000, true);
    assert.equal(rates[9], 1000);
    assert.equal(rates[11], 1000);
    assert.equal(g.gov.stats().increases, 10);
    g.gov.close();
  });

  it('governor() - a noisy pressure around one level settles instead of flapping', () => {
    const { clock, gov, set } = setup();
    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.004; // ±0.2% of pressure
    set(2);
    clock.advance(1000);
    const adjustments = gov.stats().adjustments;
    for (let i = 0; i < 100; i++) {
      set(2 + noise());
      clock.advance(100);
    }
    assert.equal(gov.stats().adjustments, adjustments, 'changes under 1% of the rate are skipped');
    assert.ok(Math.abs(gov.rate - 500) < 10);
    gov.close();
  });

  it('governor() - caps an AdaptiveRate through setRateCap(), leaving its adaptation alone', async () => {
    const clock = new VirtualClock();
    const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 10, maxRate: 1000, initialRate: 200, burst: 1, clock });
    let pressure = 3; // asks for 1000 / 4 = 250, above the adapted 200
    const gov = governor({ pressure: () => pressure, target: limiter, minRate: 10, maxRate: 1000, intervalMs: 100, clock });
    assert.equal(gov.rate, 250);
    assert.equal(limiter.rate, 200, 'the adapted rate is not overwritten');
    pressure = 6; // 1000 / 32 = 31.25
    clock.advance(300);
    assert.equal(gov.rate, 31.25);
    // Paced at the cap: about 31 items in one second.
    let granted = 0;
    const until = clock.now() + 1000;
    while (clock.now() < until) {
      if (limiter.tryAcquire()) granted++;
      clock.advance(1);
    }
    assert.ok(Math.abs(granted - 31) <= 2, `granted ${granted}`);
    gov.close();
    limiter.close();
    await flushMicrotasks();
  });

  it('governor() - drives any object with setRate() (e.g. a RedisTokenBucket)', () => {
    const clock = new VirtualClock();
    const calls: number[] = [];
    const gov = new Governor({ pressure: { read: () => 2 }, target: { setRate: (rate) => void calls.push(rate) }, minRate: 1, maxRate: 100, clock });
    clock.advance(1000);
    assert.deepEqual(calls, [50]);
    gov.close();
  });

  it('governor() - a pressure that throws or reads NaN, or a target that throws, is counted and leaves the rate', () => {
    const clock = new VirtualClock();
    let mode: 'ok' | 'throw' | 'nan' = 'ok';
    let pressure = 0;
    const boom = new Error('lag source down');
    const read = () => {
      if (mode === 'throw') throw boom;
      return mode === 'nan' ? Number.NaN : pressure;
    };
    let refuse = false;
    const target = {
      rate: 0,
      setRate(rate: number) {
        if (refuse) throw new Error('closed');
        this.rate = rate;
      },
    };
    const gov = governor({ pressure: read, target, minRate: 10, maxRate: 1000, intervalMs: 100, clock });
    mode = 'throw';
    clock.advance(100);
    assert.equal(gov.rate, 1000);
    assert.equal(gov.stats().errors, 1);
    assert.equal(gov.stats().lastError, boom);
    mode = 'nan';
    clock.advance(100);
    assert.equal(gov.stats().errors, 2);
    const nan = gov.stats().lastError;
    assert.ok(nan instanceof InvalidOptionError);
    assert.equal(nan.code, ErrorCode.invalidOption);
    assert.equal(nan.field, 'pressure');
    assert.ok(Number.isNaN(nan.value));
    assert.match(nan.message, /^Invalid option "pressure": got NaN; expected a pressure whose read\(\) returns a number .*governor "governor"/);
    mode = 'ok';
    pressure = 5;
    refuse = true;
    clock.advance(100);
    assert.equal(gov.stats().errors, 3);
    assert.equal(gov.rate, 1000, 'not changed when the target refused');
    assert.equal(target.rate, 1000);
    refuse = false;
    clock.advance(100);
    assert.equal(gov.rate, 500);
    assert.equal(target.rate, 500);
    gov.close();
  });

  it('governor() - follows a trend, so the rate falls before the pressure reaches 1', () => {
    const clock = new VirtualClock();
    const rising = () => clock.now() / 20_000; // +0.05/s: reaches 1 at 20 s
    const ahead = trend(rising, { windowMs: 4000, sampleEveryMs: 100, horizonMs: 10_000, clock });
    const bucket = new TokenBucket({ ratePerSecond: 100, clock });
    const gov = governor({ pressure: ahead, target: bucket, minRate: 1, maxRate: 100, intervalMs: 100, clock });
    clock.advance(15_000); // pressure 0.75 now, 1.25 expected 10 s ahead
    assert.ok(rising() < 1);
    assert.ok(gov.rate < 100, `rate ${gov.rate}`);
    gov.close();
    ahead.close();
  });

  it('governor() - its moves on a TokenBucket are not operator adjustments: bucket adjustments and onReconfigure stay for setRate()', () => {
    const { clock, bucket, gov, set } = setup();
    const events: number[] = [];
    const off = bucket.onReconfigure((e) => events.push(e.value));
    try {
      set(4);
      clock.advance(1000);
      assert.ok(gov.rate < 1000, `rate ${gov.rate}`);
      assert.equal(bucket.ratePerSecond, gov.rate);
      assert.ok(gov.stats().adjustments > 1);
      assert.equal(bucket.stats().adjustments, 0);
      assert.deepEqual(events, []);
      bucket.setRate(7); // the operator's change counts (the governor's next tick moves it again)
      assert.equal(bucket.stats().adjustments, 1);
      assert.deepEqual(events, [7]);
    } finally {
      off();
      gov.close();
    }
  });

  it('close() - stops adjusting, is idempotent, and leaves target and pressure alone', () => {
    const { clock, bucket, gov, set } = setup();
    assert.equal(clock.pending, 1);
    gov.close();
    gov.close();
    assert.equal(clock.pending, 0);
    set(10);
    clock.advance(1000);
    assert.equal(bucket.ratePerSecond, 1000);
    assert.equal(gov.stats().closed, true);
    assert.equal(bucket.closed, false);
  });

  it('governor() - rejects invalid options naming the field', () => {
    const target = new TokenBucket({ ratePerSecond: 1 });
    const ok = { pressure: () => 0, target, minRate: 1, maxRate: 10 };
    assertInvalidOption(() => governor(null as never), 'governor options');
    assertInvalidOption(() => governor({ ...ok, pressure: undefined as never }), 'pressure');
    assertInvalidOption(() => governor({ ...ok, pressure: 3 as never }), 'pressure');
    assertInvalidOption(() => governor({ ...ok, target: undefined as never }), 'target');
    assertInvalidOption(() => governor({ ...ok, target: {} as never }), 'target');
    assertInvalidOption(() => governor({ ...ok, minRate: 0 }), 'minRate');
    assertInvalidOption(() => governor({ ...ok, maxRate: Infinity }), 'maxRate');
    assertInvalidOption(() => governor({ ...ok, minRate: 20 }), 'minRate');
    assertInvalidOption(() => governor({ ...ok, intervalMs: 0 }), 'intervalMs');
    assertInvalidOption(() => governor({ ...ok, decrease: 1 }), 'decrease');
    assertInvalidOption(() => governor({ ...ok, decrease: 0 }), 'decrease');
    assertInvalidOption(() => governor({ ...ok, increaseStep: 0 }), 'increaseStep');
    assertInvalidOption(() => governor({ ...ok, clock: {} as never }), 'clock');
    assertInvalidOption(() => governor({ ...ok, name: '' }), 'name');
    assertInvalidOption(() => governor({ ...ok, maxrate: 5 } as never), 'maxrate');
    target.close();
  });
});
