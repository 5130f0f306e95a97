import { AmqpConsumer } from './consumer.js';
import type { AmqpConsumeOptions } from './options.js';
import type { AmqpChannel, MessageOf } from './types.js';

/**
 * Consumes `queue` on `channel` with flow control (see {@link AmqpConsumer}):
 * the broker's credit window (`basic.qos`) comes from `prefetch` or from a
 * limiter's limit, consumption pauses while `pressure` reads above 1, and each
 * message is acked after its handler succeeds or nacked when it fails.
 * Resolves once subscribed. Give the consumer a channel of its own: the window
 * is set on the channel before each `basic.consume`.
 *
 * Rejects with InvalidOptionError or InvalidArgumentError on bad input, and
 * with the channel's error when the broker refuses the subscription (for
 * example, the queue does not exist).
 *
 * Abort safety: if the `signal` option fires before the subscription is made,
 * any subscription is cancelled and the promise rejects with `signal.reason`;
 * later, it stops the consumer as `stop()` does.
 *
 * @example
 * const channel = await connection.createChannel();
 * const consumer = await consume(channel, 'jobs', async (msg) => {
 *   await handle(JSON.parse(msg.content.toString()));
 * }, { limiter: new ConcurrencyLimiter({ algorithm: 'gradient2' }), pressure: eventLoopDelay({ thresholdMs: 100 }) });
 * // later
 * await consumer.stop();
 */
export async function consume<C extends AmqpChannel>(
  channel: C,
  queue: string,
  handler: (message: MessageOf<C>) => unknown,
  options?: AmqpConsumeOptions<MessageOf<C>>,
): Promise<AmqpConsumer<MessageOf<C>>> {
  const consumer = new AmqpConsumer<MessageOf<C>>(channel, queue, handler, options);
  await consumer.start();
  return consumer;
}
