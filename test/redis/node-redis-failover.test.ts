// The failover behaviour of test/redis/failover.test.ts with a node-redis
// client, on a private redis-server (random port): a connection killed with
// CLIENT KILL, the server killed and restarted (scripts gone: EVALSHA falls
// back to EVAL), and the server frozen (SIGSTOP). Same degradation within one
// second, same events, same recovery as with ioredis.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { consumeStream, PressureCoordinator, RedisConcurrencyLimiter, RedisTimeoutError, RedisTokenBucket, RedisUnavailableError } from '../../src/adapters/redis/index.js';
import { closeAfterEach, ensureUp as ensureServerUp, events } from './failover.test-helpers.js';
import { PrivateRedis, sleep, waitFor } from './helpers.js';
import { connectNodeRedis, type NodeRedis } from './node-redis.test-helpers.js';

let server: PrivateRedis;
let redis: NodeRedis;
let admin: Redis;

before(async () => {
  server = await PrivateRedis.start();
  redis = await connectNodeRedis({ port: server.port });
  admin = await server.client();
});
after(async () => {
  redis.destroy();
  admin.disconnect();
  await server.kill();
});

const closeLater = closeAfterEach();
const ensureUp = () => ensureServerUp(server, () => redis.isReady && admin.status === 'ready', 'the clients to reconnect');

describe('Redis components with node-redis when Redis fails', () => {
  it('RedisTokenBucket - its connection killed (CLIENT KILL): degrades at once to the local bucket, recovers after the reconnect', async () => {
    await ensureUp();
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'nr-client-kill', ratePerSecond: 1000, burst: 10, fallback: { mode: 'local', fraction: 0.5 }, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(bucket);
    await bucket.acquire();
    assert.equal(bucket.stats().acquired, 1);
    const id = Number(await redis.sendCommand(['CLIENT', 'ID']));
    const killedAt = performance.now();
    assert.equal(await admin.call('CLIENT', 'KILL', 'ID', String(id)), 1);
    await waitFor(() => log.degraded.length === 1, 1000, 'the degraded event');
    const degradedAfter = log.degraded[0]!.at - killedAt;
    assert.ok(degradedAfter < 1000, `degraded after ${degradedAfter} ms`);
    assert.equal(log.degraded[0]!.event.fallback, 'local');
    assert.ok(log.degraded[0]!.event.cause instanceof RedisUnavailableError);
    assert.equal(await bucket.tryAcquire(), true);
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    const acquired = bucket.stats().acquired;
    await bucket.acquire();
    assert.equal(bucket.stats().acquired, acquired + 1, 'calls go to Redis again');
    assert.equal(bucket.stats().redis.degradations, 1);
    console.log(`node-redis bucket: degraded ${degradedAfter.toFixed(0)} ms after CLIENT KILL, recovered ${(log.recovered[0]!.at - killedAt).toFixed(0)} ms after it`);
  });

  it('RedisTokenBucket - Redis killed mid-run: degrades within 1 s, and after a restart (no scripts cached) returns to Redis', async () => {
    await ensureUp();
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'nr-failover-kill', ratePerSecond: 1000, burst: 10, fallback: { mode: 'local', fraction: 0.5 }, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(bucket);
    let running = true;
    const loop = (async () => {
      while (running) await bucket.acquire();
    })();
    await sleep(200);
    assert.equal(bucket.degraded, false);
    assert.ok(bucket.stats().acquired > 50, `acquired ${bucket.stats().acquired} from Redis`);
    const killedAt = performance.now();
    await server.kill();
    await waitFor(() => log.degraded.length === 1, 1000, 'the degraded event');
    assert.ok(log.degraded[0]!.at - killedAt < 1000);
    const localBefore = bucket.stats().acquiredLocally;
    await sleep(300);
    assert.ok(bucket.stats().acquiredLocally - localBefore > 50, 'the local bucket serves while Redis is down');
    await server.restart();
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    const fromRedis = bucket.stats().acquired;
    await sleep(200);
    running = false;
    await loop;
    assert.ok(bucket.stats().acquired - fromRedis > 50, 'calls go to Redis again');
    // The restarted server had no scripts cached: EVALSHA fell back to EVAL and the state is back.
    assert.equal(await redis.sendCommand(['EXISTS', '{nr-failover-kill}:tokens']), 1);
    assert.equal(bucket.stats().redis.degradations, 1);
    assert.equal(bucket.stats().waiting, 0);
  });

  it('RedisTokenBucket - Redis frozen (SIGSTOP): a call waits at most timeoutMs, then the fallback serves it', async () => {
    await ensureUp();
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'nr-failover-freeze', ratePerSecond: 100, burst: 5, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(bucket);
    await bucket.acquire();
    server.pause();
    try {
      const started = performance.now();
      await bucket.acquire();
      const waited = performance.now() - started;
      assert.ok(waited >= 290 && waited < 800, `waited ${waited} ms`);
      assert.ok(log.degraded[0]!.event.cause instanceof RedisTimeoutError);
      const t = performance.now();
      assert.equal(await bucket.tryAcquire(), true);
      assert.ok(performance.now() - t < 20, 'answered locally at once while degraded');
    } finally {
      server.resume();
    }
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    assert.equal(bucket.degraded, false);
  });

  it('consumeStream - every connection killed mid-stream (CLIENT KILL TYPE normal): the reader reconnects and every entry is handled and acked', async () => {
    await ensureUp();
    const stream = 'nr-consume-kill';
    const seen = new Set<string>();
    const consumer = consumeStream({ redis, stream, group: 'g', consumer: 'c', blockMs: 100, timeoutMs: 300, probeIntervalMs: 100, handler: (e) => void seen.add(e.fields.n!) });
    try {
      for (let i = 0; i < 20; i++) await admin.xadd(stream, '*', 'n', String(i));
      await waitFor(() => consumer.stats().acked === 20, 3000, '20 acks');
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      assert.ok(killed >= 2, `killed ${killed} connections (the client and the consumer's reader)`);
      for (let i = 20; i < 40; i++) await admin.xadd(stream, '*', 'n', String(i));
      await waitFor(() => consumer.stats().acked === 40, 5000, '40 acks');
      assert.equal(seen.size, 40);
      assert.ok(consumer.stats().readErrors >= 1, 'the killed blocking read failed and was retried');
    } finally {
      await consumer.stop();
    }
    const [pending] = (await admin.xpending(stream, 'g')) as [number];
    assert.equal(pending, 0);
  });

  it('PressureCoordinator - its pub/sub connection killed (CLIENT KILL TYPE pubsub): onChange() hears reports again once node-redis has resubscribed', async () => {
    await ensureUp();
    const watcher = closeLater(new PressureCoordinator({ redis, nodeId: 'watcher', ttlMs: 5000, key: 'nr-pubsub-kill' }));
    const reporter = closeLater(new PressureCoordinator({ redis, nodeId: 'reporter', ttlMs: 5000, key: 'nr-pubsub-kill' }));
    const heard: number[] = [];
    watcher.onChange((_, pressure) => heard.push(pressure));
    await sleep(100);
    await reporter.report(0.1);
    await waitFor(() => heard.length === 1, 1000, 'the first report');
    assert.equal(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), 1);
    let sent = 0.2;
    await waitFor(async () => {
      await reporter.report(sent);
      sent += 0.01;
      return heard.length >= 2;
    }, 3000, 'a report heard after the resubscription');
    assert.ok(heard[1]! >= 0.2);
  });

  it("RedisConcurrencyLimiter - 'fail-closed' with Redis killed: tryAcquire() says no, acquire() rejects; both work again after the restart", async () => {
    await ensureUp();
    const limiter = closeLater(new RedisConcurrencyLimiter({ redis, key: 'nr-limiter-kill', limit: 2, fallback: 'fail-closed', timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(limiter);
    const permit = await limiter.acquire();
    await permit.release();
    await server.kill();
    await waitFor(() => limiter.degraded, 1000, 'degraded');
    assert.equal(await limiter.tryAcquire(), undefined);
    await assert.rejects(limiter.acquire(), RedisUnavailableError);
    assert.ok(limiter.stats().refused >= 2);
    await server.restart();
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    const again = await limiter.tryAcquire();
    assert.ok(again);
    assert.equal(again.source, 'redis');
    await again.release();
  });
});
