import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../durable-channel/memory-store.js';
import { VirtualClock } from '../testing/index.js';
import { Channel } from './index.js';
import { ScriptedStore, drainNow, fill, invariant, range, settle, spillChannel } from './spill.test-helpers.js';

// What a spill channel does when its store fails, and when it starts on a store that already holds items.

describe('Channel spill: store failures and restart', () => {
  it('trySend() - an append failure drops its items as spill-failed and tells onSpillError listeners', async () => {
    const { ch, store } = spillChannel();
    await settle();
    const errors: unknown[] = [];
    const off = ch.onSpillError((e) => errors.push(e));
    for (let i = 0; i < 8; i++) ch.trySend(i);
    const boom = new Error('disk full');
    store.failAppend = boom;
    assert.equal(ch.trySend(8), true);
    const sent = ch.send(9);
    await assert.rejects(sent, (e) => e === boom);
    await settle();
    let s = ch.stats();
    assert.equal(s.droppedBy['spill-failed'], 2);
    assert.deepEqual(errors, [boom]);
    assert.equal(s.spillErrors, 1);
    assert.equal(s.spilling, false);
    invariant(s);
    off();
    store.failAppend = undefined;
    ch.trySend(10); // memory is at the high watermark: to the store
    await settle();
    assert.deepEqual(drainNow(ch), range(0, 8));
    await settle();
    assert.deepEqual(drainNow(ch), [10]);
    s = ch.stats();
    invariant(s);
    assert.equal(errors.length, 1);
  });

  it('trySend() - the store is asked again after a failed lease, with backoff', async () => {
    const { ch, store, clock } = spillChannel();
    await settle();
    const errors: unknown[] = [];
    ch.onSpillError((e) => errors.push(e));
    for (let i = 0; i < 12; i++) ch.trySend(i);
    await settle();
    store.failLease = new Error('busy');
    assert.deepEqual(drainNow(ch), range(0, 8));
    await settle();
    assert.equal(errors.length, 1);
    await clock.advanceAsync(10);
    assert.equal(errors.length, 2);
    store.failLease = undefined;
    await clock.advanceAsync(20);
    await settle();
    assert.deepEqual(drainNow(ch), range(8, 12));
    invariant(ch.stats());
  });

  it('tryReceive() - a failed ack is reported and repeated with the next one', async () => {
    const { ch, store } = spillChannel({ lowWatermark: 0 });
    await settle();
    const errors: unknown[] = [];
    ch.onSpillError((e) => errors.push(e));
    await fill(ch, 0, 30);
    await settle();
    store.failAck = new Error('ack lost');
    const got = drainNow(ch);
    await settle();
    assert.equal(errors.length, 1);
    assert.equal(await store.inner.size(), 22, 'the ten refilled items are still in the store');
    store.failAck = undefined;
    got.push(...drainNow(ch));
    await settle();
    assert.equal(await store.inner.size(), 2, 'both refills acked');
    got.push(...drainNow(ch));
    await settle();
    got.push(...drainNow(ch));
    assert.deepEqual(got, range(0, 30));
    invariant(ch.stats());
  });

  it('constructor - a new channel on the same store picks up the spilled items first', async () => {
    const store = new MemoryStore<number>();
    const first = new Channel<number>({ capacity: 10, spill: store });
    await settle();
    await fill(first, 0, 50);
    await settle();
    assert.equal(await store.size(), 42);
    // The first channel dies with its 8 in-memory items; the store keeps the rest.
    const clock = new VirtualClock();
    const second = new Channel<number>({ capacity: 10, spill: store, clock });
    second.trySend(1000); // before the count arrives: queued behind the stored items
    assert.equal(second.stats().spilling, true);
    await settle();
    let s = second.stats();
    assert.equal(s.recovered, 42);
    invariant(s);
    second.close();
    const got: number[] = [];
    for await (const x of second) got.push(x);
    assert.deepEqual(got, [...range(8, 50), 1000]);
    s = second.stats();
    invariant(s);
    assert.deepEqual([s.offered, s.delivered], [43, 43]);
  });

  it('constructor - a failed count is reported and the channel starts empty', async () => {
    const store = new ScriptedStore<number>();
    store.failSize = new Error('no size');
    const { ch } = spillChannel({}, store);
    const errors: unknown[] = [];
    ch.onSpillError((e) => errors.push(e));
    await settle();
    assert.equal(ch.stats().spillErrors, 1);
    assert.equal(ch.stats().spilling, false);
    ch.trySend(1);
    assert.equal(ch.tryReceive(), 1);
  });
});
