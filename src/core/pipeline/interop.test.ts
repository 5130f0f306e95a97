import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { pipeline as nodePipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { batch, map, toNodeReadable, toReadableStream } from './index.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

function countingSource(): { source: Iterable<number>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  function* naturals() {
    try {
      for (;;) yield pulled++;
    } finally {
      closed = true;
    }
  }
  return { source: naturals(), pulled: () => pulled, closed: () => closed };
}

describe('toNodeReadable()', () => {
  it('toNodeReadable() - yields the chain as an objectMode Readable', async () => {
    const readable = toNodeReadable([1, 2, 3, 4, 5], map((n: number) => n * 10), batch<number>({ size: 2 }));
    assert.equal(readable.readableObjectMode, true);
    const out: number[][] = [];
    for await (const b of readable) out.push(b as number[]);
    assert.deepEqual(out, [[10, 20], [30, 40], [50]]);
  });

  it('toNodeReadable() - reads the source only as far as the Readable buffer asks', async () => {
    const { source, pulled } = countingSource();
    const readable = toNodeReadable(source, map((n: number) => n), { highWaterMark: 4 });
    readable.on('readable', () => {}); // starts reading without consuming
    await tick();
    await tick();
    assert.equal(readable.readableLength, 4);
    assert.ok(pulled() <= 5, `pulled ${pulled()}`);
    readable.destroy();
  });

  it('toNodeReadable() - destroy() closes the source', async () => {
    const { source, closed } = countingSource();
    const readable = toNodeReadable(source, map(async (n: number) => n));
    readable.read();
    await tick();
    readable.destroy();
    await once(readable, 'close');
    assert.ok(closed());
  });

  it('toNodeReadable() - an error in a stage destroys the Readable with the original error', async () => {
    const { source, closed } = countingSource();
    const boom = new Error('bad item');
    const readable = toNodeReadable(
      source,
      map((n: number) => {
        if (n === 3) throw boom;
        return n;
      }),
    );
    await assert.rejects(
      nodePipeline(readable, new Writable({ objectMode: true, write: (_i, _e, cb) => cb() })),
      (e) => e === boom,
    );
    assert.ok(closed());
  });

  it('toNodeReadable() - an abort destroys the Readable with signal.reason', async () => {
    const { source, closed } = countingSource();
    const controller = new AbortController();
    const readable = toNodeReadable(source, map(async (n: number) => n), { signal: controller.signal });
    const errored = once(readable, 'error');
    const closedEvent = new Promise((resolve) => readable.once('close', resolve));
    readable.resume();
    await tick();
    const reason = new Error('shutting down');
    controller.abort(reason);
    const [error] = await errored;
    assert.equal(error, reason);
    await closedEvent;
    assert.ok(closed());
  });

  it('toNodeReadable() - rejects bad arguments', () => {
    assert.throws(() => toNodeReadable([1], ((x: number) => x) as never, {}), InvalidArgumentError);
    assert.throws(() => toNodeReadable(7 as never), InvalidArgumentError);
    assert.throws(
      () => toNodeReadable([1], { highWaterMark: -1 }),
      (e: unknown) => e instanceof InvalidOptionError && e.field === 'highWaterMark',
    );
  });
});

describe('toReadableStream()', () => {
  it('toReadableStream() - yields the chain as a ReadableStream', async () => {
    const stream = toReadableStream([1, 2, 3], map(async (n: number) => `#${n}`));
    const out: string[] = [];
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
    assert.deepEqual(out, ['#1', '#2', '#3']);
  });

  it('toReadableStream() - pulls from the source only as the queue asks', async () => {
    const { source, pulled } = countingSource();
    const stream = toReadableStream(source, map((n: number) => n), { highWaterMark: 3 });
    await tick();
    assert.ok(pulled() <= 3, `pulled ${pulled()} before any read`);
    const reader = stream.getReader();
    await reader.read();
    await tick();
    assert.ok(pulled() <= 4, `pulled ${pulled()} after one read`);
    await reader.cancel();
  });

  it('toReadableStream() - cancel() closes the source', async () => {
    const { source, closed } = countingSource();
    const stream = toReadableStream(source, map(async (n: number) => n));
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel(new Error('no more'));
    assert.ok(closed());
  });

  it('toReadableStream() - an error in a stage errors the stream with the original error', async () => {
    const boom = new Error('bad item');
    const stream = toReadableStream(
      [1, 2, 3],
      map((n: number) => {
        if (n === 2) throw boom;
        return n;
      }),
    );
    const reader = stream.getReader();
    assert.deepEqual(await reader.read(), { value: 1, done: false });
    await assert.rejects(reader.read(), (e) => e === boom);
  });

  it('toReadableStream() - an abort errors the stream with signal.reason and closes the source', async () => {
    const { source, closed } = countingSource();
    const controller = new AbortController();
    const stream = toReadableStream(source, map(async (n: number) => n), { signal: controller.signal });
    const reader = stream.getReader();
    await reader.read();
    const reason = new Error('client went away');
    controller.abort(reason);
    await tick();
    await assert.rejects(reader.read(), (e) => e === reason);
    assert.ok(closed());
  });
});
