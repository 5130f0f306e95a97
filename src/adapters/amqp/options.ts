import type { Clock } from '../../core/clock/index.js';
import { systemClock } from '../../core/clock/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
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
import type { AmqpMessage } from './types.js';

/** AMQP 0-9-1 carries prefetch counts in an unsigned short. */
export const MAX_PREFETCH = 65_535;

export interface AmqpConsumeOptions<M extends AmqpMessage = AmqpMessage> {
  /**
   * The credit window: most messages the broker delivers to this consumer
   * before it acks some (`basic.qos`, per consumer). Set before each
   * `basic.consume`. Every delivered message runs its handler at once, so this
   * is also the concurrency. An integer from 1 to 65535. Not allowed with `limiter`.
   * @default 10
   * @example consume(channel, 'jobs', handle, { prefetch: 50 })
   */
  prefetch?: number;
  /**
   * Runs each handler under a permit of this limiter (a Sluice
   * `ConcurrencyLimiter`, or anything with `acquire()`, `tryAcquire()`,
   * `limit` and `inflight`). Messages beyond the free permits wait locally,
   * in delivery order. The window (`basic.qos`) follows `limit`: when it moves
   * by at least `qosChangeRatio`, the consumer re-subscribes with the new
   * window (RabbitMQ applies per-consumer prefetch only at `basic.consume`).
   * A handler that throws releases its permit with `dropped()`.
   * @default undefined (use `prefetch`)
   * @example consume(channel, 'jobs', handle, { limiter: new ConcurrencyLimiter({ algorithm: 'gradient2' }) })
   */
  limiter?: LimiterLike;
  /**
   * Below 1 all is well; above 1 consumption pauses (`basic.cancel`): messages
   * already delivered still run, nothing new arrives. It resumes (`basic.consume`
   * again) once a reading is at or below `resumeBelow`. Read after every
   * handler completes and every `checkIntervalMs`. A NaN reading counts as 0.
   * @default undefined (never pause)
   * @example consume(channel, 'jobs', handle, { pressure: channelPressure(work) })
   */
  pressure?: PressureLike;
  /**
   * The low watermark: a paused consumer resumes once pressure reads at or below
   * this. The gap to 1 keeps it from flapping. In [0, 1].
   * @default 0.5
   * @example consume(channel, 'jobs', handle, { pressure, resumeBelow: 0.3 })
   */
  resumeBelow?: number;
  /**
   * How often pressure and the limiter's limit are checked when no handler
   * completes to trigger a check (a paused consumer with nothing in flight).
   * A number > 0.
   * @default 100
   * @example consume(channel, 'jobs', handle, { pressure, checkIntervalMs: 250 })
   */
  checkIntervalMs?: number;
  /**
   * With `limiter`: the fraction by which `limit` must differ from the current
   * window before the consumer re-subscribes with a new window. A
   * re-subscription briefly stops intake, so small changes are ignored. In (0, 10].
   * @default 0.25
   * @example consume(channel, 'jobs', handle, { limiter, qosChangeRatio: 0.5 })
   */
  qosChangeRatio?: number;
  /**
   * What happens to a message whose handler threw (after `onError`):
   * `true` nacks it back onto the queue; `false` nacks it without requeue, so
   * the broker dead-letters it to the queue's `x-dead-letter-exchange` (or
   * drops it if the queue has none), unless `deadLetterExchange` is set.
   * A function decides per message.
   * @default true
   * @example consume(channel, 'jobs', handle, { requeue: (error, msg) => !msg.fields.redelivered })
   */
  requeue?: boolean | ((error: unknown, message: M) => boolean);
  /**
   * When a failed message is not requeued: publish a copy to this exchange
   * (same routing key and properties, plus headers `x-sluice-error` and
   * `x-sluice-queue`) and then ack the original. For queues without an
   * `x-dead-letter-exchange` argument. The copy is written before the ack.
   * @default undefined (nack without requeue; the broker decides)
   * @example consume(channel, 'jobs', handle, { requeue: false, deadLetterExchange: 'jobs.failed' })
   */
  deadLetterExchange?: string;
  /**
   * Called when a handler throws or returns a rejected promise, before the
   * message is nacked, and (with no message) when the consumer itself fails
   * (re-subscribing, or the broker cancelled it). Errors it throws are ignored.
   * @default undefined
   * @example consume(channel, 'jobs', handle, { onError: (error, msg) => log.warn({ error, tag: msg?.fields.deliveryTag }) })
   */
  onError?: (error: unknown, message: M | undefined) => void;
  /**
   * Stops the consumer, as `stop()` does, when it fires.
   * @default undefined
   * @example consume(channel, 'jobs', handle, { signal: AbortSignal.timeout(60_000) })
   */
  signal?: AbortSignal;
  /**
   * Time source for the periodic check.
   * @default systemClock
   * @example consume(channel, 'jobs', handle, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ResolvedConsumeOptions<M extends AmqpMessage> {
  prefetch: number;
  limiter: LimiterLike | undefined;
  pressure: Pressure | undefined;
  resumeBelow: number;
  checkIntervalMs: number;
  qosChangeRatio: number;
  requeue: boolean | ((error: unknown, message: M) => boolean);
  deadLetterExchange: string | undefined;
  onError: ((error: unknown, message: M | undefined) => void) | undefined;
  signal: AbortSignal | undefined;
  clock: Clock;
}

export function resolveConsumeOptions<M extends AmqpMessage>(options: AmqpConsumeOptions<M> | undefined): ResolvedConsumeOptions<M> {
  const o = v.optionsObject(options, 'consume', {
    prefetch: true, limiter: true, pressure: true, resumeBelow: true, checkIntervalMs: true, qosChangeRatio: true,
    requeue: true, deadLetterExchange: true, onError: true, signal: true, clock: true,
  });
  const limiter = resolveLimiter('limiter', o.limiter);
  if (limiter !== undefined && o.prefetch !== undefined) {
    throw new InvalidOptionError('prefetch', o.prefetch, 'no value when limiter is given', 'the window follows limiter.limit');
  }
  const prefetch = limiter ? windowFor(limiter.limit) : v.integer('prefetch', o.prefetch, 10, { min: 1, max: MAX_PREFETCH });
  const deadLetterExchange = o.deadLetterExchange;
  if (deadLetterExchange !== undefined && typeof deadLetterExchange !== 'string') {
    throw new InvalidOptionError('deadLetterExchange', deadLetterExchange, 'an exchange name (string)');
  }
  const signal = o.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.addEventListener !== 'function')) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  return {
    prefetch,
    limiter,
    pressure: resolveOptionalPressure('pressure', o.pressure),
    resumeBelow: resolveResumeBelow('resumeBelow', o.resumeBelow),
    checkIntervalMs: v.number('checkIntervalMs', o.checkIntervalMs, 100, { min: 0, minExclusive: true }),
    qosChangeRatio: v.number('qosChangeRatio', o.qosChangeRatio, 0.25, { min: 0, minExclusive: true, max: 10 }),
    requeue: resolveRequeue<[unknown, M]>('requeue', o.requeue),
    deadLetterExchange,
    onError: v.optionalFunction('onError', o.onError),
    signal,
    clock: resolveClock('clock', o.clock, systemClock),
  };
}

/** The window for a limit: at least 1, at most what AMQP can carry. */
export function windowFor(limit: number): number {
  if (!(limit >= 1)) return 1;
  return limit >= MAX_PREFETCH ? MAX_PREFETCH : Math.ceil(limit);
}

export interface AmqpConsumerStats {
  queue: string;
  /** Tag of the current subscription; undefined while paused, re-subscribing or stopped. */
  consumerTag: string | undefined;
  /** A subscription is active: the broker may deliver. */
  consuming: boolean;
  /** Paused by pressure (between a reading above 1 and one at or below `resumeBelow`). */
  paused: boolean;
  /** The window (`basic.qos` prefetch) of the latest subscription. */
  prefetch: number;
  /** Messages the broker delivered. */
  delivered: number;
  /** Messages whose handler succeeded and that were acked. */
  acked: number;
  /** Handlers that threw or rejected. */
  failed: number;
  /** Failed messages nacked back onto the queue. */
  requeued: number;
  /** Failed messages nacked without requeue (the broker dead-letters or drops them). */
  rejected: number;
  /** Failed messages copied to `deadLetterExchange` and acked. */
  deadLettered: number;
  /** Messages handed back unprocessed (nack with requeue) because the consumer was stopping. */
  returned: number;
  /** Acks and nacks the channel refused (it had closed; the broker redelivers those messages). */
  settleErrors: number;
  /** Delivered and not yet acked or nacked: running, or waiting for a permit. */
  held: number;
  /** Handlers running now. */
  running: number;
  /** Messages waiting for a limiter permit. */
  waiting: number;
  /** Highest `held` seen. Bounded by the window (1.5× it right after a re-subscription). */
  maxHeld: number;
  /** Highest `running` seen. */
  maxRunning: number;
  /** Times pressure paused consumption. */
  pauses: number;
  /** Times pressure allowed consumption again. */
  resumes: number;
  /** `basic.consume` calls (the first one included). */
  subscriptions: number;
  /** Re-subscriptions that changed the window because the limiter's limit moved. */
  qosChanges: number;
  /** The latest pressure reading (0 without `pressure`). */
  pressure: number;
}
