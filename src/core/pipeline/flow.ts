import { Channel, type ChannelOptions, type ChannelStats } from '../channel/index.js';
import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import { OverflowError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { TokenBucket, type TokenBucketStats } from '../token-bucket/index.js';
import { END, PENDING, RESOLVED, YIELD_EVERY, Wakeup, yieldToEventLoop, type End, type Pending, type Pull, type RunContext } from './pull.js';
import { defineStage, type Stage } from './stage.js';

// ---------------------------------------------------------------- buffer

export type BufferStage<T> = Stage<T, T> & {
  /** The channel of the latest run (before any run, the one the next run will use). */
  readonly channel: Channel<T>;
  /** Stats of {@link channel}: size, drops by reason, pressure events... */
  stats(): ChannelStats;
};

/**
 * Puts a {@link Channel} between the stages before and after it. The part
 * upstream runs ahead on its own, filling the channel, while the part
 * downstream takes from it: a slow consumer no longer stalls the producer
 * until the channel is full, and bursts are absorbed.
 *
 * When the channel is full, its `overflow` strategy decides: `'block'` (the
 * default) pauses the upstream part, the dropping strategies discard items
 * and count them in `stats().droppedBy`, `'reject'` fails the pipeline with
 * `OverflowError`. Items cannot be `undefined` (the channel reserves it).
 *
 * Each run gets its own channel, built from these options (validated here);
 * when the pipeline fails, whatever the channel still holds is discarded and
 * stays visible in `stats().size`.
 * @throws InvalidOptionError for bad channel options.
 * @example pipeline(socketMessages, buffer({ capacity: 10_000, overflow: 'drop-oldest' }), map(store, { concurrency: 4 }), sink)
 */
export function buffer<T>(options?: ChannelOptions): BufferStage<T> {
  let next: Channel<T> | undefined = new Channel<T>(options); // validates now
  let latest: Channel<T> = next;
  const stage = defineStage<T, T, { stats(): ChannelStats }>(
    'buffer',
    (input, run) => {
      latest = next ?? new Channel<T>(options);
      next = undefined;
      const channel = latest;
      run.defer(() => channel.close());
      return new BufferPull(input, channel, run);
    },
    { stats: () => latest.stats() },
  );
  Object.defineProperty(stage, 'channel', { get: () => latest, enumerable: true });
  return stage as BufferStage<T>;
}

class BufferPull<T> implements Pull<T> {
  private started = false;
  private held: T | undefined;
  private inflight: Promise<void> | undefined;
  private readonly hold = (item: T | undefined): void => {
    this.inflight = undefined;
    this.held = item;
  };

  constructor(
    private readonly input: Pull<T>,
    private readonly channel: Channel<T>,
    private readonly run: RunContext,
  ) {}

  poll(): T | Pending | End {
    if (!this.started) {
      this.started = true;
      void this.pump();
    }
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      return held;
    }
    const item = this.channel.tryReceive();
    if (item !== undefined) return item;
    return this.channel.closed && this.inflight === undefined ? END : PENDING;
  }

  ready(): Promise<unknown> {
    if (this.held !== undefined || this.channel.size !== 0 || this.channel.closed) return this.inflight ?? RESOLVED;
    // No signal: the run's clean-up closes the channel, which ends this wait.
    return (this.inflight ??= this.channel.receive().then(this.hold));
  }

  /** Moves items from upstream into the channel, as fast as upstream and the channel allow. */
  private async pump(): Promise<void> {
    const { input, channel, run } = this;
    let sinceYield = 0;
    try {
      for (;;) {
        const item = input.poll();
        if (item === PENDING) {
          await input.ready();
        } else if (item === END) {
          channel.close();
          return;
        } else if (!channel.trySend(item)) {
          if (channel.overflow === 'block') {
            await channel.send(item); // the run's clean-up closes the channel, which ends this wait
          } else if (channel.overflow === 'reject') {
            throw new OverflowError(`buffer() stage is full (capacity ${channel.capacity}, overflow: reject)`);
          }
          // The dropping strategies counted the item; carry on.
        }
        if (run.failed) return;
        // Feeding a dropping channel never waits: let the consumer run now and then.
        if (++sinceYield === YIELD_EVERY) {
          sinceYield = 0;
          await yieldToEventLoop();
          if (run.failed) return;
        }
      }
    } catch (error) {
      run.fail(error);
    }
  }
}

// ---------------------------------------------------------------- throttle

export interface ThrottleOptions {
  /**
   * Items let through per second, on average. Must be a finite number > 0.
   * @example throttle({ ratePerSecond: 500 })
   */
  ratePerSecond: number;
  /**
   * Items that may pass back to back after a quiet period.
   * @default Math.max(1, ratePerSecond) (one second's worth)
   * @example throttle({ ratePerSecond: 500, burst: 50 })
   */
  burst?: number;
  /**
   * Time source for the token bucket.
   * @default systemClock
   * @example throttle({ ratePerSecond: 10, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export type ThrottleStage<T> = Stage<T, T> & {
  /** The token bucket of the latest run. */
  readonly bucket: TokenBucket;
  stats(): TokenBucketStats;
};

/**
 * Lets items through at most `ratePerSecond` on average (a {@link TokenBucket}
 * per run). Each item pulled from upstream waits for its token before it
 * moves on, and the next is pulled only after that, so a throttled pipeline
 * also reads its source at that rate (one item ahead at most).
 * @throws InvalidOptionError for bad options.
 * @example pipeline(emails, throttle({ ratePerSecond: 10, burst: 5 }), send)
 */
export function throttle<T>(options: ThrottleOptions): ThrottleStage<T> {
  let next: TokenBucket | undefined = new TokenBucket(options); // validates now
  let latest: TokenBucket = next;
  const stage = defineStage<T, T, { stats(): TokenBucketStats }>(
    'throttle',
    (input, run) => {
      latest = next ?? new TokenBucket(options);
      next = undefined;
      const bucket = latest;
      run.defer(() => bucket.close());
      return new ThrottlePull(input, bucket, run);
    },
    { stats: () => latest.stats() },
  );
  Object.defineProperty(stage, 'bucket', { get: () => latest, enumerable: true });
  return stage as ThrottleStage<T>;
}

class ThrottlePull<T> implements Pull<T> {
  /** An item pulled from upstream, waiting for its token. */
  private held: T | undefined;
  private holding = false;
  private hasToken = false;
  private tokenWait: Promise<void> = RESOLVED;
  private readonly onToken = (): void => {
    this.hasToken = true;
  };

  constructor(
    private readonly input: Pull<T>,
    private readonly bucket: TokenBucket,
    private readonly run: RunContext,
  ) {}

  // The item is pulled before its token is awaited: waiting for a token first
  // would hold the end of the stream back by one token's time.
  poll(): T | Pending | End {
    if (this.holding) {
      if (!this.hasToken) return PENDING;
      const held = this.held as T;
      this.hasToken = false;
      this.holding = false;
      this.held = undefined;
      return held;
    }
    const item = this.input.poll();
    if (item === PENDING || item === END || this.bucket.tryAcquire()) return item;
    this.holding = true;
    this.held = item;
    this.tokenWait = this.bucket.acquire(1, this.run.callOptions).then(this.onToken);
    return PENDING;
  }

  ready(): Promise<unknown> {
    return this.holding ? this.tokenWait : this.input.ready();
  }
}

// ---------------------------------------------------------------- batch

export interface BatchOptions {
  /**
   * Most items per batch. A batch is emitted as soon as it has this many.
   * @example batch({ size: 100 })
   */
  size: number;
  /**
   * Longest a batch may wait for more items, counted from its first item.
   * When it runs out and upstream has nothing at hand, the partial batch is
   * emitted. `0` emits whatever is at hand whenever upstream has to wait.
   * @default undefined (no limit: a batch is emitted when full or when the input ends)
   * @example batch({ size: 500, maxWaitMs: 50 })
   */
  maxWaitMs?: number;
  /**
   * Time source for `maxWaitMs`.
   * @default systemClock
   * @example batch({ size: 10, maxWaitMs: 100, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface BatchStageStats {
  runs: number;
  /** Batches emitted. */
  batches: number;
  /** Items emitted inside batches. */
  items: number;
  /** Batches emitted short because `maxWaitMs` ran out. */
  timedOut: number;
}

export type BatchStage<T> = Stage<T, T[]> & { stats(): BatchStageStats };

/**
 * Groups items into arrays of at most `size`: full batches as soon as they
 * are full, a partial batch when `maxWaitMs` after its first item has passed
 * and upstream has nothing at hand, and the remainder when the input ends.
 * Items at hand upstream are grouped synchronously, without a promise per item.
 * @throws InvalidOptionError for bad options.
 * @example pipeline(rows, batch({ size: 500, maxWaitMs: 50 }), (rows) => db.insertMany(rows))
 */
export function batch<T>(options: BatchOptions): BatchStage<T> {
  const o = v.optionsObject(options, 'batch', { size: true, maxWaitMs: true, clock: true });
  const size = v.requiredInteger('size', o.size, { min: 1 });
  const maxWaitMs = v.optionalNumber('maxWaitMs', o.maxWaitMs, { min: 0 });
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new v.InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
  }
  const stats: BatchStageStats = { runs: 0, batches: 0, items: 0, timedOut: 0 };
  return defineStage<T, T[], { stats(): BatchStageStats }>(
    'batch',
    (input, run) => {
      stats.runs++;
      const pull = new BatchPull(input, size, maxWaitMs, clock, run, stats);
      run.defer(() => pull.close());
      return pull;
    },
    { stats: () => ({ ...stats }) },
  );
}

class BatchPull<T> implements Pull<T[]> {
  private current: T[] | undefined;
  private ended = false;
  private due = false;
  private timer: TimerHandle | undefined;
  private waitingForInput = false;
  private readonly wakeup: Wakeup;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.due = true;
    this.wakeup.wake();
  };
  private readonly onInput = (): void => {
    this.waitingForInput = false;
    this.wakeup.wake();
  };

  constructor(
    private readonly input: Pull<T>,
    private readonly size: number,
    private readonly maxWaitMs: number | undefined,
    private readonly clock: Clock,
    private readonly run: RunContext,
    private readonly stats: BatchStageStats,
  ) {
    this.wakeup = new Wakeup(run);
  }

  poll(): T[] | Pending | End {
    if (this.ended) return END;
    for (;;) {
      const item = this.input.poll();
      if (item === PENDING) {
        if (this.current !== undefined && (this.due || this.maxWaitMs === 0)) {
          if (this.due) this.stats.timedOut++;
          return this.emit();
        }
        return PENDING;
      }
      if (item === END) {
        this.ended = true;
        return this.current !== undefined ? this.emit() : END;
      }
      const current = this.current;
      if (current === undefined) {
        this.current = [item];
        if (this.maxWaitMs !== undefined && this.maxWaitMs !== 0) this.timer = this.clock.schedule(this.maxWaitMs, this.onTimer);
        if (this.size === 1) return this.emit();
      } else if (current.push(item) === this.size) {
        return this.emit();
      }
    }
  }

  ready(): Promise<unknown> {
    if (this.due) return RESOLVED;
    // Without a running timer only upstream can end the wait: wait on it directly.
    if (this.timer === undefined) return this.input.ready();
    if (!this.waitingForInput) {
      this.waitingForInput = true;
      this.input.ready().then(this.onInput, this.run.fail);
    }
    return this.wakeup.wait();
  }

  close(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  private emit(): T[] {
    const out = this.current!;
    this.current = undefined;
    this.due = false;
    if (this.timer !== undefined) {
      this.clock.cancel(this.timer);
      this.timer = undefined;
    }
    this.stats.batches++;
    this.stats.items += out.length;
    return out;
  }
}
