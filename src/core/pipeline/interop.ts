import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { END, IterationStopped, PENDING, RunContext, type Pull } from './pull.js';
import type { PipelineSource } from './sources.js';
import { buildChain, checkSignal, isStage, type Stage } from './stage.js';

export interface StreamAdapterOptions {
  /**
   * Stops the stream: the sources are closed and the stream errors with
   * `signal.reason` (a Readable is destroyed with it, a ReadableStream errored).
   * @default undefined
   * @example toNodeReadable(source, map(f), { signal: AbortSignal.timeout(10_000) })
   */
  signal?: AbortSignal;
  /**
   * Items the stream itself buffers before it stops pulling from the chain.
   * @default 16 for toNodeReadable (Node's objectMode default), 1 for toReadableStream
   * @example toReadableStream(source, { highWaterMark: 64 })
   */
  highWaterMark?: number;
}

type Opts = StreamAdapterOptions;

function parse(rest: unknown[], where: string, defaultHighWaterMark: number) {
  let args = rest;
  let options: Opts = {};
  const last = args[args.length - 1];
  if (args.length !== 0 && !isStage(last) && !Array.isArray(last)) {
    if (last === null || typeof last !== 'object') {
      throw new InvalidArgumentError(`${where}: arguments after the source must be stages, then optionally an options object`);
    }
    options = last as Opts;
    args = args.slice(0, -1);
  }
  const stages: Stage<unknown, unknown>[] = [];
  for (const [i, arg] of args.entries()) {
    for (const stage of Array.isArray(arg) ? arg : [arg]) {
      if (!isStage(stage)) {
        throw new InvalidArgumentError(`${where}: argument ${i + 2} is not a stage (made by map(), filter(), batch(), ... or transform(fn))`);
      }
      stages.push(stage);
    }
  }
  const signal = checkSignal(options.signal, where);
  const highWaterMark = v.integer('highWaterMark', options.highWaterMark, defaultHighWaterMark, { min: 0 });
  return { stages, signal, highWaterMark };
}

function watchSignal(run: RunContext, signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  const onAbort = (): void => run.fail(signal.reason);
  if (signal.aborted) {
    queueMicrotask(onAbort); // after the stream object exists, so it can be destroyed with the reason
    return;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  run.defer(() => signal.removeEventListener('abort', onAbort));
}

/**
 * The chain `source → stages` as an objectMode Node `Readable`, pull-based:
 * the chain is read only when the Readable's `_read()` asks (its buffer is
 * below `highWaterMark`), so backpressure from whatever consumes the Readable
 * reaches the source.
 *
 * `destroy()` closes the sources (iterators `return()`ed, streams destroyed
 * or cancelled). An error in the chain destroys the Readable with that error.
 * Items must not be `null` (it means "end" to a Readable).
 * @throws InvalidArgumentError for a bad source or arguments.
 * @example stream.pipeline(toNodeReadable(rows, map(toCsvLine)), fs.createWriteStream('out.csv'), callback)
 */
export function toNodeReadable<A>(source: PipelineSource<A>, options?: Opts): Readable;
export function toNodeReadable<A, B>(source: PipelineSource<A>, s1: Stage<A, B>, options?: Opts): Readable;
export function toNodeReadable<A, B, C>(source: PipelineSource<A>, s1: Stage<A, B>, s2: Stage<B, C>, options?: Opts): Readable;
export function toNodeReadable<A, B, C, D>(
  source: PipelineSource<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  options?: Opts,
): Readable;
export function toNodeReadable<A, B, C, D, E>(
  source: PipelineSource<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  options?: Opts,
): Readable;
/** Longer chains, or stages in arrays: the types between stages are not checked. */
export function toNodeReadable(source: PipelineSource<any>, ...rest: (Stage<any, any> | readonly Stage<any, any>[] | Opts)[]): Readable;
export function toNodeReadable(source: PipelineSource<unknown>, ...rest: unknown[]): Readable {
  const { stages, signal, highWaterMark } = parse(rest, 'toNodeReadable()', 16);
  const run = new RunContext();
  const pull = buildChain(source, stages, run, 'toNodeReadable()');
  let reading = false;
  const readable = new Readable({
    objectMode: true,
    highWaterMark,
    read() {
      if (reading) return;
      reading = true;
      void fill(pull, run, this).finally(() => {
        reading = false;
      });
    },
    destroy(error, callback) {
      run.fail(error ?? new IterationStopped('The Readable was destroyed'));
      run.close().then(() => callback(error), callback);
    },
  });
  run.setFailureHandler((error) => {
    if (!(error instanceof IterationStopped)) readable.destroy(error as Error);
  });
  watchSignal(run, signal);
  return readable;
}

/** Pushes items until the Readable's buffer is full or the chain has to wait. */
async function fill(pull: Pull<unknown>, run: RunContext, readable: Readable): Promise<void> {
  try {
    while (!run.failed) {
      const item = pull.poll();
      if (item === PENDING) {
        await pull.ready();
        continue;
      }
      if (item === END) {
        run.completed = true;
        await run.close();
        readable.push(null);
        return;
      }
      if (!readable.push(item)) return;
    }
  } catch (error) {
    run.fail(error);
  }
}

/**
 * The chain `source → stages` as a WHATWG `ReadableStream`, pull-based: the
 * chain is read only from the stream's `pull()`, while its queue is below
 * `highWaterMark`. `cancel()` closes the sources; an error in the chain
 * errors the stream with that error.
 * @throws InvalidArgumentError for a bad source or arguments.
 * @example const body = new Response(toReadableStream(rows, map((row) => `${JSON.stringify(row)}\n`), map((s: string) => new TextEncoder().encode(s))))
 */
export function toReadableStream<A>(source: PipelineSource<A>, options?: Opts): ReadableStream<A>;
export function toReadableStream<A, B>(source: PipelineSource<A>, s1: Stage<A, B>, options?: Opts): ReadableStream<B>;
export function toReadableStream<A, B, C>(source: PipelineSource<A>, s1: Stage<A, B>, s2: Stage<B, C>, options?: Opts): ReadableStream<C>;
export function toReadableStream<A, B, C, D>(
  source: PipelineSource<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  options?: Opts,
): ReadableStream<D>;
export function toReadableStream<A, B, C, D, E>(
  source: PipelineSource<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  options?: Opts,
): ReadableStream<E>;
/** Longer chains, or stages in arrays: the types between stages are not checked. */
export function toReadableStream(
  source: PipelineSource<any>,
  ...rest: (Stage<any, any> | readonly Stage<any, any>[] | Opts)[]
): ReadableStream<any>;
export function toReadableStream(source: PipelineSource<unknown>, ...rest: unknown[]): ReadableStream<unknown> {
  const { stages, signal, highWaterMark } = parse(rest, 'toReadableStream()', 1);
  const run = new RunContext();
  const pull = buildChain(source, stages, run, 'toReadableStream()');
  let controller!: ReadableStreamDefaultController<unknown>;
  const stream = new ReadableStream<unknown>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        while (!run.failed) {
          const item = pull.poll();
          if (item === PENDING) {
            await pull.ready();
            continue;
          }
          if (item === END) {
            run.completed = true;
            await run.close();
            c.close();
            return;
          }
          c.enqueue(item);
          if ((c.desiredSize ?? 0) <= 0) return;
        }
      },
      cancel(reason) {
        run.fail(reason ?? new IterationStopped('The ReadableStream was cancelled'));
        return run.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark }),
  );
  run.setFailureHandler((error) => {
    try {
      controller.error(error);
    } catch {
      // Already closed or errored.
    }
    void run.close();
  });
  watchSignal(run, signal);
  return stream;
}
