import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline as nodePipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { ConcurrencyLimiter } from '../concurrency-limiter/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { filter, limit, map, pipeline, tap, transform } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(e.field, field);
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

/** A promise per call that the test settles by hand, in any order. */
function deferredCalls<A, B>() {
  const calls: { item: A; resolve: (b: B) => void; reject: (e: unknown) => void }[] = [];
  const fn = (item: A) =>
    new Promise<B>((resolve, reject) => {
      calls.push({ item, resolve, reject });
    });
  return { calls, fn };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('map()', () => {
  it('map() - applies a sync function', async () => {
    const out: number[] = [];
    await pipeline([1, 2, 3], map((n: number) => n * 2), (n: number) => void out.push(n));
    assert.deepEqual(out, [2, 4, 6]);
  });

  it('map() - passes the run signal to fn as { signal }', async () => {
    let seen: unknown;
    await pipeline([1], map((n: number, { signal }) => ((seen = signal), n)));
    assert.ok(seen instanceof AbortSignal);
  });

  it('map() - runs at most `concurrency` calls at once', async () => {
    const { calls, fn } = deferredCalls<number, number>();
    const out: number[] = [];
    const done = pipeline([1, 2, 3, 4, 5, 6], map(fn, { concurrency: 3 }), (n: number) => void out.push(n));
    await tick();
    assert.deepEqual(
      calls.map((c) => c.item),
      [1, 2, 3],
    );
    calls[0]!.resolve(10);
    await tick();
    assert.deepEqual(
      calls.map((c) => c.item),
      [1, 2, 3, 4],
    );
    for (let i = 1; i < 6; i++) {
      while (calls.length <= i) await tick();
      calls[i]!.resolve(calls[i]!.item * 10);
    }
    await done;
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60]);
  });

  it('map() - ordered: a fast result waits for the slower one before it', async () => {
    const { calls, fn } = deferredCalls<number, string>();
    const out: string[] = [];
    const done = pipeline(['a', 'b', 'c'].map((_, i) => i), map(fn, { concurrency: 3 }), (s: string) => void out.push(s));
    await tick();
    calls[2]!.resolve('c');
    calls[1]!.resolve('b');
    await tick();
    assert.deepEqual(out, []);
    calls[0]!.resolve('a');
    await done;
    assert.deepEqual(out, ['a', 'b', 'c']);
  });

  it('map() - unordered: results leave as they finish', async () => {
    const { calls, fn } = deferredCalls<number, string>();
    const out: string[] = [];
    const done = pipeline([0, 1, 2], map(fn, { concurrency: 3, ordered: false }), (s: string) => void out.push(s));
    await tick();
    calls[2]!.resolve('c');
    await tick();
    calls[0]!.resolve('a');
    await tick();
    calls[1]!.resolve('b');
    await done;
    assert.deepEqual(out, ['c', 'a', 'b']);
  });

  it('map() - unordered: finished results count against the window until taken', async () => {
    const { calls, fn } = deferredCalls<number, number>();
    let holdSink = true;
    let releaseSink: () => void = () => {};
    const out: number[] = [];
    const done = pipeline([1, 2, 3, 4, 5], map(fn, { concurrency: 2, ordered: false }), (n: number) => {
      out.push(n);
      return holdSink ? new Promise<void>((r) => (releaseSink = r)) : undefined;
    });
    await tick();
    calls[0]!.resolve(1); // goes to the sink, which holds on to it
    calls[1]!.resolve(2); // finished, waiting to be taken
    await tick();
    // Taking result 1 freed one place: item 3 runs; with result 2 waiting the window (2) is full.
    assert.deepEqual(
      calls.map((c) => c.item),
      [1, 2, 3],
    );
    holdSink = false;
    releaseSink();
    await tick();
    // Result 2 was taken, so item 4 started.
    assert.equal(calls.length, 4);
    for (let i = 2; i < 5; i++) {
      while (calls.length <= i) await tick();
      calls[i]!.resolve(i + 1);
    }
    await done;
    assert.deepEqual(out, [1, 2, 3, 4, 5]);
  });

  it('map() - a synchronous fn creates no promise per item', async () => {
    const originalThen = Promise.prototype.then;
    let thens = 0;
    Promise.prototype.then = function (this: Promise<unknown>, ...args: Parameters<typeof originalThen>) {
      thens++;
      return originalThen.apply(this, args);
    } as typeof originalThen;
    try {
      const items = Array.from({ length: 1000 }, (_, i) => i);
      let sum = 0;
      const before = thens;
      await pipeline(items, map((n: number) => n + 1, { concurrency: 4 }), (n: number) => void (sum += n));
      assert.equal(sum, 500_500);
      assert.ok(thens - before < 10, `${thens - before} then() calls for 1000 items`);
    } finally {
      Promise.prototype.then = originalThen;
    }
  });

  it('map() - rejects a non-function with InvalidArgumentError', () => {
    assert.throws(() => map(42 as never), InvalidArgumentError);
  });

  it('map() - rejects bad concurrency and ordered options, naming the field', () => {
    for (const concurrency of [0, -1, 1.5, NaN, '2']) assertInvalidOption(() => map((x) => x, { concurrency: concurrency as never }), 'concurrency');
    assertInvalidOption(() => map((x) => x, { ordered: 'yes' as never }), 'ordered');
  });

  it('map() - stats() counts received, emitted and in-flight items', async () => {
    const { calls, fn } = deferredCalls<number, number>();
    const stage = map(fn, { concurrency: 2 });
    const done = pipeline([1, 2, 3], stage, () => {});
    await tick();
    assert.deepEqual(stage.stats(), { runs: 1, received: 2, emitted: 0, inFlight: 2 });
    calls[0]!.resolve(1);
    calls[1]!.resolve(2);
    while (calls.length < 3) await tick();
    calls[2]!.resolve(3);
    await done;
    assert.deepEqual(stage.stats(), { runs: 1, received: 3, emitted: 3, inFlight: 0 });
  });

  it('map() - called as a function, transforms an iterable on its own', async () => {
    const out: number[] = [];
    for await (const n of map((n: number) => n * 3)([1, 2])) out.push(n);
    assert.deepEqual(out, [3, 6]);
  });

  it('map() - works as a step of Node stream.pipeline', async () => {
    const out: number[] = [];
    await nodePipeline(
      Readable.from([1, 2, 3]),
      map(async (n: number) => n + 100),
      new Writable({
        objectMode: true,
        write(n: number, _e, cb) {
          out.push(n);
          cb();
        },
      }),
    );
    assert.deepEqual(out, [101, 102, 103]);
  });
});

describe('filter() and tap()', () => {
  it('filter() - keeps items for which fn is truthy, sync or async', async () => {
    const out: number[] = [];
    await pipeline(
      [1, 2, 3, 4, 5, 6],
      filter((n: number) => n % 2 === 0),
      filter(async (n: number) => n !== 4),
      (n: number) => void out.push(n),
    );
    assert.deepEqual(out, [2, 6]);
  });

  it('filter() - stats() emitted counts the items that passed', async () => {
    const stage = filter((n: number) => n > 2);
    await pipeline([1, 2, 3, 4], stage);
    assert.equal(stage.stats().received, 4);
    assert.equal(stage.stats().emitted, 2);
  });

  it('tap() - sees every item and passes it on unchanged, after an async fn settles', async () => {
    const log: string[] = [];
    await pipeline(
      [1, 2],
      tap(async (n: number) => {
        await tick();
        log.push(`tap ${n}`);
      }),
      (n: number) => void log.push(`sink ${n}`),
    );
    assert.deepEqual(log, ['tap 1', 'sink 1', 'tap 2', 'sink 2']);
  });

  it('filter() and tap() - reject a non-function with InvalidArgumentError', () => {
    assert.throws(() => filter(null as never), InvalidArgumentError);
    assert.throws(() => tap('x' as never), InvalidArgumentError);
  });
});

describe('transform()', () => {
  it('transform() - runs an async generator over the upstream', async () => {
    const out: string[] = [];
    const pairs = transform(async function* (source: AsyncIterable<number>) {
      let previous: number | undefined;
      for await (const n of source) {
        if (previous !== undefined) yield `${previous}-${n}`;
        previous = n;
      }
    });
    await pipeline([1, 2, 3], pairs, (s: string) => void out.push(s));
    assert.deepEqual(out, ['1-2', '2-3']);
    assert.equal(pairs.stats().runs, 1);
  });

  it('transform() - a transformer that stops early ends the pipeline and closes the source', async () => {
    let closed = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const out: number[] = [];
    const firstThree = transform(async function* (source: AsyncIterable<number>) {
      let n = 0;
      for await (const x of source) {
        yield x;
        if (++n === 3) return;
      }
    });
    await pipeline(naturals(), firstThree, (n: number) => void out.push(n));
    assert.deepEqual(out, [0, 1, 2]);
    assert.ok(closed);
  });

  it('transform() - a fn that throws when the run starts rejects with its error and closes the source', async () => {
    const readable = Readable.from([1, 2, 3]);
    const boom = new Error('bad setup');
    await assert.rejects(
      pipeline(
        readable,
        transform(() => {
          throw boom;
        }),
        () => {},
      ),
      (e) => e === boom,
    );
    assert.ok(readable.destroyed);
  });

  it('transform() - rejects a fn returning something not iterable with InvalidArgumentError', async () => {
    await assert.rejects(pipeline([1], transform((() => 42) as never), () => {}), InvalidArgumentError);
    assert.throws(() => transform(undefined as never), InvalidArgumentError);
  });
});

describe('limit()', () => {
  it('limit() - runs each call under a permit and releases it with success()', async () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 2 });
    let active = 0;
    let maxActive = 0;
    const out: number[] = [];
    await pipeline(
      [1, 2, 3, 4, 5, 6],
      limit(
        limiter,
        async (n: number) => {
          active++;
          maxActive = Math.max(maxActive, active);
          await tick();
          active--;
          return n * 2;
        },
        { concurrency: 6 },
      ),
      (n: number) => void out.push(n),
    );
    assert.deepEqual(out, [2, 4, 6, 8, 10, 12]);
    assert.equal(maxActive, 2);
    const stats = limiter.stats();
    assert.equal(stats.successes, 6);
    assert.equal(stats.inflight, 0);
  });

  it('limit() - releases with dropped() when fn throws, or ignore() when isDropped says so', async () => {
    const permits: string[] = [];
    const fakeLimiter = {
      acquire: async () => ({
        success: () => void permits.push('success'),
        dropped: () => void permits.push('dropped'),
        ignore: () => void permits.push('ignore'),
      }),
    };
    const boom = new Error('503');
    await assert.rejects(pipeline([1], limit(fakeLimiter, async () => Promise.reject(boom)), () => {}), boom);
    const notFound = new Error('404');
    await assert.rejects(
      pipeline([1], limit(fakeLimiter, async () => Promise.reject(notFound), { isDropped: (e) => e !== notFound }), () => {}),
      notFound,
    );
    assert.deepEqual(permits, ['dropped', 'ignore']);
  });

  it('limit() - rejects a limiter without acquire() and bad options', () => {
    assert.throws(() => limit({} as never, (x) => x), InvalidArgumentError);
    assertInvalidOption(() => limit({ acquire: async () => ({ success() {}, dropped() {}, ignore() {} }) }, (x) => x, { concurrency: 0 }), 'concurrency');
    assertInvalidOption(() => limit({ acquire: async () => ({ success() {}, dropped() {}, ignore() {} }) }, (x) => x, { isDropped: 1 as never }), 'isDropped');
  });
});
