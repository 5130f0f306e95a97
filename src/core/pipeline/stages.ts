import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { MapPull, SKIP, type MapCounters, type Step } from './map-pull.js';
import { PullIterator, isThenable, type Pull } from './pull.js';
import { AsyncIteratorPull } from './sources.js';
import { defineStage, type Stage } from './stage.js';

/** Handed to every user callback as its second argument. */
export interface StepContext {
  /**
   * Fires when the run fails or is aborted, with the original error or the
   * abort reason. Pass it on to I/O so in-flight work stops with the pipeline.
   */
  readonly signal: AbortSignal;
}

export interface MapOptions {
  /**
   * Most calls of `fn` running at once. Together with the results waiting to
   * be taken downstream, the stage never holds more than this many items.
   * @default 1
   * @example map(fetchUser, { concurrency: 8 })
   */
  concurrency?: number;
  /**
   * `true`: results leave in input order; a fast result waits for slower
   * ones before it. `false`: each result leaves as soon as it is ready.
   * @default true
   * @example map(resize, { concurrency: 4, ordered: false })
   */
  ordered?: boolean;
}

/** Counters summed over every run of one stage object. */
export interface MapStageStats {
  /** Runs (pipelines, standalone iterations) the stage took part in. */
  runs: number;
  /** Items taken from upstream. */
  received: number;
  /** Items handed downstream (for `filter`, the ones that passed). */
  emitted: number;
  /** Calls of `fn` whose promise has not settled yet. */
  inFlight: number;
}

export type MapStage<A, B> = Stage<A, B> & { stats(): MapStageStats };

function newCounters(): MapCounters {
  return { runs: 0, received: 0, emitted: 0, inFlight: 0 };
}

function mapLike<A, B>(name: string, step: Step<A, B>, concurrency: number, ordered: boolean): MapStage<A, B> {
  const counters = newCounters();
  return defineStage<A, B, { stats(): MapStageStats }>(
    name,
    (input, run) => new MapPull(input, step, concurrency, ordered, run, counters),
    { stats: () => ({ ...counters }) },
  );
}

function requireFunction(where: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${where}: fn must be a function, got ${fn === null ? 'null' : typeof fn}`);
}

function resolveMapOptions(options: MapOptions | undefined, where: string): { concurrency: number; ordered: boolean } {
  const o = v.optionsObject(options, where, { concurrency: true, ordered: true });
  return {
    concurrency: v.integer('concurrency', o.concurrency, 1, { min: 1 }),
    ordered: v.boolean('ordered', o.ordered, true),
  };
}

/**
 * Transforms each item with `fn`, which may return a value or a promise.
 * With `concurrency` > 1, up to that many calls run at once. A call whose
 * result is not a promise costs no promise at all. A throw or rejection stops
 * the pipeline with that error.
 * @throws InvalidArgumentError when `fn` is not a function; InvalidOptionError for bad options.
 * @example pipeline(ids, map((id, { signal }) => fetchUser(id, { signal }), { concurrency: 8 }), save)
 */
export function map<A, B>(fn: (item: A, context: StepContext) => B | PromiseLike<B>, options?: MapOptions): MapStage<A, Awaited<B>> {
  requireFunction('map(fn)', fn);
  const { concurrency, ordered } = resolveMapOptions(options, 'map');
  return mapLike('map', fn as Step<A, Awaited<B>>, concurrency, ordered);
}

/**
 * Keeps the items for which `fn` returns (or resolves to) a truthy value,
 * one call at a time, in order.
 * @throws InvalidArgumentError when `fn` is not a function.
 * @example pipeline(events, filter((e) => e.type === 'click'), sink)
 */
export function filter<A, S extends A>(fn: (item: A, context: StepContext) => item is S): MapStage<A, S>;
export function filter<A>(fn: (item: A, context: StepContext) => unknown): MapStage<A, A>;
export function filter<A>(fn: (item: A, context: StepContext) => unknown): MapStage<A, A> {
  requireFunction('filter(fn)', fn);
  const step: Step<A, A> = (item, context) => {
    const keep = fn(item, context);
    if (!isThenable(keep)) return keep ? item : SKIP;
    return keep.then((ok) => (ok ? item : SKIP));
  };
  return mapLike('filter', step, 1, true);
}

/**
 * Calls `fn` with each item and passes the item on unchanged once `fn`
 * returned (or its promise resolved), one item at a time.
 * @throws InvalidArgumentError when `fn` is not a function.
 * @example pipeline(jobs, tap((job) => log.debug('job', job.id)), run)
 */
export function tap<A>(fn: (item: A, context: StepContext) => unknown): MapStage<A, A> {
  requireFunction('tap(fn)', fn);
  const step: Step<A, A> = (item, context) => {
    const done = fn(item, context);
    return isThenable(done) ? done.then(() => item) : item;
  };
  return mapLike('tap', step, 1, true);
}

/** A permit as `ConcurrencyLimiter.acquire()` hands it out. */
export interface LimitPermit {
  success(): void;
  dropped(): void;
  ignore(): void;
}

/** What `limit()` needs from a limiter; `ConcurrencyLimiter` fits. */
export interface ConcurrencyLimiterLike {
  acquire(options?: { signal?: AbortSignal }): Promise<LimitPermit>;
}

export interface LimitOptions extends MapOptions {
  /**
   * Most items the stage holds: waiting for a permit, running, or finished
   * and not yet taken downstream. The limiter decides how many of them run;
   * make this at least the limiter's `maxLimit` if the pipeline should be
   * able to use every permit.
   * @default 64
   * @example limit(limiter, callApi, { concurrency: 200 })
   */
  concurrency?: number;
  /**
   * Decides, for an error thrown by `fn`, whether it signals overload (the
   * permit is released with `dropped()`, so an adaptive limiter backs off) or
   * not (`ignore()`). A call stopped because the pipeline failed or was
   * aborted is always released with `ignore()`.
   * @default undefined (every error counts as dropped, like `ConcurrencyLimiter.run()`)
   * @example limit(limiter, callApi, { isDropped: (e) => (e as { status?: number }).status === 503 })
   */
  isDropped?: (error: unknown) => boolean;
}

/**
 * Like {@link map}, but every call of `fn` runs under a permit of a shared
 * concurrency limiter, so several pipelines (and other code) calling the same
 * backend stay within one limit, adaptive or fixed. The permit is taken
 * before `fn` starts and released when it settles: `success()` when it
 * returned, `dropped()`/`ignore()` when it threw (see `isDropped`). The
 * permit covers `fn` only, not the stages after it.
 *
 * Abort safety: when the pipeline fails or is aborted, waits for permits are
 * abandoned (the limiter takes no permit for them) and permits held by
 * running calls are released with `ignore()` once those calls settle.
 * @throws InvalidArgumentError when `limiter` has no `acquire()` or `fn` is not a function.
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', maxLimit: 50 });
 * await pipeline(orders, limit(limiter, (o, { signal }) => api.charge(o, { signal })), save);
 */
export function limit<A, B>(
  limiter: ConcurrencyLimiterLike,
  fn: (item: A, context: StepContext) => B | PromiseLike<B>,
  options?: LimitOptions,
): MapStage<A, Awaited<B>> {
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.acquire !== 'function') {
    throw new InvalidArgumentError('limit(limiter, fn): limiter must have an acquire() method (a ConcurrencyLimiter)');
  }
  requireFunction('limit(limiter, fn)', fn);
  const o = v.optionsObject(options, 'limit', { concurrency: true, isDropped: true, ordered: true });
  const concurrency = v.integer('concurrency', o.concurrency, 64, { min: 1 });
  const ordered = v.boolean('ordered', o.ordered, true);
  const isDropped = v.optionalFunction<(error: unknown) => boolean>('isDropped', o.isDropped);
  const countsAsDrop = (error: unknown): boolean => {
    if (isDropped === undefined) return true;
    try {
      return isDropped(error) !== false;
    } catch {
      return true;
    }
  };
  const step = async (item: A, context: StepContext): Promise<Awaited<B>> => {
    const permit = await limiter.acquire(context);
    let result: Awaited<B>;
    try {
      result = await fn(item, context);
    } catch (error) {
      if (!context.signal.aborted && countsAsDrop(error)) permit.dropped();
      else permit.ignore();
      throw error;
    }
    if (context.signal.aborted) permit.ignore();
    else permit.success();
    return result;
  };
  return mapLike('limit', step, concurrency, ordered);
}

/**
 * Your own stage from an async-generator transformer, the shape Node's
 * `stream.pipeline` accepts:
 * `transform(async function* (source, { signal }) { for await (const x of source) yield f(x); })`.
 * `fn` is called once per run with the upstream as an async iterable. When the
 * run fails or is aborted, a pending read of `source` rejects (so your
 * `finally` blocks run) and the iterator `fn` returned is closed.
 * @throws InvalidArgumentError when `fn` is not a function (at creation) or
 * does not return an iterable (when the run starts).
 * @example pipeline(lines, transform(async function* (src) { for await (const l of src) if (l) yield JSON.parse(l); }), sink)
 */
export function transform<A, B>(
  fn: (source: AsyncIterableIterator<A>, context: StepContext) => AsyncIterable<B> | Iterable<B>,
): Stage<A, B> & { stats(): { runs: number } } {
  requireFunction('transform(fn)', fn);
  let runs = 0;
  return defineStage<A, B, { stats(): { runs: number } }>(
    'transform',
    (input, run): Pull<B> => {
      runs++;
      const output = fn(new PullIterator(input, run, false), run.callOptions) as Partial<AsyncIterable<B> & Iterable<B>>;
      let iterator: AsyncIterator<B> | Iterator<B>;
      if (output !== null && typeof output === 'object' && typeof output[Symbol.asyncIterator] === 'function') {
        iterator = output[Symbol.asyncIterator]!();
      } else if (output !== null && typeof output === 'object' && typeof output[Symbol.iterator] === 'function') {
        iterator = output[Symbol.iterator]!();
      } else {
        throw new InvalidArgumentError('transform(fn): fn must return an async iterable or an iterable (e.g. be an async generator function)');
      }
      const pull = new AsyncIteratorPull<B>(asAsync(iterator));
      run.defer(() => pull.close());
      return pull;
    },
    { stats: () => ({ runs }) },
  );
}

/** A sync iterator seen through the async protocol, so one Pull class serves both. */
function asAsync<T>(iterator: AsyncIterator<T> | Iterator<T>): AsyncIterator<T> {
  return {
    next: () => Promise.resolve(iterator.next()),
    return: async () => (await iterator.return?.()) ?? { value: undefined, done: true },
  };
}
