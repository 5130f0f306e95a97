import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { flushMicrotasks } from '../testing/index.js';
import { publisherFrom, type Publisher, type Subscriber, type Subscription } from './index.js';

interface Recorded<T> {
  items: T[];
  errors: unknown[];
  completed: number;
  subscription: Subscription;
}

/** Subscribes and records; `initial` is requested from onSubscribe (0: nothing). */
function record<T>(publisher: Publisher<T>, initial = 0, onNext?: (item: T, s: Subscription) => void): Recorded<T> {
  const r = { items: [], errors: [], completed: 0 } as unknown as Recorded<T>;
  publisher.subscribe({
    onSubscribe(s) {
      r.subscription = s;
      if (initial > 0) s.request(initial);
    },
    onNext(item) {
      r.items.push(item);
      onNext?.(item, r.subscription);
    },
    onError(error) {
      r.errors.push(error);
    },
    onComplete() {
      r.completed++;
    },
  });
  return r;
}

/** A sync iterable that counts next() calls and notes return(). */
function spyIterable(n: number) {
  const spy = { nextCalls: 0, returned: false, iterators: 0 };
  const iterable: Iterable<number> = {
    [Symbol.iterator]() {
      spy.iterators++;
      let i = 0;
      return {
        next: () => {
          spy.nextCalls++;
          return i < n ? { value: ++i, done: false } : { value: undefined, done: true };
        },
        return: () => {
          spy.returned = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
  return { spy, iterable };
}

describe('publisherFrom()', () => {
  it('publisherFrom() - a slow subscriber requesting one at a time gets next() called only as often as it requested', async () => {
    const { spy, iterable } = spyIterable(1000);
    const r = record(publisherFrom(iterable), 1);
    for (let requested = 1; requested <= 20; requested++) {
      assert.equal(spy.nextCalls, requested);
      assert.equal(r.items.length, requested);
      await flushMicrotasks(); // the subscriber takes its time
      assert.equal(spy.nextCalls, requested, 'nothing is read ahead while the subscriber is idle');
      r.subscription.request(1);
    }
  });

  it('publisherFrom() - an async source is pulled one next() at a time, never beyond demand', async () => {
    let calls = 0;
    let inFlight = 0;
    let overlapped = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]() {
        return {
          next: async () => {
            calls++;
            if (++inFlight > 1) overlapped = true;
            await flushMicrotasks();
            inFlight--;
            return { value: calls, done: false };
          },
        };
      },
    };
    const r = record(publisherFrom(source), 3);
    r.subscription.request(2);
    for (let i = 0; i < 10; i++) await flushMicrotasks();
    assert.equal(calls, 5);
    assert.deepEqual(r.items, [1, 2, 3, 4, 5]);
    assert.equal(overlapped, false);
  });

  it('cancel() - runs the sync source generator\'s finally and stops', () => {
    let finalized = false;
    function* gen(): Generator<number> {
      try {
        for (let i = 1; ; i++) yield i;
      } finally {
        finalized = true;
      }
    }
    const r = record(publisherFrom(gen()), 3);
    r.subscription.cancel();
    assert.ok(finalized);
    r.subscription.request(3);
    assert.deepEqual(r.items, [1, 2, 3]);
    assert.equal(r.completed + r.errors.length, 0);
  });

  it('cancel() - runs the async source generator\'s finally', async () => {
    let finalized = false;
    async function* gen(): AsyncGenerator<number> {
      try {
        for (let i = 1; ; i++) yield i;
      } finally {
        finalized = true;
      }
    }
    const r = record(publisherFrom(gen()), 2);
    await flushMicrotasks();
    assert.deepEqual(r.items, [1, 2]);
    r.subscription.cancel();
    await flushMicrotasks();
    assert.ok(finalized);
  });

  it('cancel() - from inside onNext stops the sync loop at once and returns the iterator', () => {
    const { spy, iterable } = spyIterable(100);
    const r = record(publisherFrom(iterable), 50, (item, s) => {
      if (item === 5) s.cancel();
    });
    assert.deepEqual(r.items, [1, 2, 3, 4, 5]);
    assert.equal(spy.nextCalls, 5);
    assert.ok(spy.returned);
  });

  it('cancel() - an iterator that was never opened is not opened by cancel', () => {
    const { spy, iterable } = spyIterable(5);
    const r = record(publisherFrom(iterable));
    r.subscription.cancel();
    assert.equal(spy.iterators, 0);
    assert.equal(spy.returned, false);
  });

  it('publisherFrom() - an error thrown by a sync source reaches onError', () => {
    function* gen(): Generator<number> {
      yield 1;
      throw new Error('boom');
    }
    const r = record(publisherFrom(gen()), 10);
    assert.deepEqual(r.items, [1]);
    assert.equal((r.errors[0] as Error).message, 'boom');
    assert.equal(r.completed, 0);
  });

  it('publisherFrom() - a rejection from an async source reaches onError', async () => {
    async function* gen(): AsyncGenerator<number> {
      yield 1;
      await flushMicrotasks();
      throw new Error('async boom');
    }
    const r = record(publisherFrom(gen()), 10);
    await flushMicrotasks();
    await flushMicrotasks();
    assert.deepEqual(r.items, [1]);
    assert.equal((r.errors[0] as Error).message, 'async boom');
  });

  it('publisherFrom() - completion of a generic iterable is signalled when a read finds the end', () => {
    const r = record(publisherFrom(new Set([1, 2])), 2);
    assert.deepEqual(r.items, [1, 2]);
    assert.equal(r.completed, 0, 'the end is not known until another read');
    r.subscription.request(1);
    assert.equal(r.completed, 1);
  });

  it('publisherFrom(array) - completes right after the last item, without further demand', () => {
    const r = record(publisherFrom(['a', 'b']), 2);
    assert.deepEqual(r.items, ['a', 'b']);
    assert.equal(r.completed, 1);
  });

  it('publisherFrom() - each subscribe() iterates an iterable afresh', () => {
    const publisher = publisherFrom([1, 2, 3]);
    const a = record(publisher, 10);
    const b = record(publisher, 2);
    assert.deepEqual(a.items, [1, 2, 3]);
    assert.deepEqual(b.items, [1, 2]);
  });

  it('publisherFrom(channel) - delivers every item once, then completes after close', async () => {
    const channel = new Channel<number>({ capacity: 4 });
    const r = record(publisherFrom(channel), 100);
    const sent: number[] = [];
    for (let i = 1; i <= 20; i++) {
      await channel.send(i);
      sent.push(i);
    }
    channel.close();
    await flushMicrotasks();
    assert.deepEqual(r.items, sent);
    assert.equal(r.completed, 1);
    assert.equal(channel.stats().delivered, 20);
  });

  it('publisherFrom(channel) - subscribers compete: each item goes to exactly one of them', async () => {
    const channel = new Channel<number>({ capacity: 100 });
    const publisher = publisherFrom(channel.receiver);
    const a = record(publisher, 1, (_item, s) => s.request(1));
    const b = record(publisher, 1, (_item, s) => s.request(1));
    for (let i = 1; i <= 50; i++) channel.trySend(i);
    channel.close();
    await flushMicrotasks();
    const all = [...a.items, ...b.items].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(a.items.length > 0 && b.items.length > 0);
    assert.equal(a.completed + b.completed, 2);
  });

  it('publisherFrom(channel) - takes buffered items with tryReceive() and waits with receive() only when empty', async () => {
    const channel = new Channel<number>({ capacity: 10 });
    let receives = 0;
    const spied = {
      tryReceive: () => channel.tryReceive(),
      receive: (options?: { signal?: AbortSignal }) => {
        receives++;
        return channel.receive(options);
      },
      get closed() {
        return channel.closed;
      },
    };
    for (let i = 1; i <= 5; i++) channel.trySend(i);
    const r = record(publisherFrom(spied), 6);
    assert.deepEqual(r.items, [1, 2, 3, 4, 5], 'buffered items arrive synchronously');
    assert.equal(receives, 1, 'one wait for the sixth');
    channel.trySend(6);
    await flushMicrotasks();
    assert.deepEqual(r.items, [1, 2, 3, 4, 5, 6]);
  });

  it('cancel() - aborts a waiting channel receive so no item is taken', async () => {
    const channel = new Channel<number>();
    const r = record(publisherFrom(channel), 1);
    await flushMicrotasks();
    r.subscription.cancel();
    await flushMicrotasks();
    channel.trySend(1);
    await flushMicrotasks();
    assert.deepEqual(r.items, []);
    assert.equal(channel.size, 1);
  });

  it('cancel() - an item already taken from the channel is still delivered (rule 2.8), then nothing more', async () => {
    const channel = new Channel<number>();
    const r = record(publisherFrom(channel), 5);
    await flushMicrotasks();
    channel.trySend(1); // resolves the waiting receive before the subscriber cancels
    r.subscription.cancel();
    channel.trySend(2);
    await flushMicrotasks();
    assert.deepEqual(r.items, [1]);
    assert.equal(channel.size, 1);
    assert.equal(r.completed + r.errors.length, 0);
  });

  it('publisherFrom() - an onNext that throws cancels the subscription and reaches onDroppedError', () => {
    const dropped: unknown[] = [];
    const { spy, iterable } = spyIterable(10);
    const publisher = publisherFrom(iterable, { onDroppedError: (error) => dropped.push(error) });
    const r = record(publisher, 10, (item) => {
      if (item === 2) throw new Error('subscriber bug');
    });
    assert.deepEqual(r.items, [1, 2]);
    assert.equal((dropped[0] as Error).message, 'subscriber bug');
    assert.ok(spy.returned);
    assert.equal(r.errors.length, 0);
    assert.deepEqual(
      { cancelled: publisher.stats().cancelled, droppedErrors: publisher.stats().droppedErrors },
      { cancelled: 1, droppedErrors: 1 },
    );
  });

  it('publisherFrom() - by default a dropped error is rethrown asynchronously, never swallowed', async () => {
    const seen: unknown[] = [];
    const listener = (error: unknown) => seen.push(error);
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', listener);
    try {
      const subscriber: Subscriber<number> = {
        onSubscribe: (s) => s.request(1),
        onNext: () => {
          throw new Error('unhandled subscriber bug');
        },
        onError: () => {},
        onComplete: () => {},
      };
      publisherFrom([1, 2]).subscribe(subscriber);
      await flushMicrotasks();
    } finally {
      process.removeListener('uncaughtException', listener);
      for (const l of previous) process.on('uncaughtException', l);
    }
    assert.equal((seen[0] as Error).message, 'unhandled subscriber bug');
  });

  it('publisherFrom() - rejects a source that is neither iterable nor a Channel', () => {
    for (const bad of [42, null, undefined, {}, { receive() {} }]) {
      assert.throws(() => publisherFrom(bad as unknown as Iterable<number>), InvalidArgumentError);
    }
  });

  it('publisherFrom() - rejects an invalid onDroppedError option', () => {
    assert.throws(
      () => publisherFrom([1], { onDroppedError: 'log' as unknown as () => void }),
      (error: any) => error.code === 'ERR_SLUICE_INVALID_OPTION' && /onDroppedError/.test(error.message),
    );
    assert.throws(
      () => publisherFrom([1], 'x' as unknown as object),
      (error: any) => error.code === 'ERR_SLUICE_INVALID_OPTION',
    );
  });

  it('stats() - counts subscriptions, demand, emissions and outcomes', () => {
    const publisher = publisherFrom([1, 2, 3]);
    record(publisher, 10);
    const cancelled = record(publisher, 1);
    cancelled.subscription.cancel();
    const errored = record(publisher, 1);
    errored.subscription.request(0);
    const idle = record(publisher);
    assert.ok(idle.subscription);
    assert.deepEqual(publisher.stats(), {
      subscriptions: 4,
      active: 1,
      requested: 12,
      emitted: 5,
      completed: 1,
      errored: 1,
      cancelled: 1,
      droppedErrors: 0,
    });
  });
});
