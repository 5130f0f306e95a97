import type { Clock } from '../../core/clock/index.js';
import { ClosedError, InvalidOptionError, NotFoundError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import * as v from '../../internal/validate.js';
import { LagPoller, lagPollKeys, requiredName, resolveLagPoll, type LagPollStats } from '../internal/lag-poller.js';

/** What `checkQueue` answers (amqplib `Replies.AssertQueue`). */
export interface AmqpQueueInfo {
  queue: string;
  messageCount: number;
  consumerCount: number;
}

/** The parts of an amqplib `Channel` {@link queueDepth} uses. */
export interface AmqpCheckChannel {
  checkQueue(queue: string): Promise<AmqpQueueInfo>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** An amqplib connection (`ChannelModel` from `amqp.connect()`): {@link queueDepth} opens, reopens and closes a channel of its own on it. */
export interface AmqpChannelOpener {
  createChannel(): Promise<AmqpCheckChannel & { close(): Promise<unknown> }>;
}

export interface QueueDepthOptions {
  /**
   * The number of ready messages that reads as pressure 1.
   * @default none (required)
   * @example queueDepth(connection, 'jobs', { threshold: 5000 })
   */
  threshold: number;
  /**
   * Time between two polls, from the start of one to the start of the next.
   * A poll never starts while the previous one is still waiting for the
   * broker. The timer is unref'd: it never keeps the process alive.
   * @default 1000
   * @example queueDepth(connection, 'jobs', { threshold: 5000, intervalMs: 250 })
   */
  intervalMs?: number;
  /**
   * How long a reading stays fresh without a successful poll. Past it,
   * `stats().stale` is true; `read()` still returns the last reading.
   * @default 3 × intervalMs
   * @example queueDepth(connection, 'jobs', { threshold: 5000, staleAfterMs: 10_000 })
   */
  staleAfterMs?: number;
  /**
   * Name shown in stats and diagnostics.
   * @default `queueDepth:${queue}`
   * @example queueDepth(connection, 'jobs', { threshold: 5000, name: 'jobs-depth' })
   */
  name?: string;
  /**
   * Time source for the poll timer and staleness.
   * @default systemClock
   * @example queueDepth(connection, 'jobs', { threshold: 5000, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

/** The figures of one poll. */
export interface QueueDepthFigures {
  /** Messages ready for delivery (`messageCount`); delivered-and-unacknowledged ones are not in it. */
  ready: number;
  /** Consumers attached to the queue (`consumerCount`). */
  consumers: number;
}

export type QueueDepthStats = LagPollStats & QueueDepthFigures;

/** A RabbitMQ queue's depth as a {@link Pressure}. */
export interface QueueDepth extends Pressure {
  readonly name: string;
  /** `ready / threshold` of the last successful poll; 0 before it. Never throws. */
  read(): number;
  /**
   * Polls now (or joins the poll in flight) and resolves with the reading
   * after it; a failed poll resolves with the kept reading and shows in
   * `stats().lastError`. Rejects with ClosedError after close().
   * Abort safety: close() resolves a waiting call at once with the last reading.
   */
  poll(): Promise<number>;
  stats(): QueueDepthStats;
  /** Stops polling and closes the channel queueDepth opened itself (never yours). Idempotent. */
  close(): void;
}

const isOpener = (x: unknown): x is AmqpChannelOpener => typeof (x as AmqpChannelOpener).createChannel === 'function';
const isChannel = (x: unknown): x is AmqpCheckChannel =>
  typeof (x as AmqpCheckChannel).checkQueue === 'function' && typeof (x as AmqpCheckChannel).on === 'function' && typeof (x as AmqpCheckChannel).removeListener === 'function';

function notFound(queue: string, error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code === 404 ? new NotFoundError(`AMQP queue "${queue}" does not exist`, { cause: error }) : error;
}

/**
 * The depth of a RabbitMQ queue, polled with `checkQueue` (one
 * `queue.declare passive` round trip): `ready` messages and the `consumers`
 * attached; `read()` is `ready / threshold`.
 *
 * Pass the **connection** (recommended): queueDepth opens a channel of its
 * own, listens for its errors, and reopens it at the next poll after the
 * broker closed it (that poll costs one more round trip), and closes it on
 * `close()`. RabbitMQ answers a check of a missing queue by closing the
 * channel (a 404 is a channel error), so checking on a channel of yours
 * would kill it, and an amqplib channel without an `'error'` listener then
 * takes its whole connection down.
 *
 * A **channel** is accepted too: queueDepth listens for `'error'` on it only
 * while its own check is in flight, so the 404 it causes does not reach your
 * connection, but the channel is closed by the broker all the same and later
 * polls report that (`stats().lastError`) until you create a new source.
 *
 * A missing queue is `ERR_SLUICE_NOT_FOUND` in `stats().lastError` at the
 * first poll, not a throw and not a zero. A poll that fails keeps the last
 * reading; it is marked `stale` after `staleAfterMs`.
 *
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming a bad option.
 * @example
 * const depth = queueDepth(connection, 'jobs', { threshold: 5000 });
 * await depth.poll();
 * console.log(depth.stats().ready, depth.stats().consumers, depth.read());
 * depth.close();
 */
export function queueDepth(connectionOrChannel: AmqpChannelOpener | AmqpCheckChannel, queue: string, options: QueueDepthOptions): QueueDepth {
  const source = connectionOrChannel;
  if (source === null || typeof source !== 'object' || (!isOpener(source) && !isChannel(source))) {
    throw new InvalidOptionError('connectionOrChannel', source, 'an amqplib connection (with createChannel()) or channel (with checkQueue(), on() and removeListener())');
  }
  const name = requiredName('queue', queue);
  const o = v.optionsObject(options, 'queueDepth', lagPollKeys);
  const common = resolveLagPoll(o, `queueDepth:${name}`);
  const side = isOpener(source) ? ownChannel(source) : userChannel(source);
  const fetch = async (): Promise<QueueDepthFigures> => {
    try {
      const info = await side.check(name);
      return { ready: info.messageCount, consumers: info.consumerCount };
    } catch (error) {
      throw notFound(name, error);
    }
  };
  return new LagPoller<QueueDepthFigures>(common, { ready: 0, consumers: 0 }, fetch, (f) => f.ready, side.release);
}

interface Side {
  check(queue: string): Promise<AmqpQueueInfo>;
  release(): void;
}

/** A channel queueDepth owns: opened at the first poll, reopened after the broker closed it. */
function ownChannel(connection: AmqpChannelOpener): Side {
  type Owned = AmqpCheckChannel & { close(): Promise<unknown> };
  let current: { channel: Owned; detach: () => void } | undefined;
  let closed = false;
  const open = async (): Promise<Owned> => {
    const channel = await connection.createChannel();
    if (closed) {
      await channel.close().catch(() => undefined);
      throw new ClosedError('queueDepth is closed');
    }
    // The failing check rejects with the same error; this listener only keeps amqplib from rethrowing it.
    const onError = (): void => {};
    const onClose = (): void => {
      detach();
      if (current?.channel === channel) current = undefined;
    };
    const detach = (): void => {
      channel.removeListener('error', onError);
      channel.removeListener('close', onClose);
    };
    channel.on('error', onError);
    channel.on('close', onClose);
    current = { channel, detach };
    return channel;
  };
  return {
    async check(queue) {
      const channel = current?.channel ?? (await open());
      return channel.checkQueue(queue);
    },
    release() {
      closed = true;
      const owned = current;
      current = undefined;
      if (owned === undefined) return;
      // Listeners stay until the close completes, so an error during it is not rethrown either.
      owned.channel
        .close()
        .catch(() => undefined)
        .finally(owned.detach);
    },
  };
}

/** The caller's channel: used as given, guarded only while a check is in flight. */
function userChannel(channel: AmqpCheckChannel): Side {
  let channelClosed = false;
  const onClose = (): void => {
    channelClosed = true;
  };
  channel.on('close', onClose);
  const onError = (): void => {};
  return {
    async check(queue) {
      if (channelClosed) throw new ClosedError('The channel given to queueDepth is closed (a failed check makes the broker close it); pass the connection to let queueDepth reopen a channel of its own');
      channel.on('error', onError);
      try {
        return await channel.checkQueue(queue);
      } finally {
        channel.removeListener('error', onError);
      }
    },
    release() {
      channel.removeListener('close', onClose);
    },
  };
}
