import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { cleanup, connect, recording, sleep, uniqueKey, waitFor } from './helpers.js';
import { RedisTokenBucket } from '../../src/adapters/redis/index.js';
import { governor } from '../../src/core/pressure/index.js';

let redis: Redis;
const prefix = uniqueKey('bucket');
const key = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

describe('RedisTokenBucket', () => {
  it('tryAcquire() - 200 concurrent calls on a full bucket get exactly burst tokens (atomic)', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('atomic'), ratePerSecond: 0.001, burst: 10 });
    const results = await Promise.all(Array.from({ length: 200 }, () => bucket.tryAcquire()));
    assert.equal(results.filter(Boolean).length, 10);
    assert.equal(bucket.stats().rejected, 190);
    bucket.close();
  });

  it('tryAcquire() - two clients on one key share the bucket', async () => {
    const other = await connect();
    const a = new RedisTokenBucket({ redis, key: key('shared'), ratePerSecond: 0.001, burst: 6 });
    const b = new RedisTokenBucket({ redis: other, key: key('shared'), ratePerSecond: 0.001, burst: 6 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).tryAcquire()));
    assert.equal(results.filter(Boolean).length, 6);
    a.close();
    b.close();
    other.disconnect();
  });

  it('acquire() - paces callers to the rate after the burst', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('pace'), ratePerSecond: 200, burst: 5 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 45 }, () => bucket.acquire()));
    const elapsed = performance.now() - started;
    // 40 tokens beyond the burst at 200/s: 200 ms.
    assert.ok(elapsed >= 190 && elapsed < 500, `took ${elapsed} ms`);
    assert.equal(bucket.stats().acquired, 45);
    bucket.close();
  });

  it('acquire(n) - takes a batch of tokens in one round trip and waits what the script says', async () => {
    const { client, commands } = recording(redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('batch'), ratePerSecond: 100, burst: 20 });
    const first = performance.now();
    await bucket.acquire(20);
    const started = performance.now();
    await bucket.acquire(10); // 10 tokens at 100/s: 100 ms, less what accrued since the first call
    const elapsed = performance.now() - started;
    // One EVALSHA per call (plus one EVAL if Redis had not cached the script yet).
    assert.equal(commands.filter((c) => c === 'EVALSHA').length, 2, `sent ${commands.join(', ')}`);
    const accrued = started - first;
    assert.ok(elapsed >= 95 - accrued && elapsed < 400, `waited ${elapsed} ms (${accrued} ms after the first call)`);
    bucket.close();
  });

  it('acquire() - calls made in one turn share one EVALSHA and are served in call order', async () => {
    const { client, commands } = recording(redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('coalesce'), ratePerSecond: 20, burst: 5 });
    try {
      await bucket.tryAcquire(); // loads the script, so the batch below is one EVALSHA
      commands.length = 0;
      const order: number[] = [];
      const started = performance.now();
      const done: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          bucket.acquire().then(() => {
            order.push(i);
            done[i] = performance.now() - started;
          }),
        ),
      );
      assert.deepEqual(commands, ['EVALSHA'], `sent ${commands.join(', ')}`);
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // 4 tokens left after the try; the 5th to 10th caller owe 1 to 6 tokens at 20/s: 50 to 300 ms
      // (less the little that accrued since the try, 0.2 tokens per 10 ms).
      assert.ok(done[9]! >= 250 && done[9]! < 1000, `the last caller waited ${done[9]} ms`);
      assert.equal(bucket.stats().acquired, 11);
    } finally {
      bucket.close();
    }
  });

  it('tryAcquire() - tries and acquires of one turn are served in call order within one round trip', async () => {
    const { client, commands } = recording(redis);
    // Refill is negligible (0.001/s): what each call gets shows the order the script served them in.
    const bucket = new RedisTokenBucket({ redis: client, key: key('coalesce-mixed'), ratePerSecond: 0.001, burst: 4 });
    try {
      await bucket.tryAcquire(1); // loads the script; 3 tokens left
      commands.length = 0;
      const results = await Promise.all([bucket.tryAcquire(2), bucket.tryAcquire(2), bucket.acquire(1), bucket.tryAcquire(1)]);
      assert.deepEqual(results, [true, false, undefined, false]);
      assert.deepEqual(commands, ['EVALSHA']);
      const s = bucket.stats();
      assert.equal(s.acquired, 4);
      assert.equal(s.rejected, 2);
      const tokens = Number(await redis.hget(`{${key('coalesce-mixed')}}:tokens`, 'tokens'));
      assert.ok(tokens >= 0 && tokens < 0.01, `tokens ${tokens}`);
    } finally {
      bucket.close();
    }
  });

  it('acquire() - aborted in the same turn as the call: rejects with the reason, sends nothing, takes no token', async () => {
    const { client, commands } = recording(redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('abort-same-turn'), ratePerSecond: 0.001, burst: 3 });
    try {
      const controller = new AbortController();
      const reason = new Error('changed my mind');
      const aborted = bucket.acquire(2, { signal: controller.signal });
      controller.abort(reason);
      await assert.rejects(aborted, (e) => e === reason);
      assert.deepEqual(commands, []);
      assert.equal(await bucket.tryAcquire(3), true, 'the whole burst is still there');
      assert.equal(bucket.stats().acquired, 3);
      assert.equal(bucket.stats().refunded, 0);
    } finally {
      bucket.close();
    }
  });

  it('setRate() - the next commands refill at the new rate, and the local fallback follows at its fraction', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('set-rate'), ratePerSecond: 50, burst: 5 });
    await bucket.acquire(5); // the burst is gone
    bucket.setRate(1000);
    assert.equal(bucket.ratePerSecond, 1000);
    assert.equal(bucket.stats().ratePerSecond, 1000);
    assert.equal(bucket.stats().local?.ratePerSecond, 500);
    const started = performance.now();
    await Promise.all(Array.from({ length: 50 }, () => bucket.acquire()));
    const elapsed = performance.now() - started;
    // 50 tokens at 1000/s: 50 ms; at the old 50/s it would be a second.
    assert.ok(elapsed >= 40 && elapsed < 400, `took ${elapsed} ms`);
    bucket.setRate(100);
    const slower = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => bucket.acquire()));
    const slowElapsed = performance.now() - slower;
    assert.ok(slowElapsed >= 150 && slowElapsed < 600, `took ${slowElapsed} ms at 100/s`);
    assert.throws(() => bucket.setRate(0), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => bucket.setRate(Infinity), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    bucket.close();
  });

  it('setRate() - a change counts in stats().adjustments and reaches onReconfigure; the same rate, a bad value and a governor do not', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('set-rate-events'), ratePerSecond: 50, burst: 5 });
    const events: string[] = [];
    const off = bucket.onReconfigure((e) => events.push(`${e.setting}: ${e.previous} -> ${e.value}`));
    const gov = governor({ pressure: () => 0, target: bucket, minRate: 10, maxRate: 80, intervalMs: 60_000 });
    try {
      assert.equal(bucket.ratePerSecond, 80); // the governor's first setting
      assert.equal(bucket.stats().adjustments, 0);
      bucket.setRate(200);
      bucket.setRate(200);
      assert.throws(() => bucket.setRate(-1), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      assert.throws(() => bucket.setRate('7' as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
      assert.equal(bucket.ratePerSecond, 200);
      assert.equal(bucket.stats().adjustments, 1);
      assert.equal(bucket.stats().local?.adjustments, 0); // the fallback follows; not an operator change of its own
      assert.deepEqual(events, ['ratePerSecond: 80 -> 200']);
      assert.ok(await bucket.tryAcquire()); // the bucket still serves from Redis after the change
      assert.throws(() => bucket.onReconfigure(null as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    } finally {
      off();
      gov.close();
      bucket.close();
    }
  });

  it('setRate() - two processes disagreeing on the rate: the shared bucket refills between the lowest and the highest', async () => {
    const other = await connect();
    const slow = new RedisTokenBucket({ redis, key: key('disagree'), ratePerSecond: 1000, burst: 4 });
    const fast = new RedisTokenBucket({ redis: other, key: key('disagree'), ratePerSecond: 1000, burst: 4 });
    try {
      await slow.acquire(4); // the burst is gone
      slow.setRate(100);
      fast.setRate(400);
      const started = performance.now();
      for (let i = 0; i < 40; i++) await (i % 2 ? fast : slow).acquire();
      const elapsed = performance.now() - started;
      // 40 tokens: 100 ms at the highest rate (400/s), 400 ms at the lowest (100/s).
      assert.ok(elapsed >= 90, `took ${elapsed} ms: faster than the highest rate`);
      assert.ok(elapsed < 400 + 1500, `took ${elapsed} ms: far slower than the lowest rate`);
    } finally {
      slow.close();
      fast.close();
      other.disconnect();
    }
  });

  it('acquire(n) - rejects n outside 1..burst with ERR_SLUICE_INVALID_ARGUMENT', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('bad-n'), ratePerSecond: 10, burst: 5 });
    await assert.rejects(bucket.acquire(6), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    await assert.rejects(bucket.acquire(0), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    await assert.rejects(bucket.tryAcquire(1.5), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    bucket.close();
  });

  it('acquire() - keeps its state in a hash-tagged key that expires after twice the refill time', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('ttl'), ratePerSecond: 10, burst: 20 });
    await bucket.acquire(20);
    const stateKey = `{${key('ttl')}}:tokens`;
    const ttl = await redis.pttl(stateKey);
    // Empty bucket: 2 s to refill at 10/s, doubled.
    assert.ok(ttl > 3800 && ttl <= 4000, `pttl ${ttl}`);
    assert.deepEqual(Object.keys(await redis.hgetall(stateKey)).sort(), ['tokens', 'ts']);
    bucket.close();
  });

  it('acquire() - an abort while waiting rejects with the reason and hands the tokens back', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('abort'), ratePerSecond: 10, burst: 5 });
    await bucket.acquire(5);
    const controller = new AbortController();
    const waiting = bucket.acquire(5, { signal: controller.signal }); // reserved: would wait 500 ms
    await sleep(50);
    const reason = new Error('gave up');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    // The refund is sent in the background: its round trip may take a while on a busy machine.
    await waitFor(() => bucket.stats().refunded === 5, 2000, 'the refund');
    assert.equal(bucket.stats().waiting, 0);
    // Without the refund the bucket would be 5 in debt; with it, ~0.7 tokens have accrued since.
    const tokens = Number(await redis.hget(`{${key('abort')}}:tokens`, 'tokens'));
    assert.ok(tokens > -1 && tokens < 1, `tokens ${tokens}`);
    bucket.close();
  });

  it('acquire() - an already aborted signal rejects at once without a round trip', async () => {
    const { client, commands } = recording(redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('pre-abort'), ratePerSecond: 10 });
    await assert.rejects(bucket.acquire(1, { signal: AbortSignal.abort('stop') }), (e) => e === 'stop');
    assert.equal(commands.length, 0);
    bucket.close();
  });

  it('acquire() - bad per-call options reject with ERR_SLUICE_INVALID_OPTION before any round trip', async () => {
    const { client, commands } = recording(redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('call-options'), ratePerSecond: 10 });
    await assert.rejects(bucket.acquire(1, { sigal: AbortSignal.abort() } as never), (e: Error & { code?: string; field?: string }) => {
      assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.equal(e.field, 'sigal');
      assert.match(e.message, /Unknown option "sigal" for acquire\(\): did you mean "signal"\?/);
      return true;
    });
    await assert.rejects(bucket.acquire(1, { signal: 'soon' } as never), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'signal' });
    await assert.rejects(bucket.acquire(1, 5 as never), { code: 'ERR_SLUICE_INVALID_OPTION' });
    assert.deepEqual(commands, []);
    assert.equal(bucket.stats().acquired, 0);
    bucket.close();
  });

  it('acquire() - an already aborted signal rejects with its reason before a closed bucket is reported', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('abort-closed'), ratePerSecond: 10 });
    bucket.close();
    await assert.rejects(bucket.acquire(1, { signal: AbortSignal.abort('stop') }), (e) => e === 'stop');
    await assert.rejects(bucket.acquire(1, {}), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('close() - rejects waiting acquires with ERR_SLUICE_CLOSED and refuses new calls', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('close'), ratePerSecond: 5, burst: 1 });
    await bucket.acquire();
    const waiting = bucket.acquire(); // waits ~200 ms
    await sleep(30);
    bucket.close();
    await assert.rejects(waiting, { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(bucket.acquire(), { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(bucket.tryAcquire(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('stats() - reports grants, waits and a healthy link', async () => {
    const bucket = new RedisTokenBucket({ redis, key: key('stats'), ratePerSecond: 10, burst: 2 });
    await bucket.acquire(2);
    await bucket.acquire(1);
    assert.equal(await bucket.tryAcquire(2), false); // two more tokens take 200 ms
    const s = bucket.stats();
    assert.equal(s.acquired, 3);
    assert.equal(s.rejected, 1);
    // The second call found the bucket short by one token (100 ms at 10/s), less whatever accrued in between.
    assert.ok(s.waitedMs > 50 && s.waitedMs < 400, `waitedMs ${s.waitedMs}`);
    assert.equal(s.redis.degraded, false);
    assert.equal(s.redis.errors, 0);
    assert.equal(s.local?.ratePerSecond, 5);
    bucket.close();
  });
});
