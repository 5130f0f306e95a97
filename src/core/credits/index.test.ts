import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Credits } from './index.js';
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

function track(p: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error: unknown } {
  const t = { state: 'pending' as 'pending' | 'resolved' | 'rejected', error: undefined as unknown };
  p.then(
    () => (t.state = 'resolved'),
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e;
    },
  );
  return t;
}

describe('Credits', () => {
  it('constructor - rejects a negative, fractional or missing initial', () => {
    for (const initial of [-1, 1.5, NaN, undefined]) {
      assertInvalidOption(() => new Credits({ initial } as never), 'initial');
    }
  });

  it('constructor - rejects max < initial, max < 1 and a bad clock', () => {
    assertInvalidOption(() => new Credits({ initial: 10, max: 5 }), 'max');
    assertInvalidOption(() => new Credits({ initial: 0, max: 0 }), 'max');
    assertInvalidOption(() => new Credits({ initial: 0, max: 2.5 }), 'max');
    assertInvalidOption(() => new Credits({ initial: 0, clock: { now: () => 0 } as never }), 'clock');
  });

  it('tryAcquire() - spends credits while there are enough, then refuses', () => {
    const credits = new Credits({ initial: 3, clock: new VirtualClock() });
    assert.equal(credits.tryAcquire(2), true);
    assert.equal(credits.tryAcquire(2), false);
    assert.equal(credits.tryAcquire(1), true);
    assert.equal(credits.tryAcquire(), false);
    assert.equal(credits.available, 0);
    assert.equal(credits.stats().rejected, 2);
  });

  it('acquire() - resolves at once while credits are there, without a starvation event', async () => {
    const credits = new Credits({ initial: 2, clock: new VirtualClock() });
    await credits.acquire(2);
    assert.equal(credits.available, 0);
    assert.equal(credits.stats().starvationEvents, 0);
  });

  it('grant() - wakes waiters in FIFO order; a smaller later request does not overtake', async () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    const order: string[] = [];
    const a = credits.acquire(3).then(() => order.push('a'));
    const b = credits.acquire(1).then(() => order.push('b'));
    const c = credits.acquire(2).then(() => order.push('c'));
    credits.grant(2); // not enough for a; b must not jump ahead
    await flushMicrotasks();
    assert.deepEqual(order, []);
    assert.equal(credits.available, 2);
    credits.grant(2); // 4: a (3) then b (1); c needs 2 more
    await flushMicrotasks();
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(credits.available, 0);
    credits.grant(2);
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  it('tryAcquire() - refuses while someone waits, even when the balance covers the smaller request', () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    void credits.acquire(5);
    credits.grant(3);
    assert.equal(credits.tryAcquire(1), false);
    assert.equal(credits.available, 3);
  });

  it('stats() - counts starvation events and the time producers waited for credits', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 1, clock });
    await credits.acquire();
    const first = credits.acquire();
    clock.advance(40);
    const second = credits.acquire();
    clock.advance(60);
    assert.equal(credits.stats().starvationEvents, 2);
    assert.equal(credits.stats().starvationMs, 100 + 60, 'includes waits still running');
    credits.grant(1);
    await first;
    clock.advance(50);
    credits.grant(1);
    await second;
    assert.deepEqual(credits.stats(), {
      available: 0,
      max: Infinity,
      granted: 2,
      discarded: 0,
      acquired: 3,
      waiting: 0,
      starvationEvents: 2,
      starvationMs: 100 + 110,
      longestBlockedMs: 0,
      rejected: 0,
      low: false,
    });
  });

  it('grant() - the balance is capped at max and the excess is counted as discarded', () => {
    const credits = new Credits({ initial: 8, max: 10, clock: new VirtualClock() });
    assert.equal(credits.grant(5), 2);
    assert.equal(credits.available, 10);
    assert.equal(credits.grant(1), 0);
    const s = credits.stats();
    assert.equal(s.granted, 2);
    assert.equal(s.discarded, 4);
  });

  it('grant() - rejects a negative or fractional amount', () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    assert.throws(() => credits.grant(-1), InvalidArgumentError);
    assert.throws(() => credits.grant(0.5), InvalidArgumentError);
    assert.equal(credits.grant(0), 0);
  });

  it('acquire() - n > max rejects with InvalidArgumentError; tryAcquire() throws it', async () => {
    const credits = new Credits({ initial: 5, max: 5, clock: new VirtualClock() });
    await assert.rejects(credits.acquire(6), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    await assert.rejects(credits.acquire(0), InvalidArgumentError);
    assert.throws(() => credits.tryAcquire(6), InvalidArgumentError);
    assert.equal(credits.waiting, 0);
    assert.equal(credits.available, 5);
  });

  it('acquire() - aborting a waiter rejects with signal.reason and leaves the others in order', async () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    const ac = new AbortController();
    const order: string[] = [];
    const a = track(credits.acquire(1, { signal: ac.signal }));
    const b = credits.acquire(1).then(() => order.push('b'));
    const c = credits.acquire(1).then(() => order.push('c'));
    const reason = new Error('gone');
    ac.abort(reason);
    await flushMicrotasks();
    assert.equal(a.state, 'rejected');
    assert.equal(a.error, reason);
    credits.grant(2);
    await Promise.all([b, c]);
    assert.deepEqual(order, ['b', 'c']);
    assert.equal(credits.stats().acquired, 2);
  });

  it('acquire() - aborting the head lets waiters behind it that the balance covers go at once', async () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    const ac = new AbortController();
    const head = track(credits.acquire(5, { signal: ac.signal }));
    const small = track(credits.acquire(2));
    credits.grant(3);
    await flushMicrotasks();
    assert.equal(small.state, 'pending');
    ac.abort();
    await flushMicrotasks();
    assert.equal(head.state, 'rejected');
    assert.equal(small.state, 'resolved');
    assert.equal(credits.available, 1);
  });

  it('acquire() - an already aborted signal rejects with its reason and spends nothing', async () => {
    const credits = new Credits({ initial: 1, clock: new VirtualClock() });
    await assert.rejects(credits.acquire(1, { signal: AbortSignal.abort('no') }), (e) => e === 'no');
    assert.equal(credits.available, 1);
  });

  it('close() - rejects waiting producers and later calls with ChannelClosedError; grant() still counts', async () => {
    const credits = new Credits({ initial: 0, clock: new VirtualClock() });
    const a = track(credits.acquire());
    credits.close();
    await flushMicrotasks();
    assert.ok(a.error instanceof ChannelClosedError);
    await assert.rejects(credits.acquire(), ChannelClosedError);
    assert.throws(() => credits.tryAcquire(), ChannelClosedError);
    assert.equal(credits.grant(2), 2);
    assert.equal(credits.closed, true);
  });
});

describe('Credits acquireTimeoutMs', () => {
  it('acquire() - a wait longer than acquireTimeoutMs leaves the queue, rejects with TimeoutError and takes nothing', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, acquireTimeoutMs: 30_000, clock });
    const waiting = track(credits.acquire());
    clock.advance(29_999);
    await flushMicrotasks();
    assert.equal(waiting.state, 'pending');
    assert.equal(credits.waiting, 1);
    clock.advance(1);
    await flushMicrotasks();
    assert.equal(waiting.state, 'rejected');
    const e = waiting.error as DOMException;
    assert.ok(e instanceof DOMException);
    assert.equal(e.name, 'TimeoutError');
    assert.equal(e.code, DOMException.TIMEOUT_ERR);
    assert.match(e.message, /no credits within 30000 ms/);
    assert.equal(credits.waiting, 0);
    credits.grant(1);
    assert.equal(credits.available, 1, 'the timed-out call took nothing');
    assert.equal(clock.pending, 0);
  });

  it('acquire() - a call that does not wait starts no timer', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 2, acquireTimeoutMs: 1000, clock });
    await credits.acquire(2);
    assert.equal(clock.pending, 0);
    await assert.rejects(credits.acquire(1, { signal: AbortSignal.abort('stop') }), (e) => e === 'stop');
    credits.close();
    await assert.rejects(credits.acquire(), ChannelClosedError);
    assert.equal(clock.pending, 0);
  });

  it('acquire() - credits granted in time resolve it and cancel the timer', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, acquireTimeoutMs: 1000, clock });
    const waiting = credits.acquire(2);
    assert.equal(clock.pending, 1);
    clock.advance(500);
    credits.grant(2);
    await waiting;
    assert.equal(clock.pending, 0, 'the timeout timer was cancelled');
    assert.equal(credits.stats().acquired, 2);
  });

  it('acquire() - the caller\'s signal still aborts with its own reason and cancels the timer', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, acquireTimeoutMs: 1000, clock });
    const controller = new AbortController();
    const waiting = credits.acquire(1, { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await assert.rejects(waiting, /caller gave up/);
    assert.equal(credits.waiting, 0);
    assert.equal(clock.pending, 0);
  });

  it('acquire() - a timed-out head lets the smaller waiter behind it through', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 3, acquireTimeoutMs: 1000, clock });
    const head = track(credits.acquire(5));
    clock.advance(500);
    const small = track(credits.acquire(2));
    clock.advance(500);
    await flushMicrotasks();
    assert.equal(head.state, 'rejected');
    assert.equal(small.state, 'resolved');
    assert.equal(credits.available, 1);
    assert.equal(clock.pending, 0);
  });

  it('close() - rejects a timed waiter with ChannelClosedError and cancels its timer', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, acquireTimeoutMs: 1000, clock });
    const waiting = track(credits.acquire());
    credits.close();
    await flushMicrotasks();
    assert.ok(waiting.error instanceof ChannelClosedError);
    assert.equal(clock.pending, 0);
  });

  it('constructor - acquireTimeoutMs must be a finite number > 0', () => {
    for (const acquireTimeoutMs of [0, -5, NaN, Infinity, '30s']) {
      assertInvalidOption(() => new Credits({ initial: 1, acquireTimeoutMs } as never), 'acquireTimeoutMs');
    }
    assert.equal(new Credits({ initial: 1 }).acquireTimeoutMs, undefined);
  });
});

describe('Credits minCredits', () => {
  it('onLow() - fires once when an acquisition takes the balance below minCredits, again only after a refill', async () => {
    const credits = new Credits({ initial: 10, max: 10, minCredits: 4, clock: new VirtualClock() });
    let calls = 0;
    credits.onLow(() => calls++);
    assert.equal(credits.tryAcquire(6), true);
    assert.deepEqual([calls, credits.stats().low], [0, false], 'at minCredits is not low');
    await credits.acquire();
    assert.deepEqual([calls, credits.stats().low], [1, true]);
    credits.tryAcquire();
    await credits.acquire();
    assert.equal(calls, 1, 'once per crossing, not per acquisition');
    credits.grant(2);
    assert.deepEqual([credits.available, credits.stats().low], [3, true], 'still below');
    credits.grant(1);
    assert.deepEqual([credits.available, credits.stats().low], [4, false], 'reset at minCredits');
    credits.tryAcquire();
    assert.equal(calls, 2);
  });

  it('onLow() - runs synchronously inside the call that crossed, after the balance changed, so it can refill', () => {
    const credits = new Credits({ initial: 5, max: 5, minCredits: 2, clock: new VirtualClock() });
    const seen: number[] = [];
    credits.onLow(() => {
      seen.push(credits.available);
      credits.grant(credits.max - credits.available);
    });
    assert.equal(credits.tryAcquire(4), true);
    assert.deepEqual(seen, [1]);
    assert.equal(credits.available, 5, 'refilled before tryAcquire returned');
    assert.equal(credits.stats().low, false);
  });

  it('onLow() - a grant that serves waiters and leaves the balance below the threshold fires inside grant()', async () => {
    const credits = new Credits({ initial: 5, minCredits: 3, clock: new VirtualClock() });
    let calls = 0;
    credits.onLow(() => calls++);
    await credits.acquire(2);
    const waiting = track(credits.acquire(4));
    assert.equal(calls, 0);
    credits.grant(2); // balance 5, the waiter takes 4: 1 left
    assert.equal(calls, 1);
    await flushMicrotasks();
    assert.equal(waiting.state, 'resolved');
  });

  it('onLow() - a throwing listener does not break the acquisition or the other listeners; its error is rethrown on a fresh stack', async () => {
    const credits = new Credits({ initial: 3, minCredits: 2, clock: new VirtualClock() });
    const boom = new Error('listener failed');
    let other = 0;
    credits.onLow(() => {
      throw boom;
    });
    credits.onLow(() => other++);
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      assert.equal(credits.tryAcquire(2), true);
      assert.equal(other, 1);
      assert.equal(credits.available, 1);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of saved) process.on('uncaughtException', l);
    }
    assert.deepEqual(uncaught, [boom]);
  });

  it('onLow() - the returned function unsubscribes; a non-function is an invalid argument', () => {
    const credits = new Credits({ initial: 4, minCredits: 2, clock: new VirtualClock() });
    let calls = 0;
    const off = credits.onLow(() => calls++);
    off();
    credits.tryAcquire(3);
    assert.equal(calls, 0);
    assert.equal(credits.stats().low, true);
    assert.throws(() => credits.onLow('nope' as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('onLow() - an abort that lets a waiter through below the threshold fires it', async () => {
    const credits = new Credits({ initial: 4, minCredits: 3, clock: new VirtualClock() });
    let calls = 0;
    credits.onLow(() => calls++);
    const ac = new AbortController();
    const head = track(credits.acquire(5, { signal: ac.signal }));
    const next = track(credits.acquire(2));
    ac.abort();
    assert.equal(calls, 1);
    await flushMicrotasks();
    assert.deepEqual([head.state, next.state, credits.available], ['rejected', 'resolved', 2]);
  });

  it('stats() - a Credits that starts below minCredits is low without an event; minCredits 0 is never low', () => {
    const credits = new Credits({ initial: 0, minCredits: 10, clock: new VirtualClock() });
    assert.equal(credits.stats().low, true);
    assert.equal(credits.minCredits, 10);
    const plain = new Credits({ initial: 1, clock: new VirtualClock() });
    assert.equal(plain.minCredits, 0);
    plain.tryAcquire();
    assert.equal(plain.stats().low, false);
  });

  it('constructor - minCredits must be an integer from 0 to max', () => {
    for (const minCredits of [-1, 1.5, NaN, '100', 11]) {
      assertInvalidOption(() => new Credits({ initial: 10, max: 10, minCredits } as never), 'minCredits');
    }
    assert.equal(new Credits({ initial: 10, max: 10, minCredits: 10 }).minCredits, 10);
    assert.equal(new Credits({ initial: 0, minCredits: 1e6 }).minCredits, 1e6, 'no cap without max');
  });
});
