// The three lag sources (sluice/redis streamLag, sluice/amqp queueDepth,
// sluice/nats jetStreamLag) on stand-in clients whose answers a test sets, so
// the metrics and alert tests map real LagPoller stats without a broker.
// The real brokers are exercised in test/redis, test/amqp and test/nats.
import type { Clock } from '../clock/index.js';
import { streamLag, type RedisClient } from '../../adapters/redis/index.js';
import { queueDepth } from '../../adapters/amqp/index.js';
// eslint-disable-next-line no-restricted-imports -- a test helper (never built): the rule's "nats" package pattern also matches this folder name
import { jetStreamLag } from '../../adapters/nats/index.js';

/** What the stand-in brokers answer at the next poll; a `fail` message makes the poll fail instead. */
export interface BrokerFigures {
  undelivered: number;
  pending: number;
  ready: number;
  consumers: number;
  numPending: number;
  numAckPending: number;
  fail: string | undefined;
}

export function fakeLagSources(clock: Clock, options: { threshold?: number; intervalMs?: number } = {}) {
  const figures: BrokerFigures = { undelivered: 0, pending: 0, ready: 0, consumers: 0, numPending: 0, numAckPending: 0, fail: undefined };
  const answer = <T>(value: () => T): Promise<T> => (figures.fail === undefined ? Promise.resolve(value()) : Promise.reject(Object.assign(new Error(figures.fail), { code: 'ECONNRESET', errno: -104 })));
  // The Lua script's reply: ok, pending, undelivered, how undelivered was counted, last-delivered-id.
  const redis = { call: () => answer(() => ['ok', figures.pending, figures.undelivered, 'xinfo', '1-0']) } as unknown as RedisClient;
  const channel = { checkQueue: (queue: string) => answer(() => ({ queue, messageCount: figures.ready, consumerCount: figures.consumers })), on() {}, removeListener() {} };
  const jsm = { consumers: { info: () => answer(() => ({ num_pending: figures.numPending, num_ack_pending: figures.numAckPending })) } };
  const common = { threshold: options.threshold ?? 100, intervalMs: options.intervalMs ?? 1000, clock };
  const sources = {
    redisLag: streamLag(redis, { stream: 'orders', group: 'billing', ...common }),
    amqpLag: queueDepth(channel, 'jobs', common),
    natsLag: jetStreamLag(jsm, 'ORDERS', 'billing', common),
  };
  const close = () => {
    for (const source of Object.values(sources)) source.close();
  };
  return { figures, sources, close };
}
