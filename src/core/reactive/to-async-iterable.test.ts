import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { flushMicrotasks } from '../testing/index.js';
import { publisherFrom, toAsyncIterable, type Publisher, type Subscriber } from './index.js';

/** A publisher driven by hand: records request(n)/cancel() and emits when told to. */
function manualPublisher<T>() {
  const state = { requests: [] as number[], cancels: 0, subscribes: 0, emitted: 0 };
  let subscriber: Subscriber<T> | undefined;
  const publisher: Publisher<T> = {
    subscribe(s) {
      state.subscribes++;
      subscriber = s;
      s.onSubscribe({ request: (n) => state.requests.push(n), cancel: () => state.cancels++ });
    },
  };
  const outstanding = () => state.requests.reduce((a, b) => a + b, 0) - state.emitted;
  return {
    publisher,
    state,
    outstanding,
    emit(item: T) {
      state.emitted++;
      subscriber!.onNext(item);
    },
    /** Emits consecutive numbers up to the outstanding demand. */
    fill(next: () => T) {
      for (let n = outstanding(); n > 0; n--) this.emit(next());
    },
    complete: () => subscriber!.onComplete(),
    error: (e: unknown) => subscriber!.onError(e),
  };
}

/** Wraps a publisher to record the request(n) calls made on its subscriptions. */
function spyOn<T>(inner: Publisher<T>) {
  const log = { requests: [] as number[], cancels: 0 };
  const publisher: Publisher<T> = {
    subscribe(subscriber) {
      inner.subscribe({
        onSubscribe: (s) =>
          subscriber.onSubscribe({
            request: (n) => {
              log.requests.push(n);
              s.request(n);
            },
            cancel: () => {
              log.cancels++;
              s.cancel();
            },
          }),
        onNext: (item) => subscriber.onNext(item),
        onError: (error) => subscriber.onError(error),
        onComplete: () => subscriber.onComplete(),
      });
    },
  };
  return { publisher, log };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('toAsyncIterable()', () => {
  it('toAsyncIterable() - requests prefetch first, then lowTide (default 75%) each time lowTide items are consumed', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher, { prefetch: 8 });
    assert.equal(iterator.lowTide, 6);
    let counter = 0;
    const requestedAt: number[] = [];
    const pending = iterator.next();
    assert.deepEqual(m.state.requests, [8]);
    m.fill(() => ++counter);
    assert.deepEqual(await pending, { value: 1, done: false });
    for (let consumed = 1; consumed < 20; ) {
      const before = m.state.requests.length;
      const r = await iterator.next();
      consumed++;
      assert.equal(r.value, consumed);
      if (m.state.requests.length !== before) requestedAt.push(consumed);
      m.fill(() => ++counter);
    }
    assert.deepEqual(m.state.requests, [8, 6, 6, 6]);
    assert.deepEqual(requestedAt, [6, 12, 18]);
  });

  it('toAsyncIterable() - a custom lowTide sets the replenish size and moment', async () => {
    const { publisher, log } = spyOn(publisherFrom(range(30)));
    const seen: number[] = [];
    for await (const item of toAsyncIterable(publisher, { prefetch: 10, lowTide: 3 })) seen.push(item);
    assert.deepEqual(seen, range(30));
    // 10 up front; +3 per 3 consumed until the array completed right after item 30.
    assert.deepEqual(log.requests, [10, 3, 3, 3, 3, 3, 3, 3]);
  });

  it('toAsyncIterable() - lowTide equal to prefetch re-requests a full batch only once the batch is consumed', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher, { prefetch: 4, lowTide: 4 });
    let counter = 0;
    const first = iterator.next();
    m.fill(() => ++counter);
    await first;
    await iterator.next();
    await iterator.next();
    assert.deepEqual(m.state.requests, [4]);
    await iterator.next();
    assert.deepEqual(m.state.requests, [4, 4]);
  });

  it('toAsyncIterable() - never buffers more than prefetch, however slow the consumer', async () => {
    const { publisher, log } = spyOn(publisherFrom(range(1000)));
    const iterator = toAsyncIterable(publisher, { prefetch: 16 });
    let maxBuffered = 0;
    let maxUndelivered = 0;
    let count = 0;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      count++;
      const s = iterator.stats();
      maxBuffered = Math.max(maxBuffered, s.buffered);
      maxUndelivered = Math.max(maxUndelivered, s.requested - s.delivered);
      if (count % 100 === 0) await flushMicrotasks();
    }
    assert.equal(count, 1000);
    assert.ok(maxBuffered <= 16, `buffered ${maxBuffered}`);
    assert.ok(maxUndelivered <= 16, `requested - delivered reached ${maxUndelivered}`);
    assert.equal(log.requests[0], 16);
    assert.ok(log.requests.slice(1).every((n) => n === 12));
  });

  it('toAsyncIterable() - a publisher sending beyond demand is cancelled and next() rejects after the buffered items (rule 1.1)', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher, { prefetch: 2 });
    const first = iterator.next();
    m.emit(1);
    m.emit(2);
    m.emit(3); // one too many
    assert.equal(m.state.cancels, 1);
    assert.deepEqual(await first, { value: 1, done: false });
    assert.ok(iterator.stats().buffered <= 2);
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    await assert.rejects(iterator.next(), /rule 1\.1/);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('toAsyncIterable() - subscribes on the first next(), not before', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher);
    assert.equal(m.state.subscribes, 0);
    assert.equal(iterator.stats().state, 'idle');
    void iterator.next();
    assert.equal(m.state.subscribes, 1);
    assert.deepEqual(m.state.requests, [256]);
    await iterator.return();
  });

  it('return() - breaking out of for await cancels the subscription and runs the source finally', async () => {
    let finalized = false;
    function* gen(): Generator<number> {
      try {
        for (let i = 1; ; i++) yield i;
      } finally {
        finalized = true;
      }
    }
    const { publisher, log } = spyOn(publisherFrom(gen()));
    const iterator = toAsyncIterable(publisher, { prefetch: 8 });
    for await (const item of iterator) {
      if (item === 3) break;
    }
    assert.equal(log.cancels, 1);
    assert.ok(finalized);
    assert.equal(iterator.stats().discarded, 5, 'the five buffered items were discarded');
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('next() - onError surfaces as a rejected next() after the buffered items, then done', async () => {
    function* gen(): Generator<number> {
      yield 1;
      yield 2;
      throw new Error('source failed');
    }
    const iterator = toAsyncIterable(publisherFrom(gen()), { prefetch: 4 });
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    await assert.rejects(iterator.next(), /source failed/);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('next() - an error while next() calls wait rejects each of them', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher);
    const a = iterator.next();
    const b = iterator.next();
    m.error(new Error('down'));
    await assert.rejects(a, /down/);
    await assert.rejects(b, /down/);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('next() - yields every item in order, then done', async () => {
    const seen: number[] = [];
    for await (const item of toAsyncIterable(publisherFrom(range(1000)), { prefetch: 7, lowTide: 3 })) seen.push(item);
    assert.deepEqual(seen, range(1000));
  });

  it('next() - concurrent next() calls are served in call order', async () => {
    const m = manualPublisher<string>();
    const iterator = toAsyncIterable(m.publisher, { prefetch: 4 });
    const calls = [iterator.next(), iterator.next(), iterator.next()];
    assert.equal(iterator.stats().waiting, 3);
    m.emit('a');
    m.emit('b');
    m.complete();
    assert.deepEqual(await Promise.all(calls), [
      { value: 'a', done: false },
      { value: 'b', done: false },
      { value: undefined, done: true },
    ]);
  });

  it('next() - a null item from the publisher cancels it and rejects with a TypeError (rule 2.13)', async () => {
    const m = manualPublisher<number | null>();
    const iterator = toAsyncIterable(m.publisher);
    const first = iterator.next();
    m.emit(null);
    await assert.rejects(first, TypeError);
    assert.equal(m.state.cancels, 1);
  });

  it('next() - a publisher whose subscribe() throws makes next() reject', async () => {
    const broken: Publisher<number> = {
      subscribe() {
        throw new Error('cannot subscribe');
      },
    };
    await assert.rejects(toAsyncIterable(broken).next(), /cannot subscribe/);
  });

  it('signal - aborting rejects a pending next() with signal.reason and cancels the subscription', async () => {
    const controller = new AbortController();
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher, { signal: controller.signal });
    const pending = iterator.next();
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    assert.equal(m.state.cancels, 1);
    assert.equal(iterator.stats().state, 'cancelled');
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('signal - aborting with nothing pending rejects the next call once, then done', async () => {
    const controller = new AbortController();
    const iterator = toAsyncIterable(publisherFrom(range(10)), { prefetch: 4, signal: controller.signal });
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    controller.abort();
    await assert.rejects(iterator.next(), (e) => e === controller.signal.reason);
    assert.equal(iterator.stats().discarded, 3);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('signal - an already aborted signal rejects the first next() and never subscribes', async () => {
    const m = manualPublisher<number>();
    const iterator = toAsyncIterable(m.publisher, { signal: AbortSignal.abort('gone') });
    await assert.rejects(iterator.next(), (e) => e === 'gone');
    assert.equal(m.state.subscribes, 0);
  });

  it('onSubscribe - a second subscription is cancelled (rule 2.5)', async () => {
    const cancels: string[] = [];
    const twice: Publisher<number> = {
      subscribe(s) {
        s.onSubscribe({ request: () => {}, cancel: () => cancels.push('first') });
        s.onSubscribe({ request: () => assert.fail('the second is never asked'), cancel: () => cancels.push('second') });
      },
    };
    const iterator = toAsyncIterable(twice);
    void iterator.next();
    assert.deepEqual(cancels, ['second']);
    await iterator.return();
    assert.deepEqual(cancels, ['second', 'first']);
  });

  it('return() - pending next() calls resolve done, and a subscription arriving afterwards is cancelled', async () => {
    let deliver: Subscriber<number> | undefined;
    const late: Publisher<number> = { subscribe: (s) => (deliver = s) };
    const iterator = toAsyncIterable(late);
    const pending = iterator.next();
    await iterator.return();
    assert.deepEqual(await pending, { value: undefined, done: true });
    let cancelled = false;
    deliver!.onSubscribe({ request: () => assert.fail('no demand after return()'), cancel: () => (cancelled = true) });
    assert.ok(cancelled);
  });

  it('toAsyncIterable(publisherFrom(channel)) - a blocked producer is paced by the consumer', async () => {
    const channel = new Channel<number>({ capacity: 4 });
    const iterator = toAsyncIterable(publisherFrom(channel), { prefetch: 8 });
    const producer = (async () => {
      for (let i = 1; i <= 100; i++) await channel.send(i);
      channel.close();
    })();
    const seen: number[] = [];
    let maxBuffered = 0;
    for await (const item of iterator) {
      seen.push(item);
      maxBuffered = Math.max(maxBuffered, iterator.stats().buffered);
    }
    await producer;
    assert.deepEqual(seen, range(100));
    assert.ok(maxBuffered <= 8);
    assert.equal(channel.stats().dropped, 0);
  });

  it('toAsyncIterable() - invalid options throw InvalidOptionError naming the field', () => {
    const publisher = publisherFrom([1]);
    const cases: [object, string][] = [
      [{ prefetch: 0 }, 'prefetch'],
      [{ prefetch: 1.5 }, 'prefetch'],
      [{ prefetch: '8' }, 'prefetch'],
      [{ prefetch: 8, lowTide: 0 }, 'lowTide'],
      [{ prefetch: 8, lowTide: 9 }, 'lowTide'],
      [{ lowTide: 2.5 }, 'lowTide'],
      [{ signal: {} }, 'signal'],
    ];
    for (const [options, field] of cases) {
      assert.throws(
        () => toAsyncIterable(publisher, options as never),
        (e: any) => e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field && e.message.includes(field),
        JSON.stringify(options),
      );
    }
    assert.throws(() => toAsyncIterable(publisher, 5 as never), (e: any) => e.code === 'ERR_SLUICE_INVALID_OPTION');
  });

  it('toAsyncIterable() - a value without subscribe() throws InvalidArgumentError', () => {
    for (const bad of [null, undefined, {}, [1, 2]]) {
      assert.throws(() => toAsyncIterable(bad as never), InvalidArgumentError);
    }
  });

  it('stats() - reports demand, deliveries and the buffer', async () => {
    const iterator = toAsyncIterable(publisherFrom(range(10)), { prefetch: 4, lowTide: 2 });
    await iterator.next();
    await iterator.next();
    await iterator.next();
    assert.deepEqual(iterator.stats(), {
      prefetch: 4,
      lowTide: 2,
      state: 'active',
      buffered: 3,
      waiting: 0,
      requested: 6,
      requestCalls: 2,
      received: 6,
      delivered: 3,
      discarded: 0,
    });
  });
});
