import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { PullIterator, RunContext, type Pull } from './pull.js';
import { sourcePull, type PipelineSource } from './sources.js';
import { describe } from '../../internal/describe.js';

/** Options a stage is called with when used on its own, `map(fn)(source, { signal })`. */
export interface StageCallOptions {
  /**
   * Cancels the iteration: the source is closed and the pending `next()`
   * rejects with `signal.reason`.
   * @default undefined
   * @example for await (const x of map(parse)(lines, { signal: AbortSignal.timeout(5_000) })) use(x);
   */
  signal?: AbortSignal;
}

/**
 * One step of a {@link pipeline}, made by a stage factory (`map`, `filter`,
 * `tap`, `batch`, `buffer`, `throttle`, `limit`, or `transform` for your own
 * async-generator transformer).
 *
 * A stage is also a function from an iterable to an async iterable, so it can
 * be used on its own (`for await (const x of map(fn)(source))`) or inside
 * Node's `stream.pipeline`. A stage object holds no per-run state: the same
 * one can serve several pipelines, one after another or at once; stateful
 * stages (`buffer`, `throttle`) report the stats of their latest run.
 */
export interface Stage<A, B> {
  (input: Iterable<A> | AsyncIterable<A>, options?: StageCallOptions): AsyncIterableIterator<B>;
  /** What made the stage: `'map'`, `'batch'`, ...; used in error messages. */
  readonly stageName: string;
}

/** How a stage joins a run: it wraps its upstream Pull and registers its clean-ups with the run. */
export type Attach<A, B> = (input: Pull<A>, run: RunContext) => Pull<B>;

const ATTACH = Symbol('sluice.stage.attach');

type Branded<A, B> = Stage<A, B> & { [ATTACH]: Attach<A, B> };

/** Builds a stage from its attach function; `extra` adds methods such as `stats()`. */
export function defineStage<A, B, X extends object = object>(stageName: string, attach: Attach<A, B>, extra?: X): Stage<A, B> & X {
  const stage = function (input: Iterable<A> | AsyncIterable<A>, options?: StageCallOptions): AsyncIterableIterator<B> {
    return runStandalone(input, [stage as Branded<unknown, unknown>], options, `${stageName}()(source)`) as AsyncIterableIterator<B>;
  } as Branded<A, B> & X;
  Object.defineProperty(stage, 'stageName', { value: stageName, enumerable: true });
  Object.defineProperty(stage, ATTACH, { value: attach });
  if (extra) Object.assign(stage, extra);
  return stage;
}

export function isStage(value: unknown): value is Stage<unknown, unknown> {
  return typeof value === 'function' && ATTACH in value;
}

export function attachStage<A, B>(stage: Stage<A, B>, input: Pull<A>, run: RunContext): Pull<B> {
  return (stage as Branded<A, B>)[ATTACH](input, run);
}

/** Builds the chain of Pulls for a run: the source, then each stage in order. */
export function buildChain(source: PipelineSource<unknown>, stages: readonly Stage<unknown, unknown>[], run: RunContext, where: string): Pull<unknown> {
  try {
    let pull = sourcePull(source, run, where);
    for (const stage of stages) pull = attachStage(stage, pull, run);
    return pull;
  } catch (error) {
    // A stage that could not join (a transform() fn that threw) must not leave the source open.
    run.fail(error);
    void run.close();
    throw error;
  }
}

export function checkSignal(signal: unknown, where: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new InvalidOptionError(`${where} signal`, signal, 'an AbortSignal');
  return signal;
}

/**
 * Runs `stages` over `source` with the returned iterator as the only
 * consumer. Used by a stage called as a function and by the interop adapters.
 */
export function runStandalone(
  source: PipelineSource<unknown>,
  stages: readonly Stage<unknown, unknown>[],
  options: StageCallOptions | undefined,
  where: string,
): PullIterator<unknown> {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidArgumentError(`${where}: options must be an object, got ${describe(options)}`);
  }
  v.optionsObject(options, where, { signal: true });
  const signal = checkSignal(options?.signal, where);
  const run = new RunContext();
  const pull = buildChain(source, stages, run, where);
  const iterator = new PullIterator(pull, run, true);
  if (signal !== undefined) {
    const onAbort = (): void => {
      run.fail(signal.reason);
      void run.close();
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      run.defer(() => signal.removeEventListener('abort', onAbort));
    }
  }
  return iterator;
}
