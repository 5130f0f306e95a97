import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamClient } from 'nats';
import { jetStreamLag, type JetStreamLagManager } from '../../src/adapters/nats/index.js';
import { trend } from '../../src/core/pressure/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { missingOrDuplicated, runWorkload, trendAgainstTruth, sleep, TrackingClock, withinTolerance } from '../../src/adapters/internal/lag-poller.test-helpers.js';
import { JetStreamFixtures } from './helpers.js';

let fx: JetStreamFixtures;
let js: JetStreamClient;

before(async () => {
  fx = await JetStreamFixtures.open();
  js = fx.nc.jetstream();
});
after(async () => {
  await fx.close();
});

/** The real manager, counting the consumer-info requests sent through it. */
function counting(): { jsm: JetStreamLagManager; requests: () => number } {
  let requests = 0;
  const jsm: JetStreamLagManager = {
    consumers: {
      info: (stream, consumer) => {
        requests++;
        return fx.jsm.consumers.info(stream, consumer);
      },
    },
  };
  return { jsm, requests: () => requests };
}

describe('jetStreamLag', () => {
  it('stats() - reports num_pending and num_ack_pending apart; read() is their sum over threshold', async () => {
    const f = await fx.create();
    await Promise.all(Array.from({ length: 30 }, (_, i) => js.publish(f.subject, String(i))));
    const consumer = await js.consumers.get(f.stream, f.consumer);
    const batch = await consumer.fetch({ max_messages: 12, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      if (n++ < 4) await m.ackAck(); // 4 acked, 8 delivered and not acked
      if (n === 12) break;
    }
    const lag = jetStreamLag(fx.jsm, f.stream, f.consumer, { threshold: 10 });
    try {
      assert.equal(await lag.poll(), 2.6);
      const s = lag.stats();
      assert.deepEqual([s.numPending, s.numAckPending, s.backlog, s.pollErrors, s.stale], [18, 8, 26, 0, false]);
      const truth = await fx.info(f);
      assert.deepEqual([truth.num_pending, truth.num_ack_pending], [18, 8]);
    } finally {
      lag.close();
    }
  });

  it('read() - tracks the true backlog within 10% while the publisher outruns the consumer two to one, the trend() slope follows the true growth within 20%, and no message is lost', async () => {
    const f = await fx.create({ max_ack_pending: 10_000 });
    const consumer = await js.consumers.get(f.stream, f.consumer);
    const lag = jetStreamLag(fx.jsm, f.stream, f.consumer, { threshold: 100, intervalMs: 100 });
    const growth = trend(lag, { windowMs: 2000, sampleEveryMs: 100 });
    try {
      const result = await runWorkload(
        {
          produce: async (ids) => {
            await Promise.all(ids.map((id) => js.publish(f.subject, String(id))));
          },
          consume: async (max) => {
            const ids: number[] = [];
            const batch = await consumer.fetch({ max_messages: max, expires: 1000 });
            for await (const m of batch) {
              ids.push(Number(m.string()));
              await m.ackAck();
              if (ids.length === max) break;
            }
            return ids;
          },
        },
        { produceRate: 400, consumeRate: 200, durationMs: 3000, checkEveryMs: 400, atPacedEnd: () => growth.stats(), backlog: async () => (await lag.poll()) * 100 },
      );
      assert.ok(result.checkpoints.length >= 6);
      for (const c of result.checkpoints) assert.ok(withinTolerance(c, 0.1), `reading ${c.reading} outside [${c.low}, ${c.high}] ±10% at ${c.atMs} ms`);
      assert.ok(result.checkpoints.at(-1)!.reading > 3 * result.checkpoints[0]!.reading);
      assert.ok(result.produceRate > 1.6 * result.consumeRate, `produced ${result.produceRate}/s, consumed ${result.consumeRate}/s`);
      assert.deepEqual(missingOrDuplicated(result.consumed, result.sent), { missing: [], duplicated: [] });
      // The trend over the last 2 s of the paced phase against the true growth over the same span.
      const { trendRate, trueRate } = trendAgainstTruth('jetstream-lag', result, 100);
      assert.ok(Math.abs(trendRate - trueRate) <= 0.2 * trueRate, `trend slope ${trendRate.toFixed(1)}/s against true growth ${trueRate.toFixed(1)}/s`);
      assert.equal(await lag.poll(), 0);
      assert.equal(lag.stats().pollErrors, 0);
    } finally {
      growth.close();
      lag.close();
    }
  });

  it('poll() - one consumer-info request per poll, and never two polls at once', async () => {
    const f = await fx.create();
    const { jsm, requests } = counting();
    const lag = jetStreamLag(jsm, f.stream, f.consumer, { threshold: 10, clock: new VirtualClock() });
    try {
      await lag.poll();
      await Promise.all([lag.poll(), lag.poll(), lag.poll()]);
      await lag.poll();
      assert.equal(requests(), 3);
    } finally {
      lag.close();
    }
  });

  it('stats() - a missing stream or consumer is ERR_SLUICE_NOT_FOUND at the first poll, counted; read() returns 0 without throwing', async () => {
    const f = await fx.create();
    const cases = [
      { stream: `${f.stream}_missing`, consumer: f.consumer, message: /JetStream stream ".*_missing" does not exist/ },
      { stream: f.stream, consumer: 'nobody', message: /JetStream consumer "nobody" does not exist on stream/ },
    ];
    for (const { stream, consumer, message } of cases) {
      const lag = jetStreamLag(fx.jsm, stream, consumer, { threshold: 10, clock: new VirtualClock() });
      try {
        assert.equal(await lag.poll(), 0);
        const s = lag.stats();
        assert.deepEqual([s.polls, s.pollErrors, s.lastError?.code, s.stale, lag.read()], [1, 1, 'ERR_SLUICE_NOT_FOUND', true, 0]);
        assert.match(s.lastError!.message, message);
      } finally {
        lag.close();
      }
    }
  });

  it('read() - a failed poll keeps the last reading and turns stale after staleAfterMs', async () => {
    const f = await fx.create();
    await Promise.all(Array.from({ length: 5 }, (_, i) => js.publish(f.subject, String(i))));
    const clock = new VirtualClock();
    const lag = jetStreamLag(fx.jsm, f.stream, f.consumer, { threshold: 10, intervalMs: 100, staleAfterMs: 300, clock });
    try {
      assert.equal(await lag.poll(), 0.5);
      await fx.jsm.consumers.delete(f.stream, f.consumer);
      assert.equal(await lag.poll(), 0.5);
      assert.deepEqual([lag.stats().pollErrors, lag.stats().lastError?.code, lag.stats().stale], [1, 'ERR_SLUICE_NOT_FOUND', false]);
      clock.advance(301);
      assert.equal(lag.stats().stale, true);
      assert.equal(lag.read(), 0.5);
    } finally {
      lag.close();
    }
  });

  it('close() - stops polling, leaves no timer, is idempotent, and poll() after it rejects with ERR_SLUICE_CLOSED', async () => {
    const f = await fx.create();
    const clock = new TrackingClock();
    const lag = jetStreamLag(fx.jsm, f.stream, f.consumer, { threshold: 10, intervalMs: 20, clock });
    await sleep(150);
    const polls = lag.stats().polls;
    assert.ok(polls >= 3, `${polls} polls in 150 ms at 20 ms`);
    assert.equal(clock.refed, 0);
    lag.close();
    lag.close();
    assert.equal(clock.pending, 0);
    await sleep(100);
    assert.ok(lag.stats().polls <= polls + 1);
    assert.equal(clock.pending, 0);
    await assert.rejects(lag.poll(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('jetStreamLag() - refuses bad options up front, naming the field', () => {
    const cases: [unknown, unknown, unknown, unknown, string][] = [
      [fx.jsm, 'S', 'c', { threshold: 0 }, 'threshold'],
      [fx.jsm, 'S', 'c', undefined, 'threshold'],
      [fx.jsm, '', 'c', { threshold: 1 }, 'stream'],
      [fx.jsm, 'S', null, { threshold: 1 }, 'consumer'],
      [fx.jsm, 'S', 'c', { threshold: 1, intervalMs: 0.5 }, 'intervalMs'],
      [fx.jsm, 'S', 'c', { threshold: 1, clock: Date }, 'clock'],
      [fx.jsm, 'S', 'c', { threshold: 1, interval: 5 }, 'interval'],
      [js, 'S', 'c', { threshold: 1 }, 'jsm'],
    ];
    for (const [jsm, stream, consumer, options, field] of cases) {
      assert.throws(() => jetStreamLag(jsm as never, stream as never, consumer as never, options as never), { code: 'ERR_SLUICE_INVALID_OPTION', field }, field);
    }
  });
});
