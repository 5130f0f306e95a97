// The NATS v3 packages (@nats-io/transport-node + @nats-io/jetstream) against the real
// nats-server with JetStream: the pull consumer, the publisher and the lag source take
// `jetstream(nc)` and `jetstreamManager(nc)` as they take nats 2.x's objects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { VirtualClock } from '../../src/core/testing/index.js';
import { consumeJetStream, jetStreamLag, jetStreamPublisher } from '../../src/adapters/nats/index.js';
import { NATS_SERVERS, uniqueName } from '../brokers/helpers.js';

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const streams: string[] = [];

before(async () => {
  nc = await connect({ servers: NATS_SERVERS });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});
after(async () => {
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
  await nc.close();
});

/** A memory stream with one subject and an explicit-ack durable pull consumer. */
async function create(): Promise<{ stream: string; subject: string; consumer: string }> {
  const stream = uniqueName('sluice_v3').replace(/[^A-Za-z0-9_-]/g, '_');
  const subject = `${stream}.work`;
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory });
  streams.push(stream);
  await jsm.consumers.add(stream, { durable_name: 'worker', ack_policy: AckPolicy.Explicit, max_ack_pending: 100 });
  return { stream, subject, consumer: 'worker' };
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('sluice/nats with the v3 packages (@nats-io/jetstream, real nats-server)', { timeout: 60_000 }, () => {
  it('jetStreamPublisher() - publishes through jetstream(nc), at most maxInFlight acks outstanding, every message in the stream', async () => {
    const f = await create();
    const pub = jetStreamPublisher(js, { maxInFlight: 8 });
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => pub.publish(f.subject, `m${i}`)));
    assert.deepEqual(acks.map((a) => a.stream), Array.from({ length: 200 }, () => f.stream));
    assert.deepEqual(new Set(acks.map((a) => a.seq)).size, 200);
    const stats = pub.stats();
    assert.ok(stats.peakInFlight <= 8, `peak ${stats.peakInFlight}`);
    assert.deepEqual([stats.published, stats.acked, stats.failed], [200, 200, 0]);
    assert.equal((await jsm.streams.info(f.stream)).state.messages, 200);
    await pub.close();
  });

  it('consumeJetStream() - consumes through jetstream(nc): every message handled and acked once, at most concurrency handlers at a time', async () => {
    const f = await create();
    await Promise.all(Array.from({ length: 300 }, (_, i) => js.publish(f.subject, String(i))));
    const seen: number[] = [];
    let running = 0;
    let peak = 0;
    const consumer = await consumeJetStream(
      js,
      f.stream,
      f.consumer,
      async (msg: JsMsg) => {
        peak = Math.max(peak, ++running);
        seen.push(Number(msg.string()));
        await sleep(1);
        running--;
      },
      { concurrency: 4, expiresMs: 1000 },
    );
    try {
      await until('every message is acked', () => consumer.stats().acked === 300);
      const info = await jsm.consumers.info(f.stream, f.consumer);
      await until('the server has every ack', async () => (await jsm.consumers.info(f.stream, f.consumer)).num_ack_pending === 0);
      assert.equal(info.num_pending, 0);
    } finally {
      await consumer.stop();
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
    assert.ok(peak <= 4, `peak ${peak}`);
    const s = consumer.stats();
    assert.deepEqual([s.delivered, s.acked, s.failed, s.held], [300, 300, 0, 0]);
    assert.equal(s.maxAckPending, 100);
  });

  it('consumeJetStream() - a consumer that does not exist rejects at start', async () => {
    const f = await create();
    await assert.rejects(consumeJetStream(js, f.stream, 'nobody', () => {}));
  });

  it('jetStreamLag() - reads num_pending and num_ack_pending through jetstreamManager(nc); a missing stream or consumer is ERR_SLUICE_NOT_FOUND', async () => {
    const f = await create();
    await Promise.all(Array.from({ length: 30 }, (_, i) => js.publish(f.subject, String(i))));
    const consumer = await js.consumers.get(f.stream, f.consumer);
    const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
    for await (const _ of batch) void _; // ten delivered, not acked
    const lag = jetStreamLag(jsm, f.stream, f.consumer, { threshold: 100, clock: new VirtualClock() });
    try {
      assert.equal(await lag.poll(), 0.3); // (20 pending + 10 unacked) / threshold 100
      const s = lag.stats();
      assert.deepEqual([s.numPending, s.numAckPending, s.polls, s.pollErrors], [20, 10, 1, 0]);
    } finally {
      lag.close();
    }
    for (const [stream, consumerName, message] of [
      [`${f.stream}_missing`, f.consumer, /JetStream stream ".*_missing" does not exist/],
      [f.stream, 'nobody', /JetStream consumer "nobody" does not exist on stream/],
    ] as const) {
      const missing = jetStreamLag(jsm, stream, consumerName, { threshold: 10, clock: new VirtualClock() });
      try {
        assert.equal(await missing.poll(), 0);
        const s = missing.stats();
        assert.deepEqual([s.pollErrors, s.lastError?.code], [1, 'ERR_SLUICE_NOT_FOUND']);
        assert.match(s.lastError!.message, message);
      } finally {
        missing.close();
      }
    }
  });
});
