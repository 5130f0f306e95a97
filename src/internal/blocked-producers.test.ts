import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockedProducers, producerGaveUp } from './blocked-producers.js';
import { VirtualClock, flushMicrotasks } from '../core/testing/index.js';

describe('BlockedProducers', () => {
  it('shift() - hands over producers FIFO and stops their timers', async () => {
    const clock = new VirtualClock();
    const gaveUp: string[] = [];
    const queue = new BlockedProducers<string>(clock, { [producerGaveUp]: (reason) => gaveUp.push(reason) });
    const a = queue.wait('a', undefined, 100);
    const b = queue.wait('b', undefined, 100);
    clock.advance(10);
    const first = queue.shift()!;
    assert.equal(first.item, 'a');
    first.resolve(true);
    assert.equal(await a, true);
    assert.equal(clock.pending, 1, "a's timer was cancelled; b's still runs");
    clock.advance(90);
    assert.equal(await b, false);
    assert.deepEqual(gaveUp, ['timeout']);
    assert.equal(queue.size, 0);
    assert.equal(queue.blockedMs(), 110, 'a waited 10 ms, b 100 ms');
  });

  it('wait() - an abort removes the producer, reports it and rejects with the reason', async () => {
    const clock = new VirtualClock();
    const gaveUp: string[] = [];
    const queue = new BlockedProducers<number>(clock, { [producerGaveUp]: (reason) => gaveUp.push(reason) });
    const ac = new AbortController();
    const pending = queue.wait(1, ac.signal, undefined);
    clock.advance(5);
    assert.equal(queue.blockedMs(), 5, 'time of producers still waiting counts too');
    ac.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    await flushMicrotasks();
    assert.deepEqual(gaveUp, ['aborted']);
    assert.equal(queue.size, 0);
  });

  it('wait() - timeoutMs 0 gives up at once; a negative timeout is an argument error', async () => {
    const queue = new BlockedProducers<number>(new VirtualClock(), { [producerGaveUp]: () => {} });
    assert.equal(await queue.wait(1, undefined, 0), false);
    await assert.rejects(queue.wait(1, undefined, -1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.equal(queue.size, 0);
  });

  it("shift() - a waiter's reject, passed on detached, rejects its send with the error", async () => {
    // DurableChannel hands `w.resolve` and `w.reject` to its commit batch as plain functions.
    const queue = new BlockedProducers<number>(new VirtualClock(), { [producerGaveUp]: () => {} });
    const first = queue.wait(1, undefined, undefined);
    const second = queue.wait(2, undefined, undefined);
    const { reject } = queue.shift()!;
    const { resolve } = queue.shift()!;
    reject(new Error('commit failed'));
    resolve(true);
    await assert.rejects(first, /commit failed/);
    assert.equal(await second, true);
  });

  it('wait() - producers with different timeouts give up at their own deadlines, in deadline order, on one clock timer', async () => {
    const clock = new VirtualClock();
    const gaveUp: string[] = [];
    const queue = new BlockedProducers<string>(clock, { [producerGaveUp]: (reason) => gaveUp.push(reason) });
    const settled: string[] = [];
    const track = (name: string, p: Promise<boolean>) => p.then((ok) => settled.push(`${name}:${ok}@${clock.now()}`), () => settled.push(`${name}:rejected@${clock.now()}`));
    const ac = new AbortController();
    const all = [
      track('a', queue.wait('a', undefined, 300)),
      track('b', queue.wait('b', undefined, 100)),
      track('plain', queue.wait('plain', undefined, undefined)),
      track('c', queue.wait('c', ac.signal, 100)),
    ];
    clock.advance(50);
    all.push(track('d', queue.wait('d', undefined, 50)));
    assert.equal(clock.pending, 1, 'one timer for every producer with a timeout');
    ac.abort(new Error('stop'));
    await flushMicrotasks();
    clock.advance(50);
    await flushMicrotasks();
    assert.deepEqual(settled, ['c:rejected@50', 'b:false@100', 'd:false@100'], 'b and d are due together: b waited first');
    clock.advance(200);
    await flushMicrotasks();
    assert.deepEqual(settled.slice(3), ['a:false@300']);
    assert.deepEqual(gaveUp, ['aborted', 'timeout', 'timeout', 'timeout']);
    assert.equal(clock.pending, 0, 'no timer while only a producer without a timeout waits');
    const plain = queue.shift()!;
    assert.equal(plain.item, 'plain');
    plain.resolve(true);
    await Promise.all(all);
    assert.equal(settled.at(-1), 'plain:true@300');
  });
});
