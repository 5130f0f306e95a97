import type { Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from './items.js';

const RESOLVED = Promise.resolve();
const RESOLVED_UNDEFINED = Promise.resolve(undefined);

/**
 * The smallest honest bounded async channel: a power-of-two ring buffer plus
 * at most ONE waiting producer and ONE waiting consumer (no abort, no timeout,
 * no stats, no overflow strategies, no fairness between several producers).
 * It measures what the hand-off itself costs, so the gap between it and Sluice
 * is what Sluice's features cost.
 */
export class HandwrittenChannel<T> {
  private readonly items: (T | undefined)[];
  private readonly mask: number;
  private head = 0;
  private length = 0;
  private closed = false;
  private wakeProducer: (() => void) | undefined;
  private wakeConsumer: ((item: T | undefined) => void) | undefined;

  constructor(private readonly capacity: number) {
    let slots = 1;
    while (slots < capacity) slots <<= 1;
    this.items = new Array<T | undefined>(slots);
    this.mask = slots - 1;
  }

  trySend(item: T): boolean {
    const consumer = this.wakeConsumer;
    if (consumer) {
      this.wakeConsumer = undefined;
      consumer(item);
      return true;
    }
    if (this.length === this.capacity) return false;
    this.items[(this.head + this.length) & this.mask] = item;
    this.length++;
    return true;
  }

  /** Always a promise: an already-resolved shared one when there is room. */
  send(item: T): Promise<void> {
    return this.trySend(item) ? RESOLVED : this.sendWhenRoom(item);
  }

  tryReceive(): T | undefined {
    if (this.length === 0) return undefined;
    const i = this.head;
    const item = this.items[i];
    this.items[i] = undefined;
    this.head = (i + 1) & this.mask;
    this.length--;
    const producer = this.wakeProducer;
    if (producer) {
      this.wakeProducer = undefined;
      producer();
    }
    return item;
  }

  /** Resolves `undefined` once closed and empty. */
  receive(): Promise<T | undefined> {
    if (this.length !== 0) return Promise.resolve(this.tryReceive());
    if (this.closed) return RESOLVED_UNDEFINED;
    return new Promise((resolve) => (this.wakeConsumer = resolve));
  }

  close(): void {
    this.closed = true;
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.(undefined);
  }

  private async sendWhenRoom(item: T): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
      if (this.trySend(item)) return;
    }
  }
}

/** Synchronous fast path, awaiting only when full (producer) or empty (consumer). */
export const handwrittenFast: Contender = async ({ n }) => {
  const ch = new HandwrittenChannel<Item>(CAPACITY);
  const produce = async () => {
    for (let i = 0; i < n; i++) {
      const item = makeItem(i);
      if (!ch.trySend(item)) await ch.send(item);
    }
    ch.close();
  };
  let sum = 0;
  let count = 0;
  const consume = async () => {
    for (;;) {
      let item = ch.tryReceive();
      if (item === undefined) item = await ch.receive();
      if (item === undefined) return;
      sum += item.value;
      count++;
    }
  };
  await Promise.all([produce(), consume()]);
  return summed(n, sum, count);
};

/** Every send and every receive awaited: one promise turn per item on each side. */
export const handwrittenAwait: Contender = async ({ n }) => {
  const ch = new HandwrittenChannel<Item>(CAPACITY);
  const produce = async () => {
    for (let i = 0; i < n; i++) await ch.send(makeItem(i));
    ch.close();
  };
  let sum = 0;
  let count = 0;
  const consume = async () => {
    for (let item = await ch.receive(); item !== undefined; item = await ch.receive()) {
      sum += item.value;
      count++;
    }
  };
  await Promise.all([produce(), consume()]);
  return summed(n, sum, count);
};

/**
 * No asynchrony at all: fill a ring of 1024 slots, drain it, repeat. The
 * ceiling any in-process hand-off of these objects can approach.
 */
export const syncCeiling: Contender = async ({ n }) => {
  const slots = new Array<Item | undefined>(CAPACITY);
  const mask = CAPACITY - 1;
  let head = 0;
  let length = 0;
  let sum = 0;
  let count = 0;
  let produced = 0;
  while (produced < n) {
    while (length < CAPACITY && produced < n) {
      slots[(head + length) & mask] = makeItem(produced++);
      length++;
    }
    while (length > 0) {
      const item = slots[head]!;
      slots[head] = undefined;
      head = (head + 1) & mask;
      length--;
      sum += item.value;
      count++;
    }
  }
  return summed(n, sum, count);
};

/**
 * The synchronous ceiling's ring, but filled by an async producer and drained
 * by an async consumer that hand over with one promise each way per 1024
 * items, and no channel object at all: the closest any asynchronous hand-off
 * of these objects can come to `sync-ceiling`.
 */
export const asyncCeiling: Contender = async ({ n }) => {
  const slots = new Array<Item | undefined>(CAPACITY);
  const mask = CAPACITY - 1;
  let head = 0;
  let length = 0;
  let done = false;
  let wakeProducer: (() => void) | undefined;
  let wakeConsumer: (() => void) | undefined;
  const wake = (w: (() => void) | undefined) => w?.();
  const produce = async () => {
    for (let i = 0; i < n; i++) {
      if (length === CAPACITY) {
        const w = wakeConsumer;
        wakeConsumer = undefined;
        wake(w);
        await new Promise<void>((resolve) => (wakeProducer = resolve));
      }
      slots[(head + length) & mask] = makeItem(i);
      length++;
    }
    done = true;
    const w = wakeConsumer;
    wakeConsumer = undefined;
    wake(w);
  };
  const consume = async () => {
    let sum = 0;
    let count = 0;
    for (;;) {
      if (length === 0) {
        if (done) return [sum, count] as const;
        const w = wakeProducer;
        wakeProducer = undefined;
        wake(w);
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
        continue;
      }
      const item = slots[head]!;
      slots[head] = undefined;
      head = (head + 1) & mask;
      length--;
      sum += item.value;
      count++;
    }
  };
  const [, [sum, count]] = await Promise.all([produce(), consume()]);
  return summed(n, sum, count);
};
