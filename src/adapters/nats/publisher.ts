import { ClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { RESOLVED_VOID, Slots } from '../internal/brokers.js';
import * as v from '../../internal/validate.js';
import type { JetStreamPublishClient } from './types.js';
import { describe } from '../../internal/describe.js';

export interface JetStreamPublisherOptions {
  /**
   * Most `js.publish()` calls awaiting their PubAck at once. Further
   * `publish()` calls wait, first come first served, for an ack (or failure)
   * to free a slot. An integer >= 1.
   * @default 256
   * @example jetStreamPublisher(js, { maxInFlight: 1000 })
   */
  maxInFlight?: number;
}

export interface JetStreamPublishCallOptions {
  /**
   * Aborting while the call waits for a slot rejects with `signal.reason` and publishes nothing.
   * @default undefined
   * @example await pub.publish('orders.created', body, undefined, { signal: AbortSignal.timeout(5000) })
   */
  signal?: AbortSignal;
}

export interface JetStreamPublisherStats {
  maxInFlight: number;
  /** Publishes awaiting their PubAck. */
  inFlight: number;
  /** Calls waiting for a slot. */
  waiting: number;
  /** Highest `inFlight` seen. */
  peakInFlight: number;
  /** Messages handed to `js.publish()`. */
  published: number;
  /** PubAcks received. */
  acked: number;
  /** Publishes that failed (no stream, timeout, connection closed...). */
  failed: number;
  /** Calls whose signal fired before they got a slot. */
  aborted: number;
  /** Calls that had to wait for a slot. */
  slotWaits: number;
}

const callSpec: v.CallOptionSpec<JetStreamPublishCallOptions> = { signal: 'signal' };

/**
 * Publishes to JetStream with at most `maxInFlight` publishes awaiting their
 * PubAck. `publish()` resolves with the PubAck and rejects with the
 * publish's error, so nothing is lost silently; callers beyond the bound wait
 * first come, first served.
 *
 * @example
 * const pub = jetStreamPublisher(nc.jetstream(), { maxInFlight: 512 });
 * await Promise.all(orders.map((o) => pub.publish('orders.created', JSON.stringify(o))));
 * await pub.close();
 */
export class JetStreamPublisher<A = unknown, O = unknown> {
  readonly maxInFlight: number;
  private readonly js: JetStreamPublishClient<A, O>;
  private readonly slots: Slots;
  private readonly onSettled: (ack: A) => A;
  private readonly onFailed: (error: unknown) => never;
  private publishedCount = 0;
  private ackedCount = 0;
  private failedCount = 0;
  private abortedCount = 0;
  private isClosed = false;
  private closing: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;

  constructor(js: JetStreamPublishClient<A, O>, options?: JetStreamPublisherOptions) {
    if (js === null || typeof js !== 'object' || typeof js.publish !== 'function') {
      throw new InvalidArgumentError('jetStreamPublisher(js): js must be a nats JetStreamClient (nc.jetstream(), or jetstream(nc) from @nats-io/jetstream)');
    }
    const o = v.optionsObject(options, 'jetStreamPublisher', { maxInFlight: true });
    this.maxInFlight = v.integer('maxInFlight', o.maxInFlight, 256, { min: 1 });
    this.js = js;
    this.slots = new Slots(this.maxInFlight);
    this.onSettled = (ack) => {
      this.ackedCount++;
      this.release();
      return ack;
    };
    this.onFailed = (error) => {
      this.failedCount++;
      this.release();
      throw error;
    };
  }

  get inFlight(): number {
    return this.slots.inflight;
  }

  get waiting(): number {
    return this.slots.waiting;
  }

  /**
   * Publishes one message and resolves with its PubAck. Waits first for a slot
   * (FIFO) when `maxInFlight` publishes are awaiting acks.
   * Rejects with the publish's error (for example no stream matches the subject,
   * or the ack timed out), with ClosedError after {@link close}, and
   * with InvalidArgumentError when `subject` is not a non-empty string.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason (before a closed publisher is reported) and publishes nothing; bad
   * call options reject with `ERR_SLUICE_INVALID_OPTION`. If `signal` fires
   * while the call waits for a slot, it leaves
   * the queue, nothing is published and the promise rejects with
   * `signal.reason`. Once published, the abort is ignored: the promise settles
   * with the ack.
   */
  publish(subject: string, payload?: Uint8Array | string, options?: O, callOptions?: JetStreamPublishCallOptions): Promise<A> {
    if (typeof subject !== 'string' || subject.length === 0) {
      return Promise.reject(new InvalidArgumentError(`publish(subject): subject must be a non-empty string, got ${describe(subject)}`));
    }
    const invalid = v.callOptionsError(callOptions, 'publish() call options', callSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = callOptions?.signal;
    if (signal?.aborted) {
      this.abortedCount++;
      return Promise.reject(signal.reason);
    }
    if (this.isClosed) return Promise.reject(new ClosedError('publisher is closed'));
    if (this.slots.tryTake()) return this.send(subject, payload, options);
    return this.slots.take(signal).then(
      () => this.send(subject, payload, options),
      (error: unknown) => {
        if (signal?.aborted && error === signal.reason) this.abortedCount++;
        throw error;
      },
    );
  }

  /**
   * Stops accepting messages: later calls and callers waiting for a slot
   * reject with ClosedError. Resolves once every publish in flight has
   * its ack or failure. Does not close the connection. Idempotent.
   *
   * Abort safety: takes no signal; it finishes when every in-flight publish settles
   * (each has nats.js's own ack timeout).
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.slots.close(() => new ClosedError('publisher closed while waiting to publish'));
    this.closing = this.slots.inflight === 0 ? RESOLVED_VOID : new Promise<void>((resolve) => (this.onIdle = resolve));
    return this.closing;
  }

  stats(): JetStreamPublisherStats {
    return {
      maxInFlight: this.maxInFlight,
      inFlight: this.slots.inflight,
      waiting: this.slots.waiting,
      peakInFlight: this.slots.peak,
      published: this.publishedCount,
      acked: this.ackedCount,
      failed: this.failedCount,
      aborted: this.abortedCount,
      slotWaits: this.slots.waitsStarted,
    };
  }

  private send(subject: string, payload: Uint8Array | string | undefined, options: O | undefined): Promise<A> {
    let pending: Promise<A>;
    try {
      pending = this.js.publish(subject, payload, options);
    } catch (error) {
      this.failedCount++;
      this.release();
      return Promise.reject(error);
    }
    this.publishedCount++;
    return pending.then(this.onSettled, this.onFailed);
  }

  private release(): void {
    this.slots.release();
    if (this.slots.inflight === 0 && this.onIdle !== undefined) {
      this.onIdle();
      this.onIdle = undefined;
    }
  }
}

/**
 * Creates a {@link JetStreamPublisher}: JetStream publishing with at most
 * `maxInFlight` PubAcks outstanding.
 * @example
 * const pub = jetStreamPublisher(nc.jetstream(), { maxInFlight: 512 });
 * const ack = await pub.publish('orders.created', JSON.stringify(order));
 */
export function jetStreamPublisher<A, O>(js: JetStreamPublishClient<A, O>, options?: JetStreamPublisherOptions): JetStreamPublisher<A, O> {
  return new JetStreamPublisher(js, options);
}
