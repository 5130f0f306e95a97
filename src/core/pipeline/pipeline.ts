import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { END, PENDING, RunContext, YIELD_EVERY, yieldToEventLoop, type Pull } from './pull.js';
import { isSinkObject, sinkPort, type PipelineSink, type SinkPort } from './sinks.js';
import type { PipelineSource } from './sources.js';
import { buildChain, checkSignal, isStage, type Stage } from './stage.js';

export interface PipelineOptions {
  /**
   * Stops the pipeline: every source is closed (iterators `return()`ed, Node
   * streams destroyed, web streams cancelled, Channels closed), the sink is
   * stopped, and the promise rejects with `signal.reason`.
   * @default undefined
   * @example await pipeline(source, map(f), sink, { signal: AbortSignal.timeout(30_000) })
   */
  signal?: AbortSignal;
  /**
   * Whether the sink is ended when the run ends: a Writable is `end()`ed (or
   * destroyed on failure), a WritableStream closed (or aborted), a batch
   * writer closed and awaited until drained, a Channel closed. `false` leaves
   * a shared sink open for other producers, on success and on failure.
   * @default true
   * @example await pipeline(partA, sharedChannel, { end: false })
   */
  end?: boolean;
}

export interface PipelineResult {
  /**
   * Items the sink accepted; without a sink, items that came out of the last
   * stage (and were discarded).
   */
  items: number;
  /**
   * Items the sink refused: a Channel sink with a dropping overflow strategy
   * that dropped them, a batch writer whose `write()` resolved false. The
   * sink counts them in its own stats too.
   */
  refused: number;
}

type Src<T> = PipelineSource<T>;
type Snk<T> = PipelineSink<T>;
type Opts = PipelineOptions;
type Result = Promise<PipelineResult>;

/**
 * Moves every item of `source` through `stages` into `sink`, pulling one item
 * at a time as the sink and the stages ask for it: however fast the source,
 * the pipeline holds no more items than its stages' capacities (map's
 * `concurrency`, batch's `size`, buffer's `capacity`) plus one or two in
 * hand, and never reads the source ahead of that.
 *
 * Arguments: the source, then any number of stages (or arrays of stages),
 * then optionally the sink, then optionally an options object
 * (`{ signal, end }`, recognised as a plain object that is not a sink). Without a sink the items leaving the last
 * stage are counted and discarded (useful with `tap`).
 *
 * A chain whose parts all answer synchronously moves items without creating
 * promises. Every 2048 items the pipeline yields to the event loop once, so
 * timers and abort signals still fire during a long run whose parts never
 * wait on I/O.
 *
 * @returns `{ items, refused }` once the source is exhausted, every item has
 * reached the sink, and the sink has been ended (Writable finished,
 * WritableStream closed, batch writer drained, Channel closed).
 *
 * Errors: the first error anywhere (source, stage callback, sink, a Writable's
 * `'error'` event) stops the pipeline: the sources are closed (iterators
 * `return()`ed, so generators run their `finally` blocks; Node streams
 * destroyed; web streams cancelled; a Channel source closed), in-flight
 * callbacks see their `signal` fire, the sink is stopped (Writable destroyed,
 * WritableStream aborted, Channel closed), and the promise rejects with that
 * original error, not a wrapper. It rejects only after the sources' clean-ups
 * finished, so an async generator busy in an `await` delays it until that
 * await settles. Bad arguments reject with InvalidArgumentError or
 * InvalidOptionError.
 *
 * Abort safety: when `signal` fires, the pipeline stops exactly as on an
 * error and rejects with `signal.reason`. Items already handed to the sink
 * stay there; items inside stages are discarded (a buffer's channel keeps
 * counting them in its stats).
 *
 * @example
 * // `items` counts what the sink took: here batches of up to 100 rows, not lines.
 * const { items: batches } = await pipeline(
 *   readLines(file),
 *   map((line) => JSON.parse(line)),
 *   map((row, { signal }) => enrich(row, { signal }), { concurrency: 4 }),
 *   batch({ size: 100, maxWaitMs: 50 }),
 *   (rows) => db.insertMany(rows),
 *   { signal: AbortSignal.timeout(60_000) },
 * );
 */
export function pipeline<A, B, C, D, E, F, G>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
  s6: Stage<F, G>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D, E, F, G>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
  s6: Stage<F, G>,
  sink: Snk<G>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D, E, F>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D, E, F>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
  sink: Snk<F>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D, E>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D, E>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  sink: Snk<E>,
  options?: Opts,
): Result;
export function pipeline<A, B, C, D>(source: Src<A>, s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, options?: Opts): Result;
export function pipeline<A, B, C, D>(
  source: Src<A>,
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  sink: Snk<D>,
  options?: Opts,
): Result;
export function pipeline<A, B, C>(source: Src<A>, s1: Stage<A, B>, s2: Stage<B, C>, options?: Opts): Result;
export function pipeline<A, B, C>(source: Src<A>, s1: Stage<A, B>, s2: Stage<B, C>, sink: Snk<C>, options?: Opts): Result;
export function pipeline<A, B>(source: Src<A>, s1: Stage<A, B>, options?: Opts): Result;
export function pipeline<A, B>(source: Src<A>, s1: Stage<A, B>, sink: Snk<B>, options?: Opts): Result;
export function pipeline<A>(source: Src<A>, options?: Opts): Result;
export function pipeline<A>(source: Src<A>, sink: Snk<A>, options?: Opts): Result;
/** More than six stages: the types between stages are no longer checked. */
export function pipeline(
  source: Src<any>,
  s1: Stage<any, any>,
  s2: Stage<any, any>,
  s3: Stage<any, any>,
  s4: Stage<any, any>,
  s5: Stage<any, any>,
  s6: Stage<any, any>,
  s7: Stage<any, any>,
  ...rest: (Stage<any, any> | Snk<any> | Opts)[]
): Result;
/**
 * Stages built at run time, as an array: the types between them are not
 * checked. `pipeline(source, [parse, ...optional, batch({ size: 100 })], sink)`.
 */
export function pipeline(source: Src<any>, stages: readonly Stage<any, any>[], options?: Opts): Result;
export function pipeline(source: Src<any>, stages: readonly Stage<any, any>[], sink: Snk<any>, options?: Opts): Result;
export function pipeline(source: Src<unknown>, ...rest: unknown[]): Result {
  let parsed: ParsedArguments;
  try {
    parsed = parseArguments(rest);
  } catch (error) {
    return Promise.reject(error);
  }
  return execute(source, parsed);
}

interface ParsedArguments {
  stages: Stage<unknown, unknown>[];
  sink: Snk<unknown> | undefined;
  signal: AbortSignal | undefined;
  end: boolean;
}

function isOptionsObject(value: unknown): value is Opts {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !isSinkObject(value);
}

function parseArguments(rest: unknown[]): ParsedArguments {
  let args = rest;
  let options: Opts = {};
  if (args.length !== 0 && isOptionsObject(args[args.length - 1])) {
    options = v.optionsObject(args[args.length - 1] as Opts, 'pipeline()', { signal: true, end: true });
    args = args.slice(0, -1);
  }
  const signal = checkSignal(options.signal, 'pipeline()');
  const end = v.boolean('end', options.end, true);
  const stages: Stage<unknown, unknown>[] = [];
  let sink: Snk<unknown> | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (isStage(arg)) stages.push(arg);
    else if (Array.isArray(arg)) stages.push(...arg.map((stage, k) => checkedStage(stage, `pipeline(): element ${k} of argument ${i + 2}`)));
    else if (i === args.length - 1) sink = arg as Snk<unknown>;
    else {
      throw new InvalidArgumentError(
        `pipeline(): argument ${i + 2} is not a stage; stages are made by map(), filter(), tap(), batch(), buffer(), throttle(), limit() or transform(fn), and only the last argument may be a sink`,
      );
    }
  }
  return { stages, sink, signal, end };
}

function checkedStage(value: unknown, where: string): Stage<unknown, unknown> {
  if (isStage(value)) return value;
  throw new InvalidArgumentError(`${where} is not a stage (made by map(), filter(), batch(), ... or transform(fn))`);
}

async function execute(source: Src<unknown>, { stages, sink, signal, end }: ParsedArguments): Result {
  const run = new RunContext();
  const failure = new Promise<never>((_, reject) => run.setFailureHandler(reject));
  failure.catch(() => {}); // observed through the races below; never unhandled
  const onAbort = (): void => run.fail(signal!.reason);
  let port: SinkPort<unknown> | undefined;
  try {
    if (signal !== undefined) {
      if (signal.aborted) run.fail(signal.reason);
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    const pull = buildChain(source, stages, run, 'pipeline()');
    port = sink === undefined ? undefined : sinkPort(sink, run, end);
    if (run.failed) throw run.error;
    const passed = await Promise.race([drive(pull, port, run), failure]);
    if (run.failed) throw run.error;
    if (port !== undefined) await Promise.race([port.end(), failure]);
    run.completed = true;
    await run.close();
    const refused = port?.refused ?? 0;
    return { items: passed - refused, refused };
  } catch (error) {
    run.fail(error);
    const original = run.failed ? run.error : error;
    await Promise.allSettled([run.close(), port?.abort(original)]);
    throw original;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The pipeline's consumer loop: poll, hand to the sink, and await only when
 * the chain or the sink has to wait.
 * @returns how many items left the last stage.
 */
async function drive(pull: Pull<unknown>, port: SinkPort<unknown> | undefined, run: RunContext): Promise<number> {
  let passed = 0;
  let sinceYield = 0;
  while (!run.failed) {
    const item = pull.poll();
    if (item === PENDING) {
      await pull.ready();
      continue;
    }
    if (item === END) break;
    passed++;
    if (port !== undefined) {
      const wait = port.write(item);
      if (wait !== undefined) await wait;
    }
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  }
  return passed;
}
