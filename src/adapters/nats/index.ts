/**
 * `sluice/nats`: flow control for NATS JetStream through nats.js. A pull
 * consumer whose fetch size follows a concurrency limiter or a `PollSizer`,
 * with max-ack-pending as its credit limit, `working()` heartbeats for slow
 * handlers and pause under pressure; and a publisher that bounds PubAcks in
 * flight. Neither `nats` (2.x) nor `@nats-io/jetstream` (v3) is imported: pass
 * the JetStream client you created (`nc.jetstream()`, or `jetstream(nc)` with
 * v3) and, for `jetStreamLag`, the manager (`await nc.jetstreamManager()`, or
 * `await jetstreamManager(nc)`).
 * @module
 */
export { consumeJetStream } from './consume.js';
export { JetStreamConsumer } from './consumer.js';
export type { JetStreamConsumeOptions, JetStreamConsumerStats } from './options.js';
export { jetStreamPublisher, JetStreamPublisher } from './publisher.js';
export type { JetStreamPublisherOptions, JetStreamPublisherStats, JetStreamPublishCallOptions } from './publisher.js';
export type {
  JetStreamBatch,
  JetStreamConsumerClient,
  JetStreamConsumerInfo,
  JetStreamMessage,
  JetStreamMessageOf,
  JetStreamPublishClient,
  JetStreamPullConsumer,
  PollSizerLike,
} from './types.js';
export type { LimiterLike, PermitLike } from '../internal/brokers.js';
export { jetStreamLag } from './jetstream-lag.js';
export type { JetStreamLag, JetStreamLagOptions, JetStreamLagStats, JetStreamLagFigures, JetStreamLagInfo, JetStreamLagManager } from './jetstream-lag.js';
export type { LagPollStats, PollError } from '../internal/lag-poller.js';
