// Leases left behind by an outage (issue #10, item 24). A private redis-server
// is frozen with SIGSTOP: ioredis keeps the commands already written, and
// Redis runs them when it resumes, after the limiter stopped waiting. With
// limit 1 a lease nobody holds would block every caller for the full leaseMs
// (30 s here) with Redis healthy; the limiter must release it instead.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisConcurrencyLimiter, type LeasePermit } from '../../src/adapters/redis/index.js';
import { PrivateRedis, sleep, uniqueKey, waitFor } from './helpers.js';

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

const toClose: RedisConcurrencyLimiter[] = [];
function limiterFor(key: string, retryIntervalMs?: number): RedisConcurrencyLimiter {
  // leaseMs is the default 30 s: an orphan would outlast every bound below.
  const limiter = new RedisConcurrencyLimiter({ redis, key, limit: 1, timeoutMs: 300, probeIntervalMs: 100, retryIntervalMs });
  toClose.push(limiter);
  return limiter;
}
afterEach(() => {
  server.resume();
  for (const limiter of toClose.splice(0)) limiter.close();
});

/** The lease ids Redis holds for `key`. */
function leases(key: string): Promise<string[]> {
  return redis.zrange(`{${key}}:leases`, '0', '-1');
}

/** Acquires from Redis, failing after `ms` (an orphan would make it wait 30 s). */
async function acquireWithin(limiter: RedisConcurrencyLimiter, ms: number): Promise<{ permit: LeasePermit; waited: number }> {
  const started = performance.now();
  const permit = await limiter.acquire({ signal: AbortSignal.timeout(ms) });
  return { permit, waited: performance.now() - started };
}

describe('RedisConcurrencyLimiter leases after a Redis freeze', () => {
  it('tryAcquire() - an acquire that timed out while Redis was frozen is released when Redis runs it late', async () => {
    const key = uniqueKey('orphan-late-acquire');
    const limiter = limiterFor(key);
    server.pause();
    // Written to the frozen server's socket; given up after timeoutMs and served locally.
    const local = await limiter.tryAcquire();
    assert.equal(local?.source, 'local');
    await local.release();
    server.resume();
    await waitFor(() => !limiter.degraded, 3000, 'the limiter to recover');
    await waitFor(() => limiter.stats().releasedLater === 1, 3000, 'the late lease to be released');

    const { permit, waited } = await acquireWithin(limiter, 3000);
    assert.equal(permit.source, 'redis');
    assert.ok(waited < 1000, `waited ${waited.toFixed(0)} ms for the only permit`);
    assert.deepEqual(await leases(key), [permit.id]);
    assert.equal(await permit.release(), true);
    assert.deepEqual(await leases(key), []);
  });

  it('release() - a Redis permit released while Redis is frozen is removed from Redis once it recovers', async () => {
    const key = uniqueKey('orphan-release');
    const limiter = limiterFor(key);
    const held = await limiter.acquire();
    assert.equal(held.source, 'redis');
    server.pause();
    // Times out (the frozen Redis will refuse it later: the lease is held) and degrades the limiter.
    const local = await limiter.tryAcquire();
    assert.equal(local?.source, 'local');
    await local.release();
    assert.equal(await held.release(), false, 'not confirmed while Redis is frozen');
    server.resume();
    await waitFor(() => !limiter.degraded, 3000, 'the limiter to recover');

    const { permit, waited } = await acquireWithin(limiter, 3000);
    assert.equal(permit.source, 'redis');
    assert.ok(waited < 1000, `waited ${waited.toFixed(0)} ms for the only permit`);
    assert.deepEqual(await leases(key), [permit.id]);
    await permit.release();
    assert.equal(limiter.stats().releasedLater, 1);
    assert.deepEqual(await leases(key), []);
  });

  it('acquire() - two workers at limit 1 through a 2 s freeze: after it the healthy callers get Redis permits at once and no lease is orphaned', async () => {
    const key = uniqueKey('orphan-workers');
    // Frequent retries: the waiting worker almost surely has an acquire on the wire when Redis freezes.
    const limiter = limiterFor(key, 50);
    let running = true;
    const grants: { source: string; at: number }[] = [];
    const worker = async (): Promise<void> => {
      while (running) {
        const permit = await limiter.acquire({ signal: AbortSignal.timeout(10_000) });
        grants.push({ source: permit.source, at: performance.now() });
        await sleep(10);
        await permit.release();
      }
    };
    const workers = [worker(), worker()];
    try {
      await waitFor(() => grants.filter((g) => g.source === 'redis').length >= 10, 3000, 'the workers to take Redis permits');
      server.pause();
      await sleep(2000);
      assert.equal(limiter.degraded, true);
      server.resume();
      await waitFor(() => !limiter.degraded, 3000, 'the limiter to recover');
      const recoveredAt = performance.now();
      // Both workers keep taking Redis permits: no lease left over blocks them for leaseMs.
      await waitFor(() => grants.filter((g) => g.source === 'redis' && g.at > recoveredAt).length >= 10, 3000, 'Redis permits after the freeze');
      const first = grants.find((g) => g.source === 'redis' && g.at > recoveredAt)!;
      console.log(`limiter: first Redis permit ${(first.at - recoveredAt).toFixed(0)} ms after recovery; ${limiter.stats().releasedLater} lease(s) released late`);
    } finally {
      running = false;
      await Promise.all(workers);
    }
    assert.deepEqual(await leases(key), [], 'no lease left in Redis once the workers stopped');
    assert.equal(limiter.stats().held, 0);
  });
});
