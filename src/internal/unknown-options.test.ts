import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  AdaptiveRate,
  AlertMonitor,
  BatchWriter,
  batch,
  buffer,
  Channel,
  CircuitBreaker,
  collectMetrics,
  cpuUsage,
  FairChannel,
  governor,
  ConcurrencyLimiter,
  CongestionWindow,
  Credits,
  DurableChannel,
  eventLoopDelay,
  eventLoopStall,
  eventLoopUtilization,
  heapUsed,
  LatencyHistogram,
  LatencyRecorder,
  limit,
  map,
  MemoryStore,
  pipeline,
  MetricsCollector,
  PollSizer,
  PressureLevels,
  PriorityChannel,
  publisherFrom,
  rss,
  shutdownOn,
  streamPolicy,
  toAsyncIterable,
  TokenBucket,
  trend,
  watchComponents,
} from '../index.js';
import { consume, publisher, queueDepth } from '../adapters/amqp/index.js';
import { dashboardHandler } from '../tools/dashboard/index.js';
import { liveness, loadShed, readiness } from '../adapters/http/index.js';
import { consumeJetStream, jetStreamLag, jetStreamPublisher } from '../adapters/nats/index.js';
import { postgresSink } from '../adapters/postgres/index.js';
import { registerSluiceMetrics } from '../adapters/prometheus/index.js';
import { consumeStream, PressureCoordinator, RedisConcurrencyLimiter, RedisStreamStore, RedisTokenBucket, streamLag } from '../adapters/redis/index.js';
import { planCapacity, simulate } from '../tools/simulate/index.js';
import { SqliteStore } from '../adapters/sqlite/index.js';

// Stand-ins that pass each factory's argument checks, which run before the
// options are read; nothing is connected or started.
const noop = (): void => {};
const amqpChannel = { consume: noop, prefetch: noop, publish: noop, on: noop };
const js = { consumers: { get: noop }, publish: noop };
const pool = { query: noop, connect: noop };
const sink = { gauge: noop, counter: noop };
const limiterLike = { acquire: noop };
const aPublisher = { subscribe: noop };
const redisLike = { call: noop, duplicate: noop };
const jsm = { consumers: { info: noop } };
const amqpQueueChannel = { checkQueue: noop, on: noop, removeListener: noop };

/** Each public component or factory, called with `options` as its options argument. */
const table: [name: string, typo: string, expected: string | undefined, build: (options: object) => unknown][] = [
  ['Channel', 'capcity', 'capacity', (o) => new Channel(o)],
  ['TokenBucket', 'brust', 'burst', (o) => new TokenBucket(o as never)],
  ['Credits', 'intial', 'initial', (o) => new Credits(o as never)],
  ['AdaptiveRate', 'minrate', 'minRate', (o) => new AdaptiveRate(o as never)],
  ['CongestionWindow', 'maxWindw', 'maxWindow', (o) => new CongestionWindow(o)],
  ['PollSizer', 'saftey', 'safety', (o) => new PollSizer(o)],
  ['ConcurrencyLimiter', 'limit', undefined, (o) => new ConcurrencyLimiter(o)],
  ['ConcurrencyLimiter', 'initalLimit', 'initialLimit', (o) => new ConcurrencyLimiter(o)],
  ['publisherFrom', 'onDropedError', 'onDroppedError', (o) => publisherFrom([1], o)],
  ['toAsyncIterable', 'prefech', 'prefetch', (o) => toAsyncIterable(aPublisher as never, o)],
  ['eventLoopDelay', 'tresholdMs', 'thresholdMs', (o) => eventLoopDelay(o as never)],
  ['eventLoopUtilization', 'treshold', 'threshold', (o) => eventLoopUtilization(o as never)],
  ['heapUsed', 'thresholdByte', 'thresholdBytes', (o) => heapUsed(o as never)],
  ['rss', 'thresholdByte', 'thresholdBytes', (o) => rss(o as never)],
  ['eventLoopStall', 'tresholdMs', 'thresholdMs', (o) => eventLoopStall(o as never)],
  ['PressureLevels (a level)', 'treshold', 'threshold', (o) => new PressureLevels({ application: o as never })],
  ['LatencyHistogram', 'bucketMs', 'bucketsMs', (o) => new LatencyHistogram(o)],
  ['LatencyRecorder', 'bucketMs', 'bucketsMs', (o) => new LatencyRecorder(o)],
  ['collectMetrics', 'prefx', 'prefix', (o) => collectMetrics({}, o)],
  ['MetricsCollector', 'prefx', 'prefix', (o) => new MetricsCollector({}, o)],
  ['watchComponents', 'intervallMs', 'intervalMs', (o) => watchComponents({}, sink, o)],
  ['BatchWriter', 'batchSzie', 'batchSize', (o) => new BatchWriter({ flush: noop, ...o })],
  ['shutdownOn', 'timeOutMs', 'timeoutMs', (o) => shutdownOn({ drain: noop as never }, ['SIGTERM'], o)],
  ['AlertMonitor', 'intervalMS', 'intervalMs', (o) => new AlertMonitor(o as never)],
  ['map', 'concurency', 'concurrency', (o) => map(noop, o)],
  ['limit', 'orderd', 'ordered', (o) => limit(limiterLike as never, noop, o)],
  ['batch', 'szie', 'size', (o) => batch(o as never)],
  ['buffer', 'capcity', 'capacity', (o) => buffer(o)],
  ['streamPolicy', 'strategie', 'strategy', (o) => streamPolicy(o)],
  ['DurableChannel', 'stor', 'store', (o) => new DurableChannel(o as never)],
  ['MemoryStore', 'serialiser', 'serializer', (o) => new MemoryStore(o)],
  ['amqp consume', 'prefech', 'prefetch', (o) => consume(amqpChannel as never, 'q', noop, o)],
  ['amqp publisher', 'maxInflight', 'maxInFlight', (o) => publisher(amqpChannel as never, o)],
  ['consumeJetStream', 'maxAckPendng', 'maxAckPending', (o) => consumeJetStream(js as never, 's', 'c', noop, o)],
  ['jetStreamPublisher', 'maxInflight', 'maxInFlight', (o) => jetStreamPublisher(js as never, o)],
  ['SqliteStore', 'pth', 'path', (o) => new SqliteStore(o as never)],
  ['postgresSink', 'tabel', 'table', (o) => postgresSink(pool as never, o as never)],
  ['dashboardHandler', 'basepath', 'basePath', (o) => dashboardHandler({}, o)],
  ['runDemo', 'durationMS', 'durationMs', (o) => import('../tools/demo/index.js').then((m) => m.runDemo(o))],
  ['simulate', 'scenaro', 'scenario', (o) => simulate(o as never)],
  ['planCapacity', 'arrivalRat', 'arrivalRate', (o) => planCapacity(o as never)],
  ['loadShed', 'treshold', 'threshold', (o) => loadShed(o as never)],
  ['registerSluiceMetrics', 'prefx', 'prefix', (o) => registerSluiceMetrics(new Registry(), {}, o)],
  ['RedisTokenBucket', 'ratePerSec', 'ratePerSecond', (o) => new RedisTokenBucket(o as never)],
  ['RedisConcurrencyLimiter', 'leasMs', 'leaseMs', (o) => new RedisConcurrencyLimiter(o as never)],
  ['PressureCoordinator', 'nodeID', 'nodeId', (o) => new PressureCoordinator(o as never)],
  ['RedisStreamStore', 'grup', 'group', (o) => new RedisStreamStore(o as never)],
  ['consumeStream', 'handlr', 'handler', (o) => consumeStream(o as never)],
  ['PriorityChannel', 'capcity', 'capacity', (o) => new PriorityChannel({ levels: ['a', 'b'], ...o } as never)],
  ['FairChannel', 'perKeyCapcity', 'perKeyCapacity', (o) => new FairChannel({ perKeyCapacity: 1, ...o } as never)],
  ['CircuitBreaker', 'resetAfterMS', 'resetAfterMs', (o) => new CircuitBreaker(o as never)],
  ['trend', 'windowMS', 'windowMs', (o) => trend(() => 0, o as never)],
  ['governor', 'maxrate', 'maxRate', (o) => governor({ pressure: () => 0, target: { setRate: noop }, minRate: 1, maxRate: 2, ...o } as never)],
  ['cpuUsage', 'treshold', 'threshold', (o) => cpuUsage(o as never)],
  ['readiness', 'treshold', 'threshold', (o) => readiness({ pressure: () => 0, ...o } as never)],
  ['liveness', 'nme', 'name', (o) => liveness(o as never)],
  ['streamLag', 'intervallMs', 'intervalMs', (o) => streamLag(redisLike as never, { stream: 's', group: 'g', threshold: 1, ...o } as never)],
  ['queueDepth', 'intervallMs', 'intervalMs', (o) => queueDepth(amqpQueueChannel as never, 'q', { threshold: 1, ...o } as never)],
  ['jetStreamLag', 'intervallMs', 'intervalMs', (o) => jetStreamLag(jsm as never, 's', 'c', { threshold: 1, ...o } as never)],
];

/** Calls `build` and returns what it threw or rejected with. */
async function failure(build: () => unknown): Promise<unknown> {
  try {
    await build();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('unknown option keys', () => {
  for (const [name, typo, expected, build] of table) {
    it(`${name} – a misspelled key "${typo}" is rejected with ERR_SLUICE_INVALID_OPTION naming it${expected ? ` and suggesting "${expected}"` : ''}`, async () => {
      const error = (await failure(() => build({ [typo]: 1 }))) as { code?: string; field?: string; message?: string } | undefined;
      assert.equal(error?.code, 'ERR_SLUICE_INVALID_OPTION', `got ${String(error)}`);
      assert.equal(error.field, typo);
      assert.match(error.message!, new RegExp(`Unknown option "${typo}"`));
      if (expected === undefined) assert.doesNotMatch(error.message!, /did you mean/);
      else assert.match(error.message!, new RegExp(`did you mean "${expected}"\\?`));
    });
  }
});

describe('unknown keys in call options', () => {
  const calls: [name: string, call: () => unknown, typo: string, expected: string][] = [
    ['pipeline()', () => pipeline([1], map((x: number) => x), { sgnal: 1 } as never), 'sgnal', 'signal'],
    ['a stage called on a source', () => map((x: number) => x)([1], { sigal: 1 } as never), 'sigal', 'signal'],
    ['StreamPolicy.apply()', () => streamPolicy().apply([1], { nme: 'x' } as never), 'nme', 'name'],
  ];
  for (const [name, call, typo, expected] of calls) {
    it(`${name} – a misspelled key "${typo}" is rejected with ERR_SLUICE_INVALID_OPTION suggesting "${expected}"`, async () => {
      const error = (await failure(call)) as { code?: string; field?: string; message: string } | undefined;
      assert.equal(error?.code, 'ERR_SLUICE_INVALID_OPTION', `got ${String(error)}`);
      assert.equal(error.field, typo);
      assert.match(error.message, new RegExp(`did you mean "${expected}"\\?`));
    });
  }
});
