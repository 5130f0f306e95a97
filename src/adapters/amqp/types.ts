// Structural views of amqplib's channel and message. Sluice never imports
// amqplib; the caller passes the channel they created, and any amqplib
// version (or @types/amqplib) whose shapes fit works.

/** Headers and properties of a message, as amqplib reports and accepts them. */
export interface AmqpPublishOptions {
  expiration?: string | number;
  userId?: string;
  CC?: string | string[];
  mandatory?: boolean;
  persistent?: boolean;
  deliveryMode?: boolean | number;
  BCC?: string | string[];
  contentType?: string;
  contentEncoding?: string;
  headers?: any;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  appId?: string;
}

/** A delivered message: amqplib's `ConsumeMessage` fits. */
export interface AmqpMessage {
  content: Buffer;
  fields: {
    deliveryTag: number;
    redelivered: boolean;
    exchange: string;
    routingKey: string;
  };
  properties: { headers?: any; [property: string]: any };
}

/** The parts of an amqplib `Channel` a consumer uses. */
export interface AmqpChannel {
  consume(queue: string, onMessage: (message: any) => void, options?: any): Promise<{ consumerTag: string }>;
  cancel(consumerTag: string): Promise<unknown>;
  prefetch(count: number, global?: boolean): Promise<unknown>;
  ack(message: any, allUpTo?: boolean): void;
  nack(message: any, allUpTo?: boolean, requeue?: boolean): void;
  publish(exchange: string, routingKey: string, content: Buffer, options?: AmqpPublishOptions): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** The parts of an amqplib `Channel` (or `ConfirmChannel`) that `publish()` uses. */
export interface AmqpPublishChannel {
  publish(exchange: string, routingKey: string, content: Buffer, options?: AmqpPublishOptions): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** The parts of an amqplib `ConfirmChannel` a {@link AmqpPublisher} uses. */
export interface AmqpConfirmChannel extends AmqpPublishChannel {
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: AmqpPublishOptions,
    callback?: (error: any, ok: any) => void,
  ): boolean;
}

/** The message type a channel's `consume()` callback receives (amqplib: `ConsumeMessage`). */
export type MessageOf<C> = C extends { consume(queue: string, onMessage: (message: infer M) => void, ...rest: any[]): any }
  ? Exclude<M, null> extends AmqpMessage
    ? Exclude<M, null>
    : AmqpMessage
  : AmqpMessage;
