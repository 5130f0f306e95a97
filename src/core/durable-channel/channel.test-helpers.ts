// Shared fixtures for the DurableChannel tests. Registers no tests itself.
import assert from 'node:assert/strict';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { DurableChannel, MemoryStore, type DurableChannelOptions, type DurableStore, type LeasedItem } from './index.js';

export function setup<T = number>(options: Partial<DurableChannelOptions<T>> = {}) {
  const clock = new VirtualClock();
  const store = new MemoryStore<T>({ clock });
  const channel = new DurableChannel<T>({ store, clock, visibilityTimeoutMs: 1000, ...options });
  return { clock, store, channel };
}

/** Lets every queued store call and promise callback run. */
export const settle = () => flushMicrotasks();

/** Asserts the accounting invariant of a DurableChannel. */
export function assertInvariant(channel: DurableChannel<unknown>): void {
  const s = channel.stats();
  const droppedSum = Object.values(s.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(s.dropped, droppedSum, 'dropped is the sum of droppedBy');
  assert.equal(s.recovered + s.offered, s.acked + s.size + s.dropped, `recovered + offered === acked + size + dropped in ${JSON.stringify(s)}`);
}

/**
 * Wraps a store so a test decides when each append commits (`release()`) or
 * fails (`fail(error)`), and sees every append call's items.
 */
export class GatedStore<T> implements DurableStore<T> {
  readonly appendCalls: T[][] = [];
  private gates: { resolve(): void; reject(error: unknown): void }[] = [];
  constructor(readonly inner: DurableStore<T>) {}

  async append(items: readonly T[]): Promise<string[]> {
    this.appendCalls.push([...items]);
    await new Promise<void>((resolve, reject) => this.gates.push({ resolve, reject }));
    return this.inner.append(items);
  }
  /** Lets the oldest waiting append commit. */
  release(): void {
    this.gates.shift()?.resolve();
  }
  fail(error: unknown): void {
    this.gates.shift()?.reject(error);
  }
  get waiting(): number {
    return this.gates.length;
  }
  lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    return this.inner.lease(max, visibilityTimeoutMs);
  }
  ack(ids: readonly string[]): Promise<number> {
    return this.inner.ack(ids);
  }
  nack(id: string, options?: { delayMs?: number }): Promise<void> {
    return this.inner.nack(id, options);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
