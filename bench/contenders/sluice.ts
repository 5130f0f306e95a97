import { Channel } from '../../src/index.js';
import type { Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from './items.js';

/** The obvious code: await every send, `for await` on the consumer side. */
export const sluicePlain: Contender = async ({ n }) => {
  const ch = new Channel<Item>({ capacity: CAPACITY });
  const produce = async () => {
    for (let i = 0; i < n; i++) await ch.send(makeItem(i));
    ch.close();
  };
  let sum = 0;
  let count = 0;
  const consume = async () => {
    for await (const item of ch) {
      sum += item.value;
      count++;
    }
  };
  await Promise.all([produce(), consume()]);
  return summed(n, sum, count);
};

/**
 * The recommended fast path. `trySend()` and `tryReceive()` are synchronous
 * and succeed whenever the buffer has room / has an item, which under a
 * steady flow is almost always; only when they refuse (full / empty) does the
 * code fall back to the awaiting `send()` / `receive()`. That skips a promise
 * and a microtask turn per item, while backpressure stays exactly the same:
 *
 *   // producer
 *   if (!ch.trySend(item)) await ch.send(item);
 *   // consumer
 *   let item = ch.tryReceive();
 *   if (item === undefined) item = await ch.receive(); // undefined again: closed and drained
 *
 * (`undefined` can never be an item: `send(undefined)` throws.)
 */
export const sluiceFast: Contender = async ({ n }) => {
  const ch = new Channel<Item>({ capacity: CAPACITY });
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
  await Promise.all([produceFast(ch, n), consume()]);
  return summed(n, sum, count);
};

/** Fast-path producer; the consumer takes whatever is buffered, up to 1024 at a time. */
export const sluiceBatch: Contender = async ({ n }) => {
  const ch = new Channel<Item>({ capacity: CAPACITY });
  let sum = 0;
  let count = 0;
  const consume = async () => {
    for (let batch = await ch.receiveBatch(CAPACITY); batch.length !== 0; batch = await ch.receiveBatch(CAPACITY)) {
      for (const item of batch) sum += item.value;
      count += batch.length;
    }
  };
  await Promise.all([produceFast(ch, n), consume()]);
  return summed(n, sum, count);
};

async function produceFast(ch: Channel<Item>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const item = makeItem(i);
    if (!ch.trySend(item)) await ch.send(item);
  }
  ch.close();
}
