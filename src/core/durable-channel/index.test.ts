import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../testing/index.js';
import { DurableChannel, MemoryStore } from './index.js';
import { GatedStore, assertInvariant, settle, setup } from './channel.test-helpers.js';

describe('DurableChannel', () => {
  describe('send', () => {
    it('send() - resolves true once the item is committed to the store', async () => {
      const { channel, store } = setup();
      assert.equal(await channel.send(1), true);
      assert.equal(await store.size(), 1);
      assert.equal(channel.size, 1);
      assertInvariant(channel);
    });

    it('send() - concurrent sends in one tick share a single commit', async () => {
      const { channel, store } = setup({ capacity: 10_000 });
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => channel.send(i)));
      assert.ok(results.every(Boolean));
      assert.equal(channel.stats().commits, 1);
      assert.equal(store.stats().commits, 1);
      assert.equal(channel.stats().accepted, 1000);
    });

    it('send() - sends arriving while a commit is in flight go together into the next commit', async () => {
      const clock = new VirtualClock();
      const store = new GatedStore(new MemoryStore<number>({ clock }));
      const channel = new DurableChannel({ store, clock });
      const first = channel.send(0);
      await settle();
      assert.equal(store.waiting, 1);
      const later = Array.from({ length: 99 }, (_, i) => channel.send(i + 1));
      await settle();
      assert.equal(store.appendCalls.length, 1, 'nothing else is appended while the first commit is in flight');
      store.release();
      assert.equal(await first, true);
      await settle();
      assert.equal(store.appendCalls.length, 2);
      assert.equal(store.appendCalls[1]!.length, 99);
      store.release();
      assert.ok((await Promise.all(later)).every(Boolean));
      assert.equal(channel.stats().commits, 2);
    });

    it('send() - does not resolve before the commit does', async () => {
      const clock = new VirtualClock();
      const store = new GatedStore(new MemoryStore<number>({ clock }));
      const channel = new DurableChannel({ store, clock });
      let resolved = false;
      const sent = channel.send(1).then((ok) => (resolved = ok));
      await settle();
      assert.equal(resolved, false);
      assert.equal(channel.stats().committing, 1);
      store.release();
      await sent;
      assert.equal(resolved, true);
    });

    it('send() - a failed commit rejects every send in it and counts none as offered', async () => {
      const clock = new VirtualClock();
      const store = new GatedStore(new MemoryStore<number>({ clock }));
      const channel = new DurableChannel({ store, clock });
      const sends = [channel.send(1), channel.send(2)];
      await settle();
      const boom = new Error('disk full');
      store.fail(boom);
      for (const s of sends) await assert.rejects(s, boom);
      const stats = channel.stats();
      assert.equal(stats.offered, 0);
      assert.equal(stats.committing, 0);
      assert.equal(stats.size, 0);
      assertInvariant(channel);
    });

    it('send() - rejects undefined with ERR_SLUICE_INVALID_ITEM', async () => {
      const { channel } = setup<unknown>();
      await assert.rejects(channel.send(undefined), { code: 'ERR_SLUICE_INVALID_ITEM' });
    });
  });

  describe('receive', () => {
    it('receive() - delivers in FIFO order with ids and deliveries 1', async () => {
      const { channel } = setup();
      await Promise.all([1, 2, 3].map((n) => channel.send(n)));
      const got = [await channel.receive(), await channel.receive(), await channel.receive()];
      assert.deepEqual(got.map((l) => l?.item), [1, 2, 3]);
      assert.ok(got.every((l) => typeof l?.id === 'string' && l.deliveries === 1));
    });

    it('receive() - waits for an item and gets it once committed', async () => {
      const { channel } = setup();
      const pending = channel.receive();
      await settle();
      await channel.send(7);
      assert.equal((await pending)?.item, 7);
    });

    it('receiveBatch() - returns up to max visible items, oldest first', async () => {
      const { channel } = setup();
      await Promise.all([1, 2, 3, 4, 5].map((n) => channel.send(n)));
      assert.deepEqual((await channel.receiveBatch(3)).map((l) => l.item), [1, 2, 3]);
      assert.deepEqual((await channel.receiveBatch(10)).map((l) => l.item), [4, 5]);
    });

    it('receiveBatch() - rejects a max below 1 with ERR_SLUICE_INVALID_ARGUMENT', async () => {
      const { channel } = setup();
      await assert.rejects(channel.receiveBatch(0), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    });

    it('receive() - an unacked item is delivered again after the visibility timeout', async () => {
      const { channel, clock } = setup();
      await channel.send(42);
      const first = await channel.receive();
      let second: Awaited<ReturnType<typeof channel.receive>>;
      const pending = channel.receive().then((l) => (second = l));
      await clock.advanceAsync(999);
      assert.equal(second, undefined, 'still leased');
      await clock.advanceAsync(1);
      await pending;
      assert.equal(second!.id, first!.id);
      assert.equal(second!.item, 42);
      assert.equal(second!.deliveries, 2);
      assert.equal(channel.stats().redelivered, 1);
      assert.equal(channel.stats().delivered, 2);
    });

    it('receive() - an acked item is never delivered again', async () => {
      const { channel, clock } = setup();
      await channel.send(1);
      const lease = await channel.receive();
      await channel.ack(lease!.id);
      let got = false;
      const pending = channel.receive().then(() => (got = true));
      await clock.advanceAsync(5000);
      assert.equal(got, false);
      assert.equal(clock.pending, 0, 'no wake-up timer for an empty store');
      channel.close();
      await pending;
    });

    it('receive() - abort rejects with the signal reason and leaves the item for the next receiver', async () => {
      const { channel } = setup();
      const controller = new AbortController();
      const pending = channel.receive({ signal: controller.signal });
      const reason = new Error('stop');
      controller.abort(reason);
      await assert.rejects(pending, reason);
      await channel.send(5);
      const lease = await channel.receive();
      assert.equal(lease?.item, 5);
      assert.equal(lease?.deliveries, 1);
    });

    it('receive() - a failing lease rejects the waiting receiver with the store error; the next receive retries', async () => {
      const { channel, store } = setup();
      await channel.send(1);
      const boom = new Error('lease failed');
      const lease = store.lease.bind(store);
      store.lease = () => {
        store.lease = lease;
        throw boom; // even a synchronous throw must not wedge the channel
      };
      await assert.rejects(channel.receive(), boom);
      assert.equal((await channel.receive())?.item, 1);
    });

    it('receive() - polls every pollIntervalMs over a store without nextVisibleInMs', async () => {
      const clock = new VirtualClock();
      const inner = new MemoryStore<number>({ clock });
      const store = new GatedStore(inner);
      const channel = new DurableChannel({ store, clock, visibilityTimeoutMs: 1000, pollIntervalMs: 300 });
      const sent = channel.send(1);
      await settle();
      store.release();
      await sent;
      await channel.receive();
      let second: unknown;
      const pending = channel.receive().then((l) => (second = l?.item));
      await clock.advanceAsync(900);
      assert.equal(second, undefined);
      await clock.advanceAsync(300); // the poll at 1200 finds the expired lease
      await pending;
      assert.equal(second, 1);
    });
  });

  describe('ack and nack', () => {
    it('ack() - removes the item; acking twice is a no-op', async () => {
      const { channel, store } = setup();
      await channel.send(1);
      const lease = await channel.receive();
      await channel.ack(lease!.id);
      await channel.ack(lease!.id);
      assert.equal(await store.size(), 0);
      assert.equal(channel.size, 0);
      assert.equal(channel.stats().acked, 1);
      assertInvariant(channel);
    });

    it('ack() - concurrent acks share one store call', async () => {
      const { channel } = setup();
      await Promise.all([1, 2, 3, 4].map((n) => channel.send(n)));
      const leases = await channel.receiveBatch(4);
      await Promise.all(leases.map((l) => channel.ack(l.id)));
      assert.equal(channel.stats().ackCommits, 1);
      assert.equal(channel.stats().acked, 4);
    });

    it('ack() - rejects an empty id with ERR_SLUICE_INVALID_ARGUMENT', async () => {
      const { channel } = setup();
      await assert.rejects(channel.ack(''), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    });

    it('nack() - makes the item visible at once, ahead of younger items', async () => {
      const { channel } = setup();
      await channel.send(1);
      const lease = await channel.receive();
      await channel.send(2);
      await channel.nack(lease!.id);
      const again = await channel.receive();
      assert.equal(again?.item, 1);
      assert.equal(again?.deliveries, 2);
      assert.equal(channel.stats().nacked, 1);
    });

    it('nack() - with delayMs hides the item until the delay has passed', async () => {
      const { channel, clock } = setup({ visibilityTimeoutMs: 60_000 });
      await channel.send(1);
      const lease = await channel.receive();
      await channel.nack(lease!.id, { delayMs: 250 });
      let got: unknown;
      const pending = channel.receive().then((l) => (got = l?.item));
      await clock.advanceAsync(249);
      assert.equal(got, undefined);
      await clock.advanceAsync(1);
      await pending;
      assert.equal(got, 1);
    });

    it('nack() - rejects a negative delay with ERR_SLUICE_INVALID_OPTION naming delayMs', async () => {
      const { channel } = setup();
      await assert.rejects(channel.nack('1', { delayMs: -1 }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'delayMs' });
    });
  });

  describe('restart', () => {
    it('constructor - a new channel on the same store recovers every unacked item', async () => {
      const { channel, store, clock } = setup();
      await Promise.all([1, 2, 3, 4].map((n) => channel.send(n)));
      const [first, second] = await channel.receiveBatch(2);
      await channel.ack(first!.id);
      await channel.detach();

      const reopened = new DurableChannel({ store, clock, visibilityTimeoutMs: 1000 });
      await reopened.ready();
      assert.equal(reopened.stats().recovered, 3);
      assert.equal(reopened.size, 3);
      assert.deepEqual((await reopened.receiveBatch(10)).map((l) => l.item), [3, 4], 'the dead lease is still invisible');
      const redelivered = reopened.receive();
      await clock.advanceAsync(1000);
      const lease = await redelivered;
      assert.equal(lease?.id, second!.id);
      assert.equal(lease?.deliveries, 2);
      assertInvariant(reopened);
    });
  });

  describe('close, drained, detach', () => {
    it('close() - receivers get the remaining items, then undefined once all are acked', async () => {
      const { channel } = setup();
      await channel.send(1);
      channel.close();
      assert.equal(channel.state, 'draining');
      await assert.rejects(channel.send(2), { code: 'ERR_SLUICE_CLOSED' });
      const lease = await channel.receive();
      const end = channel.receive();
      await channel.ack(lease!.id);
      assert.equal(await end, undefined);
      assert.deepEqual(await channel.receiveBatch(5), []);
      assert.equal(channel.state, 'closed');
      assert.equal(channel.stats().droppedBy.closed, 1);
      assertInvariant(channel);
    });

    it('drained() - resolves once closed and every item is acked', async () => {
      const { channel } = setup();
      await channel.send(1);
      let drained = false;
      const done = channel.drained().then(() => (drained = true));
      channel.close();
      const lease = await channel.receive();
      await settle();
      assert.equal(drained, false);
      await channel.ack(lease!.id);
      await done;
      assert.equal(drained, true);
    });

    it('drained() - abort rejects with the signal reason', async () => {
      const { channel } = setup();
      const controller = new AbortController();
      const pending = channel.drained({ signal: controller.signal });
      controller.abort(new Error('gave up'));
      await assert.rejects(pending, /gave up/);
    });

    it('detach() - lets the running commit finish, then rejects waiting receivers and later calls', async () => {
      const clock = new VirtualClock();
      const store = new GatedStore(new MemoryStore<number>({ clock }));
      const channel = new DurableChannel({ store, clock });
      const sent = channel.send(1);
      await settle();
      const detached = channel.detach();
      store.release();
      assert.equal(await sent, true);
      await detached;
      await assert.rejects(channel.receive(), { code: 'ERR_SLUICE_CLOSED' });
      await assert.rejects(channel.ack('1'), { code: 'ERR_SLUICE_CLOSED' });
      await assert.rejects(channel.send(2), { code: 'ERR_SLUICE_CLOSED' });
      assert.equal(await store.size(), 1, 'the item stays stored');
    });

    it('detach() - rejects a receiver waiting for a redelivery', async () => {
      const { channel } = setup();
      await channel.send(1);
      await channel.receive(); // leased, never acked
      const pending = channel.receive();
      await settle();
      await channel.detach();
      await assert.rejects(pending, { code: 'ERR_SLUICE_CLOSED' });
    });

    it('detach() - answers a receiver with undefined when the store is empty (closed and drained)', async () => {
      const { channel } = setup();
      const pending = channel.receive();
      await settle();
      await channel.detach();
      assert.equal(await pending, undefined);
    });

    it('[Symbol.asyncIterator]() - yields leases until closed and acked', async () => {
      const { channel } = setup();
      await Promise.all([1, 2].map((n) => channel.send(n)));
      channel.close();
      const seen: number[] = [];
      for await (const lease of channel) {
        seen.push(lease.item);
        await channel.ack(lease.id);
      }
      assert.deepEqual(seen, [1, 2]);
    });
  });

  it('ready() - rejects when the store cannot report its size, and so do sends', async () => {
    const store = new MemoryStore<number>();
    await store.close();
    const channel = new DurableChannel({ store });
    await assert.rejects(channel.ready(), { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(channel.send(1), { code: 'ERR_SLUICE_CLOSED' });
  });
});
