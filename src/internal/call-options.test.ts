import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AdaptiveRate,
  BatchWriter,
  ConcurrencyLimiter,
  CongestionWindow,
  Credits,
  DurableChannel,
  MemoryStore,
  TokenBucket,
} from '../index.js';
import { VirtualClock } from '../core/testing/index.js';

// The rule for every async method that takes a signal: an already-aborted
// signal rejects at once with the signal's reason and has no effect, even when
// the call could proceed at once. Channel's methods are covered in
// src/core/channel/options.test.ts.

const reason = new Error('gone');
const aborted = (): AbortSignal => AbortSignal.abort(reason);
const isReason = (e: unknown): boolean => e === reason;

async function durable(): Promise<DurableChannel<number>> {
  const channel = new DurableChannel<number>({ store: new MemoryStore<number>(), clock: new VirtualClock() });
  await channel.send(1);
  return channel;
}

function writer(): BatchWriter<number> {
  return new BatchWriter<number>({ flush: () => {}, batchSize: 10, clock: new VirtualClock() });
}

describe('already-aborted signals', () => {
  it('DurableChannel.send() – rejects with the reason even with room; nothing is stored, the offer counts as aborted', async () => {
    const channel = await durable();
    await assert.rejects(channel.send(2, { signal: aborted() }), isReason);
    const s = channel.stats();
    assert.equal(s.size, 1);
    assert.equal(s.droppedBy.aborted, 1);
  });

  it('DurableChannel.send() – the abort wins over a closed channel', async () => {
    const channel = await durable();
    channel.close();
    await assert.rejects(channel.send(2, { signal: aborted() }), isReason);
    assert.equal(channel.stats().droppedBy.closed, 0);
  });

  it('DurableChannel.receive() and receiveBatch() – reject with the reason although an item is visible, and lease nothing', async () => {
    const channel = await durable();
    await assert.rejects(channel.receive({ signal: aborted() }), isReason);
    await assert.rejects(channel.receiveBatch(5, { signal: aborted() }), isReason);
    assert.equal(channel.stats().delivered, 0);
    const lease = await channel.receive();
    assert.equal(lease?.item, 1, 'the item is still there for the next receiver');
  });

  it('DurableChannel.drained() – rejects with the reason even when already drained', async () => {
    const channel = new DurableChannel<number>({ store: new MemoryStore<number>(), clock: new VirtualClock() });
    channel.close();
    await channel.drained();
    await assert.rejects(channel.drained({ signal: aborted() }), isReason);
  });

  it('ConcurrencyLimiter.acquire() and run() – reject with the reason with a permit free; no permit taken, fn not run', async () => {
    const limiter = new ConcurrencyLimiter({ initialLimit: 2 });
    await assert.rejects(limiter.acquire({ signal: aborted() }), isReason);
    let ran = false;
    await assert.rejects(limiter.run(() => (ran = true), { signal: aborted() }), isReason);
    assert.equal(ran, false);
    const s = limiter.stats();
    assert.equal(s.inflight, 0);
    assert.equal(s.acquired, 0);
    assert.equal(s.aborted, 2);
  });

  it('ConcurrencyLimiter.acquire() – the abort wins over a closed limiter', async () => {
    const limiter = new ConcurrencyLimiter();
    limiter.close();
    await assert.rejects(limiter.acquire({ signal: aborted() }), isReason);
  });

  it('TokenBucket.acquire() – rejects with the reason with tokens there; none are taken', async () => {
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock: new VirtualClock() });
    await assert.rejects(bucket.acquire(2, { signal: aborted() }), isReason);
    assert.equal(bucket.stats().available, 5);
    assert.equal(bucket.stats().acquired, 0);
    bucket.close();
    await assert.rejects(bucket.acquire(1, { signal: aborted() }), isReason, 'the abort wins over close');
  });

  it('Credits.acquire() – rejects with the reason with credits there; none are spent', async () => {
    const credits = new Credits({ initial: 5, max: 10 });
    await assert.rejects(credits.acquire(2, { signal: aborted() }), isReason);
    assert.equal(credits.stats().available, 5);
    credits.close();
    await assert.rejects(credits.acquire(1, { signal: aborted() }), isReason, 'the abort wins over close');
  });

  it('CongestionWindow.acquire() – rejects with the reason with room in the window; no slot taken', async () => {
    const window = new CongestionWindow({ initialWindow: 4, clock: new VirtualClock() });
    await assert.rejects(window.acquire({ signal: aborted() }), isReason);
    assert.equal(window.stats().inflight, 0);
  });

  it('AdaptiveRate.acquire() – rejects with the reason when the pace allows an item; nothing taken', async () => {
    const rate = new AdaptiveRate({ targetLatencyMs: 10, minRate: 1, maxRate: 100, clock: new VirtualClock() });
    await assert.rejects(rate.acquire({ signal: aborted() }), isReason);
    assert.equal(rate.stats().acquired, 0);
  });

  it('BatchWriter.write() – rejects with the reason with room; nothing buffered, the offer counts as aborted', async () => {
    const w = writer();
    await assert.rejects(w.write(1, { signal: aborted() }), isReason);
    const s = w.stats();
    assert.equal(s.buffered, 0);
    assert.equal(s.droppedBy.aborted, 1);
  });

  it('BatchWriter.drain() and drained() – reject with the reason; drain() does not close the writer', async () => {
    const w = writer();
    await assert.rejects(w.drain({ signal: aborted() }), isReason);
    assert.equal(w.closed, false);
    w.close();
    await w.drained();
    await assert.rejects(w.drained({ signal: aborted() }), isReason);
  });
});

describe('per-call options', () => {
  /** Each call given a bad options object; the component must be left untouched. */
  const bad: [name: string, call: () => Promise<unknown>, field: string][] = [
    ['DurableChannel.send() timeoutMs -5', async () => (await durable()).send(2, { timeoutMs: -5 }), 'timeoutMs'],
    ['DurableChannel.send() signal "x"', async () => (await durable()).send(2, { signal: 'x' as never }), 'signal'],
    ['DurableChannel.receive() unknown key', async () => (await durable()).receive({ sigal: 1 } as never), 'sigal'],
    ['DurableChannel.receiveBatch() unknown key', async () => (await durable()).receiveBatch(2, { maxWaitMs: 5 } as never), 'maxWaitMs'],
    ['DurableChannel.nack() delayMs "5"', async () => (await durable()).nack('1', { delayMs: '5' as never }), 'delayMs'],
    ['DurableChannel.drained() unknown key', async () => (await durable()).drained({ timeoutMs: 1 } as never), 'timeoutMs'],
    ['ConcurrencyLimiter.acquire() unknown key', () => new ConcurrencyLimiter().acquire({ timeoutMs: 1 } as never), 'timeoutMs'],
    ['ConcurrencyLimiter.run() signal 1', () => new ConcurrencyLimiter().run(() => 1, { signal: 1 as never }), 'signal'],
    ['TokenBucket.acquire() unknown key', () => new TokenBucket({ ratePerSecond: 1 }).acquire(1, { signal: 1 } as never), 'signal'],
    ['Credits.acquire() signal {}', () => new Credits({ initial: 1 }).acquire(1, { signal: {} as never }), 'signal'],
    ['CongestionWindow.acquire() options 5', () => new CongestionWindow().acquire(5 as never), 'acquire() options'],
    ['AdaptiveRate.acquire() unknown key', () => new AdaptiveRate({ targetLatencyMs: 10, minRate: 1, maxRate: 5 }).acquire({ n: 2 } as never), 'n'],
    ['BatchWriter.write() timeoutMs Infinity', () => writer().write(1, { timeoutMs: Infinity }), 'timeoutMs'],
    ['BatchWriter.drained() signal null', () => writer().drained({ signal: null as never }), 'signal'],
  ];
  for (const [name, call, field] of bad) {
    const [method, ...rest] = name.split(' ');
    it(`${method} – ${rest.join(' ')} rejects with ERR_SLUICE_INVALID_OPTION naming ${field}`, async () => {
      await assert.rejects(call(), (error: { code?: string; field?: string; message: string }) => {
        assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION', error.message);
        assert.equal(error.field, field);
        assert.ok(error.message.length < 300, error.message);
        return true;
      });
    });
  }

  it('DurableChannel.send() – bad options store and count nothing', async () => {
    const channel = await durable();
    await assert.rejects(channel.send(2, { timeout: 5 } as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /did you mean "timeoutMs"/ });
    const s = channel.stats();
    assert.equal(s.offered, 1);
    assert.equal(s.size, 1);
    assert.equal(s.dropped, 0);
  });

  it('BatchWriter.write() – bad options buffer and count nothing', async () => {
    const w = writer();
    await assert.rejects(w.write(1, { signal: 'x' as never }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /in write\(\)/ });
    const s = w.stats();
    assert.equal(s.buffered, 0);
    assert.equal(s.dropped, 0);
  });

  it('BatchWriter.write() – with valid options an undefined item is still refused, and a good item is buffered', async () => {
    const w = writer();
    await assert.rejects(w.write(undefined as never, { timeoutMs: 5 }), { code: 'ERR_SLUICE_INVALID_ITEM' });
    assert.equal(await w.write(1, { timeoutMs: 5, signal: new AbortController().signal }), true);
    const s = w.stats();
    assert.equal(s.written, 1);
    assert.equal(s.dropped, 0);
  });

  it('ConcurrencyLimiter.acquire() – bad options take no permit', async () => {
    const limiter = new ConcurrencyLimiter({ initialLimit: 1 });
    await assert.rejects(limiter.acquire({ signal: 'x' as never }), { code: 'ERR_SLUICE_INVALID_OPTION' });
    assert.equal(limiter.stats().inflight, 0);
    assert.equal(limiter.stats().aborted, 0);
  });
});

describe('publishers: per-call options and already-aborted signals', () => {
  const noop = (): void => {};
  const amqpChannel = () => {
    const published: unknown[] = [];
    return { published, publish: (...args: unknown[]) => (published.push(args), true), on: noop, once: noop, removeListener: noop, off: noop };
  };

  it('amqp publish() – an aborted signal rejects with the reason and writes nothing; a bad signal is ERR_SLUICE_INVALID_OPTION', async () => {
    const { publish } = await import('../adapters/amqp/index.js');
    const channel = amqpChannel();
    await assert.rejects(publish(channel as never, 'x', 'k', Buffer.from('a'), {}, { signal: aborted() }), isReason);
    await assert.rejects(publish(channel as never, 'x', 'k', Buffer.from('a'), {}, { signal: 'x' as never }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'signal' });
    await assert.rejects(publish(channel as never, 'x', 'k', Buffer.from('a'), {}, { sigal: 1 } as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /did you mean "signal"/ });
    assert.equal(channel.published.length, 0);
  });

  it('AmqpPublisher.publish() – an aborted signal rejects with the reason and publishes nothing, also once closed', async () => {
    const { publisher } = await import('../adapters/amqp/index.js');
    const channel = amqpChannel();
    const pub = publisher(channel as never);
    await assert.rejects(pub.publish('x', 'k', Buffer.from('a'), {}, { signal: aborted() }), isReason);
    await assert.rejects(pub.publish('x', 'k', Buffer.from('a'), {}, { timeoutMs: 5 } as never), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'timeoutMs' });
    assert.equal(channel.published.length, 0);
    assert.equal(pub.stats().aborted, 1);
    await pub.close();
    await assert.rejects(pub.publish('x', 'k', Buffer.from('a'), {}, { signal: aborted() }), isReason);
  });

  it('JetStreamPublisher.publish() – an aborted signal rejects with the reason and publishes nothing', async () => {
    const { jetStreamPublisher } = await import('../adapters/nats/index.js');
    let calls = 0;
    const pub = jetStreamPublisher({ publish: () => (calls++, Promise.resolve({})) } as never);
    await assert.rejects(pub.publish('s', 'a', undefined, { signal: aborted() }), isReason);
    await assert.rejects(pub.publish('s', 'a', undefined, { signal: {} as never }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'signal' });
    assert.equal(calls, 0);
    assert.equal(pub.stats().aborted, 1);
  });
});
