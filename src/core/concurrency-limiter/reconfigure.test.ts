import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter, type ConcurrencyLimiterReconfigureEvent } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function snapshot(limiter: ConcurrencyLimiter) {
  const { limit, limitChanges, adjustments, waiting, inflight } = limiter.stats();
  return { limit, min: limiter.minLimit, max: limiter.maxLimit, limitChanges, adjustments, waiting, inflight };
}

describe('ConcurrencyLimiter runtime limits', () => {
  it('setLimit() - a raised limit admits waiting callers at once, first come first served', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, clock });
    const held = limiter.tryAcquire()!;
    const a = settled(limiter.acquire());
    const b = settled(limiter.acquire());
    const c = settled(limiter.acquire());
    limiter.setLimit(3);
    await flushMicrotasks();
    assert.equal(a.done && b.done, true);
    assert.equal(c.done, false);
    assert.equal(limiter.limit, 3);
    assert.equal(limiter.inflight, 3);
    assert.equal(limiter.waiting, 1);
    held.success();
    await flushMicrotasks();
    assert.equal(c.done, true);
  });

  it('setLimit() - a lowered limit lets calls in flight finish and admits nobody until below it', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 3, clock });
    const held = [limiter.tryAcquire()!, limiter.tryAcquire()!, limiter.tryAcquire()!];
    const waiter = settled(limiter.acquire());
    limiter.setLimit(1);
    assert.equal(held.every((p) => !p.released), true, 'permits in flight stay valid');
    held[0]!.success();
    held[1]!.success();
    await flushMicrotasks();
    assert.equal(waiter.done, false, '1 in flight, limit 1: nobody admitted');
    assert.equal(limiter.tryAcquire(), undefined);
    held[2]!.success();
    await flushMicrotasks();
    assert.equal(waiter.done, true);
    assert.equal(limiter.inflight, 1);
  });

  it('setLimit() - a bad value throws InvalidOptionError naming limit and changes nothing', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, maxLimit: 10, clock });
    const events: ConcurrencyLimiterReconfigureEvent[] = [];
    limiter.onReconfigure((e) => events.push(e));
    const before = snapshot(limiter);
    for (const bad of [0, -1, 2.5, NaN, Infinity, 11, '5', undefined, null]) {
      assert.throws(() => limiter.setLimit(bad as never), isField('limit'), String(bad));
    }
    assert.deepEqual(snapshot(limiter), before);
    assert.deepEqual(events, []);
  });

  it('setLimit() - on an adaptive limiter throws InvalidArgumentError pointing at setLimits() and changes nothing', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 4, clock: new VirtualClock() });
    assert.throws(() => limiter.setLimit(8), (e: unknown) => e instanceof InvalidArgumentError && /setLimits/.test(e.message));
    assert.equal(limiter.limit, 4);
    assert.equal(limiter.stats().adjustments, 0);
  });

  it('setLimit() - each change counts in adjustments and limitChanges and emits one event; the same limit does nothing', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, clock });
    const events: ConcurrencyLimiterReconfigureEvent[] = [];
    const off = limiter.onReconfigure((e) => events.push(e));
    clock.advance(7);
    limiter.setLimit(6);
    limiter.setLimit(6);
    limiter.setLimit(2);
    const s = limiter.stats();
    assert.equal(s.adjustments, 2);
    assert.equal(s.limitChanges, 2);
    assert.equal(s.lastLimitChangeAt, 7);
    assert.equal(s.highestLimit, 6);
    assert.equal(s.lowestLimit, 2);
    assert.deepEqual(events, [
      { setting: 'limit', previous: 4, value: 6 },
      { setting: 'limit', previous: 6, value: 2 },
    ]);
    off();
    limiter.setLimit(3);
    assert.equal(events.length, 2);
    assert.equal(limiter.stats().adjustments, 3);
  });

  it('setLimit() - partition guarantees follow the new limit', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 10, partitions: { live: 0.5 }, clock: new VirtualClock() });
    limiter.setLimit(4);
    assert.equal(limiter.stats().partitions!.live!.limit, 2);
  });

  it('setLimits() - clamps an adaptive limit into the new bounds and it adapts within them', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 20, clock });
    const events: ConcurrencyLimiterReconfigureEvent[] = [];
    limiter.onReconfigure((e) => events.push(e));
    limiter.setLimits({ max: 8 });
    assert.equal(limiter.limit, 8);
    assert.equal(limiter.maxLimit, 8);
    assert.deepEqual(events, [
      { setting: 'maxLimit', previous: 1000, value: 8 },
      { setting: 'limit', previous: 20, value: 8 },
    ]);
    // Busy, fast, successful calls would grow an AIMD limit; it stops at the new max.
    for (let round = 0; round < 5; round++) {
      const permits = Array.from({ length: limiter.limit }, () => limiter.tryAcquire()!);
      clock.advance(1);
      for (const p of permits) p.success();
    }
    assert.equal(limiter.limit, 8);
    const s = limiter.stats();
    assert.equal(s.adjustments, 1);
    assert.equal(s.limitChanges, 1);
  });

  it('setLimits() - raising min lifts the limit and admits waiters at once; min = max pins it', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'vegas', initialLimit: 2, clock });
    const held = [limiter.tryAcquire()!, limiter.tryAcquire()!];
    const w = settled(limiter.acquire());
    limiter.setLimits({ min: 5, max: 5 });
    await flushMicrotasks();
    assert.equal(w.done, true);
    assert.equal(limiter.limit, 5);
    assert.deepEqual([limiter.minLimit, limiter.maxLimit], [5, 5]);
    for (const p of held) p.dropped(); // a drop would shrink vegas; pinned, it cannot
    assert.equal(limiter.limit, 5);
  });

  it('setLimits() - bad bounds throw naming the field and change nothing', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 10, minLimit: 2, maxLimit: 50, clock });
    const events: ConcurrencyLimiterReconfigureEvent[] = [];
    limiter.onReconfigure((e) => events.push(e));
    const before = snapshot(limiter);
    assert.throws(() => limiter.setLimits({ min: 0 }), isField('minLimit'));
    assert.throws(() => limiter.setLimits({ min: 1.5, max: 8 }), isField('minLimit'));
    assert.throws(() => limiter.setLimits({ min: 3, max: NaN }), isField('maxLimit'));
    assert.throws(() => limiter.setLimits({ min: 60 }), isField('minLimit')); // above the current max
    assert.throws(() => limiter.setLimits({ max: 1 }), isField('maxLimit')); // below the current min
    assert.throws(() => limiter.setLimits({ min: 9, max: 8 }), isField('minLimit'));
    assert.throws(() => limiter.setLimits({ mx: 8 } as never), isField('mx'));
    assert.throws(() => limiter.setLimits(null as never), isField('limits'));
    assert.throws(() => limiter.setLimits(8 as never), isField('limits'));
    assert.deepEqual(snapshot(limiter), before);
    assert.deepEqual(events, []);
  });

  it('setLimits() - on a fixed limiter bounds setLimit(); unchanged bounds count nothing', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 10, clock: new VirtualClock() });
    limiter.setLimits({ min: 1, max: 1000 });
    assert.equal(limiter.stats().adjustments, 0);
    limiter.setLimits({ max: 6 });
    assert.equal(limiter.limit, 6);
    assert.throws(() => limiter.setLimit(7), isField('limit'));
    limiter.setLimit(5);
    assert.deepEqual([limiter.stats().adjustments, limiter.stats().limitChanges], [2, 2]);
  });

  it('onReconfigure() - rejects a non-function; a throwing listener does not stop the others or the change', async () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, clock: new VirtualClock() });
    assert.throws(() => limiter.onReconfigure('x' as never), InvalidArgumentError);
    const seen: number[] = [];
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      limiter.onReconfigure(() => {
        throw new Error('listener bug');
      });
      limiter.onReconfigure((e) => seen.push(e.value));
      limiter.setLimit(9);
      await flushMicrotasks();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.deepEqual(seen, [9]);
    assert.equal(limiter.limit, 9);
    assert.equal(uncaught.length, 1);
  });
});
