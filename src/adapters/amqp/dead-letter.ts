import type { AmqpChannel, AmqpMessage } from './types.js';

/**
 * Publishes a copy of a failed message to `exchange` with its routing key and
 * properties, adding headers `x-sluice-error` (the error) and `x-sluice-queue`.
 * @returns false when the channel refused the publish (closed), so the caller
 * can requeue instead of acking.
 */
export function copyToDeadLetterExchange(channel: AmqpChannel, exchange: string, queue: string, message: AmqpMessage, error: unknown): boolean {
  const properties = message.properties;
  const headers = { ...properties.headers, 'x-sluice-error': describeError(error), 'x-sluice-queue': queue };
  try {
    channel.publish(exchange, message.fields.routingKey, message.content, { ...properties, headers });
  } catch {
    return false;
  }
  return true;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
