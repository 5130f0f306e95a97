import { Readable, Writable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Channel, ChannelClosedError } from '../../src/index.js';
import { pushable } from 'it-pushable';
import type { Contender, ContenderOptions, RunOutcome } from '../lib/types.js';
import { CAPACITY, makeItem, type Item } from './items.js';

/**
 * A fast producer against a consumer that takes one item, then sleeps 1 ms on
 * a real timer. Whatever the producer makes beyond that rate either waits,
 * is dropped, or piles up in memory: that pile is what this scenario shows.
 *
 * A producer that never awaits would starve the timer and stop the consumer
 * altogether, so every producer yields one event-loop turn per 1024 items
 * (`setImmediate`); in between it runs flat out.
 */
export function durationMs(quick: boolean): number {
  return quick ? 300 : 2000;
}

/** The queue under test, reduced to what the driver needs. */
interface MemoryQueue {
  /** Offers one item; a promise means "wait for it before producing the next". */
  offer(item: Item): Promise<void> | undefined;
  /** Takes the oldest item, waiting if there is none; `undefined` once shut and empty. */
  take(): Promise<Item | undefined> | Item | undefined;
  buffered(): number;
  /** Ends the run: releases a producer or consumer that is waiting. */
  shut(): void;
  dropped?(): number;
}

/**
 * Runs `queue` for the scenario's duration. `n` caps what may be buffered:
 * an unbounded queue stops being fed there (metric `capped` = 1) so it cannot
 * take the machine down; by then the failure mode is plain.
 */
async function drive(queue: MemoryQueue, { n, quick }: ContenderOptions): Promise<RunOutcome> {
  let stopped = false;
  let produced = 0;
  let consumed = 0;
  let maxBuffered = 0;
  let capped = 0;
  let bufferedAtEnd = 0;
  const produce = async () => {
    while (!stopped) {
      if (queue.buffered() >= n) {
        capped = 1;
        await sleep(1);
        continue;
      }
      const wait = queue.offer(makeItem(produced++));
      if (wait) await wait;
      if ((produced & 1023) === 0) {
        maxBuffered = Math.max(maxBuffered, queue.buffered());
        await nextTurn();
      }
    }
  };
  const consume = async () => {
    while (!stopped) {
      const item = await queue.take();
      if (item === undefined) return;
      consumed++;
      maxBuffered = Math.max(maxBuffered, queue.buffered() + 1);
      await sleep(1);
    }
  };
  const stop = async () => {
    await sleep(durationMs(quick));
    stopped = true;
    bufferedAtEnd = queue.buffered();
    maxBuffered = Math.max(maxBuffered, bufferedAtEnd);
    queue.shut();
  };
  await Promise.all([produce(), consume(), stop()]);
  return {
    items: consumed,
    metrics: { buffered: bufferedAtEnd, maxBuffered, produced, dropped: queue.dropped?.() ?? 0, capped },
  };
}

function sluiceQueue(ch: Channel<Item>): MemoryQueue {
  return {
    offer(item) {
      if (ch.trySend(item) || ch.overflow !== 'block') return undefined;
      return ch.send(item).then(
        () => undefined,
        (error: unknown) => {
          // shut() closes the channel under a waiting producer: that is the end of the run, not a failure.
          if (!(error instanceof ChannelClosedError)) throw error;
        },
      );
    },
    take: () => ch.tryReceive() ?? ch.receive(),
    buffered: () => ch.size,
    shut: () => ch.close(),
    dropped: () => ch.stats().dropped - ch.stats().droppedBy.closed,
  };
}

/** Sluice, capacity 1024, `'block'`: the producer waits for room. */
export const sluiceBlock: Contender = (options) => drive(sluiceQueue(new Channel<Item>({ capacity: CAPACITY })), options);

/** Sluice, capacity 1024, `'drop-newest'`: the producer never waits; the excess is counted as dropped. */
export const sluiceDropNewest: Contender = (options) =>
  drive(sluiceQueue(new Channel<Item>({ capacity: CAPACITY, overflow: 'drop-newest' })), options);

/** The failure mode: an array nobody bounds. (Head index instead of `shift()`, so only memory, not O(n) shifts, is on trial.) */
export const unboundedArray: Contender = (options) => {
  let items: (Item | undefined)[] = [];
  let head = 0;
  let wakeConsumer: (() => void) | undefined;
  let shut = false;
  const queue: MemoryQueue = {
    offer(item) {
      items.push(item);
      wakeConsumer?.();
      wakeConsumer = undefined;
      return undefined;
    },
    async take() {
      while (head === items.length) {
        if (shut) return undefined;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
      }
      const item = items[head];
      items[head++] = undefined;
      return item;
    },
    buffered: () => items.length - head,
    shut() {
      shut = true;
      wakeConsumer?.();
      items = [];
      head = 0;
    },
  };
  return drive(queue, options);
};

/** it-pushable with no gate: `push()` never says "wait", so the buffer grows at the producer's speed. */
export const itPushableUngated: Contender = (options) => {
  const source = pushable<Item>({ objectMode: true });
  const iterator = source[Symbol.asyncIterator]();
  const queue: MemoryQueue = {
    offer(item) {
      source.push(item);
      return undefined;
    },
    take: () => iterator.next().then((r) => (r.done ? undefined : r.value)),
    buffered: () => source.readableLength,
    shut() {
      source.end();
      void iterator.return();
    },
  };
  return drive(queue, options);
};

/**
 * objectMode Readable (read() pushes until push() says stop) piped into a
 * Writable whose write() completes 1 ms later; highWaterMark 1024 on both.
 * Streams have their own backpressure loop, so this one does not go through
 * `drive()`; it yields the same metrics.
 */
export const nodeStreams: Contender = async ({ quick }) => {
  let stopped = false;
  let produced = 0;
  let consumed = 0;
  let maxBuffered = 0;
  const source = new Readable({
    objectMode: true,
    highWaterMark: CAPACITY,
    read() {
      while (!stopped) {
        if (!this.push(makeItem(produced++))) break;
      }
      maxBuffered = Math.max(maxBuffered, source.readableLength + sink.writableLength);
    },
  });
  const sink = new Writable({
    objectMode: true,
    highWaterMark: CAPACITY,
    write(_item: Item, _encoding, callback) {
      consumed++;
      setTimeout(callback, 1);
    },
  });
  source.pipe(sink);
  await sleep(durationMs(quick));
  stopped = true;
  const buffered = source.readableLength + sink.writableLength;
  source.unpipe(sink);
  source.destroy();
  sink.destroy();
  return {
    items: consumed,
    metrics: { buffered, maxBuffered: Math.max(maxBuffered, buffered), produced, dropped: 0, capped: 0 },
  };
};
