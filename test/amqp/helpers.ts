// RabbitMQ set-up for the amqp tests: one connection per test file, durable
// queues (transient non-exclusive queues are deprecated) deleted afterwards.
import { setTimeout as delay } from 'node:timers/promises';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { AMQP_URL, uniqueName } from '../brokers/helpers.js';

export class AmqpFixtures {
  private readonly queues: string[] = [];
  private readonly exchanges: string[] = [];
  private constructor(readonly connection: ChannelModel) {}

  static async open(): Promise<AmqpFixtures> {
    return new AmqpFixtures(await amqp.connect(AMQP_URL));
  }

  /** A durable queue, deleted by {@link close}. */
  async queue(channel: Channel, args?: Record<string, unknown>): Promise<string> {
    const name = uniqueName('sluice-amqp');
    await channel.assertQueue(name, { durable: true, arguments: args });
    this.queues.push(name);
    return name;
  }

  /** An exchange, deleted by {@link close}. */
  async exchange(channel: Channel, type: 'fanout' | 'direct'): Promise<string> {
    const name = uniqueName('sluice-x');
    await channel.assertExchange(name, type, { durable: false });
    this.exchanges.push(name);
    return name;
  }

  async close(): Promise<void> {
    const admin = await this.connection.createChannel();
    for (const q of this.queues) await admin.deleteQueue(q);
    for (const e of this.exchanges) await admin.deleteExchange(e);
    await this.connection.close();
  }
}

/** Sends messages whose bodies are `from`, `from + 1`, ... */
export function fill(channel: Channel, queue: string, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) channel.sendToQueue(queue, Buffer.from(String(i)));
}

/** Polls `basic.get` until a message arrives (routing through exchanges is asynchronous). */
export async function getEventually(channel: Channel, queue: string): Promise<Awaited<ReturnType<Channel['get']>>> {
  for (let i = 0; i < 200; i++) {
    const msg = await channel.get(queue, { noAck: true });
    if (msg) return msg;
    await delay(10);
  }
  return false;
}

export async function queueDepth(channel: Channel, queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}
