import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { consumeStream, RedisConcurrencyLimiter } from '../../src/adapters/redis/index.js';
import { cleanup, connect, Fixture, REDIS_PORT, sleep, uniqueKey, waitFor } from './helpers.js';

let redis: Redis;
const prefix = uniqueKey('kill');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

describe('holders that are SIGKILLed', () => {
  it('RedisConcurrencyLimiter - the leases of a killed process come back by themselves after leaseMs', async () => {
    const key = `${prefix}:leases`;
    const leaseMs = 1000;
    const holder = Fixture.start('fixture-leases.ts', [REDIS_PORT, key, 3, leaseMs, 3]);
    await holder.waitForLine('held', 15_000);
    const grantedAt = performance.now();
    await holder.kill();
    const limiter = new RedisConcurrencyLimiter({ redis, key, limit: 3, leaseMs });
    try {
      assert.equal(await limiter.tryAcquire(), undefined, 'all three permits are still leased by the dead process');
      // The dead process took its three leases one after another, a few ms
      // apart, before it printed "held"; each comes back leaseMs after its own
      // grant, so all three are waited for, not tried at once after the first.
      const permits = [];
      const freedAfter: number[] = [];
      for (let i = 0; i < 3; i++) {
        permits.push(await limiter.acquire({ signal: AbortSignal.timeout(leaseMs + 5_000) }));
        freedAfter.push(performance.now() - grantedAt);
      }
      console.log(`leases freed ${freedAfter.map((ms) => ms.toFixed(0)).join(', ')} ms after the dead holder took the last one (leaseMs ${leaseMs})`);
      // The first lease was granted before "held" was seen, so it may come back a little before leaseMs has passed since then.
      assert.ok(freedAfter[0]! >= leaseMs - 200, `the first lease came back after ${freedAfter[0]} ms, before its leaseMs`);
      assert.ok(freedAfter[2]! < leaseMs + 500, `the last lease came back only after ${freedAfter[2]} ms`);
      await Promise.all(permits.map((p) => p.release()));
    } finally {
      limiter.close();
    }
  });

  it('consumeStream - entries a killed consumer read but never acked are claimed and handled by another', async () => {
    const stream = `${prefix}:stream`;
    const total = 2000;
    const pipeline = redis.pipeline();
    for (let n = 0; n < total; n++) pipeline.xadd(stream, '*', 'n', String(n));
    await pipeline.exec();
    const victim = Fixture.start('fixture-consumer.ts', [REDIS_PORT, stream, 'g', 'victim', 20, 50]);
    await waitFor(() => victim.lines.length >= 200, 15_000, 'the victim to handle 200 entries');
    await victim.kill();
    const doneByVictim = new Set(victim.lines.map((l) => (JSON.parse(l) as { done: string }).done));
    const pending = (await redis.xpending(stream, 'g', '-', '+', 1000, 'victim')) as [string, string, number, number][];
    assert.ok(pending.length > 0 && pending.length <= 50, `the victim held ${pending.length} unacked entries (maxInFlight 50)`);

    const handledBySurvivor = new Set<string>();
    const idsBySurvivor = new Set<string>();
    const survivor = consumeStream({
      redis,
      stream,
      group: 'g',
      consumer: 'survivor',
      maxInFlight: 100,
      visibilityTimeoutMs: 500,
      claimIntervalMs: 100,
      blockMs: 100,
      handler: (entry) => {
        handledBySurvivor.add(entry.fields.n!);
        idsBySurvivor.add(entry.id);
      },
    });
    await waitFor(async () => ((await redis.xpending(stream, 'g')) as [number])[0] === 0 && handledBySurvivor.size + doneByVictim.size >= total, 10_000, 'everything acked');
    await survivor.stop();
    for (const [id] of pending) assert.ok(idsBySurvivor.has(id), `entry ${id} of the dead consumer was redelivered`);
    const all = new Set([...doneByVictim, ...handledBySurvivor]);
    assert.equal(all.size, total, 'no entry lost');
    assert.ok(survivor.stats().claimed >= pending.length);
    console.log(`victim handled ${doneByVictim.size}, held ${pending.length} unacked at death; survivor claimed ${survivor.stats().claimed}, handled ${handledBySurvivor.size}`);
    await sleep(10);
  });
});
