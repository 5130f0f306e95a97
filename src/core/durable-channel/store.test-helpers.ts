// The DurableStore contract as a reusable test suite. This file registers no
// tests itself; store implementations call describeStoreContract() from their
// own test files (MemoryStore, SqliteStore, RedisStreamStore).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DurableStore } from './store.js';

export interface StoreHarness {
  store: DurableStore<unknown>;
  /** Moves the store's time forward by `ms` (virtual time, or a real wait). */
  advance(ms: number): Promise<void> | void;
  /** Releases what the harness created (files, connections); the store may already be closed. */
  cleanup?(): Promise<void> | void;
}

/**
 * Registers the contract tests for a store. `open` must return a fresh,
 * empty store each time. Time-based tests use `visibilityTimeoutMs` 1000 and
 * delays of 500, so a harness on real time should scale `advance` accordingly.
 */
export function describeStoreContract(name: string, open: () => Promise<StoreHarness> | StoreHarness): void {
  const withStore = (fn: (h: StoreHarness) => Promise<void>) => async () => {
    const h = await open();
    try {
      await fn(h);
    } finally {
      await h.store.close();
      await h.cleanup?.();
    }
  };

  describe(`DurableStore contract: ${name}`, () => {
    it('append() - returns one unique id per item, in order', withStore(async ({ store }) => {
      const ids = await store.append(['a', 'b', 'c']);
      assert.equal(ids.length, 3);
      assert.equal(new Set(ids).size, 3);
      const leased = await store.lease(10, 1000);
      assert.deepEqual(leased.map((l) => l.id), ids);
    }));

    it('append() - an empty array resolves [] and stores nothing', withStore(async ({ store }) => {
      assert.deepEqual(await store.append([]), []);
      assert.equal(await store.size(), 0);
    }));

    it('append() - items come back as equal copies', withStore(async ({ store }) => {
      const item = { n: 1, nested: { list: [1, 2] }, text: 'héllo' };
      await store.append([item]);
      const [leased] = await store.lease(1, 1000);
      assert.deepEqual(leased!.item, item);
      assert.notEqual(leased!.item, item);
    }));

    it('append() - ids are never reused after an ack', withStore(async ({ store }) => {
      const [first] = await store.append(['a']);
      await store.ack([first!]);
      const [second] = await store.append(['b']);
      assert.notEqual(second, first);
    }));

    it('lease() - hands out visible items oldest first with deliveries 1', withStore(async ({ store }) => {
      await store.append([1, 2, 3, 4]);
      const first = await store.lease(2, 1000);
      const second = await store.lease(5, 1000);
      assert.deepEqual(first.map((l) => l.item), [1, 2]);
      assert.deepEqual(second.map((l) => l.item), [3, 4]);
      assert.ok([...first, ...second].every((l) => l.deliveries === 1));
      assert.deepEqual(await store.lease(5, 1000), []);
    }));

    it('lease() - an unacked lease becomes visible again after the visibility timeout', withStore(async ({ store, advance }) => {
      await store.append(['x']);
      const [first] = await store.lease(1, 1000);
      await advance(999);
      assert.deepEqual(await store.lease(1, 1000), []);
      await advance(1);
      const [again] = await store.lease(1, 1000);
      assert.equal(again!.id, first!.id);
      assert.equal(again!.deliveries, 2);
    }));

    it('lease() - a redelivered item comes before younger items', withStore(async ({ store, advance }) => {
      await store.append(['old']);
      await store.lease(1, 1000);
      await store.append(['young']);
      await advance(1000);
      const leased = await store.lease(2, 1000);
      assert.deepEqual(leased.map((l) => l.item), ['old', 'young']);
    }));

    it('ack() - removes items and counts only those it removed', withStore(async ({ store }) => {
      const ids = await store.append(['a', 'b']);
      await store.lease(2, 1000);
      assert.equal(await store.ack([ids[0]!, ids[0]!]), 1);
      assert.equal(await store.ack([ids[0]!]), 0);
      assert.equal(await store.size(), 1);
      assert.equal(await store.ack([ids[1]!]), 1);
      assert.equal(await store.size(), 0);
    }));

    it('ackAndLease() - acks the ids, then leases the next visible items oldest first', withStore(async ({ store }) => {
      if (!store.ackAndLease) return;
      const ids = await store.append(['a', 'b', 'c', 'd']);
      const [a, b] = await store.lease(2, 1000);
      const { acked, leased } = await store.ackAndLease([a!.id, b!.id, a!.id], 5, 1000);
      assert.equal(acked, 2);
      assert.deepEqual(leased.map((l) => [l.id, l.item, l.deliveries]), [[ids[2], 'c', 1], [ids[3], 'd', 1]]);
      assert.equal(await store.size(), 2);
      assert.deepEqual(await store.ackAndLease([ids[2]!], 1, 1000), { acked: 1, leased: [] }, 'd is leased, nothing is visible');
      assert.equal(await store.size(), 1);
    }));

    it('ackAndLease() - with no ids it only leases; its leases expire and come back like lease()', withStore(async ({ store, advance }) => {
      if (!store.ackAndLease) return;
      await store.append(['old']);
      const first = await store.ackAndLease([], 1, 1000);
      assert.deepEqual(first.leased.map((l) => l.item), ['old']);
      await store.append(['young']);
      await advance(1000);
      const again = await store.ackAndLease([], 2, 1000);
      assert.equal(again.acked, 0);
      assert.deepEqual(again.leased.map((l) => [l.item, l.deliveries]), [['old', 2], ['young', 1]]);
    }));

    it('ackAndLease() - rejects a max below 1 with ERR_SLUICE_INVALID_ARGUMENT and acks nothing', withStore(async ({ store }) => {
      if (!store.ackAndLease) return;
      const [id] = await store.append(['a']);
      await assert.rejects(store.ackAndLease([id!], 0, 1000), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      assert.equal(await store.size(), 1);
    }));

    it('exchange() - appends, acks, then leases, so the lease can hand out the items it appended', withStore(async ({ store }) => {
      if (!store.exchange) return;
      const [a, b] = await store.append(['a', 'b']);
      const [leasedA] = await store.lease(1, 1000);
      assert.equal(leasedA!.id, a);
      const { ids, acked, leased } = await store.exchange(['c', 'd'], [a!, a!], 5, 1000);
      assert.equal(ids.length, 2);
      assert.equal(new Set([a, b, ...ids]).size, 4, 'new ids, unique');
      assert.equal(acked, 1, 'an id acked twice is removed once');
      assert.deepEqual(leased.map((l) => [l.id, l.item, l.deliveries]), [[b, 'b', 1], [ids[0], 'c', 1], [ids[1], 'd', 1]]);
      assert.equal(await store.size(), 3);
    }));

    it('exchange() - each part may be empty; leaseMax 0 leases nothing', withStore(async ({ store }) => {
      if (!store.exchange) return;
      assert.deepEqual(await store.exchange([], [], 0, 1000), { ids: [], acked: 0, leased: [] });
      const appended = await store.exchange(['a'], [], 0, 1000);
      assert.equal(appended.ids.length, 1);
      assert.deepEqual(appended.leased, []);
      const leasedOnly = await store.exchange([], [], 2, 1000);
      assert.deepEqual(leasedOnly.leased.map((l) => [l.id, l.item]), [[appended.ids[0], 'a']]);
      assert.deepEqual(await store.exchange([], [appended.ids[0]!], 0, 1000), { ids: [], acked: 1, leased: [] });
      assert.equal(await store.size(), 0);
    }));

    it('exchange() - its leases expire and come back before younger items, like lease()', withStore(async ({ store, advance }) => {
      if (!store.exchange) return;
      const first = await store.exchange(['old'], [], 1, 1000);
      assert.deepEqual(first.leased.map((l) => l.item), ['old']);
      await advance(1000);
      const again = await store.exchange(['young'], [], 2, 1000);
      assert.deepEqual(again.leased.map((l) => [l.item, l.deliveries]), [['old', 2], ['young', 1]]);
    }));

    it('exchange() - rejects a negative leaseMax with ERR_SLUICE_INVALID_ARGUMENT, appending and acking nothing', withStore(async ({ store }) => {
      if (!store.exchange) return;
      const [id] = await store.append(['a']);
      await assert.rejects(store.exchange(['b'], [id!], -1, 1000), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      assert.equal(await store.size(), 1);
    }));

    it('nack() - without delay makes the item visible at once, keeping its deliveries', withStore(async ({ store }) => {
      await store.append(['a', 'b']);
      const [a] = await store.lease(1, 1000);
      await store.nack(a!.id);
      const leased = await store.lease(2, 1000);
      assert.deepEqual(leased.map((l) => [l.item, l.deliveries]), [['a', 2], ['b', 1]]);
    }));

    it('nack() - with delayMs hides the item until the delay passes', withStore(async ({ store, advance }) => {
      await store.append(['a']);
      const [a] = await store.lease(1, 1000);
      await store.nack(a!.id, { delayMs: 500 });
      await advance(499);
      assert.deepEqual(await store.lease(1, 1000), []);
      await advance(1);
      assert.deepEqual((await store.lease(1, 1000)).map((l) => l.item), ['a']);
    }));

    it('nack() - an unknown id is a no-op', withStore(async ({ store }) => {
      await store.nack('12345');
      assert.equal(await store.size(), 0);
    }));

    it('size() - counts visible, leased and delayed items', withStore(async ({ store }) => {
      await store.append([1, 2, 3]);
      const [one, two] = await store.lease(2, 1000);
      await store.nack(two!.id, { delayMs: 500 });
      assert.equal(await store.size(), 3);
      await store.ack([one!.id]);
      assert.equal(await store.size(), 2);
    }));

    it('nextVisibleInMs() - reports the earliest lease or delay deadline', withStore(async ({ store, advance }) => {
      if (!store.nextVisibleInMs) return;
      assert.equal(await store.nextVisibleInMs(), undefined);
      await store.append([1, 2]);
      assert.equal(await store.nextVisibleInMs(), undefined, 'visible items are ignored');
      const [one] = await store.lease(1, 1000);
      await advance(100);
      const remaining = await store.nextVisibleInMs();
      assert.ok(remaining !== undefined && remaining <= 900 && remaining >= 890, `got ${remaining}`);
      await store.ack([one!.id]);
      assert.equal(await store.nextVisibleInMs(), undefined);
    }));

    it('dropOldest() - deletes the oldest visible items only', withStore(async ({ store }) => {
      if (!store.dropOldest) return;
      const ids = await store.append([1, 2, 3, 4]);
      await store.lease(1, 1000); // item 1 is leased: not evictable
      const dropped = await store.dropOldest(2);
      assert.deepEqual(dropped, [ids[1], ids[2]]);
      assert.equal(await store.size(), 2);
    }));

    it('close() - is idempotent and later calls reject with ERR_SLUICE_CLOSED', withStore(async ({ store }) => {
      await store.close();
      await store.close();
      await assert.rejects(store.append([1]), { code: 'ERR_SLUICE_CLOSED' });
      await assert.rejects(store.lease(1, 1000), { code: 'ERR_SLUICE_CLOSED' });
      await assert.rejects(store.ack(['1']), { code: 'ERR_SLUICE_CLOSED' });
      if (store.ackAndLease) await assert.rejects(store.ackAndLease(['1'], 1, 1000), { code: 'ERR_SLUICE_CLOSED' });
      if (store.exchange) await assert.rejects(store.exchange([1], ['1'], 1, 1000), { code: 'ERR_SLUICE_CLOSED' });
      await assert.rejects(store.size(), { code: 'ERR_SLUICE_CLOSED' });
    }));
  });
}
