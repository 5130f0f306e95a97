import { Channel } from '../channel/index.js';
import type { ResolvedStreamPolicyOptions } from './options.js';
import { DONE, Governed, isThenable, type GovernedStreamStats } from './governed.js';

/** The pump yields to the event loop once per this many items: a 'drop-newest' pump never waits otherwise. */
const YIELD_EVERY = 2048;

/**
 * `'block'` and `'drop-newest'`: a pump reads the source into a Channel and the
 * consumer takes from it. Under `'block'` the pump pauses at the high
 * watermark until the low one (blocking channel); under `'drop-newest'` it never
 * waits and the full channel drops the newest items.
 */
export class BufferedStream<T> extends Governed<T> {
  readonly channel: Channel<T>;
  private started = false;
  private failure: { error: unknown } | undefined;

  constructor(
    iterator: AsyncIterator<T> | Iterator<T>,
    name: string,
    policy: ResolvedStreamPolicyOptions,
    onFinish: (stream: Governed<T>) => void,
    signal: AbortSignal | undefined,
  ) {
    super(iterator, name, policy, onFinish, signal);
    this.channel = new Channel<T>({
      capacity: policy.bufferSize,
      overflow: policy.strategy === 'drop-newest' ? 'drop-newest' : 'block',
      highWatermark: policy.highWatermark,
      lowWatermark: policy.lowWatermark,
      clock: policy.clock,
      name,
    });
  }

  /**
   * The next item, waiting for the pump if the buffer is empty. The first call
   * starts reading the source. After the source ends, buffered items are still
   * handed out; a source error comes after them, once.
   *
   * Abort safety: when the signal fires, a pending call rejects with
   * `signal.reason` (or the next call does if none was pending); buffered
   * items are discarded and counted; later calls resolve `done`.
   */
  next(): Promise<IteratorResult<T>> {
    if (this.signal?.aborted) this.abort(this.signal.reason);
    if (!this.started) this.start();
    const item = this.channel.tryReceive();
    if (item !== undefined) {
      this.delivered++;
      return Promise.resolve({ value: item, done: false });
    }
    const aborted = this.takeAbort();
    if (aborted) return aborted;
    if (this.state !== 'active') return Promise.resolve(DONE);
    if (this.channel.closed) {
      try {
        return Promise.resolve(this.ended());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.waitForItem();
  }

  stats(): GovernedStreamStats {
    const s = this.channel.stats();
    return this.counters(s.capacity, s.size, s.pressureEvents, s.droppedBy['drop-newest']);
  }

  protected stop(): void {
    const left = this.channel.size;
    if (left !== 0) {
      this.discarded += left;
      for (let i = 0; i < left; i++) this.channel.tryReceive();
    }
    this.channel.close();
  }

  private start(): void {
    this.started = true;
    if (this.state === 'active') void this.pump();
  }

  private async waitForItem(): Promise<IteratorResult<T>> {
    let item: T | undefined;
    try {
      item = await this.channel.receive({ signal: this.signal });
    } catch (error) {
      this.pendingAbort = undefined; // this call is the one that reports the abort
      throw error;
    }
    if (item !== undefined) {
      this.delivered++;
      return { value: item, done: false };
    }
    const aborted = this.takeAbort();
    if (aborted) return aborted;
    return this.state === 'active' ? this.ended() : DONE;
  }

  /** Closed and drained: the source's error once, then `done`. */
  private ended(): IteratorResult<T> {
    const failure = this.failure;
    if (failure !== undefined) {
      this.failure = undefined;
      this.finish('failed');
      throw failure.error;
    }
    this.finish('completed');
    return DONE;
  }

  private async pump(): Promise<void> {
    const { channel, iterator } = this;
    const pausesAtWatermark = this.policy.strategy === 'block';
    let sinceYield = 0;
    try {
      for (;;) {
        if (pausesAtWatermark && channel.pressured && channel.size !== 0) {
          await this.pressureRelief();
        }
        if (this.state !== 'active') return;
        let result = iterator.next();
        if (isThenable(result)) result = await result;
        if (result.done) break;
        this.received++;
        if (this.state !== 'active') {
          this.discarded++; // read while the stream was being cancelled
          return;
        }
        if (!channel.trySend(result.value) && pausesAtWatermark) {
          // Not reached while the pump pauses at the high watermark (at most 100%);
          // should the channel be full anyway, the item waits for room rather than being lost.
          await channel.send(result.value);
        }
        if (++sinceYield === YIELD_EVERY) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      channel.close();
    } catch (error) {
      if (this.state !== 'active') return;
      this.failure = { error };
      channel.close();
    }
  }

  /** Resolves once pressure is off: the consumer drained to the low watermark, or the channel closed. */
  private pressureRelief(): Promise<void> {
    return new Promise<void>((resolve) => {
      const off = this.channel.onPressureChange((pressured) => {
        if (pressured) return;
        off();
        resolve();
      });
    });
  }
}

