import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { consumeStream, streamLag } from '../../src/adapters/redis/index.js';
import { assertGoverned, brokerGovernedRun, reportGoverned, runGoverned } from '../brokers/governed-lag.test-helpers.js';
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
    const { threshold } = brokerGovernedRun;
    const lag = streamLag(redis, { stream, group: 'workers', threshold, intervalMs: 100 });
    try {
      const result = await runGoverned(
        {
          lag,
          publish: (id) => redis.xadd(stream, '*', 'id', String(id)),
          consume: async (handle) =>
            consumeStream({ redis, stream, group: 'workers', consumer: 'w1', maxInFlight: 50, blockMs: 200, handler: (entry) => handle(Number(entry.fields.id)) }),
        },
        brokerGovernedRun,
      );
      const f = assertGoverned(result, 2.5);
      reportGoverned('stream-lag', result, f);
    } finally {
      lag.close();
    }
  });
});
