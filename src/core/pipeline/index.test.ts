import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { Channel } from '../channel/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { publisherFrom } from '../reactive/index.js';
import { batch, filter, map, pipeline, tap, transform, type BatchWriterLike } from './index.js';

async function* asyncRange(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await Promise.resolve();
    yield i;
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function collector<T>(): { items: T[]; sink: (item: T) => void } {
  const items: T[] = [];
  return { items, sink: (item) => void items.push(item) };
}

describe('pipeline() sources', () => {
  it('pipeline() - reads an array', async () => {
    const out = collector<number>();
    const result = await pipeline([1, 2, 3], out.sink);
    assert.deepEqual(out.items, [1, 2, 3]);
    assert.deepEqual(result, { items: 3, refused: 0 });
  });

  it('pipeline() - reads a sync generator', async () => {
    const out = collector<number>();
    function* gen() {
      yield 1;
      yield 2;
    }
    await pipeline(gen(), out.sink);
    assert.deepEqual(out.items, [1, 2]);
  });

  it('pipeline() - reads an async generator', async () => {
    const out = collector<number>();
    await pipeline(asyncRange(5), out.sink);
    assert.deepEqual(out.items, [0, 1, 2, 3, 4]);
  });

  it('pipeline() - reads an objectMode Node Readable', async () => {
    const out = collector<{ n: number }>();
    await pipeline(Readable.from([{ n: 1 }, { n: 2 }]), out.sink);
    assert.deepEqual(out.items, [{ n: 1 }, { n: 2 }]);
  });

  it('pipeline() - reads a byte-mode Node Readable chunk by chunk', async () => {
    const chunks: Buffer[] = [];
    const readable = new Readable({ read() {} });
    readable.push(Buffer.from('ab'));
    readable.push(Buffer.from('cd'));
    readable.push(null);
    await pipeline(readable, (chunk: Buffer) => void chunks.push(chunk));
    assert.equal(Buffer.concat(chunks).toString(), 'abcd');
  });

  it('pipeline() - reads a WHATWG ReadableStream', async () => {
    const out = collector<string>();
    const stream = new ReadableStream<string>({
      start(controller) {
        controller.enqueue('a');
        controller.enqueue('b');
        controller.close();
      },
    });
    await pipeline(stream, out.sink);
    assert.deepEqual(out.items, ['a', 'b']);
  });

  it('pipeline() - reads a Channel until it is closed and empty', async () => {
    const channel = new Channel<number>({ capacity: 4 });
    const out = collector<number>();
    const done = pipeline(channel, out.sink);
    for (let i = 0; i < 10; i++) await channel.send(i);
    channel.close();
    const result = await done;
    assert.deepEqual(out.items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(result.items, 10);
    assert.equal(channel.stats().delivered, 10);
  });

  it('pipeline() - reads a Reactive Streams Publisher', async () => {
    const out = collector<number>();
    await pipeline(publisherFrom([1, 2, 3]), out.sink);
    assert.deepEqual(out.items, [1, 2, 3]);
  });

  it('pipeline() - rejects a source that is not readable with InvalidArgumentError', async () => {
    await assert.rejects(pipeline(42 as never, () => {}), InvalidArgumentError);
    await assert.rejects(pipeline(null as never, () => {}), InvalidArgumentError);
  });
});

describe('pipeline() sinks', () => {
  it('pipeline() - awaits an async function sink one item at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const seen: number[] = [];
    await pipeline([1, 2, 3], async (n: number) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setImmediate(r));
      seen.push(n);
      active--;
    });
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(maxActive, 1);
  });

  it('pipeline() - waits for drain when a Node Writable returns false, then ends it', async () => {
    const written: number[] = [];
    const pendingCallbacks: (() => void)[] = [];
    const writable = new Writable({
      objectMode: true,
      highWaterMark: 2,
      write(item: number, _enc, cb) {
        written.push(item);
        pendingCallbacks.push(cb);
      },
    });
    const done = pipeline([1, 2, 3, 4, 5], writable);
    await tick();
    // Item 1 is being written and item 2 is queued: write() returned false, so item 3 waits for 'drain'.
    assert.deepEqual(written, [1]);
    assert.equal(writable.writableLength, 2);
    while (written.length < 5 || pendingCallbacks.length > 0) {
      pendingCallbacks.shift()?.();
      await tick();
    }
    const result = await done;
    assert.deepEqual(written, [1, 2, 3, 4, 5]);
    assert.equal(result.items, 5);
    assert.equal(writable.writableFinished, true);
  });

  it('pipeline() - writes to a WHATWG WritableStream respecting writer.ready, then closes it', async () => {
    const written: number[] = [];
    let closed = false;
    const stream = new WritableStream<number>(
      {
        async write(n) {
          await new Promise((r) => setImmediate(r));
          written.push(n);
        },
        close() {
          closed = true;
        },
      },
      new CountQueuingStrategy({ highWaterMark: 2 }),
    );
    await pipeline([1, 2, 3, 4, 5], stream);
    assert.deepEqual(written, [1, 2, 3, 4, 5]);
    assert.ok(closed);
  });

  it('pipeline() - writes to a batch writer, counts refused items, closes and awaits drained()', async () => {
    const calls: string[] = [];
    const writer: BatchWriterLike<number> = {
      write: async (n, options) => {
        assert.ok(options?.signal instanceof AbortSignal);
        calls.push(`write ${n}`);
        return n !== 2;
      },
      close: () => void calls.push('close'),
      drained: async () => void calls.push('drained'),
    };
    const result = await pipeline([1, 2, 3], writer);
    assert.deepEqual(calls, ['write 1', 'write 2', 'write 3', 'close', 'drained']);
    assert.deepEqual(result, { items: 2, refused: 1 });
  });

  it('pipeline() - sends to a Channel sink and closes it at the end', async () => {
    const channel = new Channel<number>({ capacity: 2 });
    const received: number[] = [];
    const consumer = (async () => {
      for await (const n of channel) received.push(n);
    })();
    const result = await pipeline([1, 2, 3, 4, 5], channel);
    await consumer;
    assert.deepEqual(received, [1, 2, 3, 4, 5]);
    assert.equal(result.items, 5);
    assert.ok(channel.closed);
  });

  it('pipeline() - counts items a dropping Channel sink refused', async () => {
    const channel = new Channel<number>({ capacity: 2, overflow: 'drop-newest' });
    const result = await pipeline([1, 2, 3, 4, 5], channel);
    assert.deepEqual(result, { items: 2, refused: 3 });
    assert.equal(channel.stats().droppedBy['drop-newest'], 3);
  });

  it('pipeline() - leaves the sink open with { end: false }', async () => {
    const channel = new Channel<number>({ capacity: 10 });
    await pipeline([1, 2], channel, { end: false });
    await pipeline([3], channel, { end: false });
    assert.equal(channel.closed, false);
    assert.equal(channel.size, 3);
  });

  it('pipeline() - without a sink counts what leaves the last stage', async () => {
    const seen: number[] = [];
    const result = await pipeline([1, 2, 3, 4], filter((n: number) => n % 2 === 0), tap((n: number) => void seen.push(n)));
    assert.deepEqual(seen, [2, 4]);
    assert.deepEqual(result, { items: 2, refused: 0 });
  });

  it('pipeline() - rejects a generator function as the sink, pointing at transform()', async () => {
    await assert.rejects(
      pipeline([1], async function* (source: AsyncIterable<number>) {
        yield* source;
      } as never),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('transform(fn)'),
    );
  });

  it('pipeline() - rejects an object that is no sink with InvalidArgumentError', async () => {
    await assert.rejects(pipeline([1], map((n: number) => n), new Date() as never), InvalidArgumentError);
  });
});

describe('pipeline() arguments', () => {
  it('pipeline() - takes a trailing plain object as options', async () => {
    const controller = new AbortController();
    const out = collector<number>();
    const result = await pipeline([1, 2], map((n: number) => n * 10), out.sink, { signal: controller.signal });
    assert.deepEqual(out.items, [10, 20]);
    assert.equal(result.items, 2);
  });

  it('pipeline() - rejects a non-stage in the middle, naming its position', async () => {
    await assert.rejects(
      pipeline([1], ((n: number) => n) as never, map((n: number) => n), () => {}),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('argument 2'),
    );
  });

  it('pipeline() - rejects a signal that is not an AbortSignal with InvalidOptionError', async () => {
    await assert.rejects(pipeline([1], () => {}, { signal: 'soon' as never }), (e: unknown) => {
      assert.ok(e instanceof InvalidOptionError);
      assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.ok(e.message.includes('signal'));
      return true;
    });
  });

  it('pipeline() - rejects a non-boolean end with InvalidOptionError', async () => {
    await assert.rejects(pipeline([1], () => {}, { end: 'yes' as never }), (e: unknown) => {
      assert.ok(e instanceof InvalidOptionError);
      assert.equal(e.field, 'end');
      return true;
    });
  });

  it('pipeline() - chains six stages with types flowing through', async () => {
    const out = collector<string>();
    await pipeline(
      [1, 2, 3, 4, 5, 6, 7],
      map((n: number) => n + 1),
      filter((n: number) => n % 2 === 0),
      map(async (n: number) => n * 10),
      batch<number>({ size: 2 }),
      map((b: number[]) => b.join('+')),
      transform(async function* (source: AsyncIterable<string>) {
        for await (const s of source) yield `[${s}]`;
      }),
      out.sink,
    );
    assert.deepEqual(out.items, ['[20+40]', '[60+80]']);
  });

  it('pipeline() - takes stages built at run time as an array', async () => {
    const out = collector<number[]>();
    const stages = [map((n: number) => n * 2), filter((n: number) => n > 2), batch<number>({ size: 2 })];
    const result = await pipeline([1, 2, 3, 4], stages, out.sink, {});
    assert.deepEqual(out.items, [[4, 6], [8]]);
    assert.equal(result.items, 2);
    await assert.rejects(pipeline([1], [map((n: number) => n), 'nope' as never], () => {}), InvalidArgumentError);
  });

  it('pipeline() - a stage object can serve two pipelines at once', async () => {
    const double = map(async (n: number) => n * 2, { concurrency: 2 });
    const a = collector<number>();
    const b = collector<number>();
    await Promise.all([pipeline([1, 2, 3], double, a.sink), pipeline([10, 20], double, b.sink)]);
    assert.deepEqual(a.items, [2, 4, 6]);
    assert.deepEqual(b.items, [20, 40]);
    assert.equal(double.stats().runs, 2);
    assert.equal(double.stats().emitted, 5);
  });

  it('pipeline() - yields to the event loop during a long synchronous run', async () => {
    let timerFired = false;
    setImmediate(() => (timerFired = true));
    let sawTimerDuringRun = false;
    function* many() {
      for (let i = 0; i < 10_000; i++) yield i;
    }
    await pipeline(many(), (n: number) => {
      if (n === 9_999) sawTimerDuringRun = timerFired;
    });
    assert.ok(sawTimerDuringRun);
  });
});
