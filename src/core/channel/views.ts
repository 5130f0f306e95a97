import type { Channel, ChannelStats, ReceiveBatchOptions, ReceiveOptions, SendOptions } from './channel.js';

/**
 * The producer's end of a {@link Channel}: it can send, close, and watch
 * pressure, but not receive. Hand it to code that should only produce.
 */
export class Sender<T> {
  readonly #channel: Channel<T>;
  constructor(channel: Channel<T>) {
    this.#channel = channel;
  }
  trySend(item: T): boolean {
    return this.#channel.trySend(item);
  }
  send(item: T, options?: SendOptions): Promise<boolean> {
    return this.#channel.send(item, options);
  }
  close(): void {
    this.#channel.close();
  }
  get closed(): boolean {
    return this.#channel.closed;
  }
  get pressured(): boolean {
    return this.#channel.pressured;
  }
  onPressureChange(listener: (pressured: boolean) => void): () => void {
    return this.#channel.onPressureChange(listener);
  }
  stats(): ChannelStats {
    return this.#channel.stats();
  }
}

/** The consumer's end of a {@link Channel}: receiving, iterating and waiting for the drain. */
export class Receiver<T> {
  readonly #channel: Channel<T>;
  constructor(channel: Channel<T>) {
    this.#channel = channel;
  }
  tryReceive(): T | undefined {
    return this.#channel.tryReceive();
  }
  receive(options?: ReceiveOptions): Promise<T | undefined> {
    return this.#channel.receive(options);
  }
  receiveBatch(max: number, options?: ReceiveBatchOptions): Promise<T[]> {
    return this.#channel.receiveBatch(max, options);
  }
  drained(options?: { signal?: AbortSignal }): Promise<void> {
    return this.#channel.drained(options);
  }
  get closed(): boolean {
    return this.#channel.closed;
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.#channel[Symbol.asyncIterator]();
  }
  stats(): ChannelStats {
    return this.#channel.stats();
  }
}
