import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { cleanup, connect, recording, sleep, uniqueKey } from './helpers.js';
import { RedisConcurrencyLimiter } from '../../src/adapters/redis/index.js';

let redis: Redis;
const prefix = uniqueKey('leases');
const key = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

describe('RedisConcurrencyLimiter', () => {
  it('tryAcquire() - grants up to limit, then undefined; a release frees a slot', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('try'), limit: 2 });
    const a = await limiter.tryAcquire();
    const b = await limiter.tryAcquire();
    assert.ok(a && b);
    assert.equal(a.source, 'redis');
    assert.equal(await limiter.tryAcquire(), undefined);
    assert.equal(await a.release(), true);
    const c = await limiter.tryAcquire();
    assert.ok(c);
    assert.equal(await redis.zcard(`{${key('try')}}:leases`), 2);
    await b.release();
    await c.release();
    assert.equal(await redis.zcard(`{${key('try')}}:leases`), 0);
    limiter.close();
  });

  it('acquire() - 40 jobs through two processes never run more than limit at once', async () => {
    const other = await connect();
    const limiters = [redis, other].map((client) => new RedisConcurrencyLimiter({ redis: client, key: key('shared'), limit: 3, leaseMs: 5000 }));
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const permit = await limiters[i % 2]!.acquire();
        running++;
        peak = Math.max(peak, running);
        await sleep(3);
        running--;
        await permit.release();
      }),
    );
    assert.equal(peak, 3);
    assert.equal(limiters[0]!.stats().acquired + limiters[1]!.stats().acquired, 40);
    limiters.forEach((l) => l.close());
    other.disconnect();
  });

  it('acquire() - a waiter is woken by the release announcement, not by its retry timer', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('notify'), limit: 1, retryIntervalMs: 10_000, leaseMs: 30_000 });
    const held = await limiter.acquire();
    const waiting = limiter.acquire();
    await sleep(100); // the waiter has tried once and subscribed
    const releasedAt = performance.now();
    await held.release();
    const next = await waiting;
    const wokeAfter = performance.now() - releasedAt;
    assert.ok(wokeAfter < 250, `woke ${wokeAfter} ms after the release`);
    assert.ok(limiter.stats().notifications >= 1);
    await next.release();
    limiter.close();
  });

  it('acquire() - a lease nobody releases expires after leaseMs and its slot is granted again', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('expire'), limit: 1, leaseMs: 300 });
    const forgotten = await limiter.acquire();
    const started = performance.now();
    const next = await limiter.acquire();
    const waited = performance.now() - started;
    assert.ok(waited >= 280 && waited < 700, `waited ${waited} ms`);
    assert.equal(await forgotten.release(), false, 'the expired lease is gone');
    assert.equal(limiter.stats().lost, 1);
    await next.release();
    limiter.close();
  });

  it('extend() - keeps a lease past leaseMs', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('extend'), limit: 1, leaseMs: 200 });
    const permit = await limiter.acquire();
    await sleep(120);
    assert.equal(await permit.extend(), true);
    await sleep(120); // 240 ms after the grant: expired without the extension
    assert.equal(await limiter.tryAcquire(), undefined);
    assert.equal(await permit.extend(1000), true);
    assert.equal(await permit.release(), true);
    assert.equal(await permit.extend(), false, 'a released permit cannot be extended');
    await assert.rejects(permit.extend(-1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    limiter.close();
  });

  it('acquire() - an abort while waiting rejects with the reason and leaves no lease behind', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('abort'), limit: 1, retryIntervalMs: 50 });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    await sleep(80);
    controller.abort(new Error('no longer needed'));
    await assert.rejects(waiting, /no longer needed/);
    assert.equal(limiter.waiting, 0);
    await held.release();
    await sleep(30);
    assert.equal(await redis.zcard(`{${key('abort')}}:leases`), 0);
    limiter.close();
  });

  it('tryAcquire() - says no while callers of this process wait, so it cannot jump the queue', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('fifo'), limit: 1 });
    const held = await limiter.acquire();
    const waiting = limiter.acquire();
    await sleep(30);
    await held.release();
    assert.equal(await limiter.tryAcquire(), undefined);
    (await waiting).release();
    limiter.close();
  });

  it('acquire() - bad per-call options reject with ERR_SLUICE_INVALID_OPTION and ask for no lease', async () => {
    const { client, commands } = recording(redis);
    const limiter = new RedisConcurrencyLimiter({ redis: client, key: key('call-options'), limit: 1 });
    const before = commands.length;
    await assert.rejects(limiter.acquire({ timeoutMs: 5 } as never), (e: Error & { code?: string; field?: string }) => {
      assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.equal(e.field, 'timeoutMs');
      assert.match(e.message, /Unknown option "timeoutMs" for acquire\(\)/);
      return true;
    });
    await assert.rejects(limiter.acquire({ signal: {} } as never), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'signal' });
    await assert.rejects(limiter.acquire(null as never), { code: 'ERR_SLUICE_INVALID_OPTION' });
    await assert.rejects(limiter.acquire({ signal: AbortSignal.abort('stop') }), (e) => e === 'stop');
    assert.equal(commands.length, before, commands.join(' '));
    assert.equal(limiter.stats().acquired, 0);
    limiter.close();
  });

  it('acquire() - an already aborted signal rejects with its reason before a closed limiter is reported', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('abort-closed'), limit: 1 });
    limiter.close();
    await assert.rejects(limiter.acquire({ signal: AbortSignal.abort('stop') }), (e) => e === 'stop');
    await assert.rejects(limiter.acquire({}), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('close() - rejects waiting callers with ERR_SLUICE_CLOSED; held permits can still be released', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('close'), limit: 1 });
    const held = await limiter.acquire();
    const waiting = limiter.acquire();
    await sleep(20);
    limiter.close();
    await assert.rejects(waiting, { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(limiter.acquire(), { code: 'ERR_SLUICE_CLOSED' });
    assert.equal(await held.release(), true);
  });

  it('stats() - counts grants, releases and the leases held', async () => {
    const limiter = new RedisConcurrencyLimiter({ redis, key: key('stats'), limit: 2, leaseMs: 1000 });
    const a = await limiter.acquire();
    await limiter.tryAcquire();
    await limiter.tryAcquire();
    await a.release();
    const s = limiter.stats();
    assert.deepEqual(
      { held: s.held, acquired: s.acquired, rejected: s.rejected, released: s.released, waiting: s.waiting, degraded: s.redis.degraded },
      { held: 1, acquired: 2, rejected: 1, released: 1, waiting: 0, degraded: false },
    );
    assert.equal(s.local?.limit, 1);
    limiter.close();
  });
});
