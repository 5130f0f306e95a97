import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../durable-channel/memory-store.js';
import { Channel } from './index.js';
import { drainNow, expectOptionError, fill, invariant, range, settle, spillChannel } from './spill.test-helpers.js';

describe('Channel spill options', () => {
  it('constructor - rejects a spill that is not a DurableStore', () => {
    expectOptionError({ spill: {} as never }, 'spill');
    expectOptionError({ spill: null as never }, 'spill');
    expectOptionError({ spill: { append() {}, lease() {}, ack() {} } as never }, 'spill');
  });

  it('constructor - rejects drop-oldest and sample with spill', () => {
    expectOptionError({ spill: new MemoryStore<number>(), overflow: 'drop-oldest' }, 'overflow');
    expectOptionError({ spill: new MemoryStore<number>(), overflow: 'sample' }, 'overflow');
    for (const overflow of ['block', 'drop-newest', 'reject'] as const) {
      assert.equal(new Channel<number>({ spill: new MemoryStore<number>(), overflow }).overflow, overflow);
    }
  });

  it('constructor - rejects spillCapacity without spill or out of range', () => {
    expectOptionError({ spillCapacity: 10 }, 'spillCapacity');
    expectOptionError({ spill: new MemoryStore<number>(), spillCapacity: 0 }, 'spillCapacity');
    expectOptionError({ spill: new MemoryStore<number>(), spillCapacity: 1.5 }, 'spillCapacity');
    assert.equal(new Channel<number>({ spill: new MemoryStore<number>() }).spillCapacity, Infinity);
  });

  it('stats() - a channel without spill has no spill fields and counts spill-failed as 0', () => {
    const s = new Channel<number>().stats();
    assert.equal(s.droppedBy['spill-failed'], 0);
    assert.equal('spilled' in s, false);
    assert.equal('inMemory' in s, false);
  });
});

describe('Channel spill', () => {
  it('trySend() - below the high watermark items stay in memory and the store is not touched', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 8; i++) assert.equal(ch.trySend(i), true);
    await settle();
    assert.deepEqual(store.appends, []);
    const s = ch.stats();
    assert.deepEqual([s.inMemory, s.spilled, s.spillWriting, s.spilling], [8, 0, 0, false]);
    invariant(s);
  });

  it('trySend() - from the high watermark on, items offered in one tick go to the store in one append', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 15; i++) assert.equal(ch.trySend(i), true);
    let s = ch.stats();
    assert.deepEqual([s.inMemory, s.spillWriting, s.spilled, s.spilling], [8, 7, 0, true]);
    invariant(s);
    await settle();
    assert.deepEqual(store.appends, [7]);
    s = ch.stats();
    assert.deepEqual([s.inMemory, s.spillWriting, s.spilled, s.size], [8, 0, 7, 15]);
    invariant(s);
  });

  it('trySend() - once anything is spilled, later items follow it even when memory has room', async () => {
    const { ch, store } = spillChannel({ lowWatermark: 0 });
    await settle();
    for (let i = 0; i < 12; i++) ch.trySend(i); // 0-7 in memory, 8-11 to the store
    await settle();
    assert.deepEqual(ch.tryReceive(), 0); // memory 7: room, but the store is not empty
    ch.trySend(12);
    assert.equal(ch.stats().inMemory, 7);
    await settle();
    assert.deepEqual(store.appends, [4, 1]);
    assert.deepEqual(drainNow(ch), range(1, 8));
    await settle();
    assert.deepEqual(drainNow(ch), range(8, 13));
  });

  it('trySend() - one tick takes memory plus one write batch; under block the rest waits for the batch to be handed over', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 18; i++) assert.equal(ch.trySend(i), true);
    assert.equal(ch.trySend(18), false, 'the write batch holds capacity items');
    assert.equal(ch.stats().offered, 18, 'a refused trySend under block is not counted');
    const sent = ch.send(18);
    await settle();
    assert.deepEqual(store.appends, [10, 1], 'the waiting send joined the next batch');
    assert.equal(await sent, true);
    invariant(ch.stats());
  });

  it('trySend() - items offered while an append runs share the next append', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 9; i++) ch.trySend(i);
    store.holdAppends = true;
    await settle();
    assert.deepEqual(store.appends, [1]);
    for (let i = 9; i < 14; i++) ch.trySend(i);
    await settle();
    assert.deepEqual(store.appends, [1], 'one append at a time');
    store.releaseAppends();
    await settle();
    assert.deepEqual(store.appends, [1, 5]);
    invariant(ch.stats());
  });

  it('send() - resolves once the spilled item is committed, not before', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 8; i++) ch.trySend(i);
    store.holdAppends = true;
    let done = false;
    const sent = ch.send(8).then((v) => (done = v));
    await settle();
    assert.equal(done, false);
    assert.equal(ch.stats().spillWriting, 1);
    store.releaseAppends();
    assert.equal(await sent, true);
    assert.equal(ch.stats().spilled, 1);
  });

  it('send() - a burst of 100x capacity is absorbed without drops and received in exact order', async () => {
    const { ch, store } = spillChannel();
    await settle();
    const n = 1000;
    for (let i = 0; i < n; i++) if (!ch.trySend(i)) assert.equal(await ch.send(i), true);
    let s = ch.stats();
    invariant(s);
    assert.equal(s.dropped, 0);
    assert.equal(s.offered, n);
    assert.ok(store.appends.length > 1 && store.appends.length < n / 2, `appends grouped: ${store.appends.length}`);
    ch.close();
    const received: number[] = [];
    for await (const x of ch) {
      received.push(x);
      if (received.length % 97 === 0) invariant(ch.stats());
    }
    assert.deepEqual(received, range(0, n));
    s = ch.stats();
    invariant(s);
    assert.deepEqual([s.delivered, s.dropped, s.size, s.state], [n, 0, 0, 'closed']);
    assert.equal(await store.size(), 0);
  });

  it('tryReceive() - refills from the store in order once memory falls to the low watermark', async () => {
    const { ch } = spillChannel();
    await settle();
    await fill(ch, 0, 30);
    await settle();
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push(ch.tryReceive()!);
    await settle();
    assert.equal(ch.stats().spillRefills, 0, 'memory 3 is above the low watermark 2');
    got.push(ch.tryReceive()!);
    await settle();
    let s = ch.stats();
    assert.equal(s.spillRefills, 1);
    assert.deepEqual([s.inMemory, s.spilled], [10, 14], 'refilled up to capacity: 8 from the store');
    for (let i = 0; i < 40 && ch.size > 0; i++) {
      got.push(...drainNow(ch));
      await settle();
    }
    assert.deepEqual(got, range(0, 30));
    s = ch.stats();
    invariant(s);
    assert.equal(s.spilling, false);
  });

  it('trySend() - returns to the fast in-memory path once the store is empty', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 12; i++) ch.trySend(i);
    await settle();
    for (let i = 0; i < 12; i++) {
      drainNow(ch);
      await settle();
    }
    assert.equal(ch.stats().spilling, false);
    const before = store.appends.length;
    for (let i = 0; i < 5; i++) ch.trySend(100 + i);
    await settle();
    assert.equal(store.appends.length, before);
    assert.equal(ch.stats().inMemory, 5);
  });

  it('receive() - a waiting consumer gets spilled items without memory reaching the low watermark first', async () => {
    const { ch } = spillChannel({ lowWatermark: 0 });
    await settle();
    for (let i = 0; i < 20; i++) ch.trySend(i);
    await settle();
    assert.deepEqual(drainNow(ch), range(0, 8));
    const next = ch.receive();
    assert.equal(await next, 8);
  });

  it('pressured - turns on at the high watermark and stays on while anything is spilled; state follows memory', async () => {
    const { ch } = spillChannel();
    await settle();
    const seen: boolean[] = [];
    ch.onPressureChange((p) => seen.push(p));
    await fill(ch, 0, 30);
    await settle();
    assert.equal(ch.pressured, true);
    assert.equal(ch.state, 'critical');
    assert.equal(ch.utilization, 0.8);
    for (let i = 0; i < 6; i++) ch.tryReceive(); // memory 2: the low watermark, refill of 8 on its way
    await settle();
    assert.equal(ch.pressured, true, 'still spilled');
    assert.equal(ch.state, 'blocked', 'memory refilled to capacity');
    assert.equal(ch.utilization, 1);
    for (let i = 0; i < 6; i++) {
      drainNow(ch);
      await settle();
    }
    assert.equal(ch.pressured, false);
    assert.deepEqual(seen, [true, false], 'no flapping between refills');
  });

  it('close() - receivers drain memory then the store; drained() waits for both; the store stays open', async () => {
    const { ch, store } = spillChannel();
    await settle();
    await fill(ch, 0, 25);
    ch.close();
    let drained = false;
    void ch.drained().then(() => (drained = true));
    await settle();
    assert.equal(ch.state, 'draining');
    const got: number[] = [];
    while (true) {
      const batch = await ch.receiveBatch(4);
      if (batch.length === 0) break;
      got.push(...batch);
      if (ch.size !== 0) assert.equal(drained, false);
    }
    await settle();
    assert.equal(drained, true);
    assert.deepEqual(got, range(0, 25));
    assert.equal(ch.state, 'closed');
    assert.equal(await store.size(), 0, 'the store still answers: the channel did not close it');
    invariant(ch.stats());
  });

  it('close() - a receiver waiting on an empty memory gets spilled items, then undefined', async () => {
    const { ch } = spillChannel({ lowWatermark: 0 });
    await settle();
    for (let i = 0; i < 9; i++) ch.trySend(i);
    await settle();
    drainNow(ch);
    ch.close();
    assert.equal(await ch.receive(), 8);
    assert.equal(await ch.receive(), undefined);
  });

  it('send() - at spillCapacity under block, waits until spilled items are refilled', async () => {
    const { ch } = spillChannel({ spillCapacity: 5 });
    await settle();
    for (let i = 0; i < 13; i++) assert.equal(ch.trySend(i), true);
    assert.equal(ch.trySend(13), false, 'block: refused, not counted');
    let done = false;
    const sent = ch.send(13).then((v) => (done = v));
    await settle();
    assert.equal(done, false);
    assert.equal(ch.stats().waiting, 1);
    drainNow(ch);
    assert.equal(await sent, true);
    const s = ch.stats();
    invariant(s);
    assert.equal(s.offered, 14);
    const got = [...range(0, 8)];
    for (let i = 0; i < 5; i++) {
      got.push(...drainNow(ch));
      await settle();
    }
    assert.deepEqual(got.slice(8), range(8, 14));
  });

  it('trySend() - at spillCapacity, drop-newest drops and reject rejects', async () => {
    const drop = spillChannel({ spillCapacity: 2, overflow: 'drop-newest' }).ch;
    const reject = spillChannel({ spillCapacity: 2, overflow: 'reject' }).ch;
    await settle();
    for (let i = 0; i < 10; i++) {
      drop.trySend(i);
      reject.trySend(i);
    }
    assert.equal(drop.stats().droppedBy['drop-newest'], 0);
    assert.equal(drop.trySend(10), false);
    assert.equal(drop.stats().droppedBy['drop-newest'], 1);
    assert.equal(reject.trySend(10), false);
    await assert.rejects(reject.send(11), (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_OVERFLOW');
    assert.equal(reject.stats().droppedBy.rejected, 2);
    invariant(drop.stats());
    invariant(reject.stats());
  });

  it('send() - an abort after the item joined a write batch is ignored; the send settles with the append', async () => {
    const { ch, store } = spillChannel();
    await settle();
    for (let i = 0; i < 8; i++) ch.trySend(i);
    store.holdAppends = true;
    const controller = new AbortController();
    const sent = ch.send(8, { signal: controller.signal });
    controller.abort(new Error('late'));
    store.releaseAppends();
    assert.equal(await sent, true);
    assert.equal(ch.stats().droppedBy.aborted, 0);
  });

  it('[Symbol.asyncIterator]() - iterates across the memory/store boundary while the producer keeps sending', async () => {
    const { ch } = spillChannel({ capacity: 16 });
    await settle();
    const n = 2000;
    const consumed: number[] = [];
    const consumer = (async () => {
      for await (const x of ch) consumed.push(x);
    })();
    for (let i = 0; i < n; i++) {
      if (!ch.trySend(i)) await ch.send(i);
      if (i % 300 === 0) await settle(1); // let the consumer fall behind and catch up
    }
    ch.close();
    await consumer;
    assert.deepEqual(consumed, range(0, n));
    const s = ch.stats();
    invariant(s);
    assert.ok(s.spillAppends! > 0, 'the store was used');
  });
});
