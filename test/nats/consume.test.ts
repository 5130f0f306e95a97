import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy, type JetStreamClient, type JsMsg } from 'nats';
import { ErrorCode, InvalidArgumentError, InvalidOptionError } from '../../src/core/errors/index.js';
import { PollSizer } from '../../src/core/poll-sizer/index.js';
import { VirtualClock } from '../../src/core/testing/index.js';
import { deferred, ManualLimiter, until } from '../brokers/helpers.js';
import { JetStreamFixtures, type StreamFixture } from './helpers.js';
import { consumeJetStream, type JetStreamConsumerClient } from '../../src/adapters/nats/index.js';

let fx: JetStreamFixtures;
let js: JetStreamClient;

before(async () => {
  fx = await JetStreamFixtures.open();
  js = fx.nc.jetstream();
});

after(async () => {
  await fx.close();
});

/** Short fetches keep stop() quick: it lets the open fetch end before returning messages. */
const FAST = { expiresMs: 1000 } as const;

async function fill(f: StreamFixture, count: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => js.publish(f.subject, String(from + i))));
}

function assertInvalidOption(error: unknown, field: string): true {
  assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
  assert.equal(error.code, ErrorCode.invalidOption);
  assert.equal(error.field, field);
  assert.ok(error.message.includes(`"${field}"`), error.message);
  return true;
}

/** Wraps the client so the test sees, independently, the size of every fetch. */
function recordFetches(client: JetStreamClient): { client: JetStreamConsumerClient<JsMsg>; sizes: number[] } {
  const sizes: number[] = [];
  const wrapped: JetStreamConsumerClient<JsMsg> = {
    consumers: {
      async get(stream, name) {
        const consumer = await client.consumers.get(stream, name);
        return {
          info: (cached) => consumer.info(cached),
          fetch: (options) => {
            sizes.push(options.max_messages);
            return consumer.fetch(options);
          },
        };
      },
    },
  };
  return { client: wrapped, sizes };
}

// Compile-time check: the handler receives nats.js's JsMsg.
const _typeCheck = (client: JetStreamClient) =>
  consumeJetStream(client, 's', 'c', (msg) => {
    const typed: JsMsg = msg;
    return typed;
  });
void _typeCheck;

describe('consumeJetStream() options', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['concurrency', { concurrency: 0 }],
    ['concurrency', { concurrency: 2, limiter: new ManualLimiter(2) }],
    ['limiter', { limiter: { acquire: () => undefined } }],
    ['pollSizer', { pollSizer: { next: 5 } }],
    ['maxAckPending', { maxAckPending: 0 }],
    ['expiresMs', { expiresMs: 500 }],
    ['heartbeatMs', { heartbeatMs: 0 }],
    ['pressure', { pressure: 'high' }],
    ['resumeBelow', { resumeBelow: -0.1 }],
    ['checkIntervalMs', { checkIntervalMs: -5 }],
    ['requeue', { requeue: 1 }],
    ['nakDelayMs', { nakDelayMs: -1 }],
    ['retryDelayMs', { retryDelayMs: 0 }],
    ['onError', { onError: {} }],
    ['signal', { signal: true }],
    ['clock', { clock: { now: () => 0 } }],
  ];
  for (const [field, options] of cases) {
    it(`consumeJetStream() - rejects an invalid ${field} naming the field`, async () => {
      await assert.rejects(
        consumeJetStream(js, 'unused', 'unused', () => {}, options as never),
        (error) => assertInvalidOption(error, field),
      );
    });
  }

  it('consumeJetStream() - rejects maxAckPending above the consumer max_ack_pending', async () => {
    const f = await fx.create({ max_ack_pending: 50 });
    await assert.rejects(
      consumeJetStream(js, f.stream, f.consumer, () => {}, { maxAckPending: 51 }),
      (error) => assertInvalidOption(error, 'maxAckPending') && /max_ack_pending \(50\)/.test((error as Error).message),
    );
  });

  it("consumeJetStream() - rejects heartbeatMs that is not below the consumer's ack_wait", async () => {
    const f = await fx.create({ ackWaitMs: 2000 });
    await assert.rejects(
      consumeJetStream(js, f.stream, f.consumer, () => {}, { heartbeatMs: 2000 }),
      (error) => assertInvalidOption(error, 'heartbeatMs'),
    );
  });

  it('consumeJetStream() - rejects a consumer whose ack policy is not explicit', async () => {
    const f = await fx.create({ ack_policy: AckPolicy.All });
    await assert.rejects(consumeJetStream(js, f.stream, f.consumer, () => {}), (e) => e instanceof InvalidArgumentError && /explicit/.test(e.message));
  });

  it('consumeJetStream() - rejects bad arguments and a consumer that does not exist', async () => {
    await assert.rejects(consumeJetStream({} as never, 's', 'c', () => {}), InvalidArgumentError);
    await assert.rejects(consumeJetStream(js, '', 'c', () => {}), InvalidArgumentError);
    await assert.rejects(consumeJetStream(js, 's', 'c', 'handler' as never), InvalidArgumentError);
    const f = await fx.create();
    await assert.rejects(consumeJetStream(js, f.stream, 'nobody', () => {}), /not found/i);
  });
});

describe('consumeJetStream() processing', () => {
  it('consumeJetStream() - acks every message after its handler succeeds', async () => {
    const f = await fx.create();
    await fill(f, 300);
    const seen = new Set<string>();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, (msg) => {
      seen.add(msg.string());
    }, { ...FAST, concurrency: 4 });
    await until(() => consumer.stats().acked === 300, 10_000, '300 acks');
    await consumer.stop();
    assert.equal(seen.size, 300);
    // Acks are fire-and-forget publishes: give the server a moment to apply the last ones.
    let info = await fx.info(f);
    for (let i = 0; i < 50 && info.num_ack_pending !== 0; i++) info = await delay(10).then(() => fx.info(f));
    assert.equal(info.num_pending, 0);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(consumer.stats().held, 0);
  });

  it('consumeJetStream() - never runs more handlers than limiter.limit; fetches fill a window of twice the limit', async () => {
    const f = await fx.create();
    await fill(f, 200);
    const limiter = new ManualLimiter(6);
    const { client, sizes } = recordFetches(js);
    let active = 0;
    let peak = 0;
    const ref: { consumer?: { stats(): { held: number } } } = {};
    const heldAtFetch: number[] = [];
    const observed: JetStreamConsumerClient<JsMsg> = {
      consumers: {
        get: async (stream, name) => {
          const inner = await client.consumers.get(stream, name);
          return { info: (c) => inner.info(c), fetch: (o) => (heldAtFetch.push(ref.consumer?.stats().held ?? 0), inner.fetch(o)) };
        },
      },
    };
    const consumer = await consumeJetStream(observed, f.stream, f.consumer, async () => {
      peak = Math.max(peak, ++active);
      await delay(1);
      active--;
    }, { ...FAST, limiter });
    ref.consumer = consumer;
    await until(() => consumer.stats().acked === 200, 10_000, '200 acks');
    await consumer.stop();
    assert.ok(peak <= 6 && peak >= 2, `peak ${peak}`);
    assert.equal(sizes[0], 12, 'the first fetch fills the window');
    assert.ok(heldAtFetch.every((held) => held <= 9), `held at fetch ${heldAtFetch.join(',')}`);
    assert.ok(sizes.every((n, i) => n >= 1 && n + heldAtFetch[i]! <= 12), `fetch sizes ${sizes.join(',')}`);
    assert.equal(limiter.inflight, 0);
  });

  it('consumeJetStream() - holds at most maxAckPending messages (the credit limit)', async () => {
    const f = await fx.create({ max_ack_pending: 100 });
    await fill(f, 120);
    const gate = deferred();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, () => gate.promise, {
      ...FAST,
      limiter: new ManualLimiter(1000),
      maxAckPending: 25,
    });
    await until(() => consumer.stats().held === 25, 5000, '25 held');
    await delay(100); // an absence: no further fetch may happen while the credits are used up
    assert.equal(consumer.stats().held, 25);
    gate.resolve();
    await until(() => consumer.stats().acked === 120, 10_000, '120 acks');
    await consumer.stop();
    assert.equal(consumer.stats().maxHeld, 25);
    assert.equal(consumer.stats().maxAckPending, 25);
  });

  it('consumeJetStream() - sizes fetches with the PollSizer from recorded handler times', async () => {
    const f = await fx.create();
    await fill(f, 60);
    const clock = new VirtualClock();
    const sizer = new PollSizer({ maxPollRecords: 40, maxPollIntervalMs: 1000, safety: 1 });
    const { client, sizes } = recordFetches(js);
    const consumer = await consumeJetStream(client, f.stream, f.consumer, () => clock.advance(100), { ...FAST, pollSizer: sizer, clock });
    await until(() => consumer.stats().acked === 60, 10_000, '60 acks');
    await consumer.stop();
    assert.equal(sizes[0], 40, 'no history: maxPollRecords');
    // Every handler "takes" 100 ms of virtual time, so a 1000 ms interval fits 10.
    assert.ok(sizes.slice(1).every((n) => n === 10), `later sizes ${sizes.join(',')}`);
    assert.equal(consumer.stats().averageMsPerItem, 100);
  });

  it('consumeJetStream() - naks a failed message for redelivery, or terms it with requeue false', async () => {
    const f = await fx.create();
    await fill(f, 2);
    const errors: unknown[] = [];
    const attempts = new Map<string, number>();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, (msg) => {
      const body = msg.string();
      attempts.set(body, (attempts.get(body) ?? 0) + 1);
      if (body === '0' && !msg.redelivered) throw new Error('retry me');
      if (body === '1') throw new Error('give up');
    }, { ...FAST, requeue: (error) => (error as Error).message === 'retry me', onError: (e) => errors.push(e) });
    await until(() => consumer.stats().acked === 1 && consumer.stats().terminated === 1, 10_000, 'settled');
    await consumer.stop();
    assert.deepEqual(Object.fromEntries(attempts), { '0': 2, '1': 1 });
    assert.equal(consumer.stats().requeued, 1);
    assert.equal(errors.length, 2);
    const info = await fx.info(f);
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
  });

  it('consumeJetStream() - working() heartbeats keep a slow message from redelivery past ack_wait', async () => {
    const f = await fx.create({ ackWaitMs: 1000 });
    await fill(f, 1);
    let calls = 0;
    const consumer = await consumeJetStream(js, f.stream, f.consumer, async () => {
      calls++;
      await delay(2200);
    }, { ...FAST, heartbeatMs: 300, concurrency: 2 });
    await until(() => consumer.stats().acked === 1, 10_000, 'acked');
    await consumer.stop();
    assert.equal(calls, 1, 'delivered once although the handler took over twice ack_wait');
    assert.ok(consumer.stats().heartbeats >= 5, `heartbeats ${consumer.stats().heartbeats}`);
    assert.equal((await fx.info(f)).num_redelivered, 0);
  });
});

describe('consumeJetStream() pause and stop', () => {
  it('consumeJetStream() - does not fetch while pressure is over 1; fetches again at resumeBelow', async () => {
    const f = await fx.create();
    let reading = 3;
    const clock = new VirtualClock();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, () => {}, {
      ...FAST,
      pressure: () => reading,
      resumeBelow: 0.5,
      checkIntervalMs: 50,
      clock,
      concurrency: 4,
    });
    await fill(f, 5);
    await delay(100); // an absence: nothing may be fetched while paused
    assert.equal(consumer.stats().fetches, 0);
    assert.equal(consumer.paused, true);
    reading = 0.8;
    await clock.advanceAsync(50);
    assert.equal(consumer.paused, true, 'between resumeBelow and 1 it stays paused');
    reading = 0.4;
    await clock.advanceAsync(50);
    assert.equal(consumer.paused, false);
    await until(() => consumer.stats().acked === 5, 5000, '5 acks');
    assert.equal(consumer.stats().pauses, 1);
    assert.equal(consumer.stats().resumes, 1);
    await consumer.stop();
  });

  it('stop() - waits for running handlers and naks messages not yet started, which come back at once', async () => {
    const f = await fx.create();
    await fill(f, 10);
    const gate = deferred();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, () => gate.promise, { concurrency: 1, expiresMs: 1000 });
    await until(() => consumer.stats().held === 10, 5000, '10 held');
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await until(() => consumer.stats().returned === 9 && consumer.stats().held === 1, 5000, '9 returned');
    assert.equal(stopped, false, 'waits for the running handler');
    gate.resolve();
    await stopping;
    assert.equal(consumer.stats().acked, 1);
    const again: string[] = [];
    const second = await consumeJetStream(js, f.stream, f.consumer, (msg) => {
      assert.equal(msg.redelivered, true);
      again.push(msg.string());
    }, { ...FAST, concurrency: 4 });
    await until(() => again.length === 9, 5000, 'redelivered at once');
    await second.stop();
    assert.equal(consumer.stop(), consumer.stop(), 'idempotent');
  });

  it('consumeJetStream() - the signal option stops the consumer; an aborted one rejects with its reason', async () => {
    const f = await fx.create();
    const controller = new AbortController();
    const consumer = await consumeJetStream(js, f.stream, f.consumer, () => {}, { signal: controller.signal, expiresMs: 1000 });
    controller.abort();
    await consumer.stop();
    await fill(f, 2);
    await delay(100); // an absence: a stopped consumer fetches nothing
    assert.equal(consumer.stats().delivered, 0);
    const reason = new Error('nope');
    await assert.rejects(consumeJetStream(js, f.stream, f.consumer, () => {}, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });
});
