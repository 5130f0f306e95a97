// DurableChannel over a store with exchange(): the pending commit, the
// pending acks and the next leases go in one store call, one call in flight.
// On the virtual clock, over MemoryStore with exchange added (its append,
// ack and lease, in that order).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../testing/index.js';
import { DurableChannel, MemoryStore, type DurableChannelOptions, type DurableStore, type LeasedItem } from './index.js';
import { assertInvariant, settle } from './channel.test-helpers.js';
import { describeStoreContract } from './store.test-helpers.js';
import { checkExchangeArguments } from '../../internal/durable-store.js';

interface ExchangeCall {
  items: unknown[];
  acks: string[];
  leaseMax: number;
}

/** MemoryStore plus exchange(), recording each call; `failNext` makes the next exchange reject. */
class ExchangeStore<T> implements DurableStore<T> {
  readonly calls = { append: 0, lease: 0, ack: 0, exchange: 0, nack: 0, dropOldest: 0 };
  readonly exchanges: ExchangeCall[] = [];
  private failures: unknown[] = [];
  constructor(readonly inner: MemoryStore<T>) {}
  failNext(error: unknown): void {
    this.failures.push(error);
  }
  append(items: readonly T[]): Promise<string[]> {
    this.calls.append++;
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
  async exchange(items: readonly T[], ackIds: readonly string[], leaseMax: number, visibilityTimeoutMs: number): Promise<{ ids: string[]; acked: number; leased: LeasedItem<T>[] }> {
    this.calls.exchange++;
    this.exchanges.push({ items: [...items], acks: [...ackIds], leaseMax });
    if (this.failures.length !== 0) throw this.failures.shift();
    checkExchangeArguments(leaseMax, visibilityTimeoutMs); // before anything is written, as a real store does
    const ids = await this.inner.append(items);
    const acked = await this.inner.ack(ackIds);
    return { ids, acked, leased: leaseMax === 0 ? [] : await this.inner.lease(leaseMax, visibilityTimeoutMs) };
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
  dropOldest(count: number): Promise<string[]> {
    this.calls.dropOldest++;
    return this.inner.dropOldest(count);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function setup(options: Partial<DurableChannelOptions<number>> = {}) {
  const clock = new VirtualClock();
  const memory = new MemoryStore<number>({ clock });
  const store = new ExchangeStore(memory);
  const channel = new DurableChannel<number>({ store, clock, visibilityTimeoutMs: 1000, ...options });
  return { clock, memory, store, channel };
}

/** Lets queued exchanges (each started in a setImmediate) run, `rounds` times. */
async function settleRounds(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await settle();
}

describeStoreContract('MemoryStore with exchange()', () => {
  const clock = new VirtualClock();
  return { store: new ExchangeStore(new MemoryStore({ clock })) as DurableStore<unknown>, advance: (ms) => clock.advance(ms) };
});

describe('DurableChannel over a store with exchange()', () => {
  it('send() and ack() - a producer awaiting send() and a consumer awaiting ack() share one store call per item', async () => {
    const { store, channel } = setup();
    const n = 50;
    const got: number[] = [];
    const consuming = (async () => {
      for (let lease = await channel.receive(); lease !== undefined; lease = await channel.receive()) {
        got.push(lease.item);
        assert.equal(lease.deliveries, 1);
        await channel.ack(lease.id);
      }
    })();
    for (let i = 0; i < n; i++) await channel.send(i);
    channel.close();
    await consuming;
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
    assert.deepEqual([store.calls.append, store.calls.lease, store.calls.ack], [0, 0, 0], 'every call is an exchange');
    // The first send's call leases its item for the waiting consumer; then each call carries the next send and the
    // last ack (and leases the item it appends); the last ack goes alone.
    assert.ok(store.calls.exchange <= n + 1, `${store.calls.exchange} exchanges for ${n} items`);
    const shared = store.exchanges.filter((c) => c.items.length === 1 && c.acks.length === 1).length;
    assert.ok(shared >= n - 2, `${shared} exchanges carried a send and an ack`);
    const s = channel.stats();
    assert.equal(s.commits, n);
    assert.equal(s.ackCommits, store.exchanges.filter((c) => c.acks.length !== 0).length);
    assert.equal(s.leases, store.exchanges.filter((c) => c.items.length === 0 && c.acks.length === 0).length, 'a lease alone counts as a lease');
    assert.equal(s.commits + s.ackCommits + s.leases - shared, store.calls.exchange, 'an exchange carrying sends and acks counts in both');
    assert.equal(s.delivered, n);
    assert.equal(s.acked, n);
    assert.equal(s.size, 0);
    assertInvariant(channel);
  });

  it('receive() - a waiting receiver gets a sent item from the same store call that commits it', async () => {
    const { store, channel } = setup();
    const next = channel.receive();
    await settleRounds();
    assert.equal(store.calls.exchange, 0, 'nothing stored: no call');
    assert.equal(await channel.send(7), true);
    const lease = await next;
    assert.deepEqual([lease?.item, lease?.deliveries], [7, 1]);
    assert.deepEqual(store.exchanges, [{ items: [7], acks: [], leaseMax: 1 }]);
    assertInvariant(channel);
  });

  it('send() and ack() - do not settle before the exchange that carries them returns', async () => {
    const { store, channel } = setup();
    await channel.send(1);
    const lease = await channel.receive();
    let gate!: () => void;
    const exchange = store.exchange.bind(store);
    const carried: [unknown[], string[]][] = [];
    store.exchange = async (items, ackIds, leaseMax, visibilityTimeoutMs) => {
      carried.push([[...items], [...ackIds]]);
      await new Promise<void>((resolve) => (gate = resolve));
      return exchange(items, ackIds, leaseMax, visibilityTimeoutMs);
    };
    let sent = false;
    let acked = false;
    void channel.send(2).then(() => (sent = true));
    void channel.ack(lease!.id).then(() => (acked = true));
    await settleRounds();
    assert.deepEqual(carried, [[[2], [lease!.id]]], 'one call carries the send and the ack');
    assert.deepEqual([sent, acked, channel.size], [false, false, 1], 'the call is in flight');
    gate();
    await settleRounds();
    assert.deepEqual([sent, acked, channel.size], [true, true, 1]);
    assertInvariant(channel);
  });

  it('send() and ack() - a failing exchange rejects exactly the sends and acks in it; work queued behind it goes in the next call', async () => {
    const { store, channel } = setup();
    await channel.send(1);
    await channel.send(2);
    const [first, second] = await channel.receiveBatch(2);
    const failure = new Error('store down for one call');
    store.failNext(failure);
    const failedSend = channel.send(3);
    const failedAck = channel.ack(first!.id);
    await assert.rejects(failedSend, (e) => e === failure);
    await assert.rejects(failedAck, (e) => e === failure);
    assert.equal(store.exchanges.length, 4, 'two sends, the lease, the failed call');
    assert.deepEqual(store.exchanges[3], { items: [3], acks: [first!.id], leaseMax: 1 }, 'one item ahead for the ack');
    const s = channel.stats();
    assert.deepEqual([s.size, s.committing, s.offered, s.accepted, s.acked], [2, 0, 2, 2, 0], 'the failed send was never offered, the failed ack removed nothing');
    assertInvariant(channel);
    // The same work again succeeds, in one call.
    await Promise.all([channel.send(4), channel.ack(first!.id), channel.ack(second!.id)]);
    assert.deepEqual(store.exchanges[4], { items: [4], acks: [first!.id, second!.id], leaseMax: 2 });
    const after = channel.stats();
    assert.deepEqual([after.size, after.offered, after.accepted, after.acked], [1, 3, 3, 2]);
    assertInvariant(channel);
  });

  it('send() - sends and acks made while an exchange is in flight wait for it and go together in the next one', async () => {
    const { store, channel } = setup();
    await channel.send(1);
    const lease = await channel.receive();
    const exchange = store.exchange.bind(store);
    const gates: (() => void)[] = [];
    const carried: [unknown[], number][] = [];
    store.exchange = async (items, ackIds, leaseMax, visibilityTimeoutMs) => {
      carried.push([[...items], ackIds.length]);
      await new Promise<void>((resolve) => gates.push(resolve));
      return exchange(items, ackIds, leaseMax, visibilityTimeoutMs);
    };
    const sends = [channel.send(2)];
    await settleRounds();
    assert.equal(gates.length, 1, 'the first call is in flight');
    sends.push(channel.send(3), channel.send(4));
    const ack = channel.ack(lease!.id);
    await settleRounds();
    assert.equal(gates.length, 1, 'nothing more goes while it is');
    gates[0]!();
    await settleRounds();
    assert.equal(gates.length, 2);
    gates[1]!();
    await Promise.all([...sends, ack]);
    assert.deepEqual(carried, [
      [[2], 0],
      [[3, 4], 1],
    ]);
    assertInvariant(channel);
  });

  it('receive() - a lease alone that fails rejects the waiting receivers; the next receive leases again', async () => {
    const { store, channel } = setup();
    await channel.send(1);
    const failure = new Error('lease failed');
    store.failNext(failure);
    await assert.rejects(channel.receive(), (e) => e === failure);
    const lease = await channel.receive();
    assert.equal(lease?.item, 1);
    assertInvariant(channel);
  });

  it('ack() - a failed exchange that also leased for a waiting receiver leaves it waiting; it gets the item in a later call', async () => {
    const { store, channel } = setup();
    await channel.send(1);
    await channel.send(2);
    const [first] = await channel.receiveBatch(1);
    const failure = new Error('store down for one call');
    store.failNext(failure);
    const waiting = channel.receiveBatch(1);
    const ack = channel.ack(first!.id);
    await assert.rejects(ack, (e) => e === failure);
    const got = await waiting;
    assert.deepEqual(got.map((l) => l.item), [2]);
    assertInvariant(channel);
  });

  it('receive() - nothing visible: a short lease is not repeated in a loop; the receiver gets the item when its lease expires', async () => {
    const { clock, store, channel } = setup();
    await channel.send(1);
    const held = await channel.receive();
    const next = channel.receive();
    let got: LeasedItem<number> | undefined;
    void next.then((l) => (got = l));
    await settleRounds(20);
    const calls = store.calls.exchange;
    assert.ok(calls <= 3, `${calls} exchanges`);
    await settleRounds(20);
    assert.equal(store.calls.exchange, calls, 'no lease while nothing changes');
    assert.equal(got, undefined);
    await clock.advanceAsync(1000);
    await settleRounds();
    const redelivered = got as LeasedItem<number> | undefined; // set by the callback above
    assert.deepEqual([redelivered?.id, redelivered?.deliveries], [held!.id, 2]);
    assert.equal(channel.stats().redelivered, 1);
    assertInvariant(channel);
  });

  it('receive() - a new receiver after a short lease-ahead still leases (an expired lease becomes visible without a wake)', async () => {
    const { clock, channel } = setup();
    await channel.send(1);
    await channel.send(2);
    const [a, b] = await channel.receiveBatch(2);
    await channel.ack(a!.id); // would lease one ahead: nothing visible (b is held)
    await clock.advanceAsync(1000); // b's lease expires; no receiver waits, so no wake was armed
    const again = await channel.receive();
    assert.deepEqual([again?.id, again?.deliveries], [b!.id, 2]);
    assertInvariant(channel);
  });

  it("send() - under 'drop-oldest' a commit that must evict goes on its own (dropOldest, then append) and the counts balance", async () => {
    const { store, channel } = setup({ capacity: 2, overflow: 'drop-oldest' });
    await channel.send(1);
    await channel.send(2);
    assert.equal(await channel.send(3), true);
    assert.equal(store.calls.dropOldest, 1);
    assert.equal(store.calls.append, 1);
    const s = channel.stats();
    assert.deepEqual([s.size, s.droppedBy['drop-oldest'], s.commits], [2, 1, 3]);
    assert.deepEqual((await channel.receiveBatch(5)).map((l) => l.item), [2, 3]);
    assertInvariant(channel);
  });

  it('detach() - commits the sends and acks already made, hands leased-ahead items back, and leases nothing more', async () => {
    const { clock, memory, store, channel } = setup();
    for (let i = 0; i < 3; i++) await channel.send(i);
    const first = await channel.receive();
    await channel.ack(first!.id); // leases item 1 ahead
    const sent = channel.send(9);
    const second = await channel.receive();
    const acked = channel.ack(second!.id);
    await channel.detach();
    assert.equal(await sent, true);
    await acked;
    assert.equal(store.exchanges.at(-1)!.leaseMax, 0, 'no lease once detached');
    assert.equal(await memory.size(), 2, 'items 2 and 9 stay stored');
    const next = new DurableChannel<number>({ store: memory, clock, visibilityTimeoutMs: 1000 });
    assert.deepEqual((await next.receiveBatch(5)).map((l) => l.item), [2, 9]);
    await next.detach();
  });

  it('close() - receivers drain every item, then get undefined; drained() resolves', async () => {
    const { channel } = setup();
    await Promise.all([1, 2, 3].map((n) => channel.send(n)));
    channel.close();
    const got: number[] = [];
    for (let lease = await channel.receive(); lease !== undefined; lease = await channel.receive()) {
      got.push(lease.item);
      await channel.ack(lease.id);
    }
    await channel.drained();
    assert.deepEqual(got, [1, 2, 3]);
    assertInvariant(channel);
  });
});
