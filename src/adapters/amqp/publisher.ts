import { ClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { RESOLVED_VOID } from '../internal/brokers.js';
import * as v from '../../internal/validate.js';
import { WaiterList } from '../../internal/waiter-list.js';
import { drainGateFor, type DrainGate, type PendingWrite } from './drain-gate.js';
import type { AmqpConfirmChannel, AmqpPublishChannel, AmqpPublishOptions } from './types.js';

/** Per-call options of `publish()`. */
export interface AmqpPublishCallOptions {
  /**
   * Aborting before the message is handed to the channel (while waiting for a
   * slot or for `'drain'`) rejects with `signal.reason` and publishes nothing.
   * @default undefined
   * @example await pub.publish('events', 'created', body, {}, { signal: AbortSignal.timeout(5000) })
   */
  signal?: AbortSignal;
}

const callSpec: v.CallOptionSpec<AmqpPublishCallOptions> = { signal: 'signal' };

function checkPublishArguments(method: string, exchange: unknown, routingKey: unknown, content: unknown): InvalidArgumentError | undefined {
  if (typeof exchange !== 'string') return new InvalidArgumentError(`${method}: exchange must be a string ('' for the default exchange), got ${typeof exchange}`);
  if (typeof routingKey !== 'string') return new InvalidArgumentError(`${method}: routingKey must be a string, got ${typeof routingKey}`);
  if (!Buffer.isBuffer(content)) return new InvalidArgumentError(`${method}: content must be a Buffer, got ${typeof content}`);
  return undefined;
}

/**
 * Publishes one message, respecting the channel's write buffer: when an
 * earlier publish on this channel (through Sluice) was told the buffer is full,
 * this one waits for the channel's `'drain'` event before writing, behind any
 * earlier waiters. Resolves once the message is handed to the channel, which
 * is not a broker confirmation (use {@link publisher} on a confirm channel for that).
 *
 * A producer that awaits each call therefore slows to the speed of the socket
 * instead of filling memory.
 *
 * Abort safety: a signal that has already fired rejects at once with its
 * reason and writes nothing; bad call options reject with
 * `ERR_SLUICE_INVALID_OPTION`. If `signal` fires while the call waits for
 * `'drain'`, the message is not written and the promise rejects with `signal.reason`. Once
 * written, the message is on its way; a later abort changes nothing.
 * Rejects with ClosedError if the channel closes first.
 *
 * @example
 * for (const order of orders) {
 *   await publish(channel, 'orders', 'created', Buffer.from(JSON.stringify(order)), { persistent: true });
 * }
 */
export function publish(
  channel: AmqpPublishChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options?: AmqpPublishOptions,
  callOptions?: AmqpPublishCallOptions,
): Promise<void> {
  if (channel === null || typeof channel !== 'object' || typeof channel.publish !== 'function') {
    return Promise.reject(new InvalidArgumentError('publish(channel, ...): channel must be an amqplib Channel'));
  }
  const bad = checkPublishArguments('publish()', exchange, routingKey, content);
  if (bad) return Promise.reject(bad);
  const invalid = v.callOptionsError(callOptions, 'publish() call options', callSpec);
  if (invalid !== undefined) return Promise.reject(invalid);
  const signal = callOptions?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const gate = drainGateFor(channel);
  if (gate.closed) return Promise.reject(new ClosedError('AMQP channel is closed'));
  if (!gate.blocked) {
    try {
      gate.wrote(channel.publish(exchange, routingKey, content, options));
    } catch (error) {
      return Promise.reject(error);
    }
    return RESOLVED_VOID;
  }
  return new Promise<void>((resolve, reject) => {
    gate.enqueue({
      prev: undefined,
      next: undefined,
      linked: false,
      signal,
      onAbort: undefined,
      write: () => channel.publish(exchange, routingKey, content, options),
      sent: resolve,
      failed: reject,
    });
  });
}

export interface AmqpPublisherOptions {
  /**
   * Most messages published and not yet confirmed by the broker. Further
   * `publish()` calls wait, first come first served, until a confirm (ack or
   * nack) frees a slot. An integer >= 1.
   * @default 1000
   * @example publisher(confirmChannel, { maxInFlight: 256 })
   */
  maxInFlight?: number;
}

export interface AmqpPublisherStats {
  maxInFlight: number;
  /** Messages holding a slot: waiting for `'drain'`, or written and not yet confirmed. */
  inFlight: number;
  /** `publish()` calls waiting for a slot. */
  waiting: number;
  /** Highest `inFlight` seen. */
  peakInFlight: number;
  /** Messages handed to the channel. */
  published: number;
  /** Messages the broker acked. */
  confirmed: number;
  /** Messages the broker nacked, or whose channel closed before the confirm. */
  failed: number;
  /** Calls whose signal fired before their message was written. */
  aborted: number;
  /** Calls that had to wait for a slot. */
  slotWaits: number;
  /** Times the channel's write buffer was found full (shared by every publisher on the channel). */
  drainWaits: number;
}

class PublishJob implements PendingWrite {
  prev: PublishJob | undefined = undefined;
  next: PublishJob | undefined = undefined;
  linked: false | WaiterList<any> = false;
  onAbort: (() => void) | undefined = undefined;
  readonly confirm: (error: unknown) => void;

  constructor(
    private readonly owner: AmqpPublisher,
    readonly exchange: string,
    readonly routingKey: string,
    readonly content: Buffer,
    readonly options: AmqpPublishOptions | undefined,
    readonly signal: AbortSignal | undefined,
    readonly resolve: () => void,
    readonly reject: (error: unknown) => void,
  ) {
    this.confirm = (error) => owner.settle(this, error);
  }

  write(): boolean {
    return this.owner.channel.publish(this.exchange, this.routingKey, this.content, this.options, this.confirm);
  }

  sent(): void {
    this.owner.publishedCount++;
  }

  failed(error: unknown): void {
    this.owner.unwritten(this, error);
  }
}

/**
 * Publishes through a confirm channel with at most `maxInFlight` messages
 * unconfirmed. `publish()` resolves when the broker acks the message and
 * rejects when it nacks it (or the channel closes first), so nothing is lost
 * silently. When every slot is taken, callers wait first come, first served;
 * when the channel's write buffer is full, writes wait for `'drain'`.
 *
 * @example
 * const channel = await connection.createConfirmChannel();
 * const pub = publisher(channel, { maxInFlight: 500 });
 * await Promise.all(events.map((e) => pub.publish('events', e.type, Buffer.from(JSON.stringify(e)))));
 * await pub.close();
 */
export class AmqpPublisher {
  readonly maxInFlight: number;
  /** @internal */
  readonly channel: AmqpConfirmChannel;
  /** @internal */
  publishedCount = 0;
  private readonly gate: DrainGate;
  private readonly waiters = new WaiterList<PublishJob>();
  private inFlightCount = 0;
  private peak = 0;
  private confirmedCount = 0;
  private failedCount = 0;
  private abortedCount = 0;
  private slotWaitCount = 0;
  private isClosed = false;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(channel: AmqpConfirmChannel, options?: AmqpPublisherOptions) {
    if (channel === null || typeof channel !== 'object' || typeof channel.publish !== 'function' || typeof channel.on !== 'function') {
      throw new InvalidArgumentError('publisher(channel): channel must be an amqplib ConfirmChannel (connection.createConfirmChannel())');
    }
    const o = v.optionsObject(options, 'publisher', { maxInFlight: true });
    this.maxInFlight = v.integer('maxInFlight', o.maxInFlight, 1000, { min: 1 });
    this.channel = channel;
    this.gate = drainGateFor(channel);
    channel.on('close', () => this.rejectWaiters(() => new ClosedError('AMQP channel closed while waiting to publish')));
  }

  /** Messages published and not yet confirmed, plus those waiting for `'drain'`. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** `publish()` calls waiting for a slot. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Publishes one message and resolves when the broker confirms it. Waits
   * first for a slot (FIFO) when `maxInFlight` messages are unconfirmed, then
   * for `'drain'` if the channel's write buffer is full.
   * Rejects with the channel's error when the broker nacks the message or the
   * channel closes before the confirm; with ClosedError after
   * {@link close} or once the channel closed; with InvalidArgumentError on bad arguments.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason (before a closed publisher is reported) and publishes nothing; bad
   * call options reject with `ERR_SLUICE_INVALID_OPTION`. If `signal` fires
   * while the call waits for a slot or for `'drain'`, the message is not published, any slot it held is freed for the
   * next caller, and the promise rejects with `signal.reason`. Once the message
   * is written the abort is ignored and the promise settles with the confirm.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: AmqpPublishOptions,
    callOptions?: AmqpPublishCallOptions,
  ): Promise<void> {
    const bad = checkPublishArguments('publish()', exchange, routingKey, content);
    if (bad) return Promise.reject(bad);
    const invalid = v.callOptionsError(callOptions, 'publish() call options', callSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = callOptions?.signal;
    if (signal?.aborted) {
      this.abortedCount++;
      return Promise.reject(signal.reason);
    }
    if (this.isClosed) return Promise.reject(new ClosedError('publisher is closed'));
    if (this.gate.closed) return Promise.reject(new ClosedError('AMQP channel is closed'));
    return new Promise<void>((resolve, reject) => {
      const job = new PublishJob(this, exchange, routingKey, content, options, signal, resolve, reject);
      if (this.inFlightCount < this.maxInFlight && this.waiters.size === 0) {
        this.start(job);
        return;
      }
      this.slotWaitCount++;
      if (signal) {
        job.onAbort = () => {
          this.waiters.remove(job);
          this.abortedCount++;
          reject(signal.reason);
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.waiters.push(job);
    });
  }

  /**
   * Stops accepting messages: later `publish()` calls and callers still
   * waiting for a slot reject with ClosedError. Resolves once every
   * message already holding a slot is confirmed or failed. Does not close the
   * channel. Idempotent.
   *
   * Abort safety: takes no signal; it finishes when the broker has answered
   * for every in-flight message or the channel closes.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.rejectWaiters(() => new ClosedError('publisher closed while waiting to publish'));
    this.closing = this.inFlightCount === 0 ? RESOLVED_VOID : new Promise<void>((resolve) => (this.onIdle = resolve));
    return this.closing;
  }

  stats(): AmqpPublisherStats {
    return {
      maxInFlight: this.maxInFlight,
      inFlight: this.inFlightCount,
      waiting: this.waiters.size,
      peakInFlight: this.peak,
      published: this.publishedCount,
      confirmed: this.confirmedCount,
      failed: this.failedCount,
      aborted: this.abortedCount,
      slotWaits: this.slotWaitCount,
      drainWaits: this.gate.fullEvents,
    };
  }

  /** @internal The broker answered for a written message. */
  settle(job: PublishJob, error: unknown): void {
    if (error) {
      this.failedCount++;
      job.reject(error);
      // amqplib fails every unconfirmed message from its own 'close' listener,
      // before ours has run: admitting waiters now would write to a dead channel.
      this.inFlightCount--;
      queueMicrotask(() => this.admit());
      return;
    }
    this.confirmedCount++;
    job.resolve();
    this.freeSlot();
  }

  /** @internal A message holding a slot was never written. */
  unwritten(job: PublishJob, error: unknown): void {
    if (job.signal?.aborted && error === job.signal.reason) this.abortedCount++;
    job.reject(error);
    this.freeSlot();
  }

  private start(job: PublishJob): void {
    if (++this.inFlightCount > this.peak) this.peak = this.inFlightCount;
    if (this.gate.blocked) {
      this.gate.enqueue(job);
      return;
    }
    let accepted: boolean;
    try {
      accepted = job.write();
    } catch (error) {
      job.failed(error);
      return;
    }
    this.gate.wrote(accepted);
    job.sent();
  }

  private freeSlot(): void {
    this.inFlightCount--;
    this.admit();
  }

  private admit(): void {
    while (this.inFlightCount < this.maxInFlight && this.waiters.size !== 0) {
      const job = this.waiters.shift()!;
      if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
      job.onAbort = undefined;
      this.start(job);
    }
    if (this.inFlightCount === 0 && this.onIdle) {
      this.onIdle();
      this.onIdle = undefined;
    }
  }

  private rejectWaiters(makeError: () => Error): void {
    for (let job = this.waiters.shift(); job; job = this.waiters.shift()) {
      if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
      job.reject(makeError());
    }
  }
}

/**
 * Creates an {@link AmqpPublisher}: confirmed publishing with at most
 * `maxInFlight` messages unconfirmed.
 * @example
 * const pub = publisher(await connection.createConfirmChannel(), { maxInFlight: 500 });
 * await pub.publish('', 'jobs', Buffer.from('hello'), { persistent: true });
 */
export function publisher(channel: AmqpConfirmChannel, options?: AmqpPublisherOptions): AmqpPublisher {
  return new AmqpPublisher(channel, options);
}
