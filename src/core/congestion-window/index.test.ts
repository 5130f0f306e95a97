import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CongestionWindow } from './index.js';
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

/** Fills the window with tryAcquire() and acks every item: one round trip. Returns the items sent. */
function round(cw: CongestionWindow): number {
  let sent = 0;
  while (cw.tryAcquire()) sent++;
  for (let i = 0; i < sent; i++) cw.onAck();
  return sent;
}

describe('CongestionWindow', () => {
  it('constructor - rejects initialWindow < 1, ssthresh < 1, maxWindow < initialWindow', () => {
    assertInvalidOption(() => new CongestionWindow({ initialWindow: 0 }), 'initialWindow');
    assertInvalidOption(() => new CongestionWindow({ initialWindow: 1.5 }), 'initialWindow');
    assertInvalidOption(() => new CongestionWindow({ ssthresh: 0 }), 'ssthresh');
    assertInvalidOption(() => new CongestionWindow({ initialWindow: 4, maxWindow: 3 }), 'maxWindow');
    assertInvalidOption(() => new CongestionWindow({ clock: 42 as never }), 'clock');
  });

  it('constructor - starts in slow start with the defaults window 1, ssthresh 64', () => {
    const cw = new CongestionWindow();
    assert.deepEqual([cw.window, cw.ssthresh, cw.inflight, cw.phase], [1, 64, 0, 'slow-start']);
  });

  it('onAck() - slow start doubles the window every round until ssthresh, then congestion avoidance begins', () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    const windows: number[] = [];
    while (cw.phase === 'slow-start') {
      windows.push(cw.window);
      assert.equal(round(cw), windows.at(-1), 'a round sends a full window');
    }
    assert.deepEqual(windows, [1, 2, 4, 8, 16, 32]);
    assert.equal(cw.window, 64);
    assert.equal(cw.phase, 'congestion-avoidance');
  });

  it('onAck() - congestion avoidance adds one per window of acks', () => {
    const cw = new CongestionWindow({ initialWindow: 4, ssthresh: 4, clock: new VirtualClock() });
    assert.equal(cw.phase, 'congestion-avoidance');
    for (let i = 0; i < 3; i++) {
      assert.ok(cw.tryAcquire());
      cw.onAck();
    }
    assert.equal(cw.window, 4, 'three acks: not yet a full window');
    assert.ok(cw.tryAcquire());
    cw.onAck();
    assert.equal(cw.window, 5);
    const windows = [round(cw), round(cw), round(cw)];
    assert.deepEqual(windows, [5, 6, 7]);
    assert.equal(cw.window, 8);
  });

  it('onLoss() - halves ssthresh, restarts at initialWindow in slow start, and in-flight items stay counted', () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    for (let i = 0; i < 4; i++) round(cw); // window 16
    assert.equal(cw.window, 16);
    for (let i = 0; i < 16; i++) assert.ok(cw.tryAcquire());
    cw.onLoss();
    assert.deepEqual([cw.ssthresh, cw.window, cw.phase, cw.inflight], [8, 1, 'slow-start', 15]);
    assert.equal(cw.tryAcquire(), false, '15 in flight, window 1');
    for (let i = 0; i < 14; i++) cw.onAck(); // each ack still grows the window
    assert.equal(cw.inflight, 1);
    assert.equal(cw.window, 8);
    assert.equal(cw.phase, 'congestion-avoidance');
    cw.onAck();
    assert.equal(cw.inflight, 0);
    assert.equal(cw.stats().acks, 15 + 15);
    assert.equal(cw.stats().losses, 1);
  });

  it('onLoss() - ssthresh never falls below 2', () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    assert.ok(cw.tryAcquire());
    cw.onLoss();
    assert.equal(cw.ssthresh, 2);
    assert.equal(cw.window, 1);
  });

  it('onAck() and onLoss() - with nothing in flight throw InvalidArgumentError', () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    assert.throws(() => cw.onAck(), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    assert.throws(() => cw.onLoss(), InvalidArgumentError);
    assert.deepEqual([cw.window, cw.ssthresh, cw.stats().acks, cw.stats().losses], [1, 64, 0, 0]);
  });

  it('onAck() - the window never grows beyond maxWindow', () => {
    const cw = new CongestionWindow({ maxWindow: 5, clock: new VirtualClock() });
    for (let i = 0; i < 6; i++) round(cw);
    assert.equal(cw.window, 5);
  });

  it('acquire() - waiters are woken in FIFO order as acks make room', async () => {
    const cw = new CongestionWindow({ initialWindow: 1, ssthresh: 1, clock: new VirtualClock() });
    await cw.acquire();
    const order: string[] = [];
    const a = cw.acquire().then(() => order.push('a'));
    const b = cw.acquire().then(() => order.push('b'));
    const c = cw.acquire().then(() => order.push('c'));
    assert.equal(cw.tryAcquire(), false, 'no overtaking the queue');
    cw.onAck(); // avoidance at window 1: one ack grows it to 2, and the slot is free
    await flushMicrotasks();
    assert.deepEqual(order, ['a', 'b']);
    assert.equal(cw.inflight, 2);
    cw.onLoss();
    await flushMicrotasks();
    assert.deepEqual(order, ['a', 'b'], 'window back to 1 with one still in flight');
    cw.onAck();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  it('acquire() - aborting a waiter rejects with signal.reason and keeps the others queued', async () => {
    const clock = new VirtualClock();
    const cw = new CongestionWindow({ clock });
    await cw.acquire();
    const ac = new AbortController();
    const a = track(cw.acquire({ signal: ac.signal }));
    const b = track(cw.acquire());
    clock.advance(30);
    ac.abort('late');
    await flushMicrotasks();
    assert.deepEqual([a.state, a.error, b.state], ['rejected', 'late', 'pending']);
    assert.equal(cw.waiting, 1);
    cw.onLoss();
    await flushMicrotasks();
    assert.equal(b.state, 'resolved');
    assert.equal(cw.inflight, 1);
    assert.equal(cw.stats().waitedMs, 30 + 30);
  });

  it('acquire() - an already aborted signal rejects with its reason and takes no slot', async () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    await assert.rejects(cw.acquire({ signal: AbortSignal.abort('x') }), (e) => e === 'x');
    assert.equal(cw.inflight, 0);
  });

  it('close() - rejects waiters and later acquisitions; in-flight items can still be acked', async () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    assert.ok(cw.tryAcquire());
    const waiter = track(cw.acquire());
    cw.close();
    await flushMicrotasks();
    assert.ok(waiter.error instanceof ChannelClosedError);
    await assert.rejects(cw.acquire(), ChannelClosedError);
    assert.throws(() => cw.tryAcquire(), ChannelClosedError);
    cw.onAck();
    assert.equal(cw.inflight, 0);
  });

  it('stats() - reports window, ssthresh, in-flight count, phase, acks and losses', () => {
    const cw = new CongestionWindow({ clock: new VirtualClock() });
    round(cw);
    round(cw);
    assert.ok(cw.tryAcquire());
    assert.ok(cw.tryAcquire());
    cw.onLoss();
    assert.equal(cw.tryAcquire(), false);
    assert.deepEqual(cw.stats(), {
      window: 1,
      ssthresh: 2,
      inflight: 1,
      phase: 'slow-start',
      acks: 3,
      losses: 1,
      waiting: 0,
      waitedMs: 0,
      longestBlockedMs: 0,
      rejected: 3,
    });
  });
});
