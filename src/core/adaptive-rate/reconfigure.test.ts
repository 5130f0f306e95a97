import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveRate, type AdaptiveRateReconfigureEvent } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function track(p: Promise<unknown>): { done: boolean } {
  const t = { done: false };
  p.then(
    () => (t.done = true),
    () => (t.done = true),
  );
  return t;
}

/** A limiter at `rate`/s with burst 1 whose one token is taken at t=0. */
function drained(rate: number, extra: { minRate?: number; maxRate?: number } = {}) {
  const clock = new VirtualClock();
  const limiter = new AdaptiveRate({ targetLatencyMs: 100, minRate: 1, maxRate: 1000, initialRate: rate, burst: 1, clock, ...extra });
  assert.ok(limiter.tryAcquire());
  const events: AdaptiveRateReconfigureEvent[] = [];
  limiter.onReconfigure((e) => events.push(e));
  return { clock, limiter, events };
}

function state(limiter: AdaptiveRate) {
  return { rate: limiter.rate, min: limiter.minRate, max: limiter.maxRate, adjustments: limiter.stats().adjustments };
}

describe('AdaptiveRate runtime settings', () => {
  it('setRate() - a raised rate re-times the waiting caller sooner; a lowered one later', async () => {
    const { clock, limiter } = drained(1); // next token in 1000 ms
    const a = track(limiter.acquire());
    limiter.setRate(100); // next token 10 ms after the last refill
    await clock.advanceAsync(10);
    assert.equal(a.done, true);
    limiter.setRate(2);
    const b = track(limiter.acquire());
    await clock.advanceAsync(499);
    assert.equal(b.done, false);
    await clock.advanceAsync(1);
    assert.equal(b.done, true);
  });

  it('setRate() - counts each change in adjustments and emits an event; the adaptation goes on from the new rate', () => {
    const { limiter, events } = drained(10);
    limiter.setRate(40);
    limiter.setRate(40);
    assert.deepEqual(events, [{ setting: 'rate', previous: 10, value: 40 }]);
    assert.equal(limiter.stats().adjustments, 1);
    for (let i = 0; i < 10; i++) limiter.record(500); // far above target: the rate falls from 40
    assert.ok(limiter.rate < 40 && limiter.rate > 1, String(limiter.rate));
    assert.equal(limiter.stats().adjustments, 1, 'the adaptation counts in adjustmentsDown, not adjustments');
    assert.ok(limiter.stats().adjustmentsDown > 0);
  });

  it('setRate() - a value outside [minRate, maxRate] or not a finite number throws naming rate and changes nothing', async () => {
    const { clock, limiter, events } = drained(10, { minRate: 5, maxRate: 50 });
    const before = state(limiter);
    const w = track(limiter.acquire());
    for (const bad of [4, 51, 0, -1, NaN, Infinity, '20', undefined]) {
      assert.throws(() => limiter.setRate(bad as never), isField('rate'), String(bad));
    }
    assert.deepEqual(state(limiter), before);
    assert.deepEqual(events, []);
    await clock.advanceAsync(99);
    assert.equal(w.done, false, 'still paced at 10/s');
    await clock.advanceAsync(1);
    assert.equal(w.done, true);
  });

  it('setRate() - under a setRateCap() cap the pace stays capped', async () => {
    const { clock, limiter } = drained(10);
    limiter.setRateCap(5);
    limiter.setRate(500);
    assert.equal(limiter.rate, 500);
    const w = track(limiter.acquire());
    await clock.advanceAsync(199);
    assert.equal(w.done, false);
    await clock.advanceAsync(1);
    assert.equal(w.done, true);
  });

  it('setRateBounds() - clamps the rate into the new range, re-times waiters, and the adaptation stays within it', async () => {
    const { clock, limiter, events } = drained(500);
    limiter.setRateBounds({ min: 1, max: 4 });
    assert.deepEqual(events, [
      { setting: 'maxRate', previous: 1000, value: 4 },
      { setting: 'rate', previous: 500, value: 4 },
    ]);
    const w = track(limiter.acquire());
    await clock.advanceAsync(249);
    assert.equal(w.done, false, 'paced at 4/s now');
    await clock.advanceAsync(1);
    assert.equal(w.done, true);
    for (let i = 0; i < 20; i++) limiter.record(1); // far below target: the rate would rise
    assert.equal(limiter.rate, 4);
    limiter.setRateBounds({ min: 8, max: 16 }); // raises the rate to the new minimum
    assert.equal(limiter.rate, 8);
    assert.equal(limiter.minRate, 8);
    assert.equal(limiter.maxRate, 16);
    assert.equal(limiter.stats().adjustments, 2);
  });

  it('setRateBounds() - bad bounds throw naming the field and change nothing; unchanged bounds count nothing', () => {
    const { limiter, events } = drained(20, { minRate: 10, maxRate: 100 });
    const before = state(limiter);
    assert.throws(() => limiter.setRateBounds({ min: 0 }), isField('minRate'));
    assert.throws(() => limiter.setRateBounds({ min: NaN }), isField('minRate'));
    assert.throws(() => limiter.setRateBounds({ max: Infinity }), isField('maxRate'));
    assert.throws(() => limiter.setRateBounds({ min: 200 }), isField('minRate'));
    assert.throws(() => limiter.setRateBounds({ max: 5 }), isField('maxRate'));
    assert.throws(() => limiter.setRateBounds({ min: 50, max: 40 }), isField('minRate'));
    assert.throws(() => limiter.setRateBounds({ maximum: 40 } as never), isField('maximum'));
    assert.throws(() => limiter.setRateBounds(null as never), isField('bounds'));
    limiter.setRateBounds({ min: 10, max: 100 });
    limiter.setRateBounds({});
    assert.deepEqual(state(limiter), before);
    assert.deepEqual(events, []);
  });

  it('onReconfigure() - rejects a non-function; unsubscribing stops the events; a throwing listener does not stop the others', async () => {
    const { limiter } = drained(20);
    assert.throws(() => limiter.onReconfigure({} as never), InvalidArgumentError);
    const seen: string[] = [];
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      limiter.onReconfigure(() => {
        throw new Error('listener bug');
      });
      const off = limiter.onReconfigure((e) => seen.push(`${e.setting}=${e.value}`));
      limiter.setRate(30);
      off();
      limiter.setRate(31);
      await flushMicrotasks();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.deepEqual(seen, ['rate=30']);
    assert.equal(limiter.rate, 31);
    assert.equal(uncaught.length, 2);
  });
});
