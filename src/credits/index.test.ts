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
