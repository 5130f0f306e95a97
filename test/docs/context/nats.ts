// Placeholders for the sluice/nats examples: a NATS connection and its JetStream client.
import type { JetStreamClient, JsMsg, NatsConnection, PubAck } from 'nats';
import type { JetStreamPublisher } from 'sluice/nats';
import type { Order } from './common.js';

export declare const nc: NatsConnection;
export declare const js: JetStreamClient;
export declare const pub: JetStreamPublisher<PubAck, unknown>;
export declare const handle: (message: JsMsg) => Promise<void>;
export declare const bill: (order: unknown) => Promise<void>;
export declare const body: Uint8Array;
export declare const order: Order;
export declare const orders: Order[];
