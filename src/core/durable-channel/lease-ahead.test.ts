// DurableChannel over a store with ackAndLease: an ack commit leases the next
// items for the consumers that acked (one store call per item in a receive →
// ack loop). On the virtual clock, over MemoryStore with ackAndLease added.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../testing/index.js';
import { DurableChannel, MemoryStore, type DurableStore, type LeasedItem } from './index.js';
import { assertInvariant, settle } from './channel.test-helpers.js';

/** MemoryStore plus ackAndLease (its ack, then its lease), counting each call. */
class AckAndLeaseStore<T> implements DurableStore<T> {
  readonly calls = { lease: 0, ack: 0, ackAndLease: 0, nack: 0 };
  constructor(readonly inner: MemoryStore<T>) {}
  append(items: readonly T[]): Promise<string[]> {
    return this.inner.append(items);
  }
  lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    this.calls.lease++;
    return this.inner.lease(max, visibilityTimeoutMs);
  }
  ack(ids: readonly string[]): Promise<number> {
    this.calls.ack++;
    return this.inner.ack(ids);
  }
  async ackAndLease(ids: readonly string[], max: number, visibilityTimeoutMs: number): Promise<{ acked: number; leased: LeasedItem<T>[] }> {
    this.calls.ackAndLease++;
    const acked = await this.inner.ack(ids);
    return { acked, leased: await this.inner.lease(max, visibilityTimeoutMs) };
  }
  nack(id: string, options?: { delayMs?: number }): Promise<void> {
    this.calls.nack++;
    return this.inner.nack(id, options);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  nextVisibleInMs(): Promise<number | undefined> {
    return this.inner.nextVisibleInMs();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function setup() {
  const clock = new VirtualClock();
  const memory = new MemoryStore<number>({ clock });
  const store = new AckAndLeaseStore(memory);
  const channel = new DurableChannel<number>({ store, clock, visibilityTimeoutMs: 1000 });
  return { clock, memory, store, channel };
}

describe('DurableChannel lease ahead (store with ackAndLease)', () => {
  it('ack() - a receive → ack loop makes one store call per item, in order, each item delivered once', async () => {
    const { store, channel } = setup();
    for (let i = 0; i < 5; i++) await channel.send(i);
    const got: number[] = [];
    for (let i = 0; i < 5; i++) {
      const lease = await channel.receive();
      got.push(lease!.item);
      assert.equal(lease!.deliveries, 1);
      await channel.ack(lease!.id);
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    // The first item by lease(), the next four with the acks before them, the last ack alone (nothing else stored).
    assert.deepEqual(store.calls, { lease: 1, ack: 1, ackAndLease: 4, nack: 0 });
    const s = channel.stats();
    assert.equal(s.delivered, 5);
    assert.equal(s.redelivered, 0);
    assert.equal(s.acked, 5);
    assert.equal(s.size, 0);
    assertInvariant(channel);
    channel.close();
    assert.equal(await channel.receive(), undefined);
  });

  it('receive() - a consumer that acks without waiting sends its acks with the next leases, one store call per item', async () => {
    const { store, channel } = setup();
    for (let i = 0; i < 20; i++) await channel.send(i);
    const got: number[] = [];
    const acks: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const lease = await channel.receive();
      got.push(lease!.item);
      acks.push(channel.ack(lease!.id));
    }
    await Promise.all(acks);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
    const { lease, ack, ackAndLease } = store.calls;
    // The first lease, then acks riding on leases; the last acks go alone (nothing else stored): at most one call more than items.
    assert.ok(lease + ack + ackAndLease <= 21, `store calls ${JSON.stringify(store.calls)}`);
    assert.ok(ackAndLease >= 15, `store calls ${JSON.stringify(store.calls)}`);
    assert.equal(channel.stats().acked, 20);
    assertInvariant(channel);
  });

  it('receiveBatch() - acking a batch leases as many ahead, served to the next batch at once', async () => {
    const { store, channel } = setup();
    for (let i = 0; i < 6; i++) await channel.send(i);
    const first = await channel.receiveBatch(3);
    await Promise.all(first.map((l) => channel.ack(l.id)));
    assert.deepEqual(store.calls, { lease: 1, ack: 0, ackAndLease: 1, nack: 0 });
    const second = await channel.receiveBatch(3);
    assert.deepEqual(second.map((l) => l.item), [3, 4, 5]);
    assert.equal(store.calls.lease, 1, 'the second batch came with the acks');
    assertInvariant(channel);
  });

  it('receive() - an item leased ahead but not received within half the visibility timeout is let go and delivered again once its lease expires', async () => {
    const { clock, channel } = setup();
    await channel.send(1);
    await channel.send(2);
    const first = await channel.receive();
    await channel.ack(first!.id); // leases item 2 ahead
    clock.advance(600);
    const next = channel.receive();
    await settle();
    let got: LeasedItem<number> | undefined;
    void next.then((l) => (got = l));
    await settle();
    assert.equal(got === undefined, true, 'item 2 is still leased in the store, for 400 ms more');
    clock.advance(400);
    await settle();
    assert.deepEqual([got?.item, got?.deliveries], [2, 2]);
    assert.equal(channel.stats().redelivered, 1);
    assertInvariant(channel);
  });

  it('detach() - items leased ahead go back to the store at once', async () => {
    const { clock, memory, store, channel } = setup();
    for (let i = 0; i < 3; i++) await channel.send(i);
    const first = await channel.receive();
    await channel.ack(first!.id); // leases item 1 ahead
    await channel.detach();
    assert.equal(store.calls.nack, 1);
    const next = new DurableChannel<number>({ store: memory, clock, visibilityTimeoutMs: 1000 });
    const lease = await next.receive(); // no time has passed: only a nacked item can be visible
    assert.deepEqual([lease!.item, lease!.deliveries], [1, 2]);
    await next.detach();
  });

  it('ack() - a failed ackAndLease rejects the acks and leaves a waiting receiver waiting for the next visible item', async () => {
    const { clock, store, channel } = setup();
    await channel.send(0);
    await channel.send(1);
    const held = await channel.receiveBatch(2);
    let got: LeasedItem<number> | undefined;
    void channel.receive().then((l) => (got = l)); // nothing visible: waits (a wake armed for the leases' expiry)
    await settle();
    const failure = new Error('store down for one call');
    store.ackAndLease = () => Promise.reject(failure);
    await assert.rejects(channel.ack(held[0]!.id), (e) => e === failure);
    assert.equal(channel.size, 2, 'the failed ack removed nothing');
    await settle();
    assert.equal(got === undefined, true, 'nothing visible yet');
    // The combined call cancelled the wake; the failure re-arms it, so the expired lease reaches the receiver.
    clock.advance(1000);
    await settle();
    assert.deepEqual([got?.item, got?.deliveries], [0, 2]);
    assertInvariant(channel);
  });
});
