import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamClient, PubAck } from 'nats';
import { ChannelClosedError, ErrorCode, InvalidArgumentError, InvalidOptionError } from '../../src/core/errors/index.js';
import { JetStreamFixtures } from './helpers.js';
import { jetStreamPublisher, type JetStreamPublishClient } from '../../src/adapters/nats/index.js';

let fx: JetStreamFixtures;
let js: JetStreamClient;

before(async () => {
  fx = await JetStreamFixtures.open();
  js = fx.nc.jetstream();
});

after(async () => {
  await fx.close();
});

/** Wraps the client so the test counts, independently, publishes awaiting their ack. */
function countInFlight(client: JetStreamClient) {
  let inFlight = 0;
  let peak = 0;
  const wrapped: JetStreamPublishClient<PubAck, Parameters<JetStreamClient['publish']>[2]> = {
    publish(subject, payload, options) {
      peak = Math.max(peak, ++inFlight);
      return client.publish(subject, payload, options).finally(() => inFlight--);
    },
  };
  return { wrapped, peak: () => peak };
}

describe('jetStreamPublisher()', () => {
  it('jetStreamPublisher() - rejects an invalid maxInFlight naming the field', () => {
    for (const bad of [0, 2.5, 'x']) {
      assert.throws(
        () => jetStreamPublisher(js, { maxInFlight: bad as number }),
        (e: unknown) => e instanceof InvalidOptionError && e.code === ErrorCode.invalidOption && e.message.includes('"maxInFlight"'),
      );
    }
    assert.throws(() => jetStreamPublisher({} as never), InvalidArgumentError);
  });

  it('publish() - resolves with the PubAck; the message is in the stream', async () => {
    const f = await fx.create();
    const pub = jetStreamPublisher(js);
    const ack = await pub.publish(f.subject, 'hello');
    assert.equal(ack.stream, f.stream);
    assert.equal(ack.seq, 1);
    assert.deepEqual({ ...pub.stats(), peakInFlight: undefined }, {
      maxInFlight: 256,
      inFlight: 0,
      waiting: 0,
      peakInFlight: undefined,
      published: 1,
      acked: 1,
      failed: 0,
      aborted: 0,
      slotWaits: 0,
    });
  });

  it('publish() - never has more than maxInFlight acks outstanding; waiters go first come, first served', async () => {
    const f = await fx.create();
    const { wrapped, peak } = countInFlight(js);
    const pub = jetStreamPublisher(wrapped, { maxInFlight: 16 });
    const order: number[] = [];
    const calls = Array.from({ length: 2000 }, (_, i) => pub.publish(f.subject, String(i)).then((ack) => (order.push(i), ack)));
    assert.equal(pub.inFlight, 16);
    assert.equal(pub.waiting, 1984);
    const acks = await Promise.all(calls);
    assert.ok(peak() <= 16, `peak ${peak()}`);
    assert.equal(pub.stats().peakInFlight, 16);
    assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 2000 }, (_, i) => i + 1), 'published in call order');
    assert.equal(order.length, 2000);
    const info = await fx.jsm.streams.info(f.stream);
    assert.equal(info.state.messages, 2000);
  });

  it('publish() - rejects when no stream takes the subject, and frees the slot', async () => {
    const pub = jetStreamPublisher(js, { maxInFlight: 1 });
    await assert.rejects(pub.publish('sluice.nowhere.' + process.pid, 'x'), /503|no responders/i);
    assert.equal(pub.stats().failed, 1);
    assert.equal(pub.inFlight, 0);
  });

  it('publish() - an abort while waiting for a slot rejects with the reason and publishes nothing', async () => {
    const f = await fx.create();
    const pub = jetStreamPublisher(js, { maxInFlight: 1 });
    const controller = new AbortController();
    const reason = new Error('abort');
    const first = pub.publish(f.subject, 'a');
    const second = pub.publish(f.subject, 'b', undefined, { signal: controller.signal });
    const third = pub.publish(f.subject, 'c');
    controller.abort(reason);
    await assert.rejects(second, (e) => e === reason);
    const [a, c] = await Promise.all([first, third]);
    assert.deepEqual([a.seq, c.seq], [1, 2]);
    assert.equal(pub.stats().aborted, 1);
    await assert.rejects(pub.publish(f.subject, 'd', undefined, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal((await fx.jsm.streams.info(f.stream)).state.messages, 2);
  });

  it('close() - rejects waiters with ChannelClosedError and resolves once in-flight publishes are acked', async () => {
    const f = await fx.create();
    const pub = jetStreamPublisher(js, { maxInFlight: 2 });
    const sent = [pub.publish(f.subject, '1'), pub.publish(f.subject, '2')];
    const waiting = pub.publish(f.subject, '3');
    const closed = pub.close();
    await assert.rejects(waiting, ChannelClosedError);
    await closed;
    assert.equal(pub.inFlight, 0);
    await Promise.all(sent);
    await assert.rejects(pub.publish(f.subject, '4'), ChannelClosedError);
    await assert.rejects(pub.publish('', 'x'), InvalidArgumentError);
    assert.equal((await fx.jsm.streams.info(f.stream)).state.messages, 2);
  });
});
