// governor() across processes: a consumer process publishes its pressure
// through a PressureCoordinator; a producer in this process reads the group's
// highest reading and a governor sets its limiter's rate from it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { cleanup, connect, Fixture, REDIS_PORT, sleep, uniqueKey, waitFor } from './helpers.js';
import { PressureCoordinator, RedisTokenBucket } from '../../src/adapters/redis/index.js';
import { governor, throttleFactor, TokenBucket, type Governor } from '../../src/index.js';

let redis: Redis;
const prefix = uniqueKey('governor');
const key = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

/**
 * The producer's view of the group: the highest pressure any other live node
 * reported, polled every `intervalMs` (one round trip each). A failed poll
 * keeps the last figure.
 */
function sharedPressure(coordinator: PressureCoordinator, intervalMs: number): { read: () => number; stop: () => void } {
  let highest = 0;
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      try {
        const all = await coordinator.globalPressure();
        let max = 0;
        for (const [id, pressure] of Object.entries(all)) if (id !== coordinator.nodeId && pressure > max) max = pressure;
        highest = max;
      } catch {
        // keep the last reading
      }
      await sleep(intervalMs);
    }
  };
  void poll();
  return { read: () => highest, stop: () => void (stopped = true) };
}

/** Runs `acquire()` in a loop; `take()` returns the items produced since the last call. */
function producer(acquire: () => Promise<void>): { take: () => number; stop: () => Promise<void> } {
  let produced = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await acquire();
      produced++;
    }
  })();
  return {
    take: () => {
      const n = produced;
      produced = 0;
      return n;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Samples `gov.rate` every 10 ms until `until()` holds; returns the samples. */
async function rateWhile(gov: Governor, until: () => boolean, timeoutMs: number, what: string): Promise<number[]> {
  const rates: number[] = [];
  await waitFor(() => {
    rates.push(gov.rate);
    return until();
  }, timeoutMs, what);
  return rates;
}

describe('governor() with PressureCoordinator', () => {
  it('governor() - a pressure published by another process slows a governed TokenBucket here, and its fall lets it speed up gradually', { timeout: 10_000 }, async () => {
    const started = performance.now();
    const consumer = Fixture.start('fixture-pressure.ts', [REDIS_PORT, key('process'), 'consumer']);
    const coordinator = new PressureCoordinator({ redis, nodeId: 'producer', ttlMs: 10_000, key: key('process') });
    const shared = sharedPressure(coordinator, 20);
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 10 });
    const gov = governor({ pressure: shared.read, target: bucket, minRate: 20, maxRate: 1000, intervalMs: 50 });
    const work = producer(() => bucket.acquire());
    try {
      await consumer.waitForLine('ready', 8000);
      work.take();
      await sleep(500);
      const fast = work.take() * 2; // items/s over the half second
      assert.ok(fast > 700 && fast < 1300, `unthrottled: ${fast}/s`);

      consumer.child.stdin!.write('report 4\n'); // the consumer group is four thresholds' worth behind
      const slowRate = 1000 * throttleFactor(4); // 125/s
      const down = await rateWhile(gov, () => gov.rate === slowRate, 2000, `the rate to fall to ${slowRate}`);
      for (let i = 1; i < down.length; i++) assert.ok(down[i]! <= down[i - 1]!, 'the rate only falls while the pressure is high');
      assert.equal(bucket.ratePerSecond, slowRate);
      work.take();
      await sleep(1000);
      const slow = work.take();
      assert.ok(slow > slowRate * 0.75 && slow < slowRate * 1.25, `throttled: ${slow}/s, expected ~${slowRate}`);

      consumer.child.stdin!.write('report 0.2\n'); // caught up
      const up = await rateWhile(gov, () => gov.rate === 1000, 3000, 'the rate to get back to maxRate');
      for (let i = 1; i < up.length; i++) assert.ok(up[i]! >= up[i - 1]!, 'the rate only rises once the pressure is low');
      // Additive increase: (1000 - 20) / 10 = 98/s per 50 ms interval, so at least 8 steps on the way back up.
      const steps = new Set(up).size - 1;
      assert.ok(steps >= 8, `${steps} steps from ${slowRate} back to 1000`);
      assert.ok(gov.stats().increases >= 8);
      console.log(`governor across processes: ${fast}/s unthrottled, ${slow}/s at pressure 4 (expected ${slowRate}), back to 1000/s in ${steps} steps; ${Math.round(performance.now() - started)} ms in all`);
      consumer.child.stdin!.write('leave\n');
      assert.equal(await consumer.exited, 0);
    } finally {
      gov.close();
      shared.stop();
      bucket.close();
      await work.stop().catch(() => undefined);
      coordinator.close();
      await consumer.kill();
    }
  });

  it('governor() - a second coordinator on its own connection slows a shared RedisTokenBucket', { timeout: 10_000 }, async () => {
    const other = await connect();
    const consumer = new PressureCoordinator({ redis: other, nodeId: 'consumer', ttlMs: 10_000, key: key('connection') });
    const coordinator = new PressureCoordinator({ redis, nodeId: 'producer', ttlMs: 10_000, key: key('connection') });
    const shared = sharedPressure(coordinator, 20);
    const bucket = new RedisTokenBucket({ redis, key: key('bucket'), ratePerSecond: 400, burst: 5 });
    const gov = governor({ pressure: shared.read, target: bucket, minRate: 10, maxRate: 400, intervalMs: 50 });
    const work = producer(() => bucket.acquire());
    try {
      await sleep(500);
      const fast = work.take() * 2;
      assert.ok(fast > 300 && fast < 500, `unthrottled: ${fast}/s`);
      await consumer.report(3); // asks for 400 / 4 = 100/s
      await waitFor(() => gov.rate === 100, 2000, 'the rate to fall to 100');
      assert.equal(bucket.ratePerSecond, 100);
      await sleep(100); // calls already sleeping on tokens reserved at the old rate finish
      work.take();
      await sleep(1000);
      const slow = work.take();
      assert.ok(slow > 80 && slow < 120, `throttled: ${slow}/s, expected ~100`);
      assert.equal(bucket.stats().redis.degraded, false);
    } finally {
      gov.close();
      shared.stop();
      bucket.close();
      await work.stop().catch(() => undefined);
      coordinator.close();
      consumer.close();
      other.disconnect();
    }
  });
});
