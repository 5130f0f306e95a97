// Every sluice/redis component with a node-redis client (the `redis` package)
// instead of ioredis: the same Lua scripts, pub/sub wake-ups and stream
// replies, on RESP3 (node-redis 6's default) and RESP2. The DurableStore
// contract suite runs against RedisStreamStore on both protocols.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { describeStoreContract } from '../../src/core/durable-channel/store.test-helpers.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import {
  consumeStream,
  PressureCoordinator,
  RedisConcurrencyLimiter,
  RedisStreamStore,
  RedisTokenBucket,
  streamLag,
  type NodeRedisClient,
  type StreamEntry,
} from '../../src/adapters/redis/index.js';
import { cleanup, connect, sleep, uniqueKey, waitFor } from './helpers.js';
import { connectNodeRedis, type NodeRedis } from './node-redis.test-helpers.js';

let ioredis: Redis;
const clients: Record<2 | 3, NodeRedis> = {} as Record<2 | 3, NodeRedis>;
const prefix = uniqueKey('node-redis');
const key = (name: string) => `${prefix}:${name}:${Math.random().toString(36).slice(2, 8)}`;

before(async () => {
  ioredis = await connect();
  clients[3] = await connectNodeRedis({ RESP: 3 });
  clients[2] = await connectNodeRedis({ RESP: 2 });
});
after(async () => {
  await cleanup(ioredis, prefix);
  ioredis.disconnect();
  clients[3].destroy();
  clients[2].destroy();
});

for (const resp of [3, 2] as const) {
  describeStoreContract(`RedisStreamStore with node-redis (RESP${resp})`, () => {
    const clock = new VirtualClock(1_000_000);
    const k = key(`store${resp}`);
    return {
      store: new RedisStreamStore({ redis: clients[resp], key: k, now: () => clock.now() }),
      advance: (ms) => clock.advance(ms),
      cleanup: () => cleanup(ioredis, k),
    };
  });
}

describe('node-redis client', () => {
  it('NodeRedisClient - a createClient() client fits the type as is', () => {
    const typed: NodeRedisClient = clients[3];
    assert.equal(typed.isReady, true);
  });

  it('constructor - a node-redis cluster is refused, naming the field; a non-client still names redis', () => {
    const cluster = { sendCommand: () => Promise.resolve(), isReady: true, isOpen: true, duplicate: () => cluster, masters: [] };
    assert.throws(() => new RedisTokenBucket({ redis: cluster as never, key: 'k', ratePerSecond: 1 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"redis".*cluster/ });
    assert.throws(() => new RedisTokenBucket({ redis: {} as never, key: 'k', ratePerSecond: 1 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"redis".*node-redis/ });
    assert.throws(() => streamLag({} as never, { stream: 's', group: 'g', threshold: 1 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"redis"/ });
  });

  it('constructor - a node-redis client with keyPrefix is refused (sendCommand() would bypass the prefix), naming the field and the prefix', () => {
    const prefixed = clients[3].duplicate({ keyPrefix: 'app:' } as never);
    assert.throws(() => new RedisTokenBucket({ redis: prefixed, key: 'k', ratePerSecond: 1 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"redis".*without keyPrefix.*"app:"/ });
    assert.throws(() => new RedisConcurrencyLimiter({ redis: clients[3], subscriber: prefixed, key: 'k', limit: 1 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"subscriber".*keyPrefix/ });
  });

  for (const resp of [3, 2] as const) {
    const redis = () => clients[resp];

    it(`RedisTokenBucket - RESP${resp}: shares one bucket with an ioredis process (same script, same state)`, async () => {
      const k = key('bucket');
      const viaNodeRedis = new RedisTokenBucket({ redis: redis(), key: k, ratePerSecond: 0.01, burst: 5 });
      const viaIoredis = new RedisTokenBucket({ redis: ioredis, key: k, ratePerSecond: 0.01, burst: 5 });
      assert.equal(await viaNodeRedis.tryAcquire(3), true);
      assert.equal(await viaIoredis.tryAcquire(3), false, 'only 2 tokens left');
      assert.equal(await viaIoredis.tryAcquire(2), true);
      assert.equal(await viaNodeRedis.tryAcquire(1), false);
      assert.equal(viaNodeRedis.stats().acquired, 3);
      assert.equal(viaNodeRedis.degraded, false);
      assert.equal(viaNodeRedis.stats().redis.errors, 0);
      viaNodeRedis.close();
      viaIoredis.close();
    });

    it(`RedisConcurrencyLimiter - RESP${resp}: a waiter is woken by the release announcement (pub/sub), not its retry timer`, async () => {
      const limiter = new RedisConcurrencyLimiter({ redis: redis(), key: key('leases'), limit: 1, retryIntervalMs: 10_000, leaseMs: 30_000 });
      const held = await limiter.acquire();
      assert.ok(held);
      assert.equal(held.source, 'redis');
      const waiting = limiter.acquire();
      await sleep(150); // the waiter has tried once and the duplicate connection has subscribed
      const released = performance.now();
      await held.release();
      const next = await waiting;
      const woken = performance.now() - released;
      assert.ok(woken < 250, `woken ${woken} ms after the release`);
      assert.ok(limiter.stats().notifications >= 1);
      assert.equal(await next.release(), true);
      limiter.close();
    });

    it(`PressureCoordinator - RESP${resp}: reports, globalPressure() and onChange() over pub/sub`, async () => {
      const k = key('pressure');
      const a = new PressureCoordinator({ redis: redis(), nodeId: 'a', ttlMs: 5000, key: k });
      const b = new PressureCoordinator({ redis: ioredis, nodeId: 'b', ttlMs: 5000, key: k });
      const heard: [string, number][] = [];
      const stop = a.onChange((nodeId, pressure) => heard.push([nodeId, pressure]));
      await sleep(150); // the duplicate connection has subscribed
      await a.report(0.25);
      await b.report(0.75);
      assert.deepEqual(await a.globalPressure(), { a: 0.25, b: 0.75 });
      await waitFor(() => heard.length === 2, 2000, 'both reports heard by a');
      assert.deepEqual(heard, [['a', 0.25], ['b', 0.75]]);
      assert.equal(a.stats().changesReceived, 2);
      assert.equal(await b.shouldAcceptWork(), false);
      assert.equal(await a.shouldAcceptWork(), true);
      stop();
      a.close();
      b.close();
    });

    it(`consumeStream - RESP${resp}: handles and acks every entry, and claims a dead consumer's entries after visibilityTimeoutMs`, async () => {
      const stream = key('consume');
      for (let i = 0; i < 30; i++) await ioredis.xadd(stream, '*', 'n', String(i));
      // A consumer that read 5 entries and died without acking them.
      await ioredis.xgroup('CREATE', stream, 'g', '0');
      await ioredis.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 5, 'STREAMS', stream, '>');
      const seen: string[] = [];
      const consumer = consumeStream({
        redis: redis(),
        stream,
        group: 'g',
        consumer: 'alive',
        maxInFlight: 4,
        visibilityTimeoutMs: 300,
        claimIntervalMs: 100,
        blockMs: 100,
        handler: (e: StreamEntry) => void seen.push(e.fields.n!),
      });
      await waitFor(() => consumer.stats().acked === 30, 5000, '30 acks');
      await consumer.stop();
      assert.deepEqual([...seen].sort((x, y) => Number(x) - Number(y)), Array.from({ length: 30 }, (_, i) => String(i)));
      assert.equal(consumer.stats().claimed, 5);
      assert.ok(consumer.stats().maxInFlight <= 4);
      const [pending] = (await ioredis.xpending(stream, 'g')) as [number];
      assert.equal(pending, 0);
    });

    it(`streamLag - RESP${resp}: undelivered and pending from XINFO and from counting agree with ioredis`, async () => {
      const stream = key('lag');
      for (let i = 0; i < 40; i++) await ioredis.xadd(stream, '*', 'n', String(i));
      await ioredis.xgroup('CREATE', stream, 'g', '0');
      await ioredis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 15, 'STREAMS', stream, '>'); // 15 pending, 25 undelivered
      for (const [lagSource, lagFrom] of [['auto', 'xinfo'], ['count', 'count']] as const) {
        const lag = streamLag(redis(), { stream, group: 'g', threshold: 100, lagSource });
        const reference = streamLag(ioredis, { stream, group: 'g', threshold: 100, lagSource });
        try {
          assert.equal(await lag.poll(), 0.4);
          assert.equal(await reference.poll(), 0.4);
          const s = lag.stats();
          assert.deepEqual([s.undelivered, s.pending, s.lagFrom], [25, 15, lagFrom]);
          assert.equal(s.lastDeliveredId, reference.stats().lastDeliveredId);
        } finally {
          lag.close();
          reference.close();
        }
      }
      const missing = streamLag(redis(), { stream: key('missing'), group: 'g', threshold: 100 });
      await missing.poll().catch(() => undefined);
      assert.equal(missing.stats().lastError?.code, 'ERR_SLUICE_NOT_FOUND');
      assert.match(missing.stats().lastError!.message, /does not exist/);
      missing.close();
    });
  }

  it('subscriber - a node-redis connection of the user\'s: wakes the waiter, and close() unsubscribes only the limiter\'s listener', async () => {
    const subscriber = await connectNodeRedis();
    const k = key('own-subscriber');
    const heard: string[] = [];
    await subscriber.subscribe(`{${k}}:released`, (message) => void heard.push(message)); // the user's own listener on the same channel
    const limiter = new RedisConcurrencyLimiter({ redis: clients[3], subscriber, key: k, limit: 1, retryIntervalMs: 10_000, leaseMs: 30_000 });
    const held = await limiter.acquire();
    const waiting = limiter.acquire();
    await sleep(100);
    const released = performance.now();
    await held.release();
    const next = await waiting;
    assert.ok(performance.now() - released < 250, 'woken by the announcement on the user\'s connection');
    await next.release();
    limiter.close();
    await sleep(50);
    const before = heard.length;
    assert.ok(before >= 1, 'the user\'s listener heard the releases too');
    await clients[3].sendCommand(['PUBLISH', `{${k}}:released`, 'x']);
    await waitFor(() => heard.length === before + 1, 1000, "the user's listener, still subscribed");
    assert.equal(subscriber.isOpen, true, 'the user\'s connection is left open');
    subscriber.destroy();
  });

  it('RedisTokenBucket - a node-redis client not connected yet: calls degrade to the fallback, and go to Redis once it connects', async () => {
    const client = clients[3].duplicate();
    client.on('error', () => undefined);
    const bucket = new RedisTokenBucket({ redis: client, key: key('late'), ratePerSecond: 100, burst: 5, probeIntervalMs: 50 });
    assert.equal(await bucket.tryAcquire(), true);
    assert.equal(bucket.degraded, true);
    assert.equal(bucket.stats().acquiredLocally, 1);
    await client.connect();
    await waitFor(() => !bucket.degraded, 2000, 'recovery');
    assert.equal(await bucket.tryAcquire(), true);
    assert.equal(bucket.stats().acquired, 1);
    bucket.close();
    client.destroy();
    await sleep(0);
  });
});
