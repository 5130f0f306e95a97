import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Channel } from '../channel/index.js';
import { InvalidArgumentError, OverflowError } from '../errors/index.js';
import { isThenable, type RunContext } from './pull.js';
import { isChannel } from './sources.js';

/** What `pipeline()` needs from a batch writer; `BatchWriter` fits. */
export interface BatchWriterLike<T> {
  /** Resolves true when the item was accepted, false when the writer dropped it. */
  write(item: T, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** Stops intake; what was accepted is still flushed. */
  close(): unknown;
  /** Resolves once everything accepted has been flushed (or dropped, counted by the writer). */
  drained(): Promise<void>;
}

/**
 * Where a pipeline's items end up:
 * - a function `(item) => void | Promise<void>`, awaited when it returns a promise;
 * - a Node `Writable`: `write()` returning false pauses the pipeline until `'drain'`;
 * - a WHATWG `WritableStream`: each write waits for `writer.ready`;
 * - a batch writer (`write(item, { signal })`, `close()`, `drained()`), e.g. `BatchWriter`;
 * - a {@link Channel}: `send()`, waiting for room under `'block'`.
 */
export type PipelineSink<T> =
  | ((item: T) => unknown)
  | Writable
  | WritableStream<T>
  | BatchWriterLike<T>
  | Channel<T>;

/** A sink as the driver sees it. */
export interface SinkPort<T> {
  /** Hands over one item; a promise means "wait before the next one". */
  write(item: T): PromiseLike<unknown> | undefined;
  /** Items the sink refused (a dropping Channel, a batch writer answering false). */
  refused: number;
  /** The source is exhausted: end the sink and wait until it has taken everything. */
  end(): Promise<void>;
  /** The run failed: stop the sink. */
  abort(error: unknown): Promise<void> | void;
}

class FunctionSink<T> implements SinkPort<T> {
  refused = 0;
  constructor(private readonly fn: (item: T) => unknown) {}
  write(item: T): PromiseLike<unknown> | undefined {
    const result = this.fn(item);
    return isThenable(result) ? result : undefined;
  }
  end(): Promise<void> {
    return Promise.resolve();
  }
  abort(): void {}
}

class ChannelSink<T> implements SinkPort<T> {
  refused = 0;
  private readonly counted = (accepted: boolean): void => {
    if (!accepted) this.refused++;
  };
  constructor(
    private readonly channel: Channel<T>,
    private readonly run: RunContext,
    private readonly endIt: boolean,
  ) {}
  write(item: T): PromiseLike<unknown> | undefined {
    if (this.channel.trySend(item)) return undefined;
    switch (this.channel.overflow) {
      case 'block':
        return this.channel.send(item, this.run.callOptions).then(this.counted);
      case 'reject':
        throw new OverflowError(`pipeline(): the sink channel "${this.channel.name}" is full (overflow: reject)`);
      default:
        this.refused++; // dropped and counted by the channel's own strategy
        return undefined;
    }
  }
  end(): Promise<void> {
    if (this.endIt) this.channel.close();
    return Promise.resolve();
  }
  abort(): void {
    if (this.endIt) this.channel.close();
  }
}

class WriterSink<T> implements SinkPort<T> {
  refused = 0;
  private readonly counted = (accepted: boolean): void => {
    if (!accepted) this.refused++;
  };
  constructor(
    private readonly writer: BatchWriterLike<T>,
    private readonly run: RunContext,
    private readonly endIt: boolean,
  ) {}
  write(item: T): PromiseLike<unknown> {
    return this.writer.write(item, this.run.callOptions).then(this.counted);
  }
  async end(): Promise<void> {
    if (!this.endIt) return;
    await this.writer.close();
    await this.writer.drained();
  }
  abort(): void {
    // What the writer accepted is still flushed: accepted items are not taken back.
    if (this.endIt) void Promise.resolve(this.writer.close()).catch(() => {});
  }
}

class NodeWritableSink<T> implements SinkPort<T> {
  refused = 0;
  private drainWait: Promise<void> | undefined;

  constructor(
    private readonly writable: Writable,
    private readonly run: RunContext,
    private readonly endIt: boolean,
  ) {
    // Always listening: an 'error' without a listener would crash the process.
    writable.on('error', run.fail);
    run.defer(() => writable.off('error', run.fail));
  }

  write(item: T): PromiseLike<unknown> | undefined {
    const w = this.writable;
    if (w.destroyed || w.writableEnded) throw closedWritableError(w);
    if (w.write(item)) return undefined;
    return (this.drainWait ??= this.waitForDrain());
  }

  private waitForDrain(): Promise<void> {
    const w = this.writable;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        w.off('drain', onDrain);
        w.off('close', onClose);
        this.drainWait = undefined;
      };
      const onDrain = (): void => {
        done();
        resolve();
      };
      const onClose = (): void => {
        done();
        reject(w.errored ?? closedWritableError(w));
      };
      w.on('drain', onDrain);
      w.on('close', onClose);
    });
  }

  async end(): Promise<void> {
    if (!this.endIt) return;
    this.writable.end();
    await finished(this.writable);
  }

  abort(): void {
    if (this.endIt && !this.writable.destroyed) this.writable.destroy();
  }
}

function closedWritableError(w: Writable): Error {
  return Object.assign(new Error(`pipeline(): the sink Writable was ${w.destroyed ? 'destroyed' : 'ended'} before the pipeline finished`), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}

class WebWritableSink<T> implements SinkPort<T> {
  refused = 0;
  private readonly writer: WritableStreamDefaultWriter<T>;
  private readonly writeNext = (item: T): void => {
    this.writer.write(item).then(undefined, this.run.fail);
  };

  constructor(
    stream: WritableStream<T>,
    private readonly run: RunContext,
    private readonly endIt: boolean,
  ) {
    this.writer = stream.getWriter();
  }

  write(item: T): PromiseLike<unknown> | undefined {
    const desired = this.writer.desiredSize;
    if (desired !== null && desired > 0) {
      this.writeNext(item);
      return undefined;
    }
    return this.writer.ready.then(() => this.writeNext(item));
  }

  async end(): Promise<void> {
    try {
      if (this.endIt) await this.writer.close();
      else await this.writer.ready;
    } finally {
      this.writer.releaseLock();
    }
  }

  async abort(error: unknown): Promise<void> {
    try {
      if (this.endIt) await this.writer.abort(error);
    } catch {
      // Already errored: nothing left to stop.
    } finally {
      this.writer.releaseLock();
    }
  }
}

function isWebWritable(value: object): value is WritableStream<unknown> {
  return typeof (value as WritableStream).getWriter === 'function' && typeof (value as WritableStream).abort === 'function';
}

function isNodeWritable(value: object): value is Writable {
  const w = value as Partial<Writable>;
  return typeof w.write === 'function' && typeof w.end === 'function' && typeof w.on === 'function' && typeof w.destroy === 'function';
}

function isBatchWriter(value: object): value is BatchWriterLike<unknown> {
  const w = value as Partial<BatchWriterLike<unknown>>;
  return typeof w.write === 'function' && typeof w.close === 'function' && typeof w.drained === 'function';
}

export function isSinkObject(value: object): boolean {
  return isChannel(value) || isWebWritable(value) || isNodeWritable(value) || isBatchWriter(value);
}

/**
 * Adapts a sink. `end: false` leaves it open when the run ends (a shared
 * Channel or writer), on success and on failure alike.
 */
export function sinkPort<T>(sink: PipelineSink<T>, run: RunContext, end: boolean): SinkPort<T> {
  if (typeof sink === 'function') {
    if (sink.constructor?.name === 'AsyncGeneratorFunction' || sink.constructor?.name === 'GeneratorFunction') {
      throw new InvalidArgumentError(
        'pipeline(): the last argument is a generator function; a sink is called once per item. Wrap a transformer with transform(fn)',
      );
    }
    return new FunctionSink(sink as (item: T) => unknown);
  }
  if (sink !== null && typeof sink === 'object') {
    if (isChannel(sink)) return new ChannelSink(sink as Channel<T>, run, end);
    if (isWebWritable(sink)) return new WebWritableSink(sink as WritableStream<T>, run, end);
    if (isNodeWritable(sink)) return new NodeWritableSink(sink as Writable, run, end);
    if (isBatchWriter(sink)) return new WriterSink(sink as BatchWriterLike<T>, run, end);
  }
  throw new InvalidArgumentError(
    'pipeline(): the sink must be a function, a Node Writable, a WritableStream, a Channel or a batch writer (write/close/drained)',
  );
}
