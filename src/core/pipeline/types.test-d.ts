// Type tests of the pipeline API: checked by `npm run typecheck` (tsc), not run.
import { Readable, Writable } from 'node:stream';
import { expectTypeOf } from 'expect-type';
import { Channel } from '../channel/index.js';
import {
  batch,
  buffer,
  filter,
  map,
  pipeline,
  tap,
  throttle,
  toNodeReadable,
  toReadableStream,
  transform,
  type BatchStage,
  type MapStage,
  type PipelineResult,
  type Stage,
} from './index.js';

expectTypeOf(map((n: number) => String(n))).toEqualTypeOf<MapStage<number, string>>();
expectTypeOf(map(async (n: number) => n > 1)).toEqualTypeOf<MapStage<number, boolean>>();
expectTypeOf(batch<number>({ size: 2 })).toEqualTypeOf<BatchStage<number>>();
expectTypeOf(filter((x: string | number): x is string => typeof x === 'string')).toMatchTypeOf<Stage<string | number, string>>();
expectTypeOf(pipeline([1, 2], (n: number) => void n)).toEqualTypeOf<Promise<PipelineResult>>();

// Types flow through the stages into the sink.
void pipeline(
  [1, 2, 3],
  map((n: number) => n * 2),
  batch<number>({ size: 10 }),
  map((rows: number[]) => rows.length),
  (count: number) => void count,
);

// Contextual typing: the stage callbacks need no annotations when the source is typed.
void pipeline(
  ['a', 'b'],
  map((s) => s.length),
  tap((n) => expectTypeOf(n).toEqualTypeOf<number>()),
  (n) => expectTypeOf(n).toEqualTypeOf<number>(),
);

// Every source kind and sink kind, with options last.
declare const readable: Readable;
declare const writable: Writable;
const channel = new Channel<number>();
const webStream = new ReadableStream<number>();
const webSink = new WritableStream<number>();
void pipeline(readable, map((chunk: Buffer) => chunk.length), writable);
void pipeline(channel, buffer<number>({ capacity: 10 }), webSink, { signal: AbortSignal.timeout(5) });
void pipeline(webStream, throttle<number>({ ratePerSecond: 5 }), channel, { end: false });
void pipeline(webStream, { signal: AbortSignal.timeout(5) });

// A stage whose input does not match the previous output is a type error.
// @ts-expect-error: batch yields number[], the map expects string
void pipeline([1], batch<number>({ size: 2 }), map((s: string) => s));
// @ts-expect-error: the sink takes strings, the chain yields numbers
void pipeline([1], map((n: number) => n + 1), (s: string) => void s);

const custom = transform(async function* (source: AsyncIterable<number>) {
  for await (const n of source) yield `${n}`;
});
expectTypeOf(custom).toMatchTypeOf<Stage<number, string>>();

expectTypeOf(toNodeReadable([1], map((n: number) => n))).toEqualTypeOf<Readable>();
expectTypeOf(toReadableStream([1], map((n: number) => `${n}`))).toEqualTypeOf<ReadableStream<string>>();
