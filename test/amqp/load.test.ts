// Long RabbitMQ tests: a 50,000-message flood through a limited, pressure-aware
// consumer, and a consumer killed mid-run whose unacked messages go to another.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { consume, publisher } from '../../src/adapters/amqp/index.js';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter/index.js';
import { startFixture } from '../brokers/child.js';
import { AMQP_URL, Downstream, HeapSampler, liveHeapMb, signed, uniqueName, until } from '../brokers/helpers.js';

const FLOOD = 50_000;
const LIMIT = 16;

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

async function freshQueue(): Promise<string> {
  const name = uniqueName('sluice-flood');
  await admin.assertQueue(name, { durable: true });
  queues.push(name);
  return name;
}

/** Publishes `count` messages whose bodies are their ids, through a confirmed, bounded publisher. */
async function flood(queue: string, count: number): Promise<{ ms: number; peakInFlight: number }> {
  const channel = await connection.createConfirmChannel();
  const pub = publisher(channel, { maxInFlight: 1000 });
  const t0 = performance.now();
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) all.push(pub.publish('', queue, Buffer.from(String(i))));
  await Promise.all(all);
  const ms = performance.now() - t0;
  const peakInFlight = pub.stats().peakInFlight;
  await channel.close();
  return { ms, peakInFlight };
}

describe('amqp consumer under a flood', () => {
  it('consume() - 50,000 messages: in-flight within the limit, memory bounded, none lost, paused under pressure', async () => {
    const queue = await freshQueue();
    const published = await flood(queue, FLOOD);
    assert.ok(published.peakInFlight <= 1000);
    assert.equal((await admin.checkQueue(queue)).messageCount, FLOOD);

    const channel = await connection.createChannel();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: LIMIT });
    const downstream = new Downstream(10_000, 300);
    const seen = new Set<string>();
    let active = 0;
    let peakActive = 0;
    let i = 0;
    const baselineMb = liveHeapMb();
    const sampler = new HeapSampler();
    const t0 = performance.now();
    const consumer = await consume(
      channel,
      queue,
      async (msg) => {
        peakActive = Math.max(peakActive, ++active);
        try {
          await delay(i++ % 2); // a slow handler: 0-1 ms of async work
          const id = msg.content.toString();
          seen.add(id);
          await downstream.channel.send(id);
        } finally {
          active--;
        }
      },
      { limiter, pressure: downstream.pressure, resumeBelow: 0.5, checkIntervalMs: 20 },
    );
    await until(() => consumer.stats().acked === FLOOD, 80_000, `${FLOOD} acks`);
    const consumeMs = performance.now() - t0;
    await consumer.stop();
    sampler.stop();
    await downstream.close();
    const endMb = liveHeapMb();
    const stats = consumer.stats();

    assert.ok(peakActive <= LIMIT, `peak concurrent handlers ${peakActive} > ${LIMIT}`);
    assert.ok(stats.maxRunning <= LIMIT);
    assert.ok(stats.maxHeld <= LIMIT * 1.5, `held ${stats.maxHeld} messages at once`);
    assert.equal(seen.size, FLOOD, 'every id processed');
    assert.equal(stats.delivered, FLOOD, 'no redeliveries needed');
    assert.equal(stats.failed, 0);
    assert.equal(downstream.received, FLOOD);
    await channel.close(); // anything left unacked would now return to the queue
    const q = await admin.checkQueue(queue);
    assert.equal(q.messageCount, 0, 'queue empty, nothing unacked');
    assert.equal(q.consumerCount, 0);
    assert.ok(stats.pauses >= 1, 'paused at least once');
    assert.ok(stats.resumes >= 1, 'resumed at least once');
    assert.ok(stats.subscriptions >= 2);
    assert.ok(endMb - baselineMb < 30, `live heap grew ${(endMb - baselineMb).toFixed(1)} MB`);
    assert.ok(sampler.peakMb - baselineMb < 200, `heap peaked ${(sampler.peakMb - baselineMb).toFixed(1)} MB above baseline`);
    console.log(
      `[amqp flood] published ${FLOOD} in ${published.ms.toFixed(0)} ms; consumed in ${consumeMs.toFixed(0)} ms ` +
        `(${Math.round(FLOOD / (consumeMs / 1000))} msg/s); peak handlers ${peakActive}/${LIMIT}; maxHeld ${stats.maxHeld}; ` +
        `pauses ${stats.pauses}; live heap ${signed(endMb - baselineMb)} MB, peak ${signed(sampler.peakMb - baselineMb)} MB`,
    );
  });
});

describe('amqp consumer killed mid-run', () => {
  it("consume() - a SIGKILLed consumer's unacked messages are redelivered to another consumer", async () => {
    const queue = await freshQueue();
    await flood(queue, 200);
    const child = startFixture(new URL('./fixtures/consumer.ts', import.meta.url), [queue, '20']);
    let heldByChild: string[];
    try {
      heldByChild = JSON.parse(await child.line('held ')) as string[];
    } finally {
      await child.kill();
    }
    assert.equal(heldByChild.length, 20);

    const channel = await connection.createChannel();
    const bodies = new Map<string, boolean>();
    const consumer = await consume(
      channel,
      queue,
      (msg) => {
        bodies.set(msg.content.toString(), msg.fields.redelivered);
      },
      { prefetch: 50 },
    );
    await until(() => consumer.stats().acked === 200, 20_000, '200 acks');
    await consumer.stop();
    await channel.close();
    assert.equal(bodies.size, 200, 'every message processed once here');
    const redelivered = [...bodies].filter(([, again]) => again).map(([id]) => id);
    assert.deepEqual(redelivered.sort(), [...heldByChild].sort(), 'exactly the messages the dead consumer held came back, marked redelivered');
    assert.equal((await admin.checkQueue(queue)).messageCount, 0);
  });
});
