import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { cleanup, connect, Fixture, REDIS_PORT, uniqueKey, waitFor } from './helpers.js';

let redis: Redis;
const key = uniqueKey('three-processes');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, key);
  redis.disconnect();
});

describe('RedisTokenBucket across processes', () => {
  it('acquire() - three processes sharing 300/s (burst 10) for 5 s together get 1,500 ± 5% plus the burst', async () => {
    const rate = 300;
    const burst = 10;
    const seconds = 5;
    const workers = [1, 2, 3].map(() => Fixture.start('fixture-bucket.ts', [REDIS_PORT, key, rate, burst, seconds * 1000, 4]));
    try {
      await Promise.all(workers.map((w) => w.waitForLine('ready', 15_000)));
      for (const w of workers) w.child.stdin!.write('go\n');
      await waitFor(() => workers.every((w) => w.lines.length === 2), seconds * 1000 + 5000, 'every worker to report');
      const reports = workers.map((w) => JSON.parse(w.lines[1]!) as { count: number; stats: { redis: { degraded: boolean } } });
      const counts = reports.map((r) => r.count);
      const total = counts.reduce((a, b) => a + b, 0);
      const expected = rate * seconds + burst;
      console.log(`three processes: ${counts.join(' + ')} = ${total} (expected ${expected} ± ${rate * seconds * 0.05})`);
      assert.ok(Math.abs(total - expected) <= rate * seconds * 0.05, `total ${total}, expected ${expected} ± 5%`);
      // Each process got a fair share, not one hogging the bucket.
      for (const c of counts) assert.ok(c > total / 6, `counts ${counts.join(', ')}`);
      assert.ok(reports.every((r) => !r.stats.redis.degraded));
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
    }
  });
});
