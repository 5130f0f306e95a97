import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, type ChannelStats } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function invariant(stats: ChannelStats): void {
  const sum = Object.values(stats.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(stats.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(stats.offered, stats.delivered + stats.size + stats.dropped, 'offered === delivered + size + dropped');
}

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

describe('Channel overflow strategies', () => {
  it('trySend() - block: refuses when full without counting the item', () => {
    const ch = new Channel<number>({ capacity: 2 });
    assert.equal(ch.trySend(1), true);
    assert.equal(ch.trySend(2), true);
    assert.equal(ch.trySend(3), false);
    const s = ch.stats();
    assert.equal(s.offered, 2);
    assert.equal(s.dropped, 0);
    invariant(s);
  });

  it('send() - drop-newest drops the offered item and counts it', async () => {
    const ch = new Channel<number>({ capacity: 2, overflow: 'drop-newest' });
    assert.equal(await ch.send(1), true);
    assert.equal(await ch.send(2), true);
    assert.equal(await ch.send(3), false);
    assert.equal(ch.trySend(4), false);
    assert.deepEqual(await ch.receiveBatch(10), [1, 2]);
    assert.equal(ch.stats().droppedBy['drop-newest'], 2);
    invariant(ch.stats());
  });

  it('send() - drop-oldest evicts the oldest item and counts it', async () => {
    const ch = new Channel<number>({ capacity: 3, overflow: 'drop-oldest' });
    for (let i = 1; i <= 5; i++) assert.equal(await ch.send(i), true);
    assert.equal(ch.trySend(6), true);
    assert.deepEqual(await ch.receiveBatch(10), [4, 5, 6]);
    const s = ch.stats();
    assert.equal(s.droppedBy['drop-oldest'], 3);
    assert.equal(s.accepted, 6);
    invariant(s);
  });

  it('send() - reject rejects with OverflowError when full and counts it', async () => {
    const ch = new Channel<number>({ capacity: 1, overflow: 'reject' });
    await ch.send(1);
    await assert.rejects(ch.send(2), { code: 'ERR_SLUICE_OVERFLOW', name: 'OverflowError' });
    assert.equal(ch.trySend(3), false);
    assert.equal(ch.stats().droppedBy.rejected, 2);
    invariant(ch.stats());
  });

  it('send() - sample keeps every item below the high watermark, then one in sampleEvery', async () => {
    const ch = new Channel<number>({ capacity: 100, overflow: 'sample', sampleEvery: 5, highWatermark: 0.5, lowWatermark: 0.1 });
    let kept = 0;
    for (let i = 0; i < 50; i++) if (await ch.send(i)) kept++;
    assert.equal(kept, 50, 'below the high watermark everything is kept');
    for (let i = 0; i < 100; i++) if (ch.trySend(i)) kept++;
    assert.equal(kept, 70, 'above it one in five is kept');
    assert.equal(ch.stats().droppedBy.sample, 80);
    invariant(ch.stats());
  });

  it('send() - sample drops a kept item with reason drop-newest when the buffer is full', () => {
    const ch = new Channel<number>({ capacity: 4, overflow: 'sample', sampleEvery: 1, highWatermark: 0.5 });
    for (let i = 0; i < 4; i++) assert.equal(ch.trySend(i), true);
    assert.equal(ch.trySend(4), false);
    assert.equal(ch.stats().droppedBy['drop-newest'], 1);
    assert.equal(ch.size, 4);
    invariant(ch.stats());
  });
});

describe('Channel blocking', () => {
  it('send() - block waits for room and resolves true once a slot frees', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    await ch.send(1);
    const pending = settled(ch.send(2));
    await flushMicrotasks();
    assert.equal(pending.done, false);
    assert.equal(ch.stats().waiting, 1);
    assert.equal(ch.stats().offered, 1, 'a waiting item is not yet offered');
    assert.equal(ch.tryReceive(), 1);
    await flushMicrotasks();
    assert.deepEqual(pending, { done: true, value: true });
    assert.equal(ch.tryReceive(), 2);
    invariant(ch.stats());
  });

  it('send() - FIFO among blocked producers; a later trySend does not overtake them', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    ch.trySend('a');
    const order: string[] = [];
    const b = ch.send('b').then(() => order.push('b'));
    const c = ch.send('c').then(() => order.push('c'));
    assert.equal(ch.tryReceive(), 'a');
    assert.equal(ch.trySend('late'), false, 'the freed slot went to the longest-waiting producer');
    assert.equal(ch.tryReceive(), 'b');
    assert.equal(ch.tryReceive(), 'c');
    await Promise.all([b, c]);
    assert.deepEqual(order, ['b', 'c']);
  });

  it('send() - resolves false after timeoutMs and counts the drop as timeout (virtual clock)', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 1, clock });
    ch.trySend(1);
    const pending = settled(ch.send(2, { timeoutMs: 100 }));
    clock.advance(99);
    await flushMicrotasks();
    assert.equal(pending.done, false);
    clock.advance(1);
    await flushMicrotasks();
    assert.deepEqual(pending, { done: true, value: false });
    const s = ch.stats();
    assert.equal(s.droppedBy.timeout, 1);
    assert.equal(s.waiting, 0);
    assert.equal(s.blockedMs, 100);
    invariant(s);
  });

  it('send() - maxBlockMs applies when no per-call timeout is given', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 1, clock, maxBlockMs: 50 });
    ch.trySend(1);
    const pending = settled(ch.send(2));
    clock.advance(50);
    await flushMicrotasks();
    assert.deepEqual(pending, { done: true, value: false });
  });

  it('send() - timeoutMs 0 does not wait', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    assert.equal(await ch.send(2, { timeoutMs: 0 }), false);
    assert.equal(ch.stats().droppedBy.timeout, 1);
  });

  it('send() - abort while waiting rejects with the reason and counts the item as aborted', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 1, clock });
    ch.trySend(1);
    const ac = new AbortController();
    const pending = ch.send(2, { signal: ac.signal, timeoutMs: 1000 });
    const other = ch.send(3);
    clock.advance(10);
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.equal(clock.pending, 0, 'the timeout timer was cancelled');
    assert.equal(ch.tryReceive(), 1);
    assert.equal(await other, true, 'the other producer keeps its place');
    const s = ch.stats();
    assert.equal(s.droppedBy.aborted, 1);
    assert.equal(s.blockedMs, 20, 'both producers waited 10 ms');
    invariant(s);
  });

  it('send() - an already aborted signal rejects at once, even with room', async () => {
    const ch = new Channel<number>();
    await assert.rejects(ch.send(1, { signal: AbortSignal.abort('gone') }), (e) => e === 'gone');
    assert.equal(ch.size, 0);
    assert.equal(ch.stats().droppedBy.aborted, 1);
  });
});

describe('Channel receiving', () => {
  it('receive() - waits for an item and hands it over in order', async () => {
    const ch = new Channel<number>();
    const first = ch.receive();
    const second = ch.receive();
    ch.trySend(1);
    ch.trySend(2);
    assert.equal(await first, 1);
    assert.equal(await second, 2);
    assert.equal(ch.size, 0);
    invariant(ch.stats());
  });

  it('receive() - abort rejects with the reason and takes no item', async () => {
    const ch = new Channel<number>();
    const ac = new AbortController();
    const pending = ch.receive({ signal: ac.signal });
    ac.abort(new Error('bye'));
    await assert.rejects(pending, /bye/);
    ch.trySend(7);
    assert.equal(ch.tryReceive(), 7);
  });

  it('receiveBatch() - returns what is buffered at once when maxWaitMs is 0', async () => {
    const ch = new Channel<number>();
    for (let i = 0; i < 5; i++) ch.trySend(i);
    assert.deepEqual(await ch.receiveBatch(3), [0, 1, 2]);
    assert.deepEqual(await ch.receiveBatch(3), [3, 4]);
  });

  it('receiveBatch() - a batch that runs past the end of the ring keeps order, and the ring stays usable', async () => {
    const ch = new Channel<number>({ capacity: 8 });
    for (let i = 0; i < 6; i++) ch.trySend(i);
    assert.deepEqual(await ch.receiveBatch(6), [0, 1, 2, 3, 4, 5]); // the next item goes to slot 6
    for (let i = 6; i < 14; i++) assert.equal(ch.trySend(i), true); // slots 6, 7, then 0..5: full
    assert.deepEqual(await ch.receiveBatch(5), [6, 7, 8, 9, 10]); // across the end
    assert.deepEqual(await ch.receiveBatch(8), [11, 12, 13]);
    for (let i = 14; i < 22; i++) assert.equal(ch.trySend(i), true);
    assert.deepEqual(await ch.receiveBatch(8), [14, 15, 16, 17, 18, 19, 20, 21]); // a full ring across the end
    assert.equal(ch.stats().size, 0);
  });

  it('receiveBatch() - waits for the first item, then up to maxWaitMs for more (virtual clock)', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ clock });
    const batch = settled(ch.receiveBatch(10, { maxWaitMs: 50 }));
    clock.advance(1000);
    await flushMicrotasks();
    assert.equal(batch.done, false, 'no timer runs before the first item');
    ch.trySend(1);
    clock.advance(20);
    ch.trySend(2);
    await flushMicrotasks();
    assert.equal(batch.done, false);
    assert.equal(ch.size, 2, 'items stay buffered (and counted) while the batch fills');
    clock.advance(30);
    await flushMicrotasks();
    assert.deepEqual(batch, { done: true, value: [1, 2] });
  });

  it('receiveBatch() - returns as soon as max items are buffered', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ clock });
    const batch = settled(ch.receiveBatch(3, { maxWaitMs: 1000 }));
    ch.trySend(1);
    ch.trySend(2);
    ch.trySend(3);
    await flushMicrotasks();
    assert.deepEqual(batch, { done: true, value: [1, 2, 3] });
    assert.equal(clock.pending, 0);
  });

  it('receiveBatch() - returns [] once closed and empty, and what is left on close', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ clock });
    const batch = ch.receiveBatch(10, { maxWaitMs: 1000 });
    ch.trySend(1);
    ch.close();
    assert.deepEqual(await batch, [1]);
    assert.deepEqual(await ch.receiveBatch(10), []);
  });

  it('receiveBatch() - abort while collecting leaves the items buffered', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ clock });
    const ac = new AbortController();
    const batch = ch.receiveBatch(10, { maxWaitMs: 100, signal: ac.signal });
    ch.trySend(1);
    ac.abort(new Error('x'));
    await assert.rejects(batch, /x/);
    assert.equal(ch.tryReceive(), 1);
    assert.equal(clock.pending, 0);
  });

  it('receiveBatch() - rejects an invalid max', async () => {
    const ch = new Channel<number>();
    await assert.rejects(ch.receiveBatch(0), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('[Symbol.asyncIterator]() - yields every item in order and ends on close', async () => {
    const ch = new Channel<number>({ capacity: 3 });
    const producer = (async () => {
      for (let i = 0; i < 20; i++) await ch.send(i);
      ch.close();
    })();
    const got: number[] = [];
    for await (const x of ch) got.push(x);
    await producer;
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(ch.state, 'closed');
  });
});

describe('Channel close and drain', () => {
  it('close() - later sends fail with ChannelClosedError and are counted as closed', async () => {
    const ch = new Channel<number>();
    ch.trySend(1);
    ch.close();
    await assert.rejects(ch.send(2), { code: 'ERR_SLUICE_CLOSED', name: 'ClosedError' });
    assert.throws(() => ch.trySend(3), { code: 'ERR_SLUICE_CLOSED' });
    assert.equal(ch.stats().droppedBy.closed, 2);
    assert.equal(ch.state, 'draining');
    assert.equal(await ch.receive(), 1, 'buffered items stay receivable');
    assert.equal(await ch.receive(), undefined);
    assert.equal(ch.state, 'closed');
    invariant(ch.stats());
  });

  it('close() - releases waiting producers with ChannelClosedError and waiting consumers with undefined', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const blocked = ch.send(2);
    ch.close();
    await assert.rejects(blocked, { code: 'ERR_SLUICE_CLOSED' });
    const empty = new Channel<number>();
    const waiting = empty.receive();
    empty.close();
    assert.equal(await waiting, undefined);
    invariant(ch.stats());
  });

  it('drained() - resolves once closed and empty, not before', async () => {
    const ch = new Channel<number>();
    ch.trySend(1);
    const drained = settled(ch.drained());
    ch.close();
    await flushMicrotasks();
    assert.equal(drained.done, false);
    ch.tryReceive();
    await flushMicrotasks();
    assert.equal(drained.done, true);
    await ch.drained();
  });

  it('close() - is idempotent', () => {
    const ch = new Channel<number>();
    ch.close();
    ch.close();
    assert.equal(ch.state, 'closed');
  });
});

describe('Channel views', () => {
  it('sender and receiver - expose only their end and share one channel', async () => {
    const ch = new Channel<number>();
    const { sender, receiver } = ch;
    assert.equal(sender.trySend(1), true);
    assert.equal(await receiver.receive(), 1);
    assert.equal('receive' in sender, false);
    assert.equal('send' in receiver, false);
    sender.close();
    assert.equal(receiver.closed, true);
    assert.equal(ch.sender, sender, 'views are created once');
  });
});

describe('Channel regressions', () => {
  it('trySend() - a capacity above the initial 1024 slots grows the ring without overwriting items', async () => {
    for (const overflow of ['block', 'drop-newest', 'sample'] as const) {
      const ch = new Channel<number>({ capacity: 5000, overflow });
      let kept = 0;
      for (let i = 0; i < 5000; i++) if (ch.trySend(i)) kept++;
      const got: number[] = [];
      for (let v = ch.tryReceive(); v !== undefined; v = ch.tryReceive()) got.push(v);
      assert.equal(got.length, kept, overflow);
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]! < got[i]!, `${overflow}: order kept`);
      if (overflow !== 'sample') assert.deepEqual(got, Array.from({ length: 5000 }, (_, i) => i));
      // Interleaved: the ring wraps while it grows.
      for (let i = 0; i < 3000; i++) ch.trySend(i);
      for (let i = 0; i < 1500; i++) ch.tryReceive();
      for (let i = 3000; i < 6500; i++) ch.trySend(i);
      const rest: number[] = [];
      for (let v = ch.tryReceive(); v !== undefined; v = ch.tryReceive()) rest.push(v);
      for (let i = 1; i < rest.length; i++) assert.ok(rest[i - 1]! < rest[i]!, `${overflow}: order kept across wrap and growth`);
      if (overflow === 'block') assert.deepEqual(rest, Array.from({ length: 5000 }, (_, i) => i + 1500));
      invariant(ch.stats());
    }
  });

  it('receiveBatch() - aborting a collecting batch leaves other waiting receivers intact (found by fast-check)', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 2, clock, overflow: 'drop-oldest' });
    const batchAbort = new AbortController();
    const first = ch.receive();
    const batch = ch.receiveBatch(5, { maxWaitMs: 17, signal: batchAbort.signal });
    const second = ch.receive();
    const third = ch.receive();
    ch.trySend(0); // to `first`
    ch.trySend(1); // `batch` starts collecting, `second` takes the item
    assert.equal(await first, 0);
    assert.equal(await second, 1);
    batchAbort.abort(new Error('x'));
    await assert.rejects(batch, /x/);
    ch.trySend(2);
    assert.equal(await third, 2, 'the receiver queued behind the batch still gets its item');
    ch.close();
    assert.equal(ch.state, 'closed');
  });
});
