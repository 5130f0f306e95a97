/**
 * `sluice/amqp`: flow control for RabbitMQ through amqplib. A consumer whose
 * credit window (`basic.qos`) follows a concurrency limiter and that pauses
 * under pressure, and publishers that respect the channel's `'drain'` event
 * and bound unconfirmed messages. amqplib is never imported: pass the
 * channels you created.
 * @module
 */
export { consume } from './consume.js';
export { AmqpConsumer } from './consumer.js';
export type { AmqpConsumeOptions, AmqpConsumerStats } from './options.js';
export { publish, publisher, AmqpPublisher } from './publisher.js';
export type { AmqpPublisherOptions, AmqpPublisherStats, AmqpPublishCallOptions } from './publisher.js';
export type { AmqpChannel, AmqpConfirmChannel, AmqpMessage, AmqpPublishChannel, AmqpPublishOptions, MessageOf } from './types.js';
export type { LimiterLike, PermitLike } from '../internal/brokers.js';
export { queueDepth } from './queue-depth.js';
export type { QueueDepth, QueueDepthOptions, QueueDepthStats, QueueDepthFigures, AmqpQueueInfo, AmqpCheckChannel, AmqpChannelOpener } from './queue-depth.js';
export type { LagPollStats, PollError } from '../internal/lag-poller.js';
