/**
 * `sluice/redis`: flow control shared through Redis (ioredis or node-redis):
 * a distributed token bucket, a leased concurrency limiter, a pressure
 * coordinator, a Redis Streams store for DurableChannel and a Streams
 * consumer. Both clients are optional peer dependencies: pass your own
 * client (either kind is recognised); nothing here imports them.
 * @module
 */
export { RedisTokenBucket } from './token-bucket.js';
export type { RedisTokenBucketOptions, RedisTokenBucketAcquireOptions, RedisTokenBucketStats, RedisTokenBucketReconfigureEvent } from './token-bucket.js';
export { RedisConcurrencyLimiter, LeasePermit } from './concurrency-limiter.js';
export type { RedisConcurrencyLimiterOptions, RedisConcurrencyLimiterAcquireOptions, RedisConcurrencyLimiterStats, LeaseSource } from './concurrency-limiter.js';
export { PressureCoordinator } from './pressure-coordinator.js';
export type { PressureCoordinatorOptions, PressureCoordinatorStats } from './pressure-coordinator.js';
export { RedisStreamStore } from './stream-store.js';
export type { RedisStreamStoreOptions, RedisStreamStoreStats } from './stream-store.js';
export { RedisUnavailableError, RedisTimeoutError } from './errors.js';
export type { DegradedEvent, RecoveredEvent, RedisHealthEvents, RedisHealthStats } from './connectivity.js';
export type { FallbackMode, FallbackOption, RedisConnectionOptions } from './options.js';
export type { RedisClient, RedisConnection, RedisSubscriber, RedisArgument } from './client.js';
export type { NodeRedisClient, AnyRedisClient } from './node-redis.js';
export { consumeStream } from './stream-consumer.js';
export type { ConsumeStreamOptions, StreamConsumer, StreamConsumerStats, StreamEntry } from './stream-consumer.js';
export { streamLag } from './stream-lag.js';
export type { StreamLag, StreamLagOptions, StreamLagStats, StreamLagFigures, StreamLagSource } from './stream-lag.js';
export type { LagPollStats, PollError } from '../internal/lag-poller.js';
