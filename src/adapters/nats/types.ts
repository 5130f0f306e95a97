// Structural views of the nats.js JetStream API. Sluice never imports `nats`
// nor `@nats-io/jetstream`; the caller passes the JetStream client they created:
// `nc.jetstream()` with nats 2.x, `jetstream(nc)` with the v3 packages
// (`@nats-io/transport-node` + `@nats-io/jetstream`). Both fit these shapes.

/** A JetStream message: nats.js's `JsMsg` fits. */
export interface JetStreamMessage {
  readonly seq: number;
  readonly redelivered: boolean;
  ack(): void;
  /** Asks for redelivery, after `millis` if given. */
  nak(millis?: number): void;
  /** Restarts the message's ack_wait timer. */
  working(): void;
  /** Tells the server never to redeliver the message. */
  term(reason?: string): void;
}

/** One fetch: nats.js's `ConsumerMessages`, an async iterator that ends when the batch is full or expires. */
export interface JetStreamBatch<M> extends AsyncIterable<M> {
  close(): Promise<void | Error>;
}

/** The consumer configuration fields Sluice reads (nats.js `ConsumerInfo`). */
export interface JetStreamConsumerInfo {
  config: {
    ack_policy?: string;
    /** Nanoseconds. */
    ack_wait?: number;
    max_ack_pending?: number;
    deliver_subject?: string;
  };
}

/** A pull consumer: nats.js's `Consumer` from `js.consumers.get(stream, name)`. */
export interface JetStreamPullConsumer<M> {
  fetch(options: { max_messages: number; expires: number }): Promise<JetStreamBatch<M>>;
  info(cached?: boolean): Promise<JetStreamConsumerInfo>;
}

/** The parts of a nats.js `JetStreamClient` a consumer uses. */
export interface JetStreamConsumerClient<M> {
  consumers: { get(stream: string, name?: string): Promise<JetStreamPullConsumer<M>> };
}

/** The parts of a nats.js `JetStreamClient` a publisher uses; `A` is the ack (`PubAck`), `O` the publish options. */
export interface JetStreamPublishClient<A = unknown, O = unknown> {
  publish(subject: string, payload?: any, options?: O): Promise<A>;
}

/** The message type a client's consumers yield (nats.js: `JsMsg`). */
export type JetStreamMessageOf<C> = C extends JetStreamConsumerClient<infer M> ? (M extends JetStreamMessage ? M : JetStreamMessage) : JetStreamMessage;

/** What a consumer needs from a `PollSizer` (Sluice's fits). */
export interface PollSizerLike {
  next(msSinceLastPoll?: number): number;
  record(msPerItem: number): void;
  readonly averageMsPerItem: number;
}
