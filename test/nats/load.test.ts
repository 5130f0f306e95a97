// Long JetStream tests: a 50,000-message flood through a limited, pressure-aware
// pull consumer, and a consumer killed mid-run whose messages come back after ack_wait.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { JetStreamClient } from 'nats';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter/index.js';
import { consumeJetStream, jetStreamPublisher } from '../../src/adapters/nats/index.js';
import { startFixture } from '../brokers/child.js';
import { Downstream, HeapSampler, liveHeapMb, signed, until } from '../brokers/helpers.js';
import { JetStreamFixtures, type StreamFixture } from './helpers.js';

const FLOOD = 50_000;
const LIMIT = 16;
const MAX_ACK_PENDING = 200;

let fx: JetStreamFixtures;
let js: JetStreamClient;

before(async () => {
  fx = await JetStreamFixtures.open();
  js = fx.nc.jetstream();
});

after(async () => {
  await fx.close();
});

/** Publishes `count` messages whose bodies are their ids, with at most 1000 PubAcks outstanding. */
async function flood(f: StreamFixture, count: number): Promise<{ ms: number; peakInFlight: number }> {
  const pub = jetStreamPublisher(js, { maxInFlight: 1000 });
  const t0 = performance.now();
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) all.push(pub.publish(f.subject, String(i)));
  await Promise.all(all);
  return { ms: performance.now() - t0, peakInFlight: pub.stats().peakInFlight };
}

/** Acks are fire-and-forget: polls consumer info until the server has applied them. */
async function settledInfo(f: StreamFixture) {
  let info = await fx.info(f);
  for (let i = 0; i < 100 && (info.num_ack_pending !== 0 || info.num_pending !== 0); i++) {
    await delay(20);
    info = await fx.info(f);
  }
  return info;
}

describe('JetStream consumer under a flood', () => {
  it('consumeJetStream() - 50,000 messages: in-flight within the limit, credits bound what is held, none lost, paused under pressure', async () => {
    const f = await fx.create({ max_ack_pending: 1000, ackWaitMs: 30_000 });
    const published = await flood(f, FLOOD);
    assert.ok(published.peakInFlight <= 1000);
    assert.equal((await fx.jsm.streams.info(f.stream)).state.messages, FLOOD);

    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: LIMIT });
    const downstream = new Downstream(10_000, 300);
    const seen = new Set<string>();
    let active = 0;
    let peakActive = 0;
    let i = 0;
    const baselineMb = liveHeapMb();
    const sampler = new HeapSampler();
    const t0 = performance.now();
    const consumer = await consumeJetStream(
      js,
      f.stream,
      f.consumer,
      async (msg) => {
        peakActive = Math.max(peakActive, ++active);
        try {
          await delay(i++ % 2); // a slow handler: 0-1 ms of async work
          const id = msg.string();
          seen.add(id);
          await downstream.channel.send(id);
        } finally {
          active--;
        }
      },
      { limiter, maxAckPending: MAX_ACK_PENDING, pressure: downstream.pressure, resumeBelow: 0.5, checkIntervalMs: 20, expiresMs: 1000 },
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
    assert.ok(stats.maxHeld <= MAX_ACK_PENDING, `held ${stats.maxHeld} messages at once`);
    assert.equal(seen.size, FLOOD, 'every id processed');
    assert.equal(stats.delivered, FLOOD, 'no redeliveries needed');
    assert.equal(stats.failed, 0);
    assert.equal(downstream.received, FLOOD);
    const info = await settledInfo(f);
    assert.equal(info.num_pending, 0, 'nothing left in the stream for the consumer');
    assert.equal(info.num_ack_pending, 0, 'everything acked');
    assert.equal(info.num_redelivered, 0);
    assert.ok(stats.pauses >= 1, 'paused at least once');
    assert.ok(stats.resumes >= 1, 'resumed at least once');
    assert.ok(endMb - baselineMb < 30, `live heap grew ${(endMb - baselineMb).toFixed(1)} MB`);
    assert.ok(sampler.peakMb - baselineMb < 200, `heap peaked ${(sampler.peakMb - baselineMb).toFixed(1)} MB above baseline`);
    console.log(
      `[nats flood] published ${FLOOD} in ${published.ms.toFixed(0)} ms; consumed in ${consumeMs.toFixed(0)} ms ` +
        `(${Math.round(FLOOD / (consumeMs / 1000))} msg/s) over ${stats.fetches} fetches; peak handlers ${peakActive}/${LIMIT}; ` +
        `maxHeld ${stats.maxHeld}/${MAX_ACK_PENDING}; pauses ${stats.pauses}; live heap ${signed(endMb - baselineMb)} MB, ` +
        `peak ${signed(sampler.peakMb - baselineMb)} MB`,
    );
  });
});

describe('JetStream consumer killed mid-run', () => {
  it("consumeJetStream() - a SIGKILLed consumer's messages are redelivered to another after ack_wait", async () => {
    const ackWaitMs = 2000;
    const f = await fx.create({ ackWaitMs });
    await flood(f, 100);
    const child = startFixture(new URL('./fixtures/consumer.ts', import.meta.url), [f.stream, f.consumer, '20']);
    let heldByChild: string[];
    let killedAt: number;
    try {
      heldByChild = JSON.parse(await child.line('held ')) as string[];
      await delay(ackWaitMs + 500); // held past ack_wait: only the child's working() heartbeats keep them
    } finally {
      await child.kill();
      killedAt = performance.now();
    }
    assert.equal(heldByChild.length, 20);
    const before = await fx.info(f);
    assert.equal(before.num_redelivered, 0, 'heartbeats kept the messages from redelivery while the child lived');

    const firstSeen = new Map<string, { redelivered: boolean; at: number }>();
    const consumer = await consumeJetStream(
      js,
      f.stream,
      f.consumer,
      (msg) => {
        firstSeen.set(msg.string(), { redelivered: msg.redelivered, at: performance.now() });
      },
      { concurrency: 8, expiresMs: 1000 },
    );
    await until(() => consumer.stats().acked === 100, 20_000, '100 acks');
    await consumer.stop();
    assert.equal(firstSeen.size, 100, 'every message processed once here');
    const redelivered = [...firstSeen].filter(([, s]) => s.redelivered);
    assert.deepEqual(redelivered.map(([id]) => id).sort(), [...heldByChild].sort(), 'the messages the dead consumer held came back, marked redelivered');
    const firstRedelivery = Math.min(...redelivered.map(([, s]) => s.at));
    // The last heartbeat came at most heartbeatMs (ack_wait / 3) before the kill.
    assert.ok(firstRedelivery - killedAt >= ackWaitMs - ackWaitMs / 3 - 200, `redelivered ${(firstRedelivery - killedAt).toFixed(0)} ms after the kill`);
    const info = await settledInfo(f);
    assert.equal(info.num_ack_pending, 0);
  });
});
