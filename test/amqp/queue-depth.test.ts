import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp, { type Channel, type ConfirmChannel } from 'amqplib';
import { queueDepth, type AmqpChannelOpener } from '../../src/adapters/amqp/index.js';
import { trend } from '../../src/core/pressure/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { missingOrDuplicated, runWorkload, trendAgainstTruth, sleep, TrackingClock, withinTolerance } from '../../src/adapters/internal/lag-poller.test-helpers.js';
import { AMQP_URL, uniqueName } from '../brokers/helpers.js';
import { AmqpFixtures } from './helpers.js';

let fx: AmqpFixtures;
let admin: Channel;

before(async () => {
  fx = await AmqpFixtures.open();
  admin = await fx.connection.createChannel();
});
after(async () => {
  await admin.close();
  await fx.close();
});

/** The real connection, counting the channels opened and the checks sent on them. */
function counting(): { connection: AmqpChannelOpener; opened: () => number; checks: () => number } {
  let opened = 0;
  let checks = 0;
  const connection: AmqpChannelOpener = {
    async createChannel() {
      opened++;
      const channel = await fx.connection.createChannel();
      const checkQueue = channel.checkQueue.bind(channel);
      return Object.assign(channel, {
        checkQueue: (queue: string) => {
          checks++;
          return checkQueue(queue);
        },
      });
    },
  };
  return { connection, opened: () => opened, checks: () => checks };
}

describe('queueDepth', () => {
  it('stats() - reports the ready messages and the consumers attached; read() is ready / threshold', async () => {
    const queue = await fx.queue(admin);
    for (let i = 0; i < 40; i++) admin.sendToQueue(queue, Buffer.from(String(i)));
    const consumer = await fx.connection.createChannel();
    await consumer.prefetch(5);
    await consumer.consume(queue, () => undefined); // holds 5 unacked: not ready any more
    const depth = queueDepth(fx.connection, queue, { threshold: 10 });
    try {
      let reading = await depth.poll();
      for (let i = 0; i < 50 && depth.stats().ready !== 35; i++) reading = await depth.poll().then(async (r) => (await sleep(10), r));
      assert.equal(depth.stats().ready, 35);
      assert.equal(depth.stats().consumers, 1);
      assert.equal(depth.read(), 3.5);
      assert.equal(reading, 3.5);
      assert.equal(depth.stats().pollErrors, 0);
    } finally {
      depth.close();
      await consumer.close();
    }
  });

  it('read() - tracks the true depth within 10% while the publisher outruns the consumer two to one, the trend() slope follows the true growth within 20%, and no message is lost', async () => {
    const queue = await fx.queue(admin);
    const pub: ConfirmChannel = await fx.connection.createConfirmChannel();
    // Its own connection with TCP_NODELAY: a basic.get right after an ack otherwise waits ~40 ms on Nagle.
    const subConnection = await amqp.connect(AMQP_URL, { noDelay: true });
    const sub = await subConnection.createChannel();
    const depth = queueDepth(fx.connection, queue, { threshold: 100, intervalMs: 100 });
    const growth = trend(depth, { windowMs: 2000, sampleEveryMs: 100 });
    try {
      const result = await runWorkload(
        {
          produce: async (ids) => {
            for (const id of ids) pub.sendToQueue(queue, Buffer.from(String(id)));
            await pub.waitForConfirms();
          },
          // basic.get: a message stops being ready when it is delivered; acked at once.
          consume: async (max) => {
            const ids: number[] = [];
            for (let i = 0; i < max; i++) {
              const msg = await sub.get(queue);
              if (msg === false) break;
              ids.push(Number(msg.content.toString()));
              sub.ack(msg);
            }
            return ids;
          },
        },
        { produceRate: 400, consumeRate: 200, durationMs: 3000, checkEveryMs: 400, atPacedEnd: () => growth.stats(), backlog: async () => (await depth.poll()) * 100 },
      );
      assert.ok(result.checkpoints.length >= 6);
      for (const c of result.checkpoints) assert.ok(withinTolerance(c, 0.1), `reading ${c.reading} outside [${c.low}, ${c.high}] ±10% at ${c.atMs} ms`);
      assert.ok(result.checkpoints.at(-1)!.reading > 3 * result.checkpoints[0]!.reading);
      assert.ok(result.produceRate > 1.6 * result.consumeRate, `produced ${result.produceRate}/s, consumed ${result.consumeRate}/s`);
      assert.deepEqual(missingOrDuplicated(result.consumed, result.sent), { missing: [], duplicated: [] });
      // The trend over the last 2 s of the paced phase against the true growth over the same span.
      const { trendRate, trueRate } = trendAgainstTruth('queue-depth', result, 100);
      assert.ok(Math.abs(trendRate - trueRate) <= 0.2 * trueRate, `trend slope ${trendRate.toFixed(1)}/s against true growth ${trueRate.toFixed(1)}/s`);
      assert.equal(await depth.poll(), 0);
      assert.equal(depth.stats().pollErrors, 0);
    } finally {
      growth.close();
      depth.close();
      await pub.close();
      await subConnection.close();
    }
  });

  it('poll() - one checkQueue per poll on one channel of its own, and never two polls at once', async () => {
    const queue = await fx.queue(admin);
    const { connection, opened, checks } = counting();
    const depth = queueDepth(connection, queue, { threshold: 10, clock: new VirtualClock() });
    try {
      await depth.poll();
      await Promise.all([depth.poll(), depth.poll(), depth.poll()]);
      await depth.poll();
      assert.equal(opened(), 1);
      assert.equal(checks(), 3); // the first (joined by nothing), the three joined, the last
    } finally {
      depth.close();
    }
  });

  it('stats() - a missing queue is ERR_SLUICE_NOT_FOUND at the first poll; the connection survives and the figure appears once the queue exists', async () => {
    const queue = uniqueName('sluice-amqp-missing');
    const { connection, opened } = counting();
    const depth = queueDepth(connection, queue, { threshold: 10, clock: new VirtualClock() });
    try {
      assert.equal(await depth.poll(), 0);
      const s = depth.stats();
      assert.deepEqual([s.polls, s.pollErrors, s.lastError?.code, s.stale, depth.read()], [1, 1, 'ERR_SLUICE_NOT_FOUND', true, 0]);
      assert.match(s.lastError!.message, /AMQP queue ".*" does not exist/);
      // The broker closed queueDepth's channel, not the connection.
      assert.ok((await admin.checkQueue(await fx.queue(admin))).queue.length > 0);
      await admin.assertQueue(queue, { durable: true });
      admin.sendToQueue(queue, Buffer.from('x'));
      let reading = 0;
      for (let i = 0; i < 50 && reading !== 0.1; i++) reading = await depth.poll().then(async (r) => (await sleep(10), r));
      assert.equal(reading, 0.1);
      assert.equal(opened(), 2); // reopened once after the 404
      assert.equal(depth.stats().stale, false);
    } finally {
      depth.close();
      await admin.deleteQueue(queue);
    }
  });

  it('stats() - given a channel, a missing queue is ERR_SLUICE_NOT_FOUND, the connection survives, and later polls say the channel is closed', async () => {
    const queue = uniqueName('sluice-amqp-missing');
    const channel = await fx.connection.createChannel(); // no 'error' listener of its own
    const depth = queueDepth(channel, queue, { threshold: 10, clock: new VirtualClock() });
    try {
      await depth.poll();
      assert.equal(depth.stats().lastError?.code, 'ERR_SLUICE_NOT_FOUND');
      assert.ok((await admin.checkQueue(await fx.queue(admin))).queue.length > 0); // connection still up
      assert.equal(await depth.poll(), 0);
      assert.equal(depth.stats().pollErrors, 2);
      assert.equal(depth.stats().lastError?.code, 'ERR_SLUICE_CLOSED');
      assert.match(depth.stats().lastError!.message, /pass the connection/);
    } finally {
      depth.close();
    }
  });

  it('close() - stops polling, closes its own channel, leaves no timer; idempotent; poll() then rejects', async () => {
    const queue = await fx.queue(admin);
    const clock = new TrackingClock();
    let channelClosed = false;
    const connection: AmqpChannelOpener = {
      async createChannel() {
        const channel = await fx.connection.createChannel();
        channel.on('close', () => (channelClosed = true));
        return channel;
      },
    };
    const depth = queueDepth(connection, queue, { threshold: 10, intervalMs: 20, clock });
    await sleep(150);
    const polls = depth.stats().polls;
    assert.ok(polls >= 3, `${polls} polls in 150 ms at 20 ms`);
    assert.equal(clock.refed, 0);
    depth.close();
    depth.close();
    assert.equal(clock.pending, 0);
    await sleep(100);
    assert.ok(depth.stats().polls <= polls + 1);
    assert.equal(clock.pending, 0);
    assert.equal(channelClosed, true);
    await assert.rejects(depth.poll(), { code: 'ERR_SLUICE_CLOSED' });
  });

  it('queueDepth() - refuses bad options up front, naming the field', () => {
    const cases: [unknown, unknown, unknown, string][] = [
      [fx.connection, 'q', { threshold: -1 }, 'threshold'],
      [fx.connection, 'q', {}, 'threshold'],
      [fx.connection, '', { threshold: 1 }, 'queue'],
      [fx.connection, 'q', { threshold: 1, intervalMs: Number.NaN }, 'intervalMs'],
      [fx.connection, 'q', { threshold: 1, staleAfterMs: 0 }, 'staleAfterMs'],
      [fx.connection, 'q', { threshold: 1, name: '' }, 'name'],
      [fx.connection, 'q', { threshold: 1, treshold: 2 }, 'treshold'],
      [{ publish() {} }, 'q', { threshold: 1 }, 'connectionOrChannel'],
    ];
    for (const [source, queue, options, field] of cases) {
      assert.throws(() => queueDepth(source as never, queue as never, options as never), { code: 'ERR_SLUICE_INVALID_OPTION', field }, field);
    }
  });
});
