import type { Clock } from '../../core/clock/index.js';
import { systemClock } from '../../core/clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import {
  resolveLimiter,
  resolveOptionalPressure,
  resolveRequeue,
  resolveResumeBelow,
  type LimiterLike,
} from '../internal/brokers.js';
import * as v from '../../internal/validate.js';
import type { Pressure, PressureLike } from '../../core/pressure/index.js';
import type { JetStreamConsumerInfo, JetStreamMessage, PollSizerLike } from './types.js';

export interface JetStreamConsumeOptions<M extends JetStreamMessage = JetStreamMessage> {
  /**
   * Runs each handler under a permit of this limiter (a Sluice
   * `ConcurrencyLimiter`, or anything with `acquire()`, `tryAcquire()`, `limit`
   * and `inflight`); messages beyond the free permits wait in arrival order.
   * Fetches fill a window of twice `limit`: one is made once at most
   * 1.5 × limit messages are held, for the room left in the window, so a round
   * is already local when the current one finishes. Not allowed with `concurrency`.
   * @default undefined (`concurrency` handlers at once)
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { limiter: new ConcurrencyLimiter({ algorithm: 'vegas' }) })
   */
  limiter?: LimiterLike;
  /**
   * Handlers run at once when no `limiter` is given. An integer >= 1.
   * @default 1 (one message at a time, as a Kafka poll loop)
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { concurrency: 8 })
   */
  concurrency?: number;
  /**
   * Sizes each fetch from the recent per-message processing time so a batch
   * finishes well within the sizer's `maxPollIntervalMs` (a Sluice
   * `PollSizer`). Each handler's duration divided by the concurrency is
   * recorded; the work still held counts as time already used. With `limiter`
   * too, the smaller of the two sizes wins.
   * @default a PollSizer whose maxPollIntervalMs is the consumer's ack_wait, when no limiter is given
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { pollSizer: new PollSizer({ maxPollIntervalMs: 20_000 }) })
   */
  pollSizer?: PollSizerLike;
  /**
   * The credit limit: most messages held (fetched and not yet acked) at once
   * by this client. Checked when the consumer starts against the consumer's
   * `max_ack_pending` (set it there with `jsm.consumers.add/update`): it may
   * not be larger. An integer >= 1.
   * @default the consumer's max_ack_pending (1000 if it has none)
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { maxAckPending: 200 })
   */
  maxAckPending?: number;
  /**
   * How long one fetch waits for its batch to fill before it returns what it
   * has. Also bounds how long `stop()` waits for the open fetch to end. An idle
   * consumer makes one fetch per `expiresMs`. nats.js requires at least 1000.
   * @default 2000
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { expiresMs: 2000 })
   */
  expiresMs?: number;
  /**
   * Every `heartbeatMs`, each message still held (running, or waiting for a
   * permit) gets `working()`, which restarts its ack_wait, so a slow handler's
   * message is not redelivered elsewhere. Must be below the consumer's ack_wait.
   * @default one third of the consumer's ack_wait
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { heartbeatMs: 5000 })
   */
  heartbeatMs?: number;
  /**
   * Above 1, no further fetches are made (messages already held still run);
   * fetching resumes once a reading is at or below `resumeBelow`. Read before
   * each fetch and, while paused, every `checkIntervalMs`. A NaN reading counts as 0.
   * @default undefined (never pause)
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { pressure: channelPressure(work) })
   */
  pressure?: PressureLike;
  /**
   * The low watermark at which a paused consumer fetches again. In [0, 1].
   * @default 0.5
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { pressure, resumeBelow: 0.3 })
   */
  resumeBelow?: number;
  /**
   * While paused, how often pressure is read again. A number > 0.
   * @default 100
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { pressure, checkIntervalMs: 250 })
   */
  checkIntervalMs?: number;
  /**
   * What happens to a message whose handler threw (after `onError`): `true`
   * naks it (redelivered, after `nakDelayMs`); `false` terms it (never
   * redelivered; the server publishes a term advisory). A function decides per message.
   * @default true
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { requeue: (error, msg) => msg.info.redeliveryCount < 5 })
   */
  requeue?: boolean | ((error: unknown, message: M) => boolean);
  /**
   * Delay before a nak'ed message is redelivered. A number >= 0; 0 redelivers at once.
   * @default 0
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { nakDelayMs: 1000 })
   */
  nakDelayMs?: number;
  /**
   * After a fetch fails (connection lost, consumer deleted), how long to wait
   * before the next one. A number > 0.
   * @default 1000
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { retryDelayMs: 5000 })
   */
  retryDelayMs?: number;
  /**
   * Called when a handler throws or rejects (before the nak or term), and,
   * with no message, when a fetch fails. Errors it throws are ignored.
   * @default undefined
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { onError: (error, msg) => log.warn({ error, seq: msg?.seq }) })
   */
  onError?: (error: unknown, message: M | undefined) => void;
  /**
   * Stops the consumer, as `stop()` does, when it fires.
   * @default undefined
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { signal: AbortSignal.timeout(60_000) })
   */
  signal?: AbortSignal;
  /**
   * Time source for heartbeats, pauses, retry delays and handler timings.
   * @default systemClock
   * @example consumeJetStream(js, 'ORDERS', 'worker', handle, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ResolvedJetStreamOptions<M extends JetStreamMessage> {
  limiter: LimiterLike | undefined;
  concurrency: number;
  pollSizer: PollSizerLike | undefined;
  maxAckPending: number | undefined;
  expiresMs: number;
  heartbeatMs: number | undefined;
  pressure: Pressure | undefined;
  resumeBelow: number;
  checkIntervalMs: number;
  requeue: boolean | ((error: unknown, message: M) => boolean);
  nakDelayMs: number;
  retryDelayMs: number;
  onError: ((error: unknown, message: M | undefined) => void) | undefined;
  signal: AbortSignal | undefined;
  clock: Clock;
}

export function resolveJetStreamOptions<M extends JetStreamMessage>(
  options: JetStreamConsumeOptions<M> | undefined,
): ResolvedJetStreamOptions<M> {
  const o = v.optionsObject(options, 'consumeJetStream', {
    limiter: true, concurrency: true, pollSizer: true, maxAckPending: true, expiresMs: true, heartbeatMs: true,
    pressure: true, resumeBelow: true, checkIntervalMs: true, requeue: true, nakDelayMs: true, retryDelayMs: true,
    onError: true, signal: true, clock: true,
  });
  const limiter = resolveLimiter('limiter', o.limiter);
  if (limiter !== undefined && o.concurrency !== undefined) {
    throw new InvalidOptionError('concurrency', o.concurrency, 'no value when limiter is given', 'the limiter sets the concurrency');
  }
  const pollSizer = o.pollSizer;
  if (
    pollSizer !== undefined &&
    (pollSizer === null || typeof pollSizer !== 'object' || typeof pollSizer.next !== 'function' || typeof pollSizer.record !== 'function')
  ) {
    throw new InvalidOptionError('pollSizer', pollSizer, 'a PollSizer (an object with next() and record())');
  }
  const signal = o.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.addEventListener !== 'function')) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  return {
    limiter,
    concurrency: v.integer('concurrency', o.concurrency, 1, { min: 1 }),
    pollSizer,
    maxAckPending: o.maxAckPending === undefined ? undefined : v.requiredInteger('maxAckPending', o.maxAckPending, { min: 1 }),
    expiresMs: v.number('expiresMs', o.expiresMs, 2000, { min: 1000 }),
    heartbeatMs: v.optionalNumber('heartbeatMs', o.heartbeatMs, { min: 0, minExclusive: true }),
    pressure: resolveOptionalPressure('pressure', o.pressure),
    resumeBelow: resolveResumeBelow('resumeBelow', o.resumeBelow),
    checkIntervalMs: v.number('checkIntervalMs', o.checkIntervalMs, 100, { min: 0, minExclusive: true }),
    requeue: resolveRequeue<[unknown, M]>('requeue', o.requeue),
    nakDelayMs: v.number('nakDelayMs', o.nakDelayMs, 0, { min: 0 }),
    retryDelayMs: v.number('retryDelayMs', o.retryDelayMs, 1000, { min: 0, minExclusive: true }),
    onError: v.optionalFunction('onError', o.onError),
    signal,
    clock: resolveClock('clock', o.clock, systemClock),
  };
}

/**
 * Checks the server-side consumer configuration against the options and
 * derives the limits the consumer runs with.
 */
export function resolveServerLimits(
  consumerName: string,
  config: JetStreamConsumerInfo['config'],
  o: Pick<ResolvedJetStreamOptions<JetStreamMessage>, 'maxAckPending' | 'heartbeatMs'>,
): { ackWaitMs: number; maxAckPending: number; heartbeatMs: number } {
  if (config.deliver_subject) {
    throw new InvalidArgumentError(`consumer "${consumerName}" is a push consumer (deliver_subject set); consumeJetStream() needs a pull consumer`);
  }
  if (config.ack_policy !== undefined && config.ack_policy !== 'explicit') {
    throw new InvalidArgumentError(
      `consumer "${consumerName}" has ack_policy "${config.ack_policy}"; consumeJetStream() acks each message and needs "explicit"`,
    );
  }
  const ackWaitMs = (config.ack_wait ?? 30e9) / 1e6;
  const serverMax = config.max_ack_pending !== undefined && config.max_ack_pending > 0 ? config.max_ack_pending : undefined;
  const wanted = o.maxAckPending;
  if (wanted !== undefined && serverMax !== undefined && wanted > serverMax) {
    throw new InvalidOptionError('maxAckPending', wanted, `an integer <= the consumer's max_ack_pending (${serverMax})`, 'raise it on the consumer');
  }
  const heartbeatMs = o.heartbeatMs ?? ackWaitMs / 3;
  if (heartbeatMs >= ackWaitMs) {
    throw new InvalidOptionError('heartbeatMs', heartbeatMs, `a number < the consumer's ack_wait (${ackWaitMs} ms)`);
  }
  return { ackWaitMs, maxAckPending: wanted ?? serverMax ?? 1000, heartbeatMs };
}

export interface JetStreamConsumerStats {
  stream: string;
  consumer: string;
  /** Messages received from fetches. */
  delivered: number;
  /** Messages whose handler succeeded and that were acked. */
  acked: number;
  /** Handlers that threw or rejected. */
  failed: number;
  /** Failed messages nak'ed for redelivery. */
  requeued: number;
  /** Failed messages terminated (never redelivered). */
  terminated: number;
  /** Messages nak'ed unprocessed because the consumer was stopping. */
  returned: number;
  /** Acks, naks and terms that threw (connection closed); the server redelivers after ack_wait. */
  settleErrors: number;
  /** Received and not yet acked, nak'ed or terminated. Never above `maxAckPending`. */
  held: number;
  /** Handlers running now. */
  running: number;
  /** Messages waiting for a permit. */
  waiting: number;
  maxHeld: number;
  maxRunning: number;
  /** Fetches made. */
  fetches: number;
  /** Fetches that failed. */
  fetchErrors: number;
  /** Size asked for by the latest fetch. */
  lastFetchSize: number;
  /** `working()` calls made for held messages. */
  heartbeats: number;
  /** Fetching is paused by pressure. */
  paused: boolean;
  pauses: number;
  resumes: number;
  /** The latest pressure reading (0 without `pressure`). */
  pressure: number;
  /** The credit limit in force (0 until started). */
  maxAckPending: number;
  /** The consumer's ack_wait (0 until started). */
  ackWaitMs: number;
  /** The heartbeat period in force (0 until started). */
  heartbeatMs: number;
  /** Per-message processing time the poll sizer works from (0 with a limiter only). */
  averageMsPerItem: number;
}
