import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { ErrorCode, InvalidArgumentError, InvalidOptionError } from '../../src/core/errors/index.js';
import { ManualLimiter, uniqueName, until } from '../brokers/helpers.js';
import { AmqpFixtures, fill, getEventually, queueDepth } from './helpers.js';
import { consume, type AmqpChannel } from '../../src/adapters/amqp/index.js';

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

function assertInvalidOption(error: unknown, field: string): true {
  assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
  assert.equal(error.code, ErrorCode.invalidOption);
  assert.equal(error.field, field);
  assert.ok(error.message.includes(`"${field}"`), error.message);
  return true;
}

const _typeCheck = (ch: Channel) => {
  const structural: AmqpChannel = ch;
  return consume(ch, 'q', (msg) => {
    const typed: ConsumeMessage = msg;
    return [structural, typed];
  });
};
void _typeCheck;

describe('consume() options', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['prefetch', { prefetch: 0 }],
    ['prefetch', { prefetch: 70_000 }],
    ['prefetch', { prefetch: 5, limiter: new ManualLimiter(4) }],
    ['limiter', { limiter: { limit: 3 } }],
    ['pressure', { pressure: 5 }],
    ['resumeBelow', { resumeBelow: 1.5 }],
    ['checkIntervalMs', { checkIntervalMs: 0 }],
    ['qosChangeRatio', { qosChangeRatio: 0 }],
    ['requeue', { requeue: 'yes' }],
    ['deadLetterExchange', { deadLetterExchange: 7 }],
    ['onError', { onError: 'log' }],
    ['signal', { signal: 'stop' }],
    ['clock', { clock: {} }],
  ];
  for (const [field, options] of cases) {
    it(`consume() - rejects an invalid ${field} (${JSON.stringify(options[field] ?? options)}) naming the field`, async () => {
      const channel = await connection.createChannel();
      await assert.rejects(
        consume(channel, 'unused', () => {}, options as never),
        (error) => assertInvalidOption(error, field),
      );
      await channel.close();
    });
  }

  it('consume() - rejects a bad queue name or handler with InvalidArgumentError', async () => {
    const channel = await connection.createChannel();
    await assert.rejects(consume(channel, '', () => {}), InvalidArgumentError);
    await assert.rejects(consume(channel, 'q', 'nope' as never), InvalidArgumentError);
    await assert.rejects(consume({} as never, 'q', () => {}), InvalidArgumentError);
    await channel.close();
  });

  it('consume() - rejects with the broker error when the queue does not exist', async () => {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // the broker closes the channel with 404
    await assert.rejects(consume(channel, uniqueName('missing'), () => {}), /NOT_FOUND|404/);
  });
});

describe('consume() processing', () => {
  it('consume() - acks every message after its handler succeeds', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 200);
    const seen = new Set<string>();
    const consumer = await consume(channel, queue, async (msg) => {
      await new Promise((r) => setImmediate(r));
      seen.add(msg.content.toString());
    });
    await until(() => consumer.stats().acked === 200, 10_000, '200 acks');
    await consumer.stop();
    assert.equal(seen.size, 200);
    assert.equal(await queueDepth(channel, queue), 0);
    const stats = consumer.stats();
    assert.equal(stats.delivered, 200);
    assert.equal(stats.failed, 0);
    assert.equal(stats.held, 0);
    await channel.close();
  });

  it('consume() - holds at most `prefetch` unacked messages and runs at most that many handlers', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 100);
    let active = 0;
    let peak = 0;
    const consumer = await consume(
      channel,
      queue,
      async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 2));
        active--;
      },
      { prefetch: 7 },
    );
    await until(() => consumer.stats().acked === 100, 10_000, '100 acks');
    await consumer.stop();
    assert.equal(consumer.stats().prefetch, 7);
    assert.ok(peak <= 7 && peak >= 2, `peak ${peak}`);
    assert.ok(consumer.stats().maxHeld <= 7, `maxHeld ${consumer.stats().maxHeld}`);
    await channel.close();
  });

  it('consume() - requeues a message whose handler throws and reports it to onError', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 1);
    const errors: Array<[unknown, ConsumeMessage | undefined]> = [];
    const deliveries: boolean[] = [];
    const consumer = await consume(
      channel,
      queue,
      (msg) => {
        deliveries.push(msg.fields.redelivered);
        if (!msg.fields.redelivered) throw new Error('first attempt fails');
      },
      { onError: (error, msg) => errors.push([error, msg]) },
    );
    await until(() => consumer.stats().acked === 1, 10_000, 'redelivered message acked');
    await consumer.stop();
    assert.deepEqual(deliveries, [false, true]);
    assert.equal(errors.length, 1);
    assert.equal((errors[0]![0] as Error).message, 'first attempt fails');
    assert.equal(errors[0]![1]!.content.toString(), '0');
    const stats = consumer.stats();
    assert.equal(stats.failed, 1);
    assert.equal(stats.requeued, 1);
    assert.equal(await queueDepth(channel, queue), 0);
    await channel.close();
  });

  it("consume() - with requeue false, nacks a failed message to the queue's dead-letter exchange", async () => {
    const channel = await connection.createChannel();
    const dlx = await fx.exchange(channel, 'fanout');
    const dlq = await freshQueue(channel);
    await channel.bindQueue(dlq, dlx, '');
    const queue = await freshQueue(channel, { 'x-dead-letter-exchange': dlx });
    fill(channel, queue, 3);
    const consumer = await consume(
      channel,
      queue,
      (msg) => {
        if (msg.content.toString() === '1') throw new Error('poison');
      },
      { requeue: false },
    );
    await until(() => consumer.stats().acked + consumer.stats().rejected === 3, 10_000, '3 settled');
    await consumer.stop();
    const dead = await getEventually(channel, dlq);
    assert.ok(dead, 'the failed message reached the dead-letter queue');
    assert.equal(dead.content.toString(), '1');
    assert.equal(consumer.stats().rejected, 1);
    assert.equal(await queueDepth(channel, queue), 0);
    await channel.close();
  });

  it('consume() - deadLetterExchange copies a failed message with error headers, then acks it', async () => {
    const channel = await connection.createChannel();
    const failed = await fx.exchange(channel, 'direct');
    const parking = await freshQueue(channel);
    const queue = await freshQueue(channel);
    await channel.bindQueue(parking, failed, queue);
    channel.sendToQueue(queue, Buffer.from('bad'), { headers: { origin: 'test' } });
    const consumer = await consume(
      channel,
      queue,
      () => {
        throw new TypeError('cannot parse');
      },
      { requeue: false, deadLetterExchange: failed },
    );
    await until(() => consumer.stats().deadLettered === 1, 10_000, 'dead-lettered');
    await consumer.stop();
    const copy = await getEventually(channel, parking);
    assert.ok(copy, 'copy published');
    assert.equal(copy.content.toString(), 'bad');
    assert.equal(copy.properties.headers?.['x-sluice-error'], 'TypeError: cannot parse');
    assert.equal(copy.properties.headers?.['x-sluice-queue'], queue);
    assert.equal(copy.properties.headers?.origin, 'test');
    assert.equal(await queueDepth(channel, queue), 0);
    await channel.close();
  });

  it('consume() - a requeue function decides per message', async () => {
    const channel = await connection.createChannel();
    const queue = await freshQueue(channel);
    fill(channel, queue, 2);
    const consumer = await consume(
      channel,
      queue,
      (msg) => {
        if (!msg.fields.redelivered) throw new Error('fail once');
      },
      { requeue: (_error, msg) => msg.content.toString() === '0' },
    );
    await until(() => consumer.stats().acked === 1 && consumer.stats().rejected === 1, 10_000, 'one acked, one rejected');
    await consumer.stop();
    assert.equal(consumer.stats().requeued, 1);
    assert.equal(await queueDepth(channel, queue), 0);
    await channel.close();
  });
});
