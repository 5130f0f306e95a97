import type { Clock } from '../../core/clock/index.js';
import { InvalidOptionError, NotFoundError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import * as v from '../../internal/validate.js';
import { LagPoller, lagPollKeys, requiredName, resolveLagPoll, type LagPollStats } from '../internal/lag-poller.js';

/** The consumer state fields {@link jetStreamLag} reads (nats.js `ConsumerInfo`). */
export interface JetStreamLagInfo {
  num_pending: number;
  num_ack_pending: number;
}

/** The part of a nats.js `JetStreamManager` (`await nc.jetstreamManager()`) {@link jetStreamLag} uses. */
export interface JetStreamLagManager {
  consumers: { info(stream: string, consumer: string): Promise<JetStreamLagInfo> };
}

export interface JetStreamLagOptions {
  /**
   * The backlog (`numPending + numAckPending` messages) that reads as pressure 1.
   * @default none (required)
   * @example jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000 })
   */
  threshold: number;
  /**
   * Time between two polls, from the start of one to the start of the next.
   * A poll never starts while the previous one is still waiting for the
   * server. The timer is unref'd: it never keeps the process alive.
   * @default 1000
   * @example jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000, intervalMs: 250 })
   */
  intervalMs?: number;
  /**
   * How long a reading stays fresh without a successful poll. Past it,
   * `stats().stale` is true; `read()` still returns the last reading.
   * @default 3 × intervalMs
   * @example jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000, staleAfterMs: 10_000 })
   */
  staleAfterMs?: number;
  /**
   * Name shown in stats and diagnostics.
   * @default `jetStreamLag:${stream}/${consumer}`
   * @example jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000, name: 'billing-lag' })
   */
  name?: string;
  /**
   * Time source for the poll timer and staleness.
   * @default systemClock
   * @example jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

/** The figures of one poll. */
export interface JetStreamLagFigures {
  /** Messages in the stream matching the consumer and not yet delivered to it (`num_pending`). */
  numPending: number;
  /** Messages delivered and not yet acknowledged (`num_ack_pending`). */
  numAckPending: number;
}

export type JetStreamLagStats = LagPollStats & JetStreamLagFigures;

/** A JetStream consumer's backlog as a {@link Pressure}. */
export interface JetStreamLag extends Pressure {
  readonly name: string;
  /** `(numPending + numAckPending) / threshold` of the last successful poll; 0 before it. Never throws. */
  read(): number;
  /**
   * Polls now (or joins the poll in flight) and resolves with the reading
   * after it; a failed poll resolves with the kept reading and shows in
   * `stats().lastError`. Rejects with ClosedError after close().
   * Abort safety: close() resolves a waiting call at once with the last reading.
   */
  poll(): Promise<number>;
  stats(): JetStreamLagStats;
  /** Stops polling; read() keeps the last reading. Idempotent. Does not close your connection. */
  close(): void;
}

/**
 * The backlog of a JetStream consumer, polled with `jsm.consumers.info()`
 * (one request to the JetStream API): `numPending` (not yet delivered) and
 * `numAckPending` (delivered, not acknowledged) reported apart; `read()` is
 * their sum divided by `threshold`.
 *
 * A missing stream or consumer is `ERR_SLUICE_NOT_FOUND` in
 * `stats().lastError` at the first poll, not a throw and not a zero; polling
 * goes on, so the figure appears once it is created. A poll that fails (or
 * times out in nats.js) keeps the last reading; it is marked `stale` after
 * `staleAfterMs`.
 *
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming a bad option.
 * @example
 * const lag = jetStreamLag(await nc.jetstreamManager(), 'ORDERS', 'billing', { threshold: 10_000 });
 * await lag.poll();
 * console.log(lag.stats().numPending, lag.stats().numAckPending, lag.read());
 * lag.close();
 */
export function jetStreamLag(jsm: JetStreamLagManager, stream: string, consumer: string, options: JetStreamLagOptions): JetStreamLag {
  if (jsm === null || typeof jsm !== 'object' || typeof jsm.consumers?.info !== 'function') {
    throw new InvalidOptionError('jsm', jsm, 'a nats.js JetStreamManager (await nc.jetstreamManager(), or await jetstreamManager(nc) from @nats-io/jetstream): an object with consumers.info()');
  }
  const streamName = requiredName('stream', stream);
  const consumerName = requiredName('consumer', consumer);
  const o = v.optionsObject(options, 'jetStreamLag', lagPollKeys);
  const common = resolveLagPoll(o, `jetStreamLag:${streamName}/${consumerName}`);
  const fetch = async (): Promise<JetStreamLagFigures> => {
    try {
      const info = await jsm.consumers.info(streamName, consumerName);
      return { numPending: info.num_pending, numAckPending: info.num_ack_pending };
    } catch (error) {
      // nats 2.x puts the API error on `api_error`; @nats-io/jetstream (v3) returns it from `apiError()`.
      const e = error as { api_error?: { code?: number; err_code?: number }; apiError?: () => { code?: number; err_code?: number } } | null;
      const api = e?.api_error ?? (typeof e?.apiError === 'function' ? e.apiError() : undefined);
      if (api?.err_code === 10059) throw new NotFoundError(`JetStream stream "${streamName}" does not exist`, { cause: error });
      if (api?.code === 404) throw new NotFoundError(`JetStream consumer "${consumerName}" does not exist on stream "${streamName}"`, { cause: error });
      throw error;
    }
  };
  return new LagPoller<JetStreamLagFigures>(common, { numPending: 0, numAckPending: 0 }, fetch, (f) => f.numPending + f.numAckPending);
}
