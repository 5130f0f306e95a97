import { FixedBuffer, Repeater } from '@repeaterjs/repeater';
import fastq from 'fastq';
import { pushable } from 'it-pushable';
import PQueue from 'p-queue';
import type { Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from './items.js';

/** A Repeater with FixedBuffer(1024); the executor awaits every push. */
export const repeater: Contender = async ({ n }) => {
  const items = new Repeater<Item>(async (push, stop) => {
    for (let i = 0; i < n; i++) await push(makeItem(i));
    stop();
  }, new FixedBuffer(CAPACITY));
  let sum = 0;
  let count = 0;
  for await (const item of items) {
    sum += item.value;
    count++;
  }
  return summed(n, sum, count);
};

/** One task per item (the task sums it), concurrency 1; the producer waits while 1024 tasks are queued. */
export const pQueue: Contender = async ({ n }) => {
  const queue = new PQueue({ concurrency: 1 });
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (queue.size >= CAPACITY) await queue.onSizeLessThan(CAPACITY);
    const item = makeItem(i);
    void queue.add(() => {
      sum += item.value;
      count++;
    });
  }
  await queue.onIdle();
  return summed(n, sum, count);
};

/**
 * fastq.promise with an async worker, concurrency 1. fastq has no "wait for
 * room" call, so once 1024 items are queued the producer awaits the promise of
 * the item it just pushed: memory stays bounded, and the queue drains fully
 * before the producer refills it.
 */
export const fastqPromise: Contender = async ({ n }) => {
  let sum = 0;
  let count = 0;
  const queue = fastq.promise(async (item: Item) => {
    sum += item.value;
    count++;
  }, 1);
  for (let i = 0; i < n; i++) {
    const done = queue.push(makeItem(i));
    if (queue.length() >= CAPACITY) await done;
  }
  await queue.drained();
  return summed(n, sum, count);
};

/** it-pushable with the producer gated by hand: push while fewer than 1024 are buffered, else await onEmpty(). */
export const itPushable: Contender = async ({ n }) => {
  const source = pushable<Item>({ objectMode: true });
  const produce = async () => {
    for (let i = 0; i < n; i++) {
      if (source.readableLength >= CAPACITY) await source.onEmpty();
      source.push(makeItem(i));
    }
    source.end();
  };
  let sum = 0;
  let count = 0;
  const consume = async () => {
    for await (const item of source) {
      sum += item.value;
      count++;
    }
  };
  await Promise.all([produce(), consume()]);
  return summed(n, sum, count);
};
