import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { Channel, ChannelModel } from 'amqplib';
import { ChannelClosedError } from '../../src/core/errors/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { deferred, ManualLimiter, uniqueName, until } from '../brokers/helpers.js';
import { AmqpFixtures, fill, queueDepth } from './helpers.js';
import { consume } from '../../src/adapters/amqp/index.js';

let fx: AmqpFixtures;
let connection: ChannelModel;

before(async () => {
  fx = await AmqpFixtures.open();
  connection = fx.connection;
});

after(async () => {
  await fx.close();
});

const freshQueue = (channel: Channel, args?: Record<string, unknown>) => fx.queue(channel, args);

describe('consume() with a limiter', () => {
  it('consume() - never runs more handlers than limiter.limit and sizes the window from it', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 150);
    const limiter = new ManualLimiter(5);
    let active = 0;
    let peak = 0;
    const consumer = await consume(
      channel,
      queue,
      async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 1));
        active--;
      },
      { limiter },
    );
    assert.equal(consumer.stats().prefetch, 5);
    await until(() => consumer.stats().acked === 150, 10_000, '150 acks');
    await consumer.stop();
    assert.ok(peak <= 5, `peak ${peak}`);
    assert.equal(limiter.inflight, 0);
    await channel.close();
  });

  it('consume() - messages beyond the free permits wait in delivery order; stop() returns them to the queue', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 20);
    const limiter = new ManualLimiter(4);
    const outside = [limiter.tryAcquire()!, limiter.tryAcquire()!]; // other work holds 2 of the 4 permits
    const gate = deferred();
    const started: string[] = [];
    const consumer = await consume(
      channel,
      queue,
      async (msg) => {
        started.push(msg.content.toString());
        await gate.promise;
      },
      { limiter },
    );
    await until(() => consumer.stats().held === 4 && started.length === 2, 5000, '4 held, 2 running');
    assert.equal(consumer.stats().waiting, 2);
    outside[0]!.success();
    await until(() => started.length === 3, 5000, 'third started');
    assert.deepEqual(started, ['0', '1', '2']);
    const stopped = consumer.stop();
    gate.resolve();
    await stopped;
    const stats = consumer.stats();
    assert.equal(stats.returned, 1, 'the message still waiting for a permit went back');
    assert.equal(stats.acked, 3);
    assert.equal(stats.held, 0);
    outside[1]!.success();
    assert.equal(await queueDepth(channel, queue), 17);
    await channel.close();
  });

  it('consume() - re-subscribes with a new window when the limit moves by qosChangeRatio', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    const limiter = new ManualLimiter(8);
    const clock = new VirtualClock();
    const consumer = await consume(channel, queue, () => {}, { limiter, clock, checkIntervalMs: 50 });
    assert.equal(consumer.stats().prefetch, 8);
    limiter.setLimit(9); // a change of 1 < 0.25 × 8: ignored
    clock.advance(50);
    assert.equal(consumer.stats().consuming, true);
    assert.equal(consumer.stats().subscriptions, 1);
    limiter.setLimit(12);
    clock.advance(50); // the periodic check notices and starts the cancel
    await until(() => consumer.stats().prefetch === 12 && consumer.stats().consuming, 5000, 'window 12');
    assert.equal(consumer.stats().qosChanges, 1);
    assert.equal(consumer.stats().subscriptions, 2);
    fill(channel, queue, 30);
    await until(() => consumer.stats().acked === 30, 5000, '30 acks');
    assert.ok(consumer.stats().maxHeld <= 12);
    await consumer.stop();
    await channel.close();
  });
});

describe('consume() pause and resume', () => {
  it('consume() - pauses (basic.cancel) when pressure reads above 1 and resumes at resumeBelow', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    let reading = 0;
    const clock = new VirtualClock();
    const consumer = await consume(channel, queue, () => {}, {
      prefetch: 5,
      pressure: () => reading,
      resumeBelow: 0.5,
      clock,
      checkIntervalMs: 100,
    });
    fill(channel, queue, 10);
    await until(() => consumer.stats().acked === 10, 5000, 'first 10');
    reading = 1.5;
    clock.advance(100);
    await until(() => !consumer.stats().consuming, 5000, 'cancelled');
    assert.equal(consumer.paused, true);
    fill(channel, queue, 10, 10);
    await delay(100); // an absence: give the broker time it would need to deliver
    assert.equal(await queueDepth(channel, queue), 10, 'nothing delivered while paused');
    assert.equal(consumer.stats().delivered, 10);
    reading = 0.7; // between resumeBelow and 1: stays paused
    clock.advance(100);
    assert.equal(consumer.paused, true);
    reading = 0.5;
    clock.advance(100);
    assert.equal(consumer.paused, false);
    await until(() => consumer.stats().acked === 20, 5000, 'all 20 after resume');
    const stats = consumer.stats();
    assert.equal(stats.pauses, 1);
    assert.equal(stats.resumes, 1);
    assert.equal(stats.subscriptions, 2);
    await consumer.stop();
    await channel.close();
  });

  it('consume() - starts paused when pressure is already over 1, and subscribes once it falls', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 3);
    let reading = 2;
    const clock = new VirtualClock();
    const consumer = await consume(channel, queue, () => {}, { pressure: () => reading, clock });
    assert.equal(consumer.stats().consuming, false);
    assert.equal(consumer.paused, true);
    reading = 0;
    clock.advance(100);
    await until(() => consumer.stats().acked === 3, 5000, '3 acks');
    await consumer.stop();
    await channel.close();
  });
});

describe('consume() stop and failure', () => {
  it('stop() - cancels, waits for running handlers, and is idempotent', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 10);
    const gate = deferred();
    const consumer = await consume(channel, queue, () => gate.promise, { prefetch: 3 });
    await until(() => consumer.stats().running === 3, 5000, '3 running');
    let stopped = false;
    const first = consumer.stop().then(() => (stopped = true));
    assert.equal(consumer.stop(), consumer.stop());
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'stop() waits for the running handlers');
    gate.resolve();
    await first;
    assert.equal(consumer.stats().acked, 3);
    assert.equal(consumer.stats().consuming, false);
    assert.equal(await queueDepth(channel, queue), 7);
    await channel.close();
  });

  it('consume() - the signal option stops the consumer', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    const controller = new AbortController();
    const consumer = await consume(channel, queue, () => {}, { signal: controller.signal });
    controller.abort();
    await consumer.stop();
    assert.equal(consumer.stats().consuming, false);
    fill(channel, queue, 2);
    await delay(100); // an absence: give the broker time it would need to deliver
    assert.equal(consumer.stats().delivered, 0);
    assert.equal(await queueDepth(channel, queue), 2);
    await channel.close();
  });

  it('consume() - an already aborted signal rejects with its reason and leaves no subscription', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    const reason = new Error('no thanks');
    await assert.rejects(consume(channel, queue, () => {}, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal((await channel.checkQueue(queue)).consumerCount, 0);
    await channel.close();
  });

  it('stop() - resolves when the channel closed under running handlers; onError hears of it', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 4);
    const gate = deferred();
    const errors: unknown[] = [];
    const consumer = await consume(channel, queue, () => gate.promise, { prefetch: 2, onError: (e) => errors.push(e) });
    await until(() => consumer.stats().running === 2, 5000, '2 running');
    await channel.close();
    gate.resolve();
    await consumer.stop();
    assert.ok(errors.some((e) => e instanceof ChannelClosedError), 'closing reported');
    assert.equal(consumer.stats().settleErrors, 2, 'acks on the closed channel were refused and counted');
    const admin = await connection.createChannel();
    assert.equal(await queueDepth(admin, queue), 4, 'the broker kept the unacked messages');
    await admin.close();
  });

  it('consume() - reports a broker-side cancel (queue deleted) to onError', async () => {
    const channel = await connection.createChannel();
    const queue = uniqueName('sluice-amqp');
    await channel.assertQueue(queue, { durable: true });
    const errors: unknown[] = [];
    const consumer = await consume(channel, queue, () => {}, { onError: (e) => errors.push(e) });
    const admin = await connection.createChannel();
    await admin.deleteQueue(queue);
    await until(() => errors.length === 1, 5000, 'cancel reported');
    assert.ok(errors[0] instanceof ChannelClosedError);
    await consumer.stop();
    assert.equal(consumer.stats().consuming, false);
    await admin.close();
    await channel.close();
  });
});
