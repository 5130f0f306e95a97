// Shared by the broker tests (test/amqp/, test/nats/): connection settings, unique names, waiting for
// conditions that depend on broker I/O, and a limiter whose limit a test sets.
import { setTimeout as delay } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Channel } from '../../src/core/channel/index.js';
import type { LimiterLike, PermitLike } from '../../src/adapters/internal/brokers.js';
import { channelPressure, type Pressure } from '../../src/core/pressure/index.js';

export const AMQP_URL = process.env.SLUICE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const NATS_SERVERS = process.env.SLUICE_NATS_SERVERS ?? '127.0.0.1:4222';

let counter = 0;
/** A name no other test (or concurrent test process) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/**
 * Waits until `condition()` holds, checking every few ms; throws after
 * `timeoutMs`. For outcomes that depend on broker round trips, which no
 * virtual clock can drive.
 */
export async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** A promise with its resolve function, for handlers a test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A structural limiter with a limit the test sets; FIFO waiters. */
export class ManualLimiter implements LimiterLike {
  inflight = 0;
  peak = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(public limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    this.admit();
  }

  tryAcquire(): PermitLike | undefined {
    if (this.inflight >= this.limit || this.waiters.length !== 0) return undefined;
    return this.grant();
  }

  acquire(options?: { signal?: AbortSignal }): Promise<PermitLike> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const signal = options?.signal;
      const entry = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.grant());
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(entry);
    });
  }

  private grant(): PermitLike {
    if (++this.inflight > this.peak) this.peak = this.inflight;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inflight--;
      this.admit();
    };
    return { success: release, dropped: release, ignore: release };
  }

  private admit(): void {
    while (this.waiters.length !== 0 && this.inflight < this.limit) this.waiters.shift()!();
  }
}

/** Forces a full garbage collection, so heap readings compare live data only. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** A number with its sign and one decimal, for reports. */
export function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

/** Heap in use after a full collection, in MB. */
export function liveHeapMb(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/**
 * A local downstream the consumer's handlers feed: a bounded Channel drained
 * by a worker that stalls for `stallMs` after every `stallEvery` items. While
 * it stalls the channel fills and its pressure (utilization / high watermark)
 * goes above 1, which must pause the broker consumer.
 */
export class Downstream {
  readonly channel: Channel<string>;
  readonly pressure: Pressure;
  received = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly stallEvery: number,
    private readonly stallMs: number,
    capacity = 500,
  ) {
    this.channel = new Channel<string>({ capacity, highWatermark: 0.8, name: 'downstream' });
    this.pressure = channelPressure(this.channel);
    this.done = this.work();
  }

  private async work(): Promise<void> {
    let nextStall = this.stallEvery;
    for (;;) {
      const batch = await this.channel.receiveBatch(64);
      if (batch.length === 0) return;
      this.received += batch.length;
      if (this.received >= nextStall) {
        nextStall += this.stallEvery;
        await delay(this.stallMs);
      } else {
        await delay(1);
      }
    }
  }

  async close(): Promise<void> {
    this.channel.close();
    await this.done;
  }
}

/** Samples heap use every few ms (without forcing collections) to find the peak. */
export class HeapSampler {
  peakMb = 0;
  private readonly timer = setInterval(() => {
    this.peakMb = Math.max(this.peakMb, process.memoryUsage().heapUsed / 1024 / 1024);
  }, 20);
  stop(): void {
    clearInterval(this.timer);
  }
}
