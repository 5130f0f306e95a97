// Shared by the spill tests; defines no tests of its own.
import assert from 'node:assert/strict';
import { MemoryStore } from '../durable-channel/memory-store.js';
import type { DurableStore, LeasedItem } from '../durable-channel/store.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { Channel, type ChannelInit, type ChannelOptions, type ChannelStats, type SpillOptions } from './index.js';

// Shared by the spill tests; no tests of its own.

/** offered === delivered + size + dropped, size split into memory, write batches and store. */
export function invariant(stats: ChannelStats): void {
  const sum = Object.values(stats.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(stats.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(stats.offered, stats.delivered + stats.size + stats.dropped, 'offered === delivered + size + dropped');
  if (stats.inMemory !== undefined) {
    assert.equal(stats.size, stats.inMemory + stats.spillWriting! + stats.spilled!, 'size === inMemory + spillWriting + spilled');
  }
}

/** Lets every store call and promise callback in flight run (MemoryStore settles in microtasks). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await flushMicrotasks();
}

type Gate = { promise: Promise<void>; open(): void };
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A MemoryStore with failures and pauses on demand, recording the batches
 * appended, so tests can see grouping and make any call fail.
 */
export class ScriptedStore<T> implements DurableStore<T> {
  readonly inner: MemoryStore<T>;
  readonly appends: number[] = [];
  failAppend: unknown = undefined;
  failLease: unknown = undefined;
  failAck: unknown = undefined;
  failSize: unknown = undefined;
  /** When set, appends wait for `releaseAppends()` before reaching the store. */
  holdAppends = false;
  /** When set, leases wait for `releaseLeases()` before reaching the store. */
  holdLeases = false;
  private held: Gate | undefined;
  private heldLeases: Gate | undefined;

  constructor(inner = new MemoryStore<T>()) {
    this.inner = inner;
  }

  releaseAppends(): void {
    this.holdAppends = false;
    this.held?.open();
    this.held = undefined;
  }

  releaseLeases(): void {
    this.holdLeases = false;
    this.heldLeases?.open();
    this.heldLeases = undefined;
  }

  async append(items: readonly T[]): Promise<string[]> {
    this.appends.push(items.length);
    if (this.holdAppends) await (this.held ??= gate()).promise;
    if (this.failAppend !== undefined) throw this.failAppend;
    return this.inner.append(items);
  }
  async lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    if (this.holdLeases) await (this.heldLeases ??= gate()).promise;
    if (this.failLease !== undefined) throw this.failLease;
    return this.inner.lease(max, visibilityTimeoutMs);
  }
  async ack(ids: readonly string[]): Promise<number> {
    if (this.failAck !== undefined) throw this.failAck;
    return this.inner.ack(ids);
  }
  nack(id: string, options?: { delayMs?: number }): Promise<void> {
    return this.inner.nack(id, options);
  }
  async size(): Promise<number> {
    if (this.failSize !== undefined) throw this.failSize;
    return this.inner.size();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export function spillChannel(options: Partial<ChannelOptions & SpillOptions<number>> = {}, store: ScriptedStore<number> = new ScriptedStore<number>()) {
  const clock = new VirtualClock();
  const ch = new Channel<number>({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2, clock, spill: store, ...options });
  return { ch, store, clock };
}

export function expectOptionError(options: ChannelInit<number>, field: string): void {
  assert.throws(
    () => new Channel<number>(options),
    (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && e.message.includes(`"${field}"`),
  );
}

/** Offers from..to-1 as a fast producer does: trySend, and send when refused. */
export async function fill(ch: Channel<number>, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) if (!ch.trySend(i)) assert.equal(await ch.send(i), true);
}

/** Takes everything receivable now, in order. */
export function drainNow(ch: Channel<number>): number[] {
  const out: number[] = [];
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) out.push(x);
  return out;
}

export const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
