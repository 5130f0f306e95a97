// Placeholders for the sluice/amqp examples: an amqplib connection and channels.
import type { Channel, ConfirmChannel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { AmqpPublisher } from 'sluice/amqp';
import type { Order } from './common.js';

export declare const connection: ChannelModel;
export declare const channel: Channel;
export declare const confirmChannel: ConfirmChannel;
export declare const pub: AmqpPublisher;
export declare const handle: (message: ConsumeMessage) => Promise<void>;
export declare const body: Buffer;
export declare const orders: Order[];
export declare const events: { type: string }[];
