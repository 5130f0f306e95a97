import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { consumeStream, streamLag } from '../../src/adapters/redis/index.js';
import { assertGoverned, reportGoverned, runGoverned } from '../brokers/governed-lag.test-helpers.js';
import { cleanup, connect, uniqueKey } from './helpers.js';

let redis: Redis;
const prefix = uniqueKey('governed');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

describe('governor over streamLag', () => {
  it('governor - a producer governed by a consumer group\'s lag slows to the consumers\' pace with the lag bounded, speeds back up to maxRate once they catch up, and no entry is lost', async () => {
    const stream = `${prefix}:jobs`;
    await redis.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    const threshold = 200;
    const lag = streamLag(redis, { stream, group: 'workers', threshold, intervalMs: 100 });
    try {
      const result = await runGoverned(
        {
          lag,
          publish: (id) => redis.xadd(stream, '*', 'id', String(id)),
          consume: async (handle) =>
            consumeStream({ redis, stream, group: 'workers', consumer: 'w1', maxInFlight: 50, blockMs: 200, handler: (entry) => handle(Number(entry.fields.id)) }),
        },
        {
          maxRate: 400,
          minRate: 20,
          threshold,
          throttleMs: 8000,
          catchUpMs: 5000,
          catchUpRate: 800,
          governorIntervalMs: 250,
          trend: { windowMs: 2000, sampleEveryMs: 100, horizonMs: 1000 },
        },
      );
      const f = assertGoverned(result, 2.5);
      reportGoverned('stream-lag', result, f);
    } finally {
      lag.close();
    }
  });
});
