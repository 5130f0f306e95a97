import { Cause, Effect, Fiber, Pull, Queue } from 'effect';
import type { Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from './items.js';

/** Effect v4: `Queue.bounded(1024)`, a producer fiber offering each item, the consumer taking until `Done`. */
export const effectQueue: Contender = async ({ n }) => {
  let sum = 0;
  let count = 0;
  const program = Effect.gen(function* () {
    const queue = yield* Queue.bounded<Item, Cause.Done>(CAPACITY);
    const producer = yield* Effect.forkChild(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Queue.offer(queue, makeItem(i));
        yield* Queue.end(queue);
      }),
    );
    yield* Effect.gen(function* () {
      for (;;) {
        const item = yield* Queue.take(queue);
        sum += item.value;
        count++;
      }
    }).pipe(Pull.catchDone(() => Effect.void));
    yield* Fiber.join(producer);
  });
  await Effect.runPromise(program);
  return summed(n, sum, count);
};
