import { Readable, Transform, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { expectedSum, makeItem, type Item } from '../contenders/items.js';
import { defineScenario, lazyContender, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * The same three-stage chain everywhere: a cheap map (item → item.value * 2,
 * concurrency 4 where the API has it), batches of 100, and a sink summing each
 * batch. The worker checks the item count and the sum, so a contender that
 * loses, duplicates or reorders-and-drops items fails instead of looking fast.
 */
const BATCH = 100;
const CONCURRENCY = 4;
/** Node's default objectMode highWaterMark, used by every stream contender. */
const HWM = 16;

const double = (item: Item): number => item.value * 2;

function outcome(n: number, sum: number, count: number): RunOutcome {
  return {
    items: count,
    checks: [
      { what: 'items reaching the sink', expected: n, actual: count },
      { what: 'sum of 2 × item.value', expected: 2 * expectedSum(n), actual: sum },
    ],
  };
}

function* itemsUpTo(n: number): Generator<Item> {
  for (let i = 0; i < n; i++) yield makeItem(i);
}

type PipelineModule = typeof import('../../src/core/pipeline/index.js');

/** pipeline(source, map(fn, { concurrency: 4 }), batch({ size: 100 }), sink); fn synchronous. */
const sluicePipeline = (m: PipelineModule): Contender => async ({ n }) => {
  let sum = 0;
  let count = 0;
  await m.pipeline(itemsUpTo(n), m.map(double, { concurrency: CONCURRENCY }), m.batch<number>({ size: BATCH }), (values: number[]) => {
    for (let i = 0; i < values.length; i++) sum += values[i]!;
    count += values.length;
  });
  return outcome(n, sum, count);
};

/** The same with an async fn (returns a promise): the concurrency window really is used. */
const sluiceAsyncMap = (m: PipelineModule): Contender => async ({ n }) => {
  let sum = 0;
  let count = 0;
  await m.pipeline(
    itemsUpTo(n),
    m.map(async (item: Item) => item.value * 2, { concurrency: CONCURRENCY }),
    m.batch<number>({ size: BATCH }),
    (values: number[]) => {
      for (let i = 0; i < values.length; i++) sum += values[i]!;
      count += values.length;
    },
  );
  return outcome(n, sum, count);
};

function itemReadable(n: number): Readable {
  let next = 0;
  return new Readable({
    objectMode: true,
    highWaterMark: HWM,
    read() {
      while (next < n) {
        if (!this.push(makeItem(next++))) return;
      }
      this.push(null);
    },
  });
}

function batchTransform(): Transform {
  let current: number[] = [];
  return new Transform({
    objectMode: true,
    highWaterMark: HWM,
    transform(value: number, _encoding, callback) {
      current.push(value);
      if (current.length < BATCH) return callback();
      const full = current;
      current = [];
      callback(null, full);
    },
    flush(callback) {
      if (current.length > 0) this.push(current);
      callback();
    },
  });
}

function summingWritable(onBatch: (values: number[]) => void): Writable {
  return new Writable({
    objectMode: true,
    highWaterMark: HWM,
    write(values: number[], _encoding, callback) {
      onBatch(values);
      callback();
    },
  });
}

/** Readable → map Transform → batching Transform → Writable, through stream.pipeline (objectMode). */
const nodeStreams: Contender = async ({ n }) => {
  let sum = 0;
  let count = 0;
  const map = new Transform({
    objectMode: true,
    highWaterMark: HWM,
    transform(item: Item, _encoding, callback) {
      callback(null, double(item));
    },
  });
  await streamPipeline(
    itemReadable(n),
    map,
    batchTransform(),
    summingWritable((values) => {
      for (let i = 0; i < values.length; i++) sum += values[i]!;
      count += values.length;
    }),
  );
  return outcome(n, sum, count);
};

/** Node's own concurrent map: readable.map(fn, { concurrency: 4 }) → batching Transform → Writable. */
const nodeReadableMap: Contender = async ({ n }) => {
  let sum = 0;
  let count = 0;
  await streamPipeline(
    itemReadable(n).map(double, { concurrency: CONCURRENCY }),
    batchTransform(),
    summingWritable((values) => {
      for (let i = 0; i < values.length; i++) sum += values[i]!;
      count += values.length;
    }),
  );
  return outcome(n, sum, count);
};

/** Pull ReadableStream → map TransformStream → batching TransformStream → WritableStream. */
const webStreams: Contender = async ({ n }) => {
  let next = 0;
  const strategy = () => new CountQueuingStrategy({ highWaterMark: HWM });
  const source = new ReadableStream<Item>(
    {
      pull(controller) {
        while (next < n && (controller.desiredSize ?? 0) > 0) controller.enqueue(makeItem(next++));
        if (next >= n) controller.close();
      },
    },
    strategy(),
  );
  const map = new TransformStream<Item, number>(
    {
      transform(item, controller) {
        controller.enqueue(double(item));
      },
    },
    strategy(),
    strategy(),
  );
  let current: number[] = [];
  const batcher = new TransformStream<number, number[]>(
    {
      transform(value, controller) {
        current.push(value);
        if (current.length < BATCH) return;
        controller.enqueue(current);
        current = [];
      },
      flush(controller) {
        if (current.length > 0) controller.enqueue(current);
      },
    },
    strategy(),
    strategy(),
  );
  let sum = 0;
  let count = 0;
  const sink = new WritableStream<number[]>(
    {
      write(values) {
        for (let i = 0; i < values.length; i++) sum += values[i]!;
        count += values.length;
      },
    },
    strategy(),
  );
  await source.pipeThrough(map).pipeThrough(batcher).pipeTo(sink);
  return outcome(n, sum, count);
};

const sluice = () => import('../../src/core/pipeline/index.js');

export default defineScenario({
  name: 'pipeline',
  description: 'source → map (cheap, concurrency 4) → batch(100) → sink summing; 1,000,000 items; count and sum verified',
  baseline: 'node-streams',
  defaultN: 1_000_000,
  quickN: 100_000,
  expectations: [{ contender: 'sluice-pipeline', reference: 'node-streams', atLeast: 2 }],
  notes: {
    'sluice-pipeline': 'pipeline(generator, map(fn, { concurrency: 4 }), batch({ size: 100 }), sink); fn synchronous',
    'sluice-async-map': 'the same with an async fn, so up to 4 calls are in flight',
    'node-streams': 'objectMode Readable → map Transform → batching Transform → Writable via stream.pipeline, highWaterMark 16',
    'node-readable-map': 'Readable.map(fn, { concurrency: 4 }) → batching Transform → Writable via stream.pipeline',
    'web-streams': 'pull ReadableStream → map TransformStream → batching TransformStream → WritableStream, CountQueuingStrategy(16)',
  },
  contenders: {
    'sluice-pipeline': lazyContender(sluice, sluicePipeline),
    'sluice-async-map': lazyContender(sluice, sluiceAsyncMap),
    'node-streams': nodeStreams,
    'node-readable-map': nodeReadableMap,
    'web-streams': webStreams,
  },
});
