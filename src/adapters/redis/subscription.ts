import type { RedisClient, RedisConnection, RedisSubscriber } from './client.js';

/**
 * One pub/sub channel, heard on the user's `subscriber` connection or, when
 * none was given, on a `duplicate()` of the main client that this object owns
 * and closes. Subscribing starts on first use, so components that never wait
 * never open a second connection.
 */
export class ChannelSubscription {
  private connection: RedisSubscriber | undefined;
  private owned: RedisConnection | undefined;
  private started = false;
  private confirmed = false;
  /** Subscribe attempts that failed (the component falls back to timed retries). */
  failures = 0;
  /** Messages received on the channel. */
  received = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisSubscriber | undefined,
    readonly channel: string,
    private readonly onMessage: (message: string) => void,
    private readonly onConfirmed?: () => void,
  ) {}

  /** True once Redis confirmed the subscription. */
  get active(): boolean {
    return this.confirmed;
  }

  /** Subscribes, once. Never throws: a failure only means no notifications. */
  start(): void {
    if (this.started) return;
    this.started = true;
    let connection = this.subscriber;
    if (!connection) {
      try {
        this.owned = this.redis.duplicate();
      } catch {
        this.failures++;
        return;
      }
      // The owned connection's errors are the same outage the component already reports; without a listener ioredis would print them.
      this.owned.on('error', () => undefined);
      connection = this.owned;
    }
    this.connection = connection;
    connection.on('message', this.listener);
    connection.subscribe(this.channel).then(
      () => {
        if (this.connection === undefined) return;
        this.confirmed = true;
        this.onConfirmed?.();
      },
      () => void this.failures++,
    );
  }

  /** Unsubscribes (the user's connection) or disconnects (the owned one). Idempotent. */
  close(): void {
    this.started = true; // a closed subscription never (re)starts
    const connection = this.connection;
    this.connection = undefined;
    this.confirmed = false;
    if (!connection) return;
    connection.removeListener('message', this.listener);
    if (this.owned) {
      this.owned.disconnect();
      this.owned = undefined;
    } else {
      connection.unsubscribe(this.channel).catch(() => undefined);
    }
  }

  private readonly listener = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    this.received++;
    this.onMessage(message);
  };
}
