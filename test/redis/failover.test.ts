// Redis down or frozen mid-run, on a private redis-server (random port) so
// killing it disturbs no other test: each component must degrade within one
// second to its fallback, say so with an event, and go back to Redis once it
// answers again. Nobody waits forever.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import {
  consumeStream,
  PressureCoordinator,
  RedisConcurrencyLimiter,
  RedisTimeoutError,
  RedisTokenBucket,
  RedisUnavailableError,
} from '../../src/adapters/redis/index.js';
import { closeAfterEach, ensureUp as ensureServerUp, events } from './failover.test-helpers.js';
import { PrivateRedis, sleep, waitFor } from './helpers.js';

let server: PrivateRedis;
let redis: Redis;

before(async () => {
  server = await PrivateRedis.start();
  redis = await server.client();
});
after(async () => {
  redis.disconnect();
  await server.kill();
});

const closeLater = closeAfterEach();
const ensureUp = () => ensureServerUp(server, () => redis.status === 'ready', 'the client to reconnect');

describe('Redis components when Redis fails', () => {
  it('RedisTokenBucket - Redis killed mid-run: degrades within 1 s to the local bucket, and returns to Redis after a restart', async () => {
    await ensureUp();
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'failover-kill', ratePerSecond: 1000, burst: 10, fallback: { mode: 'local', fraction: 0.5 }, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(bucket);
    let running = true;
    let settled = 0;
    const loop = (async () => {
      while (running) {
        await bucket.acquire();
        settled++;
      }
    })();
    await sleep(200);
    assert.equal(bucket.degraded, false);
    const fromRedisBefore = bucket.stats().acquired;
    assert.ok(fromRedisBefore > 50, `acquired ${fromRedisBefore} from Redis`);

    const killedAt = performance.now();
    await server.kill();
    await waitFor(() => log.degraded.length === 1, 1000, 'the degraded event');
    const degradedAfter = log.degraded[0]!.at - killedAt;
    assert.ok(degradedAfter < 1000, `degraded after ${degradedAfter} ms`);
    assert.equal(log.degraded[0]!.event.fallback, 'local');
    assert.ok(log.degraded[0]!.event.cause instanceof RedisUnavailableError);

    const localBefore = bucket.stats().acquiredLocally;
    await sleep(400);
    const servedLocally = bucket.stats().acquiredLocally - localBefore;
    // The local stand-in runs at 500/s: ~200 tokens in 400 ms (plus what was left of its burst).
    assert.ok(servedLocally >= 120 && servedLocally <= 300, `served ${servedLocally} locally in 400 ms`);

    const restartedAt = performance.now();
    await server.restart();
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    const recoveredAfter = log.recovered[0]!.at - restartedAt;
    const fromRedisAtRecovery = bucket.stats().acquired;
    await sleep(200);
    running = false;
    await loop;
    assert.ok(bucket.stats().acquired - fromRedisAtRecovery > 50, 'calls go to Redis again');
    // The restarted server had no scripts cached: EVALSHA fell back to EVAL and the state is back.
    assert.equal(await redis.exists('{failover-kill}:tokens'), 1);
    const s = bucket.stats();
    console.log(
      `bucket: degraded ${degradedAfter.toFixed(0)} ms after the kill, served ${servedLocally} locally in 400 ms, ` +
        `recovered ${recoveredAfter.toFixed(0)} ms after the restart; ${settled} calls settled, ${s.redis.degradations} degradation(s)`,
    );
    assert.equal(s.redis.degradations, 1);
    assert.equal(s.waiting, 0);
    bucket.close();
  });

  it('RedisTokenBucket - Redis frozen (SIGSTOP): a call waits at most timeoutMs, then the fallback serves it', async () => {
    await ensureUp();
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'failover-freeze', ratePerSecond: 100, burst: 5, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(bucket);
    await bucket.acquire();
    server.pause();
    try {
      const started = performance.now();
      await bucket.acquire();
      const waited = performance.now() - started;
      assert.ok(waited >= 290 && waited < 800, `waited ${waited} ms`);
      assert.ok(log.degraded[0]!.event.cause instanceof RedisTimeoutError);
      assert.equal(bucket.stats().redis.timeouts, 1);
      // Degraded: answered locally at once, nothing sent to the frozen server.
      const t = performance.now();
      assert.equal(await bucket.tryAcquire(), true);
      assert.ok(performance.now() - t < 20);
    } finally {
      server.resume();
    }
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    assert.equal(bucket.degraded, false);
    bucket.close();
  });

  it('RedisTokenBucket - Redis frozen: a reservation Redis makes after the call gave up on it is handed back when the late reply arrives', async () => {
    await ensureUp();
    // Refill is negligible (0.01/s), so the balance shows whether the late reservation was refunded.
    const bucket = closeLater(new RedisTokenBucket({ redis, key: 'failover-late-reserve', ratePerSecond: 0.01, burst: 5, timeoutMs: 300, probeIntervalMs: 100 }));
    await bucket.acquire(2);
    server.pause();
    try {
      await bucket.acquire(2); // times out and is served locally; the frozen Redis still holds the command
      assert.equal(bucket.stats().acquiredLocally, 2);
    } finally {
      server.resume();
    }
    await waitFor(() => bucket.stats().refunded === 2, 3000, 'the late reservation to be handed back');
    const tokens = Number(await redis.hget('{failover-late-reserve}:tokens', 'tokens'));
    assert.ok(tokens > 2.9 && tokens < 3.2, `tokens ${tokens}: 5 - 2 taken from Redis, the late 2 given back`);
    bucket.close();
  });

  it('RedisTokenBucket - prefetch, Redis frozen: held tokens serve first, and what a late reply prefetched is handed back', async () => {
    await ensureUp();
    const bucket = closeLater(
      new RedisTokenBucket({ redis, key: 'failover-prefetch', ratePerSecond: 0.01, burst: 20, fallback: 'fail-closed', timeoutMs: 300, probeIntervalMs: 100, prefetch: { tokens: 4, holdMs: 60_000 } }),
    );
    await bucket.acquire(); // takes 1 and prefetches 4
    assert.equal(bucket.stats().held, 4);
    server.pause();
    try {
      // Served from the held tokens without Redis (fail-closed would refuse them otherwise).
      await bucket.acquire();
      await bucket.acquire(); // leaves 2: the background refill goes out and hangs on the frozen server
      assert.equal(await bucket.tryAcquire(3), false); // more than held: Redis times out and fail-closed refuses
      assert.equal(bucket.degraded, true);
      assert.equal(await bucket.tryAcquire(2), true); // the held ones still serve while degraded
    } finally {
      server.resume();
    }
    // The frozen server ran the refill (2 tokens) and the try for 3 late: both are handed back.
    await waitFor(() => bucket.stats().refunded === 5, 3000, 'the late grants to be handed back');
    const s = bucket.stats();
    assert.deepEqual([s.acquired, s.held, s.prefetched, s.refused], [5, 0, 4, 1]);
    const tokens = Number(await redis.hget('{failover-prefetch}:tokens', 'tokens'));
    assert.ok(tokens > 14.9 && tokens < 15.2, `tokens ${tokens}: 20 - 5 used, the late 5 given back`);
    bucket.close();
  });

  it("RedisTokenBucket - 'fail-closed' refuses and 'fail-open' allows while Redis is down", async () => {
    await ensureUp();
    const closed = closeLater(new RedisTokenBucket({ redis, key: 'failover-closed', ratePerSecond: 10, fallback: 'fail-closed', timeoutMs: 300 }));
    const open = closeLater(new RedisTokenBucket({ redis, key: 'failover-open', ratePerSecond: 10, fallback: 'fail-open', timeoutMs: 300 }));
    await server.kill();
    await assert.rejects(closed.acquire(), (e: unknown) => e instanceof RedisUnavailableError && (e as RedisUnavailableError).code === 'ERR_SLUICE_LIMIT_EXCEEDED');
    assert.equal(await closed.tryAcquire(), false);
    assert.equal(closed.stats().refused, 2);
    await open.acquire();
    assert.equal(await open.tryAcquire(), true);
    assert.equal(open.stats().acquiredLocally, 2);
    closed.close();
    open.close();
  });

  it('RedisConcurrencyLimiter - a waiting caller moves to the local limiter when Redis dies; calls return to Redis after the restart', async () => {
    await ensureUp();
    const limiter = closeLater(new RedisConcurrencyLimiter({ redis, key: 'failover-leases', limit: 4, leaseMs: 10_000, timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(limiter);
    const held = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire()));
    const waiting = limiter.acquire();
    await sleep(50);
    const killedAt = performance.now();
    await server.kill();
    const permit = await waiting;
    const movedAfter = performance.now() - killedAt;
    assert.ok(movedAfter < 1000, `the waiter was served ${movedAfter} ms after the kill`);
    assert.equal(permit.source, 'local');
    // Local stand-in: floor(4 × 0.5) = 2 permits, one of them taken.
    const second = await limiter.tryAcquire();
    assert.equal(second?.source, 'local');
    assert.equal(await limiter.tryAcquire(), undefined);
    // Releasing Redis leases while Redis is down does not hang: they expire by themselves.
    const started = performance.now();
    assert.deepEqual(await Promise.all(held.map((p) => p.release())), [false, false, false, false]);
    assert.ok(performance.now() - started < 50);
    await server.restart();
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    const again = await limiter.acquire();
    assert.equal(again.source, 'redis');
    await Promise.all([permit, second!, again].map((p) => p.release()));
    limiter.close();
  });

  it('RedisConcurrencyLimiter - Redis frozen: a waiting caller notices at its next retry and is served locally within 1 s', async () => {
    await ensureUp();
    const limiter = closeLater(new RedisConcurrencyLimiter({ redis, key: 'failover-frozen-leases', limit: 2, leaseMs: 10_000, timeoutMs: 300 }));
    const held = await Promise.all([limiter.acquire(), limiter.acquire()]);
    const waiting = limiter.acquire();
    await sleep(50);
    const frozenAt = performance.now();
    server.pause();
    try {
      const permit = await waiting;
      const servedAfter = performance.now() - frozenAt;
      // At worst one retry interval (500 ms) plus the command timeout (300 ms).
      assert.ok(servedAfter < 1000, `served ${servedAfter} ms after the freeze`);
      assert.equal(permit.source, 'local');
      await permit.release();
    } finally {
      server.resume();
    }
    await Promise.all(held.map((p) => p.release()));
  });

  it('PressureCoordinator - Redis frozen: shouldAcceptWork() answers locally within 1 s, report() says false, globalPressure() rejects', async () => {
    await ensureUp();
    const node = closeLater(new PressureCoordinator({ redis, nodeId: 'n1', ttlMs: 5000, key: 'failover-pressure', timeoutMs: 300, probeIntervalMs: 100 }));
    const log = events(node);
    await node.report(0.5);
    server.pause();
    try {
      const started = performance.now();
      assert.equal(await node.shouldAcceptWork(), true, 'local fallback: own pressure 0.5 < 1');
      assert.ok(performance.now() - started < 1000);
      assert.equal(log.degraded.length, 1);
      assert.equal(await node.report(1.5), false);
      assert.equal(await node.shouldAcceptWork(), false, 'own pressure 1.5 >= 1');
      await assert.rejects(node.globalPressure(), RedisUnavailableError);
      assert.equal(node.stats().decidedLocally, 2);
    } finally {
      server.resume();
    }
    await waitFor(() => log.recovered.length === 1, 3000, 'the recovered event');
    assert.equal(await node.report(0.2), true);
    assert.deepEqual(await node.globalPressure(), { n1: 0.2 });
    node.close();
  });

  it('consumeStream - keeps running through a Redis restart, recreates its group and handles new entries', async () => {
    await ensureUp();
    const seen: string[] = [];
    const consumer = consumeStream({ redis, stream: 'failover-stream', group: 'g', consumer: 'c1', blockMs: 100, timeoutMs: 300, handler: (e) => void seen.push(e.fields.n!) });
    closeLater({ close: () => consumer.stop() });
    await redis.xadd('failover-stream', '*', 'n', 'before');
    await waitFor(() => seen.length === 1, 2000, 'the first entry');
    await server.kill();
    await sleep(300);
    await server.restart(); // empty: no persistence, so the stream and its group are gone
    await waitFor(() => redis.status === 'ready', 3000, 'the client to reconnect');
    await redis.xadd('failover-stream', '*', 'n', 'after');
    await waitFor(() => seen.length === 2, 5000, 'the entry added after the restart');
    await consumer.stop();
    assert.deepEqual(seen, ['before', 'after']);
    assert.ok(consumer.stats().readErrors >= 1);
  });
});
