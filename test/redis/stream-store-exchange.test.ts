// RedisStreamStore.exchange() on a real Redis, and a DurableChannel on it:
// the producers' commit, the consumers' acks and the next lease in one script.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { DurableChannel } from '../../src/core/durable-channel/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { cleanup, connect, recording, uniqueKey } from './helpers.js';
import { RedisStreamStore } from '../../src/adapters/redis/index.js';

let redis: Redis;
const prefix = uniqueKey('exchange');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

const streamKey = (key: string) => `{${key}}:stream`;
const invisibleKey = (key: string) => `{${key}}:invisible`;

describe('RedisStreamStore.exchange()', () => {
  it('exchange() - appends, acks and leases in one command; the lease hands out the items it appended, each with a deadline', async () => {
    const key = `${prefix}:one-command`;
    const clock = new VirtualClock(1_000_000);
    const { client, commands } = recording(redis);
    const store = new RedisStreamStore<string>({ redis: client, key, now: () => clock.now() });
    try {
      const [a] = await store.append(['a']);
      const [leasedA] = await store.lease(1, 1000);
      commands.length = 0;
      const { ids, acked, leased } = await store.exchange(['b', 'c'], [leasedA!.id, 'not-an-id'], 5, 1000);
      assert.deepEqual(commands, ['EVALSHA'], 'one round trip');
      assert.equal(acked, 1);
      assert.deepEqual(leased.map((l) => [l.id, l.item, l.deliveries]), [[ids[0], 'b', 1], [ids[1], 'c', 1]]);
      assert.equal(await redis.xlen(streamKey(key)), 2, `${a} is deleted`);
      assert.deepEqual(await redis.zrange(invisibleKey(key), '0', '-1', 'WITHSCORES'), [ids[0], '1001000', ids[1], '1001000']);
      assert.deepEqual(store.stats().commits, 2);
      assert.deepEqual([store.stats().appended, store.stats().leased, store.stats().acked], [3, 3, 1]);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('exchange() - on a key with items but no consumer group yet, the lease creates the group and sees every item', async () => {
    const key = `${prefix}:no-group`;
    await redis.xadd(streamKey(key), '*', 'd', JSON.stringify('written before any group'));
    const store = new RedisStreamStore<string>({ redis, key });
    try {
      const { leased } = await store.exchange(['new'], [], 5, 1000);
      assert.deepEqual(leased.map((l) => l.item), ['written before any group', 'new']);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('exchange() - a redelivery comes before the items the call appends, with deliveries 2', async () => {
    const key = `${prefix}:redelivery`;
    const clock = new VirtualClock(1_000_000);
    const store = new RedisStreamStore<string>({ redis, key, now: () => clock.now() });
    try {
      await store.append(['old']);
      await store.lease(1, 1000);
      clock.advance(1000);
      const { leased } = await store.exchange(['young'], [], 2, 1000);
      assert.deepEqual(leased.map((l) => [l.item, l.deliveries]), [['old', 2], ['young', 1]]);
      assert.equal(store.stats().redelivered, 1);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('exchange() - binary items round-trip through base64', async () => {
    const key = `${prefix}:bytes`;
    const store = new RedisStreamStore<Buffer>({
      redis,
      key,
      serializer: { serialize: (b) => b, deserialize: (d) => Buffer.from(d as Uint8Array) },
    });
    try {
      const bytes = Buffer.from([0, 1, 254, 255]);
      const { leased } = await store.exchange([bytes], [], 1, 1000);
      assert.deepEqual(leased[0]!.item, bytes);
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('exchange() - an item the serializer refuses sends nothing: no item stored, no id acked', async () => {
    const key = `${prefix}:refused`;
    const store = new RedisStreamStore<unknown>({ redis, key });
    try {
      const [id] = await store.append(['kept']);
      await store.lease(1, 1000);
      await assert.rejects(store.exchange(['fine', 10n], [id!], 1, 1000), TypeError);
      assert.equal(await redis.xlen(streamKey(key)), 1, 'nothing appended, nothing acked');
    } finally {
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('exchange() - rejects a negative leaseMax with ERR_SLUICE_INVALID_ARGUMENT before anything is sent', async () => {
    const key = `${prefix}:bad-max`;
    const { client, commands } = recording(redis);
    const store = new RedisStreamStore<string>({ redis: client, key });
    try {
      await assert.rejects(store.exchange(['a'], [], -1, 1000), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      await assert.rejects(store.exchange(['a'], [], 1, 0), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      assert.deepEqual(commands, []);
    } finally {
      await store.close();
    }
  });
});

describe('DurableChannel on RedisStreamStore (exchange)', () => {
  it('send() and ack() - a producer awaiting each send and a consumer awaiting each ack make about one round trip per item between them', async () => {
    const key = `${prefix}:one-by-one`;
    const { client, commands } = recording(redis);
    const store = new RedisStreamStore<number>({ redis: client, key });
    const channel = new DurableChannel<number>({ store, visibilityTimeoutMs: 5000 });
    const n = 200;
    try {
      await channel.ready();
      commands.length = 0;
      const got: number[] = [];
      const consuming = (async () => {
        for (let lease = await channel.receive(); lease !== undefined; lease = await channel.receive()) {
          got.push(lease.item);
          await channel.ack(lease.id);
        }
      })();
      for (let i = 0; i < n; i++) assert.equal(await channel.send(i), true);
      channel.close();
      await consuming;
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
      // Without the exchange this is 2n (an append, then an ack-and-lease). Allow a quarter of calls that
      // carried only one side (the start, the end, a continuation that missed the turn on a busy machine).
      assert.ok(commands.length <= n * 1.25, `${commands.length} commands for ${n} items`);
      const s = channel.stats();
      assert.ok(s.commits === n && s.ackCommits >= n * 0.75, `commits ${s.commits}, ack commits ${s.ackCommits}: most calls carried both`);
      assert.deepEqual([s.accepted, s.delivered, s.redelivered, s.acked, s.size], [n, n, 0, n, 0]);
      assert.equal(await redis.xlen(streamKey(key)), 0);
      assert.equal(await redis.zcard(invisibleKey(key)), 0, 'no lease deadline left behind');
    } finally {
      await channel.detach();
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('send() and ack() - 8 producers and 8 consumers: every item is delivered once and acked, with far fewer commands than items', async () => {
    const key = `${prefix}:many`;
    const { client, commands } = recording(redis);
    const store = new RedisStreamStore<number>({ redis: client, key });
    const channel = new DurableChannel<number>({ store, visibilityTimeoutMs: 5000 });
    const n = 2000;
    try {
      await channel.ready();
      const seen = new Uint8Array(n);
      const consuming = Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let lease = await channel.receive(); lease !== undefined; lease = await channel.receive()) {
            seen[lease.item]!++;
            await channel.ack(lease.id);
          }
        }),
      );
      await Promise.all(
        Array.from({ length: 8 }, async (_, p) => {
          for (let i = p; i < n; i += 8) await channel.send(i);
        }),
      );
      channel.close();
      await consuming;
      assert.ok(seen.every((count) => count === 1), 'each item once');
      assert.ok(commands.length < n / 2, `${commands.length} commands for ${n} items`);
      const s = channel.stats();
      assert.deepEqual([s.accepted, s.acked, s.size], [n, n, 0]);
      assert.equal(await redis.xlen(streamKey(key)), 0);
      assert.equal(await redis.zcard(invisibleKey(key)), 0);
    } finally {
      await channel.detach();
      await store.close();
      await cleanup(redis, key);
    }
  });

  it('send() - an item the serializer refuses fails the exchange it rode in: its send and the ack with it reject, and the ack can be repeated', async () => {
    const key = `${prefix}:refused-in-channel`;
    const store = new RedisStreamStore<unknown>({ redis, key });
    const channel = new DurableChannel<unknown>({ store, visibilityTimeoutMs: 5000 });
    try {
      await channel.send('first');
      const lease = await channel.receive();
      const bad = channel.send(10n);
      const ack = channel.ack(lease!.id);
      await assert.rejects(bad, TypeError);
      await assert.rejects(ack, TypeError);
      assert.equal(channel.size, 1, 'the failed ack removed nothing');
      await channel.ack(lease!.id);
      assert.equal(channel.size, 0);
      assert.equal(await redis.xlen(streamKey(key)), 0);
      const s = channel.stats();
      assert.equal(s.recovered + s.offered, s.acked + s.size + s.dropped);
    } finally {
      await channel.detach();
      await store.close();
      await cleanup(redis, key);
    }
  });
});
