import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../testing/index.js';
import type { OverflowStrategy } from '../channel/options.js';
import { DurableChannel, MemoryStore, type LeasedItem } from './index.js';
import { GatedStore, assertInvariant, settle, setup } from './channel.test-helpers.js';

describe('DurableChannel overflow', () => {
  it("send() - 'block' waits for an ack to free room, producers in FIFO order", async () => {
    const { channel, store } = setup({ capacity: 2 });
    await Promise.all([channel.send(1), channel.send(2)]);
    const order: number[] = [];
    const third = channel.send(3).then(() => order.push(3));
    const fourth = channel.send(4).then(() => order.push(4));
    await settle();
    assert.equal(channel.stats().waiting, 2);
    assert.equal(channel.state, 'blocked');
    const [first] = await channel.receiveBatch(1);
    await channel.ack(first!.id);
    await third;
    assert.deepEqual(order, [3]);
    assert.equal(channel.stats().waiting, 1);
    const [second] = await channel.receiveBatch(1);
    await channel.ack(second!.id);
    await fourth;
    assert.deepEqual(order, [3, 4]);
    assert.deepEqual((await channel.receiveBatch(5)).map((l) => l.item), [3, 4]);
    assert.equal(await store.size(), 2);
    assertInvariant(channel);
  });

  it("send() - 'block' resolves false after maxBlockMs and counts a timeout", async () => {
    const { channel, clock } = setup({ capacity: 1, maxBlockMs: 100 });
    await channel.send(1);
    const blocked = channel.send(2);
    await clock.advanceAsync(100);
    assert.equal(await blocked, false);
    assert.equal(channel.stats().droppedBy.timeout, 1);
    assert.equal(channel.stats().blockedMs, 100);
    assertInvariant(channel);
  });

  it("send() - 'block' abort while waiting rejects with the reason and counts the item as aborted", async () => {
    const { channel } = setup({ capacity: 1 });
    await channel.send(1);
    const controller = new AbortController();
    const blocked = channel.send(2, { signal: controller.signal });
    await settle();
    const reason = new Error('cancelled');
    controller.abort(reason);
    await assert.rejects(blocked, reason);
    assert.equal(channel.stats().droppedBy.aborted, 1);
    assert.equal(channel.stats().waiting, 0);
    assertInvariant(channel);
  });

  it('send() - an abort after the item joined a commit is ignored: the send resolves true', async () => {
    const clock = new VirtualClock();
    const store = new GatedStore(new MemoryStore<number>({ clock }));
    const channel = new DurableChannel({ store, clock });
    const controller = new AbortController();
    const sent = channel.send(1, { signal: controller.signal });
    await settle();
    controller.abort(new Error('too late'));
    store.release();
    assert.equal(await sent, true);
    assert.equal(await store.size(), 1);
  });

  it("close() - releases producers waiting under 'block' with ERR_SLUICE_CLOSED", async () => {
    const { channel } = setup({ capacity: 1 });
    await channel.send(1);
    const blocked = channel.send(2);
    await settle();
    channel.close();
    await assert.rejects(blocked, { code: 'ERR_SLUICE_CLOSED' });
    assert.equal(channel.stats().droppedBy.closed, 1);
    assertInvariant(channel);
  });

  it("send() - 'drop-newest' drops the offer when full, counting sends still committing", async () => {
    const { channel } = setup({ capacity: 2, overflow: 'drop-newest' });
    const results = await Promise.all([channel.send(1), channel.send(2), channel.send(3)]);
    assert.deepEqual(results, [true, true, false]);
    assert.equal(channel.stats().droppedBy['drop-newest'], 1);
    assertInvariant(channel);
  });

  it("send() - 'drop-oldest' evicts the oldest visible item to make room", async () => {
    const { channel, store } = setup({ capacity: 2, overflow: 'drop-oldest' });
    await Promise.all([channel.send(1), channel.send(2)]);
    assert.equal(await channel.send(3), true);
    assert.equal(channel.stats().droppedBy['drop-oldest'], 1);
    assert.equal(await store.size(), 2);
    assert.deepEqual((await channel.receiveBatch(5)).map((l) => l.item), [2, 3]);
    assertInvariant(channel);
  });

  it("send() - 'drop-oldest' drops the offer instead when every stored item is leased", async () => {
    const { channel } = setup({ capacity: 1, overflow: 'drop-oldest' });
    await channel.send(1);
    await channel.receive();
    assert.equal(await channel.send(2), false);
    assert.equal(channel.stats().droppedBy['drop-newest'], 1);
    assert.equal(channel.size, 1);
    assertInvariant(channel);
  });

  it("send() - 'reject' rejects with ERR_SLUICE_OVERFLOW when full", async () => {
    const { channel } = setup({ capacity: 1, overflow: 'reject' });
    await channel.send(1);
    await assert.rejects(channel.send(2), { code: 'ERR_SLUICE_OVERFLOW' });
    assert.equal(channel.stats().droppedBy.rejected, 1);
    assertInvariant(channel);
  });

  it("send() - 'sample' keeps one in sampleEvery offers at or above the high watermark", async () => {
    const { channel } = setup({ capacity: 10, overflow: 'sample', highWatermark: 0.5, sampleEvery: 2 });
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => channel.send(i)));
    assert.deepEqual(results, [true, true, true, true, true, false, true, false, true]);
    assert.equal(channel.stats().droppedBy.sample, 2);
    assertInvariant(channel);
  });

  it('pressured - turns on at the high watermark and off only at the low one', async () => {
    const { channel } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const changes: boolean[] = [];
    channel.onPressureChange((p) => changes.push(p));
    await Promise.all(Array.from({ length: 8 }, (_, i) => channel.send(i)));
    assert.equal(channel.pressured, true);
    assert.equal(channel.state, 'critical');
    const leases = await channel.receiveBatch(8);
    for (const l of leases.slice(0, 5)) await channel.ack(l.id);
    assert.equal(channel.pressured, true, 'size 3 is above the low watermark');
    await channel.ack(leases[5]!.id);
    assert.equal(channel.pressured, false);
    assert.deepEqual(changes, [true, false]);
    assert.equal(channel.stats().pressureEvents, 1);
  });

  it('onStateChange() - reports normal → elevated → critical → blocked as items commit', async () => {
    const { channel } = setup({ capacity: 4, highWatermark: 0.75, lowWatermark: 0.5 });
    const states: string[] = [];
    channel.onStateChange((s) => states.push(s));
    for (let i = 0; i < 4; i++) await channel.send(i);
    assert.deepEqual(states, ['elevated', 'critical', 'blocked']);
  });
});

describe('DurableChannel options', () => {
  const store = new MemoryStore();
  const cases: [string, Record<string, unknown>][] = [
    ['store', { store: undefined }],
    ['store', { store: { append() {} } }],
    ['visibilityTimeoutMs', { store, visibilityTimeoutMs: 0 }],
    ['pollIntervalMs', { store, pollIntervalMs: 0 }],
    ['capacity', { store, capacity: 0 }],
    ['overflow', { store, overflow: 'spill' }],
    ['lowWatermark', { store, highWatermark: 0.3, lowWatermark: 0.5 }],
    ['maxBlockMs', { store, overflow: 'reject', maxBlockMs: 10 }],
    ['name', { store, name: '' }],
  ];
  for (const [field, options] of cases) {
    it(`constructor - rejects a bad ${field} with ERR_SLUICE_INVALID_OPTION naming it`, () => {
      assert.throws(() => new DurableChannel(options as never), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
        assert.match(error.message, new RegExp(`"${field}"`));
        return true;
      });
    });
  }

  it("constructor - refuses 'drop-oldest' over a store without dropOldest()", () => {
    const bare = new GatedStore(new MemoryStore());
    assert.throws(() => new DurableChannel({ store: bare, overflow: 'drop-oldest' }), {
      code: 'ERR_SLUICE_INVALID_OPTION',
      message: /"overflow".*dropOldest/,
    });
  });

  it("constructor - names the channel 'durable-channel' by default", () => {
    assert.equal(new DurableChannel({ store }).name, 'durable-channel');
  });
});

describe('DurableChannel accounting', () => {
  type Op =
    | { kind: 'send'; n: number }
    | { kind: 'receive'; max: number }
    | { kind: 'ack' }
    | { kind: 'nack'; delayMs: number }
    | { kind: 'advance'; ms: number }
    | { kind: 'reopen' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ kind: fc.constant('receive' as const), max: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('ack' as const) }),
    fc.record({ kind: fc.constant('nack' as const), delayMs: fc.constantFrom(0, 50) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(10, 100, 1000) }),
    fc.record({ kind: fc.constant('reopen' as const) }),
  );
  const strategy = fc.constantFrom<OverflowStrategy>('drop-newest', 'drop-oldest', 'reject', 'sample', 'block');

  it('stats() - recovered + offered === acked + size + dropped after every step, across reopens', async () => {
    await fc.assert(
      fc.asyncProperty(strategy, fc.array(op, { maxLength: 40 }), async (overflow, ops) => {
        const clock = new VirtualClock();
        const store = new MemoryStore<number>({ clock });
        const open = () => new DurableChannel<number>({ store, clock, capacity: 5, overflow, visibilityTimeoutMs: 500, maxBlockMs: overflow === 'block' ? 0 : undefined });
        let channel = open();
        let leases: LeasedItem<number>[] = [];
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'send') {
            await Promise.allSettled(Array.from({ length: o.n }, () => channel.send(next++)));
          } else if (o.kind === 'receive') {
            // A receive that finds nothing visible keeps waiting in the background; its leases simply expire.
            const batch = channel.receiveBatch(o.max);
            batch.catch(() => {});
            leases.push(...(await Promise.race([batch, settle().then(() => [])])));
          } else if (o.kind === 'ack' && leases.length) {
            await channel.ack(leases.shift()!.id);
          } else if (o.kind === 'nack' && leases.length) {
            await channel.nack(leases.shift()!.id, { delayMs: o.delayMs });
          } else if (o.kind === 'advance') {
            await clock.advanceAsync(o.ms);
          } else if (o.kind === 'reopen') {
            await channel.detach();
            channel = open();
            leases = [];
          }
          await settle();
          assertInvariant(channel);
          assert.equal(channel.size, await store.size(), 'the channel tracks the store size');
        }
        await channel.detach();
      }),
      { numRuns: 150 },
    );
  });
});
