import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SettleWaiters } from './settle-waiters.js';
import { VirtualClock } from '../core/testing/index.js';

describe('SettleWaiters', () => {
  it('resolveAll() - resolves every waiter true and empties the list', async () => {
    const waiters = new SettleWaiters(new VirtualClock());
    const a = waiters.wait(undefined, undefined);
    const b = waiters.wait(undefined, undefined);
    assert.equal(waiters.size, 2);
    waiters.resolveAll();
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.equal(waiters.size, 0);
  });

  it('rejectAll() - rejects every waiter with the error and removes its abort listener', async () => {
    const waiters = new SettleWaiters(new VirtualClock());
    const ac = new AbortController();
    const pending = waiters.wait(undefined, ac.signal);
    const error = new Error('detached');
    waiters.rejectAll(error);
    await assert.rejects(pending, (e) => e === error);
    ac.abort(new Error('late'));
    assert.equal(waiters.size, 0);
  });

  it('wait() - resolves false once timeoutMs passes (virtual clock); abort rejects with the reason', async () => {
    const clock = new VirtualClock();
    const waiters = new SettleWaiters(clock);
    const timed = waiters.wait(50, undefined);
    const ac = new AbortController();
    const aborted = waiters.wait(undefined, ac.signal);
    clock.advance(49);
    assert.equal(waiters.size, 2);
    clock.advance(1);
    assert.equal(await timed, false);
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(waiters.size, 0);
    waiters.resolveAll(); // nothing left to settle
  });

  it('wait() - one signal shared by two timed waiters rejects both and cancels both timers', async () => {
    const clock = new VirtualClock();
    const waiters = new SettleWaiters(clock);
    const ac = new AbortController();
    const a = waiters.wait(100, ac.signal);
    const b = waiters.wait(100, ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(a, /stop/);
    await assert.rejects(b, /stop/);
    assert.equal(waiters.size, 0);
    assert.equal(clock.pending, 0);
  });
});
