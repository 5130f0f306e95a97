import { TokenBucket } from '../token-bucket/index.js';
import type { ResolvedStreamPolicyOptions } from './options.js';
import { DONE, Governed, isThenable, type GovernedStreamStats } from './governed.js';

/** `'throttle'`: each item read from the source waits for a token before the consumer gets it. */
export class ThrottledStream<T> extends Governed<T> {
  readonly bucket: TokenBucket;
  private backpressureEvents = 0;

  constructor(
    iterator: AsyncIterator<T> | Iterator<T>,
    name: string,
    policy: ResolvedStreamPolicyOptions,
    onFinish: (stream: Governed<T>) => void,
    signal: AbortSignal | undefined,
  ) {
    super(iterator, name, policy, onFinish, signal);
    this.bucket = new TokenBucket({ ratePerSecond: policy.maxItemsPerSecond!, clock: policy.clock });
  }

  /**
   * Reads the next item from the source, then waits for its token. Call it
   * again only after the previous call settled (as `for await` does).
   *
   * Abort safety: when the signal fires while the call waits for the source
   * or for a token, it rejects with `signal.reason` (an item read meanwhile
   * is discarded and counted) and the source is closed; later calls resolve `done`.
   */
  async next(): Promise<IteratorResult<T>> {
    if (this.signal?.aborted) this.abort(this.signal.reason);
    const aborted = this.takeAbort();
    if (aborted) return aborted;
    if (this.state !== 'active') return DONE;
    let result: IteratorResult<T>;
    try {
      const pending = this.iterator.next();
      result = isThenable(pending) ? await this.untilAborted(pending) : pending;
    } catch (error) {
      return this.failed(error);
    }
    if (result.done) {
      this.finish('completed');
      return DONE;
    }
    this.received++;
    if (!this.bucket.tryAcquire()) {
      this.backpressureEvents++;
      try {
        await this.bucket.acquire(1, { signal: this.signal });
      } catch (error) {
        this.discarded++;
        return this.failed(error);
      }
    }
    if (this.state !== 'active') {
      this.discarded++;
      return this.takeAbort() ?? DONE;
    }
    this.delivered++;
    return { value: result.value, done: false };
  }

  stats(): GovernedStreamStats {
    return this.counters(0, 0, this.backpressureEvents, 0);
  }

  protected stop(): void {
    this.bucket.close();
  }

  /** A failure of the source, or the abort that interrupted a wait. */
  private failed(error: unknown): Promise<never> {
    const aborted = this.takeAbort();
    if (aborted) return aborted;
    if (this.finish('failed')) this.stop();
    return Promise.reject(error);
  }

  private untilAborted<R>(pending: PromiseLike<R>): Promise<R> {
    const signal = this.signal;
    if (signal === undefined) return Promise.resolve(pending);
    return new Promise<R>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
