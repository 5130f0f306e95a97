/**
 * Reactive Streams demand (`request(n)`): the `Publisher`/`Subscriber`/`Subscription`
 * contract, a publisher over iterables and Channels, and a batching async iterator.
 * @module
 */
export type { Publisher, Subscriber, Subscription } from './types.js';
export { publisherFrom, SourcePublisher } from './publisher-from.js';
export type { ChannelLike, PublisherFromOptions, PublisherSource, SourcePublisherStats } from './publisher-from.js';
export { toAsyncIterable, PublisherIterator } from './to-async-iterable.js';
export type { PublisherIteratorState, PublisherIteratorStats, ToAsyncIterableOptions } from './to-async-iterable.js';
