import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { ChannelClosedError, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(e.field, field);
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

/** Tracks a promise's outcome so tests can look without awaiting. */
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

/** An empty bucket: burst taken at t=0. */
function emptyBucket(ratePerSecond: number, burst: number) {
  const clock = new VirtualClock();
  const bucket = new TokenBucket({ ratePerSecond, burst, clock });
  assert.ok(bucket.tryAcquire(burst));
  return { clock, bucket };
}

describe('TokenBucket', () => {
  it('constructor - rejects a rate that is 0, negative, non-finite or missing', () => {
    for (const ratePerSecond of [0, -1, NaN, Infinity, undefined, '5']) {
      assertInvalidOption(() => new TokenBucket({ ratePerSecond } as never), 'ratePerSecond');
    }
  });

  it('constructor - rejects burst < 1 and a bad clock', () => {
    assertInvalidOption(() => new TokenBucket({ ratePerSecond: 10, burst: 0.5 }), 'burst');
    assertInvalidOption(() => new TokenBucket({ ratePerSecond: 10, burst: NaN }), 'burst');
    assertInvalidOption(() => new TokenBucket({ ratePerSecond: 10, clock: {} as never }), 'clock');
  });

  it('constructor - burst defaults to max(1, ratePerSecond) and the bucket starts full', () => {
    const clock = new VirtualClock();
    assert.equal(new TokenBucket({ ratePerSecond: 500, clock }).burst, 500);
    assert.equal(new TokenBucket({ ratePerSecond: 500, clock }).available, 500);
    assert.equal(new TokenBucket({ ratePerSecond: 0.5, clock }).burst, 1);
  });

  it('tryAcquire() - the whole burst is available at t=0, then it refuses', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 500, burst: 50, clock });
    for (let i = 0; i < 50; i++) assert.equal(bucket.tryAcquire(), true, `call ${i + 1}`);
    assert.equal(bucket.tryAcquire(), false);
    assert.deepEqual(
      { acquired: bucket.stats().acquired, rejected: bucket.stats().rejected },
      { acquired: 50, rejected: 1 },
    );
  });

  it('available - refills continuously, fractional, capped at burst', () => {
    const { clock, bucket } = emptyBucket(500, 50);
    assert.equal(bucket.available, 0);
    clock.advance(1);
    assert.equal(bucket.available, 0.5);
    assert.equal(bucket.tryAcquire(), false);
    clock.advance(1);
    assert.equal(bucket.tryAcquire(), true);
    clock.advance(60_000);
    assert.equal(bucket.available, 50);
  });

  it('acquire() - a continuous loop at 500/s with burst 50 is granted 50 + 5,000 (± 1) over 10 simulated seconds', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 500, burst: 50, clock });
    let granted = 0;
    const loop = (async () => {
      for (;;) {
        await bucket.acquire();
        granted++;
      }
    })().catch((e: unknown) => e);
    await clock.advanceAsync(10_000);
    const atTenSeconds = granted;
    bucket.close();
    assert.ok(await loop instanceof ChannelClosedError);
    assert.ok(Math.abs(atTenSeconds - 5050) <= 1, `granted ${atTenSeconds}`);
    assert.equal(bucket.stats().acquired, atTenSeconds);
  });

  it('acquire() - resolves at the instant the tokens accrue, woken by a single timer', async () => {
    const { clock, bucket } = emptyBucket(500, 1);
    const t = track(bucket.acquire());
    assert.equal(clock.pending, 1, 'one wake-up timer, no polling');
    await clock.advanceAsync(1.999);
    assert.equal(t.state, 'pending');
    await clock.advanceAsync(0.001);
    assert.equal(t.state, 'resolved');
    assert.equal(clock.pending, 0, 'no timer left once nobody waits');
  });

  it('acquire() - resolves at once while tokens are there', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 3, clock });
    const t = track(bucket.acquire(3));
    await flushMicrotasks();
    assert.equal(t.state, 'resolved');
    assert.equal(bucket.available, 0);
    assert.equal(clock.pending, 0);
  });

  it('acquire() - waiters are served in FIFO order; a smaller later request does not overtake', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const order: string[] = [];
    const a = bucket.acquire(5).then(() => order.push(`a@${clock.now()}`));
    const b = bucket.acquire(1).then(() => order.push(`b@${clock.now()}`));
    const c = bucket.acquire(2).then(() => order.push(`c@${clock.now()}`));
    await clock.advanceAsync(1000);
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a@500', 'b@600', 'c@800']);
  });

  it('acquire() - when the head is aborted, the waiters behind it that accrued tokens cover are admitted at once', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const ac = new AbortController();
    const head = track(bucket.acquire(5, { signal: ac.signal }));
    const b = track(bucket.acquire(1));
    const c = track(bucket.acquire(1));
    const d = track(bucket.acquire(2));
    clock.advance(300); // 3 tokens, reserved for the head
    ac.abort();
    await flushMicrotasks();
    assert.equal(head.state, 'rejected');
    assert.deepEqual([b.state, c.state, d.state], ['resolved', 'resolved', 'pending']);
    await clock.advanceAsync(99);
    assert.equal(d.state, 'pending');
    await clock.advanceAsync(1);
    assert.equal(d.state, 'resolved');
  });

  it('tryAcquire() - refuses while someone waits, even when tokens would cover the smaller request', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const waiter = track(bucket.acquire(5));
    clock.advance(200); // 2 tokens, reserved for the head
    assert.equal(bucket.tryAcquire(1), false);
    assert.equal(bucket.stats().rejected, 1);
    await clock.advanceAsync(300);
    assert.equal(waiter.state, 'resolved');
    assert.equal(bucket.available, 0);
  });

  it('acquire() - aborting the head removes it, rejects with signal.reason, and re-times the next waiter', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const ac = new AbortController();
    const a = track(bucket.acquire(5, { signal: ac.signal }));
    const order: number[] = [];
    const b = bucket.acquire(1).then(() => order.push(clock.now()));
    const c = bucket.acquire(1).then(() => order.push(clock.now()));
    clock.advance(50);
    const reason = new Error('stop');
    ac.abort(reason);
    await flushMicrotasks();
    assert.equal(a.state, 'rejected');
    assert.equal(a.error, reason);
    assert.equal(bucket.waiting, 2);
    await clock.advanceAsync(1000);
    await Promise.all([b, c]);
    assert.deepEqual(order, [100, 200]);
    assert.equal(bucket.stats().acquired, 5 + 2, 'the aborted call took nothing');
  });

  it('acquire() - aborting a waiter in the middle leaves the others in order', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const ac = new AbortController();
    const order: string[] = [];
    const a = bucket.acquire(1).then(() => order.push(`a@${clock.now()}`));
    const b = track(bucket.acquire(1, { signal: ac.signal }));
    const c = bucket.acquire(1).then(() => order.push(`c@${clock.now()}`));
    ac.abort('cancelled');
    await clock.advanceAsync(1000);
    await Promise.all([a, c]);
    assert.deepEqual(order, ['a@100', 'c@200']);
    assert.equal(b.state, 'rejected');
    assert.equal(b.error, 'cancelled');
  });

  it('acquire() - an already aborted signal rejects with its reason and takes nothing', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock });
    const reason = new Error('already');
    await assert.rejects(bucket.acquire(1, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(bucket.available, 5);
  });

  it('acquire() - n > burst rejects with InvalidArgumentError instead of hanging', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock });
    await assert.rejects(bucket.acquire(6), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    for (const n of [0, -1, 1.5, NaN]) await assert.rejects(bucket.acquire(n), InvalidArgumentError);
    assert.equal(bucket.waiting, 0);
  });

  it('tryAcquire() - n > burst or a non-integer n throws InvalidArgumentError', () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock: new VirtualClock() });
    assert.throws(() => bucket.tryAcquire(6), InvalidArgumentError);
    assert.throws(() => bucket.tryAcquire(0), InvalidArgumentError);
    assert.throws(() => bucket.tryAcquire(2.5), InvalidArgumentError);
  });

  it('setRate() - keeps the tokens accrued at the old rate and re-times the head waiter', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const t = track(bucket.acquire(2));
    clock.advance(100); // 1 token at 10/s
    bucket.setRate(100); // the missing token now takes 10 ms
    await clock.advanceAsync(9);
    assert.equal(t.state, 'pending');
    await clock.advanceAsync(1);
    assert.equal(t.state, 'resolved');
    assert.equal(bucket.ratePerSecond, 100);
    assert.throws(() => bucket.setRate(0), InvalidArgumentError);
  });

  it('setRate() - a bad rate throws, naming the field, and changes nothing', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const events: unknown[] = [];
    bucket.onReconfigure((e) => events.push(e));
    const t = track(bucket.acquire(1));
    for (const bad of [0, -1, NaN, Infinity, '5', undefined]) {
      assert.throws(() => bucket.setRate(bad as never), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('ratePerSecond'));
    }
    assert.equal(bucket.ratePerSecond, 10);
    assert.equal(bucket.stats().adjustments, 0);
    assert.deepEqual(events, []);
    await clock.advanceAsync(99);
    assert.equal(t.state, 'pending'); // still timed for 10/s
    await clock.advanceAsync(1);
    assert.equal(t.state, 'resolved');
  });

  it('setRate() - a raised rate admits the waiting callers sooner, a lowered one later', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const a = track(bucket.acquire(1));
    bucket.setRate(1000); // 1 ms per token
    await clock.advanceAsync(1);
    assert.equal(a.state, 'resolved');
    bucket.setRate(1); // 1 s per token
    const b = track(bucket.acquire(1));
    await clock.advanceAsync(999);
    assert.equal(b.state, 'pending');
    await clock.advanceAsync(1);
    assert.equal(b.state, 'resolved');
  });

  it('setRate() - counts each change in stats().adjustments and emits one event per change', () => {
    const { bucket } = emptyBucket(10, 5);
    const events: unknown[] = [];
    const off = bucket.onReconfigure((e) => events.push(e));
    bucket.setRate(20);
    bucket.setRate(20); // unchanged: neither counted nor emitted
    bucket.setRate(5);
    assert.equal(bucket.stats().adjustments, 2);
    assert.equal(bucket.stats().ratePerSecond, 5);
    assert.deepEqual(events, [
      { setting: 'ratePerSecond', previous: 10, value: 20 },
      { setting: 'ratePerSecond', previous: 20, value: 5 },
    ]);
    off();
    bucket.setRate(7);
    assert.equal(events.length, 2);
    assert.equal(bucket.stats().adjustments, 3);
  });

  it('onReconfigure() - rejects a non-function listener; a throwing listener does not stop the others', async () => {
    const { bucket } = emptyBucket(10, 5);
    assert.throws(() => bucket.onReconfigure(42 as never), InvalidArgumentError);
    const seen: number[] = [];
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      bucket.onReconfigure(() => {
        throw new Error('listener failed');
      });
      bucket.onReconfigure((e) => seen.push(e.value));
      bucket.setRate(30);
      assert.deepEqual(seen, [30]);
      assert.equal(bucket.ratePerSecond, 30);
      await flushMicrotasks();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.equal(uncaught.length, 1);
  });

  it('close() - rejects waiters and later calls with ChannelClosedError', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const a = track(bucket.acquire(1));
    const b = track(bucket.acquire(1));
    bucket.close();
    await flushMicrotasks();
    assert.ok(a.error instanceof ChannelClosedError);
    assert.ok(b.error instanceof ChannelClosedError);
    assert.equal(clock.pending, 0);
    await assert.rejects(bucket.acquire(), ChannelClosedError);
    assert.throws(() => bucket.tryAcquire(), ChannelClosedError);
    bucket.close();
  });

  it('stats() - counts acquired tokens, waiters, time waited and refusals', async () => {
    const { clock, bucket } = emptyBucket(10, 5);
    const first = bucket.acquire(1);
    const second = bucket.acquire(1);
    bucket.tryAcquire();
    clock.advance(50);
    assert.deepEqual(bucket.stats(), { ratePerSecond: 10, burst: 5, available: 0.5, acquired: 5, waiting: 2, waitedMs: 100, longestBlockedMs: 50, rejected: 1, adjustments: 0 });
    await clock.advanceAsync(150);
    await Promise.all([first, second]);
    // first waited 100 ms, second 200 ms
    assert.deepEqual(bucket.stats(), { ratePerSecond: 10, burst: 5, available: 0, acquired: 7, waiting: 0, waitedMs: 300, longestBlockedMs: 0, rejected: 1, adjustments: 0 });
  });
});
