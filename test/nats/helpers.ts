// JetStream set-up for the NATS tests: a memory stream and an explicit-ack
// pull consumer per test, deleted afterwards.
import { AckPolicy, connect, nanos, StorageType, type ConsumerConfig, type JetStreamManager, type NatsConnection } from 'nats';
import { NATS_SERVERS, uniqueName } from '../brokers/helpers.js';

export interface StreamFixture {
  stream: string;
  subject: string;
  consumer: string;
}

export class JetStreamFixtures {
  private readonly streams: string[] = [];
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async open(): Promise<JetStreamFixtures> {
    const nc = await connect({ servers: NATS_SERVERS });
    return new JetStreamFixtures(nc, await nc.jetstreamManager());
  }

  /** A stream with one subject and a durable pull consumer on it. */
  async create(consumer: Partial<ConsumerConfig> & { ackWaitMs?: number } = {}): Promise<StreamFixture> {
    const stream = uniqueName('sluice').replace(/[^A-Za-z0-9_-]/g, '_');
    const subject = `${stream}.work`;
    await this.jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory });
    this.streams.push(stream);
    const { ackWaitMs = 30_000, ...config } = consumer;
    const name = 'worker';
    await this.jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 1000,
      ...config,
    });
    return { stream, subject, consumer: name };
  }

  async info(f: StreamFixture) {
    return this.jsm.consumers.info(f.stream, f.consumer);
  }

  async close(): Promise<void> {
    for (const s of this.streams) await this.jsm.streams.delete(s).catch(() => undefined);
    await this.nc.close();
  }
}
