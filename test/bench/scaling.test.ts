import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import scaling from '../../bench/scenarios/scaling.js';
import { channelStats, dashboardSample, sqliteLeaseAck, tokenBucketStats } from '../../bench/contenders/scaling.js';

describe('bench scenario scaling', () => {
  it('scaling - one contender per family and size, each larger size measured against the smallest', () => {
    assert.deepEqual(Object.keys(scaling.contenders), [
      'channel-stats-10', 'channel-stats-10k', 'channel-stats-1M',
      'token-bucket-stats-10', 'token-bucket-stats-10k', 'token-bucket-stats-1M',
      'channel-stats-timed-10', 'channel-stats-timed-10k', 'channel-stats-timed-1M',
      'credits-stats-timed-10', 'credits-stats-timed-10k', 'credits-stats-timed-1M',
      'dashboard-sample-10', 'dashboard-sample-10k', 'dashboard-sample-100k', 'dashboard-sample-1M',
      'sqlite-lease-ack-10', 'sqlite-lease-ack-10k', 'sqlite-lease-ack-100k', 'sqlite-lease-ack-1M',
    ]);
    assert.ok(scaling.baseline in scaling.contenders);
    assert.deepEqual(
      scaling.expectations!.map((e) => `${e.contender}/${e.reference}`),
      [
        'channel-stats-10k/channel-stats-10', 'channel-stats-1M/channel-stats-10',
        'token-bucket-stats-10k/token-bucket-stats-10', 'token-bucket-stats-1M/token-bucket-stats-10',
        'channel-stats-timed-10k/channel-stats-timed-10', 'channel-stats-timed-1M/channel-stats-timed-10',
        'credits-stats-timed-10k/credits-stats-timed-10', 'credits-stats-timed-1M/credits-stats-timed-10',
        'dashboard-sample-10k/dashboard-sample-10', 'dashboard-sample-100k/dashboard-sample-10', 'dashboard-sample-1M/dashboard-sample-10',
        'sqlite-lease-ack-10k/sqlite-lease-ack-10', 'sqlite-lease-ack-100k/sqlite-lease-ack-10', 'sqlite-lease-ack-1M/sqlite-lease-ack-10',
      ],
    );
  });

  it('fixtures - each repeats its operation for the budget at a small size and reports the time per operation', async () => {
    const fixtures = [channelStats(10), tokenBucketStats(10), dashboardSample(10), await sqliteLeaseAck(10, { backlog: 12_000 })];
    for (const fixture of fixtures) {
      const { ops, ms, perOp } = await fixture.run(5);
      assert.ok(ops > 0 && ms >= 5, `${ops} ops in ${ms} ms`);
      assert.ok(Math.abs(perOp - ms / ops) < 1e-9);
      await fixture.close();
    }
  });

  it('sqliteLeaseAck() - tops the backlog up between pairs, so a long run never runs dry', async () => {
    const fixture = await sqliteLeaseAck(10, { backlog: 10_500 });
    let total = 0;
    try {
      // A run throws if a lease comes back short; past 10,500 items only the top-ups can have supplied them.
      while (total <= 12_000) total += (await fixture.run(20)).ops;
    } finally {
      await fixture.close();
    }
    assert.ok(total > 12_000);
  });
});
