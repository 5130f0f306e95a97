import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';
import { LagPoller, resolveLagPoll } from './lag-poller.js';

/** A broker round trip the test answers by hand. */
function manualFetch() {
  const calls: { resolve: (n: { n: number }) => void; reject: (e: unknown) => void }[] = [];
  const fetch = () => new Promise<{ n: number }>((resolve, reject) => calls.push({ resolve, reject }));
  return { calls, fetch };
}

function poller(clock: VirtualClock, fetch: () => Promise<{ n: number }>, extra: object = {}) {
  return new LagPoller(resolveLagPoll({ threshold: 10, intervalMs: 100, clock, ...extra }, 'test'), { n: 0 }, fetch, (f) => f.n);
}

describe('LagPoller', () => {
  it('tick - polls at once, then every intervalMs from start to start, never while a poll is in flight', async () => {
    const clock = new VirtualClock();
    const { calls, fetch } = manualFetch();
    const p = poller(clock, fetch);
    assert.equal(calls.length, 1);
    clock.advance(250); // the first poll still waits: no second one
    assert.equal(calls.length, 1);
    calls[0]!.resolve({ n: 5 });
    await flushMicrotasks();
    assert.equal(p.read(), 0.5);
    clock.advance(0);
    assert.equal(calls.length, 2); // overdue: the next starts as soon as the first settled
    clock.advance(40);
    calls[1]!.resolve({ n: 7 });
    await flushMicrotasks();
    clock.advance(59);
    assert.equal(calls.length, 2);
    clock.advance(1); // 100 ms after the second started
    assert.equal(calls.length, 3);
    p.close();
  });

  it('read() - a failed poll keeps the reading, counts the error; stale after staleAfterMs without a success', async () => {
    const clock = new VirtualClock();
    const { calls, fetch } = manualFetch();
    const p = poller(clock, fetch, { staleAfterMs: 250 });
    calls[0]!.resolve({ n: 20 });
    await flushMicrotasks();
    clock.advance(100);
    calls[1]!.reject(Object.assign(new Error('broker gone'), { code: 'ECONNRESET' }));
    await flushMicrotasks();
    let s = p.stats();
    assert.equal(p.read(), 2);
    assert.deepEqual([s.polls, s.pollErrors, s.lastError?.message, s.lastError?.code, s.stale], [2, 1, 'broker gone', 'ECONNRESET', false]);
    clock.advance(151);
    assert.equal(p.stats().stale, true);
    assert.equal(p.read(), 2);
    calls[2]!.resolve({ n: 1 });
    await flushMicrotasks();
    s = p.stats();
    assert.deepEqual([p.read(), s.stale, s.lastError?.code], [0.1, false, 'ECONNRESET']);
    p.close();
  });

  it('stats() - stale before any success only once a poll failed; a fetch that throws synchronously is a failed poll', async () => {
    const clock = new VirtualClock();
    const p = poller(clock, () => {
      throw new TypeError('bad client');
    });
    await flushMicrotasks();
    assert.deepEqual([p.stats().stale, p.stats().pollErrors, p.stats().lastError?.message, p.read()], [true, 1, 'bad client', 0]);
    p.close();
    const { calls, fetch } = manualFetch();
    const q = poller(clock, fetch);
    assert.equal(q.stats().stale, false);
    q.close();
    calls[0]!.resolve({ n: 1 });
  });

  it('poll() - joins the poll in flight; close() resolves waiting calls with the last reading and ignores the late answer', async () => {
    const clock = new VirtualClock();
    const { calls, fetch } = manualFetch();
    const p = poller(clock, fetch);
    const a = p.poll();
    const b = p.poll();
    assert.equal(calls.length, 1);
    calls[0]!.resolve({ n: 30 });
    assert.deepEqual(await Promise.all([a, b]), [3, 3]);
    const c = p.poll(); // starts a poll now, before the timer
    assert.equal(calls.length, 2);
    p.close();
    assert.equal(await c, 3);
    calls[1]!.resolve({ n: 90 });
    await flushMicrotasks();
    assert.equal(p.read(), 3);
    assert.equal(clock.pending, 0);
    await assert.rejects(p.poll(), { code: 'ERR_SLUICE_CLOSED' });
  });
});
