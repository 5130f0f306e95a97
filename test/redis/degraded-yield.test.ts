// A degraded component answers without Redis (fallback, refusal, rejection).
// Those answers must still go through the event loop (issue #10, item 25):
// a caller looping on them otherwise runs on microtasks alone, so no timer
// fires, ioredis never reconnects and the probe that ends the degradation
// never runs. Each case: a client pointed at a port with no server yet, a
// tight loop of calls that must let a 100 ms timer fire, then a redis-server
// started on that port, which the component must find again.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { PressureCoordinator, RedisConcurrencyLimiter, RedisStreamStore, RedisTokenBucket } from '../../src/adapters/redis/index.js';
import { PrivateRedis, uniqueKey } from './helpers.js';

// Enough to outlast 100 ms by far (with the yield, 5k–30k calls fit in 100 ms
// here); without it, the loop ends here after seconds of pure microtasks.
const MAX_CALLS = 200_000;
const TIMING = { timeoutMs: 200, probeIntervalMs: 50 };

interface Case {
  server: PrivateRedis;
  redis: Redis;
}
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function unreachable(): Promise<Case> {
  const server = await PrivateRedis.reserve();
  const redis = server.connecting();
  cleanups.push(() => server.kill(), () => redis.disconnect());
  return { server, redis };
}

/**
 * Degrades the component with one call, checks that a tight loop of `step`
 * lets a 100 ms timer fire, then starts Redis and loops on until the
 * component has recovered.
 */
async function loopThroughOutage(name: string, { server }: Case, degraded: () => boolean, step: () => Promise<unknown>): Promise<void> {
  await step();
  assert.equal(degraded(), true, 'degraded after the first call');

  let fired = false;
  const timer = setTimeout(() => (fired = true), 100);
  let calls = 0;
  const started = performance.now();
  while (!fired && calls < MAX_CALLS) {
    await step();
    calls++;
  }
  clearTimeout(timer);
  assert.ok(fired, `the 100 ms timer did not fire during ${calls} calls`);
  const loopMs = performance.now() - started;

  await server.restart();
  const restartedAt = performance.now();
  while (degraded() && performance.now() - restartedAt < 5000) await step();
  assert.equal(degraded(), false, 'recovered within 5 s of the restart');
  console.log(`${name}: ${calls} calls while degraded in ${loopMs.toFixed(0)} ms, recovered ${(performance.now() - restartedAt).toFixed(0)} ms after Redis came up`);
}

describe('Redis components looping on a degraded answer', () => {
  it("RedisTokenBucket.acquire() - 'fail-open' on an unreachable Redis: a tight loop lets timers run and the bucket recovers", async () => {
    const c = await unreachable();
    const bucket = new RedisTokenBucket({ redis: c.redis, key: uniqueKey('yield-bucket'), ratePerSecond: 10, fallback: 'fail-open', ...TIMING });
    cleanups.push(() => bucket.close());
    await loopThroughOutage('bucket acquire fail-open', c, () => bucket.degraded, () => bucket.acquire());
    await bucket.acquire();
    assert.ok(bucket.stats().acquired >= 1, 'served by Redis again');
  });

  it("RedisTokenBucket.tryAcquire() - 'fail-closed' on an unreachable Redis: a tight loop of refusals lets timers run and the bucket recovers", async () => {
    const c = await unreachable();
    const bucket = new RedisTokenBucket({ redis: c.redis, key: uniqueKey('yield-bucket-try'), ratePerSecond: 10, fallback: 'fail-closed', ...TIMING });
    cleanups.push(() => bucket.close());
    await loopThroughOutage('bucket tryAcquire fail-closed', c, () => bucket.degraded, () => bucket.tryAcquire());
    assert.equal(await bucket.tryAcquire(), true);
  });

  it("RedisConcurrencyLimiter.acquire() - 'fail-open' on an unreachable Redis: a tight loop lets timers run and the limiter recovers", async () => {
    const c = await unreachable();
    const limiter = new RedisConcurrencyLimiter({ redis: c.redis, key: uniqueKey('yield-limiter'), limit: 1, fallback: 'fail-open', ...TIMING });
    cleanups.push(() => limiter.close());
    await loopThroughOutage('limiter acquire fail-open', c, () => limiter.degraded, async () => (await limiter.acquire()).release());
    // limit 1: the acquire that waited in ioredis's offline queue while Redis was down left no lease behind.
    const permit = await limiter.acquire({ signal: AbortSignal.timeout(3000) });
    assert.equal(permit.source, 'redis');
    assert.equal(await permit.release(), true);
  });

  it("RedisConcurrencyLimiter.tryAcquire() - 'fail-closed' on an unreachable Redis: a tight loop of refusals lets timers run and the limiter recovers", async () => {
    const c = await unreachable();
    const limiter = new RedisConcurrencyLimiter({ redis: c.redis, key: uniqueKey('yield-limiter-try'), limit: 1, fallback: 'fail-closed', ...TIMING });
    cleanups.push(() => limiter.close());
    await loopThroughOutage('limiter tryAcquire fail-closed', c, () => limiter.degraded, () => limiter.tryAcquire());
  });

  it("PressureCoordinator - 'fail-open' on an unreachable Redis: tight loops of shouldAcceptWork(), report() and globalPressure() let timers run and it recovers", async () => {
    const c = await unreachable();
    const node = new PressureCoordinator({ redis: c.redis, nodeId: 'n1', ttlMs: 5000, key: uniqueKey('yield-pressure'), fallback: 'fail-open', ...TIMING });
    cleanups.push(() => node.close());
    await loopThroughOutage('pressure shouldAcceptWork', c, () => node.degraded, () => node.shouldAcceptWork());
    await c.server.kill();
    await loopThroughOutage('pressure report', c, () => node.degraded, () => node.report(0.5));
    await c.server.kill();
    await loopThroughOutage('pressure globalPressure', c, () => node.degraded, () => node.globalPressure().catch(() => undefined));
  });

  it('RedisStreamStore.size() - on an unreachable Redis: a tight loop of rejections lets timers run and the store recovers', async () => {
    const c = await unreachable();
    const store = new RedisStreamStore<string>({ redis: c.redis, key: uniqueKey('yield-store'), ...TIMING });
    cleanups.push(() => store.close());
    await loopThroughOutage('stream store size', c, () => store.stats().redis.degraded, () => store.size().catch(() => undefined));
  });
});
