import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { streamLag } from '../../src/adapters/redis/index.js';
import { trend } from '../../src/core/pressure/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { missingOrDuplicated, runWorkload, trendAgainstTruth, TrackingClock, withinTolerance, type WorkloadOps } from '../../src/adapters/internal/lag-poller.test-helpers.js';
import { cleanup, connect, PrivateRedis, recording, sleep, uniqueKey } from './helpers.js';

let redis: Redis;
const prefix = uniqueKey('lag');
const key = (name: string) => `${prefix}:${name}`;

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

async function fill(stream: string, from: number, count: number): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = from; i < from + count; i++) pipeline.xadd(stream, '*', 'id', String(i));
  await pipeline.exec();
}

/** Reads up to `count` new entries for consumer `c` of `group`, acks `ack` of them; returns their ids. */
async function take(stream: string, group: string, count: number, ack = count): Promise<number[]> {
  const reply = (await redis.xreadgroup('GROUP', group, 'c', 'COUNT', count, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
  const entries = reply?.[0]?.[1] ?? [];
  if (ack > 0 && entries.length > 0) await redis.xack(stream, group, ...entries.slice(0, ack).map((e) => e[0]));
  return entries.map((e) => Number(e[1][1]));
}

describe('streamLag', () => {
  it('stats() - reports undelivered and pending apart, read() is their sum over threshold, the same from XINFO lag and from counting', async () => {
    const stream = key('apart');
    await fill(stream, 0, 5000);
    await redis.xgroup('CREATE', stream, 'g', '0');
    await take(stream, 'g', 2500, 0); // 2500 pending
    await take(stream, 'g', 1200, 100); // 1100 more pending, 100 acked
    const xinfo = streamLag(redis, { stream, group: 'g', threshold: 1000 });
    const counted = streamLag(redis, { stream, group: 'g', threshold: 1000, lagSource: 'count' });
    try {
      assert.equal(await xinfo.poll(), 4.9);
      assert.equal(await counted.poll(), 4.9);
      for (const s of [xinfo.stats(), counted.stats()]) {
        assert.equal(s.undelivered, 1300);
        assert.equal(s.pending, 3600);
        assert.equal(s.backlog, 4900);
        assert.equal(s.pollErrors, 0);
        assert.equal(s.stale, false);
        assert.ok(s.lastPollAt !== undefined);
      }
      assert.equal(xinfo.stats().lagFrom, 'xinfo'); // Redis 7: XINFO GROUPS has lag
      assert.equal(counted.stats().lagFrom, 'count'); // the Redis 6 computation
    } finally {
      xinfo.close();
      counted.close();
    }
  });

  it('stats() - the counted lag agrees with XINFO lag at every shape: empty, all undelivered, all delivered, deleted entries, a trimmed stream', async () => {
    const stream = key('shapes');
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const sources = [streamLag(redis, { stream, group: 'g', threshold: 1 }), streamLag(redis, { stream, group: 'g', threshold: 1, lagSource: 'count' })];
    const both = async () => {
      const [a, b] = await Promise.all(sources.map((s) => s.poll()));
      return [a, b, sources[0]!.stats().undelivered, sources[1]!.stats().undelivered];
    };
    try {
      assert.deepEqual(await both(), [0, 0, 0, 0]); // empty stream
      await fill(stream, 0, 2500);
      assert.deepEqual(await both(), [2500, 2500, 2500, 2500]); // nothing delivered yet
      await take(stream, 'g', 2500);
      assert.deepEqual(await both(), [0, 0, 0, 0]); // all delivered and acked
      await fill(stream, 2500, 3000);
      await take(stream, 'g', 1700); // 1300 undelivered, both sides > one scan batch
      assert.deepEqual(await both(), [1300, 1300, 1300, 1300]);
      await redis.xtrim(stream, 'MAXLEN', 2000); // trims delivered entries only
      assert.deepEqual(await both(), [1300, 1300, 1300, 1300]);
      assert.equal(sources[0]!.stats().lagFrom, 'xinfo');
      // Deleting an undelivered entry: Redis 7 reports lag null, and 'auto' counts instead.
      const newest = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]!;
      await redis.xdel(stream, newest[0]);
      assert.deepEqual(await both(), [1299, 1299, 1299, 1299]);
      assert.equal(sources[0]!.stats().lagFrom, 'count');
    } finally {
      for (const s of sources) s.close();
    }
  });

  it('read() - tracks the true backlog within 10% while producers outrun the consumer two to one, the trend() slope follows the true growth within 20%, and no entry is lost', async () => {
    const stream = key('track');
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const auto = streamLag(redis, { stream, group: 'g', threshold: 100, intervalMs: 100 });
    const counted = streamLag(redis, { stream, group: 'g', threshold: 100, intervalMs: 100, lagSource: 'count' });
    const growth = trend(auto, { windowMs: 2000, sampleEveryMs: 100 });
    const ops: WorkloadOps = {
      produce: async (ids) => {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.xadd(stream, '*', 'id', String(id));
        await pipeline.exec();
      },
      consume: (max) => take(stream, 'g', max),
    };
    const countedReadings: { reading: number; low: number; high: number }[] = [];
    try {
      const result = await runWorkload(ops, {
        produceRate: 600,
        consumeRate: 300,
        durationMs: 3000,
        atPacedEnd: () => growth.stats(),
        checkEveryMs: 400,
        backlog: async () => {
          const [a] = await Promise.all([auto.poll(), counted.poll().then((b) => countedReadings.push({ reading: b * 100, low: 0, high: 0 }))]);
          return a * 100;
        },
      });
      assert.ok(result.checkpoints.length >= 6);
      for (const c of result.checkpoints) assert.ok(withinTolerance(c, 0.1), `reading ${c.reading} outside [${c.low}, ${c.high}] ±10% at ${c.atMs} ms`);
      result.checkpoints.forEach((c, i) => {
        const b = countedReadings[i]!.reading;
        assert.ok(withinTolerance({ ...c, reading: b }, 0.1), `counted reading ${b} outside [${c.low}, ${c.high}] ±10% at ${c.atMs} ms`);
      });
      // The backlog grew: the last checkpoint is well above the first.
      assert.ok(result.checkpoints.at(-1)!.reading > 3 * result.checkpoints[0]!.reading);
      assert.ok(result.produceRate > 1.6 * result.consumeRate, `produced ${result.produceRate}/s, consumed ${result.consumeRate}/s`);
      assert.deepEqual(missingOrDuplicated(result.consumed, result.sent), { missing: [], duplicated: [] });
      // The trend over the last 2 s of the paced phase against the true growth over the same span.
      const { trendRate, trueRate } = trendAgainstTruth('stream-lag', result, 100);
      assert.ok(Math.abs(trendRate - trueRate) <= 0.2 * trueRate, `trend slope ${trendRate.toFixed(1)}/s against true growth ${trueRate.toFixed(1)}/s`);
      assert.equal(await auto.poll(), 0);
      assert.equal(await counted.poll(), 0);
      assert.equal(auto.stats().pollErrors + counted.stats().pollErrors, 0);
    } finally {
      growth.close();
      auto.close();
      counted.close();
    }
  });

  it('poll() - one round trip per poll once the script is cached, and never two polls at once', async () => {
    const stream = key('trips');
    await fill(stream, 0, 10);
    await redis.xgroup('CREATE', stream, 'g', '0');
    const { client, commands } = recording(redis);
    const lag = streamLag(client, { stream, group: 'g', threshold: 10, clock: new VirtualClock() });
    try {
      await lag.poll(); // the first may need EVAL after NOSCRIPT
      commands.length = 0;
      const readings = await Promise.all([lag.poll(), lag.poll(), lag.poll()]);
      assert.deepEqual(readings, [1, 1, 1]);
      assert.deepEqual(commands, ['EVALSHA']); // the three calls joined one poll
      await lag.poll();
      assert.deepEqual(commands, ['EVALSHA', 'EVALSHA']);
    } finally {
      lag.close();
    }
  });

  it('stats() - a missing stream or group is ERR_SLUICE_NOT_FOUND at the first poll, counted; read() returns 0 without throwing', async () => {
    await redis.xgroup('CREATE', key('nogroup'), 'other', '$', 'MKSTREAM');
    const cases = [
      { stream: key('missing'), group: 'g', message: /Redis stream ".*missing" does not exist/ },
      { stream: key('nogroup'), group: 'g', message: /Consumer group "g" does not exist on Redis stream/ },
    ];
    for (const { stream, group, message } of cases) {
      const lag = streamLag(redis, { stream, group, threshold: 10, clock: new VirtualClock() });
      try {
        assert.equal(await lag.poll(), 0);
        const s = lag.stats();
        assert.equal(s.pollErrors, 1);
        assert.equal(s.polls, 1);
        assert.equal(s.lastError?.code, 'ERR_SLUICE_NOT_FOUND');
        assert.match(s.lastError!.message, message);
        assert.equal(s.stale, true);
        assert.equal(lag.read(), 0);
      } finally {
        lag.close();
      }
    }
    // Created later: the next poll finds it, the error stays visible as the last one seen.
    const stream = key('later');
    const lag = streamLag(redis, { stream, group: 'g', threshold: 10, clock: new VirtualClock() });
    try {
      await lag.poll();
      await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      await fill(stream, 0, 5);
      assert.equal(await lag.poll(), 0.5);
      assert.equal(lag.stats().stale, false);
      assert.equal(lag.stats().lastError?.code, 'ERR_SLUICE_NOT_FOUND');
    } finally {
      lag.close();
    }
  });

  it('read() - a failed poll keeps the last reading, counts the error and turns stale after staleAfterMs', async () => {
    const server = await PrivateRedis.start();
    const client = await server.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const clock = new VirtualClock();
    const lag = streamLag(client, { stream: 'jobs', group: 'g', threshold: 4, intervalMs: 100, staleAfterMs: 300, clock });
    try {
      await client.xgroup('CREATE', 'jobs', 'g', '0', 'MKSTREAM');
      for (let i = 0; i < 6; i++) await client.xadd('jobs', '*', 'id', String(i));
      assert.equal(await lag.poll(), 1.5);
      await server.kill();
      await sleep(50);
      assert.equal(await lag.poll(), 1.5);
      const s = lag.stats();
      assert.equal(s.pollErrors, 1);
      assert.ok(s.lastError !== undefined && s.lastError.message.length > 0);
      assert.equal(s.lastError.message.includes('\n    at '), false); // no stack
      assert.equal(s.stale, false);
      clock.advance(301);
      assert.equal(lag.stats().stale, true);
      assert.equal(lag.read(), 1.5);
    } finally {
      lag.close();
      client.disconnect();
      await server.kill();
    }
  });

  it('close() - stops polling, leaves no timer, is idempotent, and poll() after it rejects with ERR_SLUICE_CLOSED', async () => {
    const stream = key('close');
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const clock = new TrackingClock();
    const lag = streamLag(redis, { stream, group: 'g', threshold: 10, intervalMs: 20, clock });
    await sleep(150);
    const polls = lag.stats().polls;
    assert.ok(polls >= 3, `${polls} polls in 150 ms at 20 ms`);
    assert.equal(clock.refed, 0); // every timer unref'd
    lag.close();
    lag.close();
    assert.equal(clock.pending, 0);
    await sleep(100);
    assert.ok(lag.stats().polls <= polls + 1); // at most the one in flight at close, and it is ignored
    assert.equal(clock.pending, 0);
    assert.equal(lag.stats().closed, true);
    await assert.rejects(lag.poll(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('streamLag() - refuses bad options up front, naming the field', () => {
    const ok = { stream: 's', group: 'g', threshold: 10 };
    const cases: [unknown, unknown, string][] = [
      [redis, { ...ok, threshold: 0 }, 'threshold'],
      [redis, { stream: 's', group: 'g' }, 'threshold'],
      [redis, { ...ok, stream: '' }, 'stream'],
      [redis, { ...ok, group: 7 }, 'group'],
      [redis, { ...ok, intervalMs: 0 }, 'intervalMs'],
      [redis, { ...ok, staleAfterMs: -1 }, 'staleAfterMs'],
      [redis, { ...ok, lagSource: 'lag' }, 'lagSource'],
      [redis, { ...ok, clock: {} }, 'clock'],
      [redis, { ...ok, intervallMs: 100 }, 'intervallMs'],
      [{}, ok, 'redis'],
    ];
    for (const [client, options, field] of cases) {
      assert.throws(() => streamLag(client as never, options as never), { code: 'ERR_SLUICE_INVALID_OPTION', field }, field);
    }
    assert.throws(() => streamLag(redis, { ...ok, intervallMs: 100 } as never), /did you mean "intervalMs"/);
  });
});
