import type { Readable } from 'node:stream';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { Channel } from '../channel/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { toAsyncIterable, type Publisher } from '../reactive/index.js';
import { END, PENDING, RESOLVED, type End, type Pending, type Pull, type RunContext } from './pull.js';

/**
 * What a pipeline can read from:
 * - a sync or async iterable (arrays, generators, `events.on()`, ...);
 * - a Node `Readable`, objectMode or not (each chunk is one item);
 * - a WHATWG `ReadableStream`;
 * - a {@link Channel}, read through its synchronous fast path (`tryReceive()`);
 * - a Reactive Streams `Publisher`, read with demand (`toAsyncIterable`).
 */
export type PipelineSource<T> = Iterable<T> | AsyncIterable<T> | ReadableStream<T> | Channel<T> | Publisher<T> | Readable;

/** Reads an array by index: no iterator result object per item. */
class ArrayPull<T> implements Pull<T> {
  private index = 0;
  constructor(private readonly items: ArrayLike<T>) {}
  poll(): T | End {
    return this.index < this.items.length ? this.items[this.index++]! : END;
  }
  ready(): Promise<unknown> {
    return RESOLVED;
  }
}

class SyncIteratorPull<T> implements Pull<T> {
  private done = false;
  constructor(private readonly iterator: Iterator<T>) {}
  poll(): T | End {
    if (this.done) return END;
    const result = this.iterator.next();
    if (result.done) {
      this.done = true;
      return END;
    }
    return result.value;
  }
  ready(): Promise<unknown> {
    return RESOLVED;
  }
  /** Lets a suspended generator run its `finally` blocks. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.iterator.return?.();
  }
}

/**
 * One `next()` in flight at a time, started only when the consumer waits: an
 * async source is never read ahead of demand.
 */
export class AsyncIteratorPull<T> implements Pull<T> {
  private done = false;
  private result: IteratorResult<T> | undefined;
  private inflight: Promise<void> | undefined;
  private readonly store = (result: IteratorResult<T>): void => {
    this.inflight = undefined;
    this.result = result;
  };
  private readonly failed = (error: unknown): never => {
    this.inflight = undefined;
    this.done = true;
    throw error;
  };

  constructor(private readonly iterator: AsyncIterator<T>) {}

  poll(): T | Pending | End {
    const result = this.result;
    if (result !== undefined) {
      this.result = undefined;
      if (result.done) {
        this.done = true;
        return END;
      }
      return result.value;
    }
    return this.done ? END : PENDING;
  }

  ready(): Promise<unknown> {
    if (this.result !== undefined || this.done) return RESOLVED;
    return (this.inflight ??= this.iterator.next().then(this.store, this.failed));
  }

  /**
   * Calls `return()` so generators run their `finally` blocks. An async
   * generator busy in a `next()` finishes that first; the wait is part of
   * closing it.
   */
  async close(): Promise<void> {
    if (this.done && this.inflight === undefined) return;
    this.done = true;
    await this.iterator.return?.();
  }
}

/**
 * Channel source: `tryReceive()` answers synchronously; only an empty channel
 * costs a `receive()`, and that one is aborted by the run's signal.
 */
class ChannelPull<T> implements Pull<T> {
  private held: T | undefined;
  private inflight: Promise<void> | undefined;
  private readonly hold = (item: T | undefined): void => {
    this.inflight = undefined;
    this.held = item;
  };

  constructor(private readonly channel: Channel<T>) {}

  poll(): T | Pending | End {
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      return held;
    }
    const item = this.channel.tryReceive();
    if (item !== undefined) return item;
    return this.channel.closed && this.inflight === undefined ? END : PENDING;
  }

  ready(): Promise<unknown> {
    if (this.held !== undefined || this.channel.size !== 0 || this.channel.closed) {
      return this.inflight ?? RESOLVED;
    }
    // No signal (an abort listener per wait is costly): a failed run closes the channel, which ends this wait.
    return (this.inflight ??= this.channel.receive().then(this.hold));
  }
}

/** WHATWG stream source through a reader, so closing can cancel it even mid-read. */
class ReadableStreamPull<T> implements Pull<T> {
  private done = false;
  private result: ReadableStreamReadResult<T> | undefined;
  private inflight: Promise<void> | undefined;
  private readonly reader: ReadableStreamDefaultReader<T>;
  private readonly store = (result: ReadableStreamReadResult<T>): void => {
    this.inflight = undefined;
    this.result = result;
  };

  constructor(stream: ReadableStream<T>) {
    this.reader = stream.getReader();
  }

  poll(): T | Pending | End {
    const result = this.result;
    if (result !== undefined) {
      this.result = undefined;
      if (result.done) {
        this.done = true;
        return END;
      }
      return result.value;
    }
    return this.done ? END : PENDING;
  }

  ready(): Promise<unknown> {
    if (this.result !== undefined || this.done) return RESOLVED;
    return (this.inflight ??= this.reader.read().then(this.store));
  }

  async close(reason: unknown): Promise<void> {
    const wasDone = this.done;
    this.done = true;
    try {
      if (!wasDone) await this.reader.cancel(reason);
    } finally {
      this.reader.releaseLock();
    }
  }
}

export function isChannel(value: unknown): value is Channel<unknown> {
  return value instanceof Channel;
}

export function isNodeReadable(value: unknown): value is Readable {
  const v = value as Partial<Readable> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.read === 'function' &&
    typeof v.pipe === 'function' &&
    typeof v.on === 'function' &&
    typeof v.destroy === 'function'
  );
}

export function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ReadableStream).getReader === 'function' &&
    typeof (value as ReadableStream).cancel === 'function'
  );
}

function isPublisher(value: unknown): value is Publisher<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Publisher<unknown>).subscribe === 'function';
}

/**
 * Adapts a source and registers what closes it with the run. Called before
 * the run starts, so a bad source is reported synchronously.
 */
export function sourcePull<T>(source: PipelineSource<T>, run: RunContext, where: string): Pull<T> {
  if (source === null || source === undefined) {
    throw new InvalidArgumentError(`${where}: source is ${String(source)}; expected an iterable, a stream, a Channel or a Publisher`);
  }
  if (Array.isArray(source)) return new ArrayPull(source as T[]);
  if (isChannel(source)) {
    const channel = source as Channel<T>;
    run.defer(() => {
      if (run.failed) channel.close();
    });
    return new ChannelPull(channel);
  }
  if (isReadableStream(source)) {
    const pull = new ReadableStreamPull(source as ReadableStream<T>);
    run.defer(() => pull.close(run.failed ? run.error : undefined));
    return pull;
  }
  if (isNodeReadable(source)) {
    const readable = source;
    const pull = new AsyncIteratorPull<T>(readable[Symbol.asyncIterator]());
    // Destroy first: Node's iterator is a generator, so a return() queued
    // behind a read that never comes would wait forever.
    run.defer(() => {
      if (!readable.destroyed) readable.destroy();
      return pull.close();
    });
    return pull;
  }
  const s = source as Partial<Iterable<T> & AsyncIterable<T>>;
  if (typeof s[Symbol.iterator] === 'function') {
    const pull = new SyncIteratorPull(s[Symbol.iterator]!());
    run.defer(() => pull.close());
    return pull;
  }
  if (typeof s[Symbol.asyncIterator] === 'function') {
    const pull = new AsyncIteratorPull(s[Symbol.asyncIterator]!());
    run.defer(() => pull.close());
    return pull;
  }
  if (isPublisher(source)) {
    const pull = new AsyncIteratorPull(toAsyncIterable(source as Publisher<T>, { signal: run.signal }));
    run.defer(() => pull.close());
    return pull;
  }
  throw new InvalidArgumentError(
    `${where}: source is not readable; expected an iterable, an async iterable, a Node Readable, a ReadableStream, a Channel or a Publisher`,
  );
}
