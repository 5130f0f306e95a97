import { JetStreamConsumer } from './consumer.js';
import type { JetStreamConsumeOptions } from './options.js';
import type { JetStreamConsumerClient, JetStreamMessageOf } from './types.js';

/**
 * Consumes a JetStream pull consumer (created beforehand, e.g. with
 * `jsm.consumers.add(stream, { durable_name, ack_policy: AckPolicy.Explicit })`)
 * with flow control; see {@link JetStreamConsumer}. Resolves once the consumer
 * is found and checked and the fetch loop runs.
 *
 * Abort safety: if the `signal` option fires before this resolves, the
 * consumer stops and the promise rejects with `signal.reason`; later, it stops
 * the consumer as `stop()` does.
 *
 * @example
 * const js = nc.jetstream();
 * const consumer = await consumeJetStream(js, 'ORDERS', 'billing', async (msg) => {
 *   await bill(msg.json());
 * }, { limiter: new ConcurrencyLimiter({ algorithm: 'gradient2' }) });
 * // later
 * await consumer.stop();
 */
export async function consumeJetStream<C extends JetStreamConsumerClient<any>>(
  js: C,
  stream: string,
  consumerName: string,
  handler: (message: JetStreamMessageOf<C>) => unknown,
  options?: JetStreamConsumeOptions<JetStreamMessageOf<C>>,
): Promise<JetStreamConsumer<JetStreamMessageOf<C>>> {
  const consumer = new JetStreamConsumer<JetStreamMessageOf<C>>(js, stream, consumerName, handler, options);
  await consumer.start();
  return consumer;
}
