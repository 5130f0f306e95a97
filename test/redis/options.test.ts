import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter/index.js';
import { connect } from './helpers.js';
import { consumeStream, PressureCoordinator, RedisConcurrencyLimiter, RedisStreamStore, RedisTokenBucket, type RedisClient } from '../../src/adapters/redis/index.js';

let redis: Redis;
before(async () => {
  redis = await connect();
});
after(() => redis.disconnect());

const invalid = (field: string) => ({ code: 'ERR_SLUICE_INVALID_OPTION', message: new RegExp(`"${field.replace('.', '\\.')}"`) });

describe('Redis components - option validation', () => {
  it('RedisTokenBucket - accepts an ioredis client as RedisClient', () => {
    const client: RedisClient = redis;
    const bucket = new RedisTokenBucket({ redis: client, key: 'k', ratePerSecond: 1 });
    assert.equal(bucket.burst, 1);
    bucket.close();
  });

  it('RedisTokenBucket - rejects a missing client, a braced key, a rate <= 0 and a burst < 1', () => {
    assert.throws(() => new RedisTokenBucket({ redis: undefined as never, key: 'k', ratePerSecond: 1 }), invalid('redis'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'a}b', ratePerSecond: 1 }), invalid('key'));
    assert.throws(() => new RedisTokenBucket({ redis, key: '', ratePerSecond: 1 }), invalid('key'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 0 }), invalid('ratePerSecond'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 10, burst: 0.5 }), invalid('burst'));
  });

  it('RedisTokenBucket - rejects bad timeoutMs, probeIntervalMs and clock', () => {
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, timeoutMs: 0 }), invalid('timeoutMs'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, probeIntervalMs: -1 }), invalid('probeIntervalMs'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, clock: {} as never }), invalid('clock'));
  });

  it('RedisTokenBucket - rejects a prefetch that is not an object, tokens outside 1..burst, a holdMs <= 0 and an unknown prefetch key', () => {
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, prefetch: 5 as never }), invalid('prefetch'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 11 } }), invalid('prefetch.tokens'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 0 } }), invalid('prefetch.tokens'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 2.5 } }), invalid('prefetch.tokens'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: {} as never }), invalid('prefetch.tokens'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 5, holdMs: 0 } }), invalid('prefetch.holdMs'));
    assert.throws(
      () => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 5, holdMS: 100 } as never }),
      { code: 'ERR_SLUICE_INVALID_OPTION', message: /Unknown option "holdMS" for RedisTokenBucket prefetch: did you mean "holdMs"\?/ },
    );
    const bucket = new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 100, burst: 10, prefetch: { tokens: 10 } });
    assert.equal(bucket.stats().held, 0);
    bucket.close();
  });

  it('RedisTokenBucket - rejects an unknown fallback mode, a fraction outside (0, 1] and a fraction without local mode', () => {
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback: 'local-ish' as never }), invalid('fallback'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback: { mode: 'nope' as never } }), invalid('fallback.mode'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback: { mode: 'local', fraction: 0 } }), invalid('fallback.fraction'));
    assert.throws(() => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback: { mode: 'local', fraction: 1.5 } }), invalid('fallback.fraction'));
    assert.throws(
      () => new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback: { mode: 'fail-open', fraction: 0.5 } as never }),
      invalid('fallback.fraction'),
    );
  });

  it('RedisTokenBucket - resolves the fallback shorthand and default', () => {
    const fallbacks = ['fail-closed', undefined, { mode: 'local', fraction: 0.25 }] as const;
    const resolved = fallbacks.map((fallback) => {
      const bucket = new RedisTokenBucket({ redis, key: 'k', ratePerSecond: 1, fallback });
      bucket.close();
      return bucket.fallback;
    });
    assert.deepEqual(resolved, [
      { mode: 'fail-closed', fraction: 1 },
      { mode: 'local', fraction: 0.5 },
      { mode: 'local', fraction: 0.25 },
    ]);
  });

  it('RedisConcurrencyLimiter - rejects a non-integer limit, leaseMs < 1, retryIntervalMs < 1 and a subscriber without subscribe()', () => {
    assert.throws(() => new RedisConcurrencyLimiter({ redis, key: 'k', limit: 1.5 }), invalid('limit'));
    assert.throws(() => new RedisConcurrencyLimiter({ redis, key: 'k', limit: 0 }), invalid('limit'));
    assert.throws(() => new RedisConcurrencyLimiter({ redis, key: 'k', limit: 1, leaseMs: 0 }), invalid('leaseMs'));
    assert.throws(() => new RedisConcurrencyLimiter({ redis, key: 'k', limit: 1, retryIntervalMs: 0 }), invalid('retryIntervalMs'));
    assert.throws(() => new RedisConcurrencyLimiter({ redis, key: 'k', limit: 1, subscriber: {} as never }), invalid('subscriber'));
  });

  it('PressureCoordinator - rejects an empty nodeId, a missing ttlMs, a negative tolerance and a source without read()', () => {
    assert.throws(() => new PressureCoordinator({ redis, nodeId: '', ttlMs: 1000 }), invalid('nodeId'));
    assert.throws(() => new PressureCoordinator({ redis, nodeId: 'a' } as never), invalid('ttlMs'));
    assert.throws(() => new PressureCoordinator({ redis, nodeId: 'a', ttlMs: 1000, tolerance: -0.1 }), invalid('tolerance'));
    assert.throws(() => new PressureCoordinator({ redis, nodeId: 'a', ttlMs: 1000, source: {} as never }), invalid('source'));
    assert.throws(() => new PressureCoordinator({ redis, nodeId: 'a', ttlMs: 1000, reportIntervalMs: 0 }), invalid('reportIntervalMs'));
  });

  it('RedisStreamStore - rejects a now that is not a function', () => {
    assert.throws(() => new RedisStreamStore({ redis, key: 'k', now: 5 as never }), invalid('now'));
  });

  it('consumeStream - rejects missing names, a missing handler, maxInFlight < 1 and a limiter without acquire()', () => {
    const base = { redis, stream: 's', group: 'g', consumer: 'c', handler: () => undefined };
    assert.throws(() => consumeStream({ ...base, stream: '' }), invalid('stream'));
    assert.throws(() => consumeStream({ ...base, group: undefined as never }), invalid('group'));
    assert.throws(() => consumeStream({ ...base, handler: undefined as never }), invalid('handler'));
    assert.throws(() => consumeStream({ ...base, maxInFlight: 0 }), invalid('maxInFlight'));
    assert.throws(() => consumeStream({ ...base, blockMs: 0 }), invalid('blockMs'));
    assert.throws(() => consumeStream({ ...base, limiter: {} as ConcurrencyLimiter }), invalid('limiter'));
    assert.throws(() => consumeStream({ ...base, pollSizer: {} as never }), invalid('pollSizer'));
  });
});
