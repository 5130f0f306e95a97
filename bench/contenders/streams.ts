import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from './items.js';

/** objectMode Readable → Writable through `pipeline`, both with highWaterMark 1024. */
export const nodeStreams: Contender = async ({ n }) => {
  let next = 0;
  const source = new Readable({
    objectMode: true,
    highWaterMark: CAPACITY,
    read() {
      while (next < n) {
        if (!this.push(makeItem(next++))) return;
      }
      this.push(null);
    },
  });
  let sum = 0;
  let count = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: CAPACITY,
    write(item: Item, _encoding, callback) {
      sum += item.value;
      count++;
      callback();
    },
    writev(chunks: { chunk: Item }[], callback) {
      for (const { chunk } of chunks) sum += chunk.value;
      count += chunks.length;
      callback();
    },
  });
  await pipeline(source, sink);
  return summed(n, sum, count);
};

/** Pull-based ReadableStream piped to a WritableStream, both CountQueuingStrategy(1024). */
export const webStreams: Contender = async ({ n }) => {
  let next = 0;
  const source = new ReadableStream<Item>(
    {
      pull(controller) {
        while (next < n && (controller.desiredSize ?? 0) > 0) controller.enqueue(makeItem(next++));
        if (next >= n) controller.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: CAPACITY }),
  );
  let sum = 0;
  let count = 0;
  const sink = new WritableStream<Item>(
    {
      write(item) {
        sum += item.value;
        count++;
      },
    },
    new CountQueuingStrategy({ highWaterMark: CAPACITY }),
  );
  await source.pipeTo(sink);
  return summed(n, sum, count);
};
