import { InvalidArgumentError } from '../errors/index.js';
import type { ResolvedStreamPolicyOptions, StreamStrategy } from './options.js';

export type GovernedStreamState = 'active' | 'completed' | 'failed' | 'cancelled';

/** One governed stream's counters. The seed's metric names are given per field. */
export interface GovernedStreamStats {
  name: string;
  strategy: StreamStrategy;
  /** `'cancelled'`: the consumer stopped (`return()`, `break`) or the signal fired. */
  state: GovernedStreamState;
  /** Items the buffer holds at most; 0 under `'throttle'`, which buffers nothing. */
  bufferSize: number;
  /** Items buffered now. */
  buffered: number;
  /** `buffered / bufferSize`, from 0 to 1 (0 under `'throttle'`): `mediator_stream_buffer_usage`. */
  bufferUsage: number;
  /**
   * `mediator_stream_backpressure_events`: times the buffer reached the high
   * watermark (`'block'`: the source was paused; `'drop-newest'`: drops became
   * possible), or, under `'throttle'`, times an item had to wait for its token.
   */
  backpressureEvents: number;
  /** `mediator_stream_dropped_items`: items dropped because the buffer was full (`'drop-newest'` only). */
  droppedItems: number;
  /** Items read from the source. */
  received: number;
  /** Items handed to the consumer. */
  delivered: number;
  /** Items still buffered when the stream was cancelled or failed, thrown away. */
  discarded: number;
}

export interface ApplyOptions {
  /**
   * Name of this stream in stats.
   * @default `${policy name}#${n}`, n counting the streams the policy governed
   * @example policy.apply(prices, { name: 'prices' })
   */
  name?: string;
  /**
   * Cancels the stream: the source is closed (`return()`), buffered items are
   * discarded (counted in `discarded`), and the pending or next `next()`
   * rejects with `signal.reason`.
   * @default undefined
   * @example policy.apply(source, { signal: request.signal })
   */
  signal?: AbortSignal;
}

/** A stream under a policy: iterate it like the source, read its counters with `stats()`. */
export interface GovernedStream<T> extends AsyncIterableIterator<T> {
  readonly name: string;
  /** Stops the stream and closes its source; `for await` calls it on `break`. */
  return(): Promise<IteratorResult<T>>;
  stats(): GovernedStreamStats;
}

export const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true as const });
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

export function openSource<T>(source: Iterable<T> | AsyncIterable<T>, where: string): AsyncIterator<T> | Iterator<T> {
  const s = source as Partial<Iterable<T> & AsyncIterable<T>> | null;
  if (s !== null && (typeof s === 'object' || typeof s === 'function')) {
    if (typeof s[Symbol.asyncIterator] === 'function') return s[Symbol.asyncIterator]!();
    if (typeof s[Symbol.iterator] === 'function') return s[Symbol.iterator]!();
  }
  throw new InvalidArgumentError(`${where}: source must be an async iterable or an iterable, got ${s === null ? 'null' : typeof s}`);
}

/** What every governed stream shares: the source, the state machine, the abort wiring. */
export abstract class Governed<T> implements GovernedStream<T> {
  state: GovernedStreamState = 'active';
  protected received = 0;
  protected delivered = 0;
  protected discarded = 0;
  /** An abort reason not yet handed to a `next()` call. */
  protected pendingAbort: { reason: unknown } | undefined;
  private sourceClosed = false;
  private readonly onAbort = (): void => this.abort(this.signal!.reason);

  constructor(
    protected readonly iterator: AsyncIterator<T> | Iterator<T>,
    readonly name: string,
    protected readonly policy: ResolvedStreamPolicyOptions,
    private readonly onFinish: (stream: Governed<T>) => void,
    protected readonly signal: AbortSignal | undefined,
  ) {
    if (signal === undefined) return;
    if (signal.aborted) queueMicrotask(this.onAbort);
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  abstract next(): Promise<IteratorResult<T>>;
  abstract stats(): GovernedStreamStats;
  protected abstract stop(): void;

  /**
   * Stops the stream: the source is closed (`return()`, awaited, so a
   * generator's `finally` has run), buffered items are discarded and counted.
   * Idempotent.
   *
   * Abort safety: settles once the source is closed and never rejects; the
   * signal firing afterwards changes nothing.
   */
  async return(): Promise<IteratorResult<T>> {
    if (this.finish('cancelled')) this.stop();
    await this.closeSource();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The consumer is told on its pending or next `next()`; the source is closed now. */
  protected abort(reason: unknown): void {
    if (!this.finish('cancelled')) return;
    this.pendingAbort = { reason };
    this.stop();
    void this.closeSource();
  }

  /** Moves to a final state once; reports to the policy. False when already final. */
  protected finish(state: GovernedStreamState): boolean {
    if (this.state !== 'active') return false;
    this.state = state;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onFinish(this);
    return true;
  }

  protected takeAbort(): Promise<never> | undefined {
    const pending = this.pendingAbort;
    if (pending === undefined) return undefined;
    this.pendingAbort = undefined;
    return Promise.reject(pending.reason);
  }

  protected async closeSource(): Promise<void> {
    if (this.sourceClosed) return;
    this.sourceClosed = true;
    try {
      await this.iterator.return?.();
    } catch {
      // The stream has already ended; a source failing to close has nobody left to tell.
    }
  }

  protected counters(bufferSize: number, buffered: number, backpressureEvents: number, droppedItems: number): GovernedStreamStats {
    return {
      name: this.name,
      strategy: this.policy.strategy,
      state: this.state,
      bufferSize,
      buffered,
      bufferUsage: bufferSize === 0 ? 0 : buffered / bufferSize,
      backpressureEvents,
      droppedItems,
      received: this.received,
      delivered: this.delivered,
      discarded: this.discarded,
    };
  }
}

