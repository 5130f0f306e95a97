import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { describeStoreContract } from '../../src/core/durable-channel/store.test-helpers.js';
import { DurableChannel } from '../../src/core/durable-channel/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { cleanup, connect, recording, uniqueKey } from './helpers.js';
import { RedisStreamStore } from '../../src/adapters/redis/index.js';

let redis: Redis;
const prefix = uniqueKey('store');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

describeStoreContract('RedisStreamStore', () => {
  const clock = new VirtualClock(1_000_000);
  const key = `${prefix}:${Math.random().toString(36).slice(2)}`;
  return {
    store: new RedisStreamStore({ redis, key, now: () => clock.now() }),
    advance: (ms) => clock.advance(ms),
    cleanup: () => cleanup(redis, key),
  };
});

describe('RedisStreamStore', () => {
  it('constructor - rejects a key with braces, naming the field', () => {
    assert.throws(() => new RedisStreamStore({ redis, key: 'a{b}' }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"key"/ });
  });

  it('constructor - rejects an empty group and a serializer without deserialize()', () => {
    assert.throws(() => new RedisStreamStore({ redis, key: 'k', group: '' }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"group"/ });
    assert.throws(() => new RedisStreamStore({ redis, key: 'k', serializer: { serialize: String } as never }), {
      code: 'ERR_SLUICE_INVALID_OPTION',
      message: /"serializer"/,
    });
  });

  it('lease() - a lease held by a consumer that died is claimed by another after the visibility timeout', async () => {
    const clock = new VirtualClock(5_000);
    const key = `${prefix}:dead-consumer`;
    const dead = new RedisStreamStore<string>({ redis, key, consumer: 'dead', now: () => clock.now() });
    const alive = new RedisStreamStore<string>({ redis, key, consumer: 'alive', now: () => clock.now() });
    await dead.append(['job']);
    const [leased] = await dead.lease(1, 1000);
    assert.deepEqual(await alive.lease(1, 1000), []);
    clock.advance(1000);
    const [claimed] = await alive.lease(1, 1000);
    assert.equal(claimed!.id, leased!.id);
    assert.equal(claimed!.deliveries, 2);
    const pending = (await redis.xpending(`{${key}}:stream`, 'sluice', '-', '+', 10)) as [string, string, number, number][];
    assert.deepEqual(pending.map((p) => [p[0], p[1]]), [[leased!.id, 'alive']], 'the entry moved to the live consumer');
    assert.equal(await alive.ack([claimed!.id]), 1);
    await dead.close();
    await alive.close();
  });

  it('lease() - uses the Redis server clock by default', async () => {
    const store = new RedisStreamStore<number>({ redis, key: `${prefix}:server-time` });
    await store.append([1]);
    await store.lease(1, 150);
    assert.deepEqual(await store.lease(1, 150), []);
    const wait = await store.nextVisibleInMs();
    assert.ok(wait !== undefined && wait > 0 && wait <= 150, `got ${wait}`);
    await new Promise((resolve) => setTimeout(resolve, 170));
    assert.deepEqual((await store.lease(1, 150)).map((l) => [l.item, l.deliveries]), [[1, 2]]);
    await store.close();
  });

  it('append() - stores bytes from a binary serializer and returns them intact', async () => {
    const store = new RedisStreamStore<Uint8Array>({
      redis,
      key: `${prefix}:bytes`,
      serializer: { serialize: (b) => b, deserialize: (d) => (typeof d === 'string' ? new TextEncoder().encode(d) : d) },
    });
    const bytes = new Uint8Array([0, 255, 128, 10, 13, 0xc3]);
    await store.append([bytes]);
    const [leased] = await store.lease(1, 1000);
    assert.deepEqual([...leased!.item], [...bytes]);
    await store.close();
  });

  it('close() - waits for calls already running before resolving', async () => {
    const store = new RedisStreamStore<number>({ redis, key: `${prefix}:close` });
    const appending = store.append([1, 2, 3]);
    await store.close();
    assert.equal((await appending).length, 3);
    assert.equal(await redis.xlen(`{${prefix}:close}:stream`), 3);
  });

  it('close() - stops the command-timeout watchdog, so no timer is left to hold the process', async () => {
    // The watchdog was armed for the first command's deadline and outlived close() by up to timeoutMs.
    const clock = new VirtualClock(0);
    const store = new RedisStreamStore<string>({ redis, key: `${prefix}:watchdog`, clock, timeoutMs: 10_000 });
    await store.append(['a']);
    await store.lease(1, 1000);
    assert.ok(clock.pending > 0, 'the watchdog is armed while open');
    const inFlight = store.size();
    await store.close();
    assert.equal(await inFlight, 1);
    assert.equal(clock.pending, 0);
  });

  it('ack() - an item let go (nacked, or its lease expired and promoted) is acked out of the visible set too, so no lease hands it out again', async () => {
    const clock = new VirtualClock(1_000_000);
    const key = `${prefix}:ack-visible`;
    const store = new RedisStreamStore<string>({ redis, key, now: () => clock.now() });
    try {
      const [a, b, c] = await store.append(['a', 'b', 'c']);
      await store.lease(3, 1000);
      await store.nack(a!);
      clock.advance(1000);
      assert.deepEqual((await store.lease(1, 1000)).map((l) => l.item), ['a'], 'a again; the lease also moved b and c, due, to the visible set');
      assert.equal(await redis.zcard(`{${key}}:visible`), 2);
      // One call: a leased (invisible), b and c visible, an unknown id and a repeat.
      assert.equal(await store.ack([a!, b!, c!, '1-1', b!]), 3);
      assert.equal(await redis.zcard(`{${key}}:visible`), 0);
      assert.equal(await redis.zcard(`{${key}}:invisible`), 0);
      assert.deepEqual(await store.lease(5, 1000), []);
      assert.equal(await store.size(), 0);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('ack(), lease() and exchange() - batches above the per-command chunk (500 ids) are taken whole', async () => {
    const clock = new VirtualClock(1_000_000);
    const key = `${prefix}:chunks`;
    const store = new RedisStreamStore<number>({ redis, key, now: () => clock.now() });
    try {
      const items = Array.from({ length: 1201 }, (_, i) => i);
      const ids = await store.append(items);
      const first = await store.lease(1201, 1000);
      assert.deepEqual(first.map((l) => l.item), items);
      assert.equal(await redis.zcard(`{${key}}:invisible`), 1201, 'a deadline per leased item');
      clock.advance(1000);
      const again = await store.lease(1201, 1000);
      assert.deepEqual(again.map((l) => [l.item, l.deliveries]), items.map((i) => [i, 2]), 'redelivered, in order');
      const { acked, leased } = await store.exchange([], ids, 1, 1000);
      assert.deepEqual([acked, leased], [1201, []]);
      assert.equal(await store.size(), 0);
      assert.equal(await redis.zcard(`{${key}}:invisible`), 0);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('stats() - counts commits, leases, redeliveries and acks', async () => {
    const clock = new VirtualClock(0);
    const store = new RedisStreamStore<number>({ redis, key: `${prefix}:stats`, consumer: 'c1', now: () => clock.now() });
    await store.append([1, 2]);
    const [a] = await store.lease(1, 1000);
    await store.nack(a!.id);
    const again = await store.lease(2, 1000);
    await store.ack(again.map((l) => l.id));
    const { redis: health, ...counters } = store.stats();
    assert.deepEqual(counters, {
      key: `${prefix}:stats`,
      group: 'sluice',
      consumer: 'c1',
      commits: 1,
      appended: 2,
      leased: 3,
      redelivered: 1,
      acked: 2,
      nacked: 1,
      dropped: 0,
    });
    assert.equal(health.degraded, false);
    await store.close();
  });

  it('DurableChannel - a receive → ack loop leases each next item with the ack before it (ackAndLease: one round trip per item)', async () => {
    const key = `${prefix}:lease-ahead`;
    const { client, commands } = recording(redis);
    const store = new RedisStreamStore<number>({ redis: client, key });
    const channel = new DurableChannel<number>({ store, visibilityTimeoutMs: 5000 });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => channel.send(i)));
      commands.length = 0;
      const got: number[] = [];
      for (let i = 0; i < 20; i++) {
        const lease = await channel.receive();
        got.push(lease!.item);
        await channel.ack(lease!.id);
      }
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
      // One lease for the first item, 19 acks that lease the next, the last ack alone: 21 commands for 20 items.
      assert.equal(commands.length, 21, `sent ${commands.join(', ')}`);
      const s = channel.stats();
      assert.deepEqual([s.leases, s.ackCommits, s.acked, s.delivered, s.redelivered], [1, 20, 20, 20, 0]);
      assert.equal(await redis.xlen(`{${key}}:stream`), 0);
      assert.equal(await redis.zcard(`{${key}}:invisible`), 0, 'no lease deadline left behind');
    } finally {
      await channel.detach();
      await store.close();
    }
  });

  it('DurableChannel - a restarted channel recovers unacked items, a dead lease coming back after its timeout', async () => {
    const clock = new VirtualClock(0);
    const key = `${prefix}:channel`;
    const first = new DurableChannel<{ n: number }>({ store: new RedisStreamStore({ redis, key, now: () => clock.now() }), visibilityTimeoutMs: 1000, clock });
    for (let n = 0; n < 5; n++) assert.equal(await first.send({ n }), true);
    const leased = await first.receive();
    assert.deepEqual(leased!.item, { n: 0 });
    await first.detach(); // the process "dies" holding item 0

    const second = new DurableChannel<{ n: number }>({ store: new RedisStreamStore({ redis, key, now: () => clock.now() }), visibilityTimeoutMs: 1000, clock });
    await second.ready();
    assert.equal(second.stats().recovered, 5);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = await second.receive();
      got.push(lease!.item.n);
      await second.ack(lease!.id);
    }
    clock.advance(1000);
    const redelivered = await second.receive();
    assert.deepEqual([redelivered!.item.n, redelivered!.deliveries], [0, 2]);
    await second.ack(redelivered!.id);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.equal(await redis.xlen(`{${key}}:stream`), 0);
    await second.detach();
  });
});
