import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { ChannelClosedError, ErrorCode, InvalidArgumentError, InvalidOptionError } from '../../src/core/errors/index.js';
import { AMQP_URL, uniqueName, until } from '../brokers/helpers.js';
import { publish, publisher, type AmqpConfirmChannel, type AmqpPublishChannel } from '../../src/adapters/amqp/index.js';

let connection: ChannelModel;
let admin: Channel;
const queues: string[] = [];

before(async () => {
  connection = await amqp.connect(AMQP_URL);
  admin = await connection.createChannel();
});

after(async () => {
  for (const q of queues) await admin.deleteQueue(q);
  await connection.close();
});

async function freshQueue(args?: Record<string, unknown>): Promise<string> {
  const name = uniqueName('sluice-pub');
  await admin.assertQueue(name, { durable: true, arguments: args });
  queues.push(name);
  return name;
}

async function drainQueue(queue: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let msg = await admin.get(queue, { noAck: true }); msg; msg = await admin.get(queue, { noAck: true })) {
    bodies.push(msg.content.toString());
  }
  return bodies;
}

/**
 * Wraps a channel to record, independently of the publisher, every write and
 * every `'drain'`, and how many written messages await their confirm.
 */
function instrument<C extends ConfirmChannel>(channel: C) {
  const log: string[] = [];
  let unconfirmed = 0;
  let peakUnconfirmed = 0;
  channel.on('drain', () => log.push('drain'));
  const wrapper = {
    publish(exchange: string, routingKey: string, content: Buffer, options?: object, callback?: (err: unknown, ok: unknown) => void) {
      peakUnconfirmed = Math.max(peakUnconfirmed, ++unconfirmed);
      const accepted = channel.publish(exchange, routingKey, content, options, (err, ok) => {
        unconfirmed--;
        callback?.(err, ok);
      });
      log.push(accepted ? 'write' : 'write-full');
      return accepted;
    },
    on: (event: string, listener: (...args: any[]) => void) => channel.on(event, listener),
  } satisfies AmqpConfirmChannel;
  return { wrapper, log, peak: () => peakUnconfirmed };
}

/** After a write that found the buffer full, the next thing must be a 'drain', not another write. */
function assertNoWriteWhileFull(log: string[]): void {
  for (let i = 0; i < log.length - 1; i++) {
    if (log[i] === 'write-full') assert.equal(log[i + 1], 'drain', `write at ${i + 1} while the buffer was full: ${log.slice(i, i + 5).join(',')}`);
  }
}

// Compile-time check: amqplib's channels fit the structural types.
const _typeCheck = (ch: Channel, cc: ConfirmChannel): [AmqpPublishChannel, AmqpConfirmChannel] => [ch, cc];
void _typeCheck;

describe('publisher()', () => {
  it('publisher() - rejects an invalid maxInFlight naming the field', async () => {
    const channel = await connection.createConfirmChannel();
    for (const bad of [0, 1.5, -1, 'many']) {
      assert.throws(
        () => publisher(channel, { maxInFlight: bad as number }),
        (error: unknown) => error instanceof InvalidOptionError && error.code === ErrorCode.invalidOption && error.message.includes('"maxInFlight"'),
      );
    }
    assert.throws(() => publisher({} as never), InvalidArgumentError);
    await channel.close();
  });

  it('publish() - rejects bad arguments with InvalidArgumentError', async () => {
    const channel = await connection.createConfirmChannel();
    const pub = publisher(channel);
    await assert.rejects(pub.publish(5 as never, 'k', Buffer.from('x')), InvalidArgumentError);
    await assert.rejects(pub.publish('', undefined as never, Buffer.from('x')), InvalidArgumentError);
    await assert.rejects(pub.publish('', 'k', 'text' as never), InvalidArgumentError);
    await channel.close();
  });

  it('publish() - resolves once the broker confirms, and the message is in the queue', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue();
    const pub = publisher(channel);
    await pub.publish('', queue, Buffer.from('hello'), { persistent: true });
    const stats = pub.stats();
    assert.equal(stats.published, 1);
    assert.equal(stats.confirmed, 1);
    assert.equal(stats.inFlight, 0);
    assert.deepEqual(await drainQueue(queue), ['hello']);
    await channel.close();
  });

  it('publish() - never has more than maxInFlight unconfirmed; waiters go first come, first served', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue();
    const { wrapper, peak } = instrument(channel);
    const pub = publisher(wrapper, { maxInFlight: 8 });
    const confirmedOrder: number[] = [];
    const all = Array.from({ length: 500 }, (_, i) => pub.publish('', queue, Buffer.from(String(i))).then(() => confirmedOrder.push(i)));
    assert.equal(pub.inFlight, 8);
    assert.equal(pub.waiting, 492);
    await Promise.all(all);
    assert.ok(peak() <= 8, `peak unconfirmed ${peak()}`);
    assert.equal(pub.stats().peakInFlight, 8);
    assert.equal(pub.stats().slotWaits, 492);
    assert.deepEqual(confirmedOrder, Array.from({ length: 500 }, (_, i) => i));
    const bodies = await drainQueue(queue);
    assert.deepEqual(bodies, Array.from({ length: 500 }, (_, i) => String(i)));
    await channel.close();
  });

  it('publish() - rejects when the broker nacks (queue full, overflow reject-publish)', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue({ 'x-max-length': 5, 'x-overflow': 'reject-publish' });
    const pub = publisher(channel, { maxInFlight: 1 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => pub.publish('', queue, Buffer.from(String(i)))));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected'],
    );
    assert.equal(pub.stats().failed, 3);
    assert.equal(pub.stats().confirmed, 5);
    await channel.close();
  });

  it('publish() - an abort while waiting for a slot rejects with the reason and publishes nothing', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue();
    const pub = publisher(channel, { maxInFlight: 1 });
    const controller = new AbortController();
    const first = pub.publish('', queue, Buffer.from('a'));
    const second = pub.publish('', queue, Buffer.from('b'), undefined, { signal: controller.signal });
    const third = pub.publish('', queue, Buffer.from('c'));
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await assert.rejects(second, (e) => e === reason);
    await Promise.all([first, third]);
    assert.equal(pub.stats().aborted, 1);
    assert.deepEqual(await drainQueue(queue), ['a', 'c']);
    await assert.rejects(pub.publish('', queue, Buffer.from('d'), undefined, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    await channel.close();
  });

  it('close() - rejects waiters with ChannelClosedError and resolves once in-flight messages are confirmed', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue();
    const pub = publisher(channel, { maxInFlight: 2 });
    const sent = [pub.publish('', queue, Buffer.from('1')), pub.publish('', queue, Buffer.from('2'))];
    const waiting = pub.publish('', queue, Buffer.from('3'));
    const closed = pub.close();
    await assert.rejects(waiting, ChannelClosedError);
    await closed;
    await Promise.all(sent);
    assert.equal(pub.inFlight, 0);
    await assert.rejects(pub.publish('', queue, Buffer.from('4')), ChannelClosedError);
    assert.deepEqual(await drainQueue(queue), ['1', '2']);
    await channel.close();
  });

  it('publish() - waiters reject with ChannelClosedError when the channel closes', async () => {
    const channel = await connection.createConfirmChannel();
    const queue = await freshQueue();
    const pub = publisher(channel, { maxInFlight: 1 });
    const results = Array.from({ length: 5 }, (_, i) => pub.publish('', queue, Buffer.from(String(i))).then(() => 'ok', (e: unknown) => e));
    await channel.close();
    const settled = await Promise.all(results);
    assert.ok(settled.slice(1).every((r) => r instanceof ChannelClosedError), String(settled));
    await assert.rejects(pub.publish('', queue, Buffer.from('x')), ChannelClosedError);
  });

  it("publish() - waits for 'drain' when the channel's write buffer is full, then confirms everything", async () => {
    const channel = await connection.createConfirmChannel({ highWaterMark: 2 });
    const queue = await freshQueue();
    const { wrapper, log } = instrument(channel);
    const pub = publisher(wrapper, { maxInFlight: 200 });
    const body = Buffer.alloc(64 * 1024, 1);
    await Promise.all(Array.from({ length: 300 }, () => pub.publish('', queue, body)));
    assert.ok(log.includes('write-full'), 'the buffer filled at least once');
    assert.ok(pub.stats().drainWaits >= 1);
    assertNoWriteWhileFull(log);
    assert.equal(pub.stats().confirmed, 300);
    assert.equal((await admin.checkQueue(queue)).messageCount, 300);
    await admin.purgeQueue(queue);
    await channel.close();
  });
});

describe('publish()', () => {
  it("publish() - resolves once written; after a full buffer the next write waits for 'drain'", async () => {
    const channel = await connection.createChannel({ highWaterMark: 2 });
    const queue = await freshQueue();
    const log: string[] = [];
    channel.on('drain', () => log.push('drain'));
    const wrapper: AmqpPublishChannel = {
      publish(exchange, routingKey, content, options) {
        const accepted = channel.publish(exchange, routingKey, content, options);
        log.push(accepted ? 'write' : 'write-full');
        return accepted;
      },
      on: (event, listener) => channel.on(event, listener),
    };
    const body = Buffer.alloc(64 * 1024, 2);
    for (let i = 0; i < 200; i++) await publish(wrapper, '', queue, body);
    assert.ok(log.includes('write-full'));
    assertNoWriteWhileFull(log);
    // publish() promises only that the message was written; the broker enqueues it soon after.
    let depth = 0;
    const poll = setInterval(() => void admin.checkQueue(queue).then((q) => (depth = q.messageCount)), 10);
    await until(() => depth === 200, 5000, '200 messages in the queue').finally(() => clearInterval(poll));
    await admin.purgeQueue(queue);
    await channel.close();
  });

  it('publish() - an abort while waiting for drain rejects with the reason and writes nothing', async () => {
    const channel = await connection.createChannel({ highWaterMark: 1 });
    const queue = await freshQueue();
    const body = Buffer.alloc(256 * 1024, 3);
    let writes = 0;
    const wrapper: AmqpPublishChannel = {
      publish: (e, k, c, o) => (writes++, channel.publish(e, k, c, o)),
      on: (event, listener) => channel.on(event, listener),
    };
    const controller = new AbortController();
    const reason = new Error('abort');
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) calls.push(publish(wrapper, '', queue, body, undefined, { signal: controller.signal }));
    const writtenBeforeAbort = writes;
    assert.ok(writtenBeforeAbort < 20, 'some calls are waiting for drain');
    controller.abort(reason);
    const settled = await Promise.allSettled(calls);
    const rejected = settled.filter((r) => r.status === 'rejected');
    assert.equal(rejected.length, 20 - writtenBeforeAbort);
    assert.ok(rejected.every((r) => r.reason === reason));
    assert.equal(writes, writtenBeforeAbort);
    await admin.purgeQueue(queue);
    await channel.close();
  });

  it('publish() - rejects bad arguments and a closed channel', async () => {
    const channel = await connection.createChannel();
    await assert.rejects(publish(channel, '', 'q', 'x' as never), InvalidArgumentError);
    await assert.rejects(publish({} as never, '', 'q', Buffer.from('x')), InvalidArgumentError);
    await publish(channel, '', 'q', Buffer.from('x')); // registers the channel's drain gate
    await channel.close();
    await assert.rejects(publish(channel, '', 'q', Buffer.from('x')), ChannelClosedError);
  });
});
