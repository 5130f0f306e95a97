import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter/index.js';
import { PollSizer } from '../../src/core/poll-sizer/index.js';
import { cleanup, connect, sleep, uniqueKey, waitFor } from './helpers.js';
import { consumeStream, type StreamEntry } from '../../src/adapters/redis/index.js';

let redis: Redis;
const prefix = uniqueKey('consume');
const stream = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

async function fill(key: string, count: number, from = 0): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = from; i < from + count; i++) pipeline.xadd(key, '*', 'n', String(i));
  await pipeline.exec();
}

describe('consumeStream', () => {
  it('handler - gets every entry with its fields, and each is acked after it succeeds', async () => {
    const key = stream('basic');
    await fill(key, 50);
    const seen: string[] = [];
    const consumer = consumeStream({ redis, stream: key, group: 'g', consumer: 'c1', handler: (e: StreamEntry) => void seen.push(e.fields.n!) });
    await waitFor(() => consumer.stats().acked === 50, 3000, '50 acks');
    await consumer.stop();
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => String(i)));
    const [pending] = (await redis.xpending(key, 'g')) as [number];
    assert.equal(pending, 0);
  });

  it('maxInFlight - never runs more handlers than the limit, and reads no more than the free slots', async () => {
    const key = stream('bounded');
    await fill(key, 300);
    let running = 0;
    let peak = 0;
    const consumer = consumeStream({
      redis,
      stream: key,
      group: 'g',
      consumer: 'c1',
      maxInFlight: 7,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await sleep(2);
        running--;
      },
    });
    await waitFor(() => consumer.stats().acked === 300, 5000, '300 acks');
    await consumer.stop();
    assert.equal(peak, 7);
    assert.ok(consumer.stats().maxInFlight <= 7);
    assert.ok(consumer.stats().lastCount <= 7);
  });

  it('handler - a failed entry stays pending and is claimed again after visibilityTimeoutMs', async () => {
    const key = stream('retry');
    await fill(key, 3);
    const attempts = new Map<string, number>();
    const errors: unknown[] = [];
    const consumer = consumeStream({
      redis,
      stream: key,
      group: 'g',
      consumer: 'c1',
      visibilityTimeoutMs: 200,
      claimIntervalMs: 50,
      blockMs: 50,
      onError: (error) => errors.push(error),
      handler: (e) => {
        const n = (attempts.get(e.fields.n!) ?? 0) + 1;
        attempts.set(e.fields.n!, n);
        if (e.fields.n === '1' && n === 1) throw new Error('first try fails');
      },
    });
    await waitFor(() => consumer.stats().acked === 3, 3000, 'all three acked');
    await consumer.stop();
    assert.deepEqual([...attempts.entries()].sort(), [
      ['0', 1],
      ['1', 2],
      ['2', 1],
    ]);
    assert.equal(errors.length, 1);
    const s = consumer.stats();
    assert.deepEqual([s.failed, s.claimed, s.processed], [1, 1, 3]);
  });

  it('consumer - after a restart under the same name, re-handles what it had read but not acked', async () => {
    const key = stream('restart');
    await fill(key, 5);
    await redis.xgroup('CREATE', key, 'g', '0');
    await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 3, 'STREAMS', key, '>'); // read, then "crashed"
    const seen: string[] = [];
    const consumer = consumeStream({ redis, stream: key, group: 'g', consumer: 'c1', handler: (e) => void seen.push(e.fields.n!) });
    await waitFor(() => consumer.stats().acked === 5, 3000, 'five acks');
    await consumer.stop();
    assert.deepEqual(seen, ['0', '1', '2', '3', '4']);
  });

  it('limiter - bounds in-flight entries by the limiter and releases each permit as success', async () => {
    const key = stream('limiter');
    await fill(key, 100);
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, maxLimit: 4 });
    let running = 0;
    let peak = 0;
    const consumer = consumeStream({
      redis,
      stream: key,
      group: 'g',
      consumer: 'c1',
      limiter,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await sleep(1);
        running--;
      },
    });
    await waitFor(() => consumer.stats().acked === 100, 5000, '100 acks');
    await consumer.stop();
    assert.equal(peak, 4);
    assert.equal(limiter.stats().successes, 100);
    assert.equal(limiter.inflight, 0);
  });

  it('pollSizer - once handler times are known, each read asks only for what fits the interval', async () => {
    const key = stream('sizer');
    await fill(key, 10);
    // 10 ms per entry, 100 ms interval, safety 0.5: 5 entries per read.
    const pollSizer = new PollSizer({ maxPollIntervalMs: 100, safety: 0.5, maxPollRecords: 50 });
    let running = 0;
    let peak = 0;
    const consumer = consumeStream({
      redis,
      stream: key,
      group: 'g',
      consumer: 'c1',
      maxInFlight: 50,
      pollSizer,
      blockMs: 20,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await sleep(10);
        running--;
      },
    });
    await waitFor(() => consumer.stats().acked === 10, 5000, 'the first 10 acks');
    assert.equal(peak, 10, 'before any sample, one read takes everything (maxPollRecords)');
    peak = 0;
    await fill(key, 30, 10);
    await waitFor(() => consumer.stats().acked === 40, 5000, '40 acks');
    await consumer.stop();
    assert.equal(pollSizer.stats().samples, 40);
    // Each entry takes >= 10 ms, so the sizer allows at most 5 held at once (fewer when timers run late).
    assert.ok(peak >= 1 && peak <= 5, `peak ${peak}`);
    assert.ok(consumer.stats().lastCount <= 5, `lastCount ${consumer.stats().lastCount}`);
  });

  it('stop() - lets running handlers finish and acks them before resolving', async () => {
    const key = stream('stop');
    await fill(key, 10);
    let finished = 0;
    const consumer = consumeStream({
      redis,
      stream: key,
      group: 'g',
      consumer: 'c1',
      maxInFlight: 10,
      handler: async () => {
        await sleep(150);
        finished++;
      },
    });
    await waitFor(() => consumer.stats().running === 10, 2000, 'ten running handlers');
    const stopping = consumer.stop();
    assert.equal(consumer.stop(), stopping, 'idempotent');
    await stopping;
    assert.equal(finished, 10);
    assert.equal(consumer.stats().acked, 10);
    assert.equal(consumer.stats().stopped, true);
    const [pending] = (await redis.xpending(key, 'g')) as [number];
    assert.equal(pending, 0);
  });

  it('stop() - cuts a blocking read short', async () => {
    const consumer = consumeStream({ redis, stream: stream('idle'), group: 'g', consumer: 'c1', blockMs: 10_000, handler: () => undefined });
    await sleep(100); // now blocked in XREADGROUP
    const started = performance.now();
    await consumer.stop();
    assert.ok(performance.now() - started < 200);
  });
});
