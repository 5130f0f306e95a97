// RedisTokenBucket's opt-in prefetch: tokens taken from the shared bucket
// ahead of the calls and handed out without a round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connect, recording, redisForFile, sleep, waitFor } from './helpers.js';
import { RedisTokenBucket } from '../../src/adapters/redis/index.js';
import { MetricsCollector } from '../../src/core/metrics/index.js';

const shared = redisForFile('prefetch');
const key = shared.key;

describe('RedisTokenBucket prefetch', () => {
  /** Tokens in the shared bucket now, as Redis stores them (refill negligible in these tests). */
  const balance = async (name: string) => Number(await shared.redis.hget(`{${key(name)}}:tokens`, 'tokens'));

  it('acquire() - one caller in a loop gets many tokens per round trip, and every token is accounted for', async () => {
    const { client, commands } = recording(shared.redis);
    const bucket = new RedisTokenBucket({ redis: client, key: key('pf-loop'), ratePerSecond: 1_000_000, prefetch: { tokens: 20 } });
    await bucket.tryAcquire(); // loads the script, so what follows is EVALSHA only
    commands.length = 0;
    for (let i = 0; i < 200; i++) await bucket.acquire();
    const s = bucket.stats();
    // A command brings at most 20 tokens (so at least 9 for the 180 beyond the first prefetch),
    // and a refill starts at half: about 1 to 2 commands per 20 calls, never one per call.
    const evalshas = commands.filter((c) => c === 'EVALSHA').length;
    assert.ok(evalshas >= 9 && evalshas <= 45, `${evalshas} EVALSHA for 200 calls`);
    assert.equal(s.acquired, 201);
    assert.ok(s.held >= 0 && s.held <= 20, `held ${s.held}`);
    // Every call not served by a command of its own was served from prefetched tokens, and
    // every prefetched token was handed to a call, is still held, or went back.
    const servedFromHeld = s.prefetched - s.held - s.returned;
    assert.ok(servedFromHeld >= s.acquired - (evalshas + 1) && servedFromHeld <= s.acquired, JSON.stringify(s));
    bucket.close();
  });

  it('tryAcquire() - takes only tokens the shared bucket has: what one process holds, another cannot get', async () => {
    const other = await connect();
    const { client, commands } = recording(shared.redis);
    const a = new RedisTokenBucket({ redis: client, key: key('pf-share'), ratePerSecond: 0.001, burst: 5, prefetch: { tokens: 5 } });
    const b = new RedisTokenBucket({ redis: other, key: key('pf-share'), ratePerSecond: 0.001, burst: 5 });
    try {
      assert.equal(await a.tryAcquire(), true); // takes 1, prefetches the 4 left
      assert.equal(a.stats().held, 4);
      assert.equal(await b.tryAcquire(), false);
      commands.length = 0;
      for (let i = 0; i < 4; i++) assert.equal(await a.tryAcquire(), true);
      assert.equal(a.stats().held, 0);
      // Served from the held tokens; at most the background refill went out, and it found the bucket empty.
      assert.ok(commands.length <= 1, `sent ${commands.join(', ')}`);
      assert.equal(a.stats().prefetched, 4);
      assert.equal(await a.tryAcquire(), false); // the bucket is empty and a holds none: Redis says no
      const s = a.stats();
      assert.deepEqual([s.acquired, s.prefetched, s.rejected], [5, 4, 1]);
    } finally {
      a.close();
      b.close();
      other.disconnect();
    }
  });

  it('acquire() - a short bucket prefetches nothing: calls reserve and wait as without prefetch', async () => {
    const bucket = new RedisTokenBucket({ redis: shared.redis, key: key('pf-short'), ratePerSecond: 100, burst: 2, prefetch: { tokens: 2 } });
    const started = performance.now();
    await Promise.all(Array.from({ length: 12 }, () => bucket.acquire()));
    const elapsed = performance.now() - started;
    // 10 tokens beyond the burst at 100/s: 100 ms whether or not a prefetch ran; nothing is admitted early.
    assert.ok(elapsed >= 90 && elapsed < 600, `took ${elapsed} ms`);
    assert.equal(bucket.stats().acquired, 12);
    bucket.close();
  });

  it('prefetch.holdMs - held tokens unused that long go back to the shared bucket', async () => {
    const bucket = new RedisTokenBucket({ redis: shared.redis, key: key('pf-hold'), ratePerSecond: 0.001, burst: 10, prefetch: { tokens: 6, holdMs: 100 } });
    await bucket.acquire();
    assert.equal(bucket.stats().held, 6);
    assert.ok((await balance('pf-hold')) < 3.1, 'the held tokens left the shared bucket');
    await bucket.acquire(); // from the held ones
    const waited = await waitFor(() => bucket.stats().returned === 5, 3000, 'the held tokens to be returned');
    assert.ok(waited < 2000, `returned after ${waited} ms`);
    const s = bucket.stats();
    assert.deepEqual([s.held, s.prefetched, s.acquired], [0, 6, 2]);
    const left = await balance('pf-hold');
    assert.ok(left > 7.9 && left < 8.1, `balance ${left}: 10 - 2 used`);
    bucket.close();
  });

  it('stats() - prefetched and returned export as counters, held as a gauge', async () => {
    const bucket = new RedisTokenBucket({ redis: shared.redis, key: key('pf-metrics'), ratePerSecond: 0.001, burst: 10, prefetch: { tokens: 3 } });
    await bucket.acquire();
    const samples = new MetricsCollector({ bucket }).collect();
    const find = (stat: string) => {
      const sample = samples.find((s) => Object.values(s.labels).includes(stat));
      return sample === undefined || sample.type === 'histogram' ? undefined : [sample.type, sample.value];
    };
    assert.deepEqual(find('prefetched'), ['counter', 3]);
    assert.deepEqual(find('returned'), ['counter', 0]);
    assert.deepEqual(find('held'), ['gauge', 3]);
    bucket.close();
  });

  it('close() - hands the held tokens back', async () => {
    const bucket = new RedisTokenBucket({ redis: shared.redis, key: key('pf-close'), ratePerSecond: 0.001, burst: 10, prefetch: { tokens: 4, holdMs: 60_000 } });
    await bucket.acquire();
    assert.equal(bucket.stats().held, 4);
    bucket.close();
    assert.equal(bucket.stats().held, 0);
    await waitFor(() => bucket.stats().returned === 4, 3000, 'the held tokens to be returned');
    const left = await balance('pf-close');
    assert.ok(left > 8.9 && left < 9.1, `balance ${left}: 10 - 1 used`);
    await assert.rejects(bucket.acquire(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('acquire() / tryAcquire() / abort / holdMs / close() - any sequence: every token the shared bucket gave is held by a caller or back in the bucket (fuzz)', async () => {
    type Op = { kind: 'try'; n: number } | { kind: 'acquire'; n: number; abortAfterMs: number } | { kind: 'turn' } | { kind: 'sleep'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('try' as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('acquire' as const), n: fc.integer({ min: 1, max: 3 }), abortAfterMs: fc.integer({ min: 0, max: 30 }) }),
      fc.constant({ kind: 'turn' as const }),
      fc.record({ kind: fc.constant('sleep' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 10, max: 200 }),
        fc.array(op, { minLength: 1, maxLength: 30 }),
        async (burst, wanted, holdMs, ops) => {
          const name = `pf-fuzz-${run++}`;
          // Refill is negligible (1 token in 1000 s), so the bucket's balance is what the calls left in it.
          const bucket = new RedisTokenBucket({ redis: shared.redis, key: key(name), ratePerSecond: 0.001, burst, prefetch: { tokens: Math.min(wanted, burst), holdMs } });
          let granted = 0;
          const outstanding: Promise<unknown>[] = [
            bucket.tryAcquire().then((ok) => void (granted += ok ? 1 : 0)), // every run touches the bucket at least once
          ];
          for (const o of ops) {
            if (o.kind === 'try') {
              outstanding.push(bucket.tryAcquire(o.n).then((ok) => void (granted += ok ? o.n : 0)));
            } else if (o.kind === 'acquire') {
              // On a short bucket a reservation waits ~1000 s per token: the abort ends it and hands it back.
              const controller = new AbortController();
              const timer = setTimeout(() => controller.abort(), o.abortAfterMs);
              outstanding.push(
                bucket.acquire(o.n, { signal: controller.signal }).then(
                  () => void (granted += o.n),
                  () => undefined,
                ).finally(() => clearTimeout(timer)),
              );
            } else if (o.kind === 'turn') {
              await Promise.all(outstanding.splice(0));
            } else {
              await sleep(o.ms);
            }
          }
          await Promise.all(outstanding);
          bucket.close();
          // Commands on one connection run in order: once these replies are in, every earlier hand-back
          // has been applied, and so have those sent when the replies before them arrived.
          await shared.redis.ping();
          await shared.redis.ping();
          const s = bucket.stats();
          assert.equal(s.acquired, granted, 'stats().acquired is what the callers were given');
          assert.equal(s.held, 0);
          const balance = Number(await shared.redis.hget(`{${key(name)}}:tokens`, 'tokens'));
          assert.ok(Math.abs(balance + granted - burst) < 0.05, `balance ${balance} + granted ${granted} should be burst ${burst}: ${JSON.stringify(s)}`);
        },
      ),
      { numRuns: 40 },
    );
  });
});
