import { defineScenario, lazyContender, type Contender } from '../lib/types.js';
import { CAPACITY, makeItem, summed, type Item } from '../contenders/items.js';

/**
 * What priority lanes (and per-key fairness) cost per item (issue 13): the
 * `channel` scenario's fast-path hand-off (one producer, one consumer,
 * capacity 1024, `trySend` / `tryReceive` with the awaiting calls as
 * fallback) through a plain `Channel`, a `PriorityChannel` and (for
 * information, no target) a `FairChannel` over 10 keys under `'block'`. Every
 * contender's consumer sums `item.value` and the worker checks sum and count.
 *
 * The priority rows send 20% of the items at the top level and 80% at the
 * bottom one, with the per-call options objects hoisted (a constant
 * `{ priority: 'critical' }`, as a caller would write it): the channel checks
 * such an object's keys once and then only looks its level up.
 */
const sluice = () => import('../../src/index.js');

type Sluice = Awaited<ReturnType<typeof sluice>>;

interface Lanes {
  trySend(item: Item, options?: object): boolean;
  send(item: Item, options?: object): Promise<boolean>;
  tryReceive(): Item | undefined;
  receive(): Promise<Item | undefined>;
  close(): void;
}

function handOff(make: (m: Sluice) => Lanes, options: (i: number, m: Lanes) => object | undefined): Contender {
  return lazyContender(sluice, (m) => async ({ n }) => {
    const ch = make(m);
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
    const produce = async () => {
      for (let i = 0; i < n; i++) {
        const item = makeItem(i);
        const o = options(i, ch);
        if (!ch.trySend(item, o)) await ch.send(item, o);
      }
      ch.close();
    };
    await Promise.all([produce(), consume()]);
    return summed(n, sum, count);
  });
}

const CRITICAL = { priority: 'critical' };
const BATCH = { priority: 'batch' };
const LEVELS = ['critical', 'normal', 'batch'];
const twentyEighty = (i: number) => (i % 5 === 0 ? CRITICAL : BATCH);
const KEYS = Array.from({ length: 10 }, (_, k) => ({ key: `tenant-${k}` }));

export default defineScenario({
  name: 'priority',
  description: 'fast-path hand-off (capacity 1024) through Channel vs PriorityChannel (3 levels, 20% critical / 80% batch); sum and count verified',
  baseline: 'channel',
  defaultN: 1_000_000,
  quickN: 100_000,
  expectations: [
    { contender: 'priority-3-strict', reference: 'channel', atLeast: 1 / 1.5 },
    { contender: 'priority-3-weighted', reference: 'channel', atLeast: 1 / 1.5 },
    { contender: 'priority-default', reference: 'channel', atLeast: 1 / 1.5 },
  ],
  notes: {
    channel: 'plain Channel: if (!ch.trySend(x)) await ch.send(x); tryReceive() ?? await receive()',
    'priority-default': 'PriorityChannel, 3 levels, every item at the default level (no options object)',
    'priority-3-strict': 'PriorityChannel, 3 levels strict, 20% { priority: critical } / 80% { priority: batch }, hoisted options',
    'priority-3-weighted': 'the same with weights 4:2:1 (weighted round robin in runs: deficit round robin, quantum = the scaled weight)',
    'fair-10-keys': 'FairChannel, overflow block, 10 keys in turn ({ key } hoisted per key), perKeyCapacity 1024; no target',
  },
  contenders: {
    channel: handOff(
      (m) => new m.Channel<Item>({ capacity: CAPACITY }) as unknown as Lanes,
      () => undefined,
    ),
    'priority-default': handOff(
      (m) => new m.PriorityChannel<Item>({ levels: LEVELS, capacity: CAPACITY }) as unknown as Lanes,
      () => undefined,
    ),
    'priority-3-strict': handOff((m) => new m.PriorityChannel<Item>({ levels: LEVELS, capacity: CAPACITY }) as unknown as Lanes, twentyEighty),
    'priority-3-weighted': handOff(
      (m) => new m.PriorityChannel<Item>({ levels: LEVELS, capacity: CAPACITY, weights: { critical: 4, normal: 2, batch: 1 } }) as unknown as Lanes,
      twentyEighty,
    ),
    'fair-10-keys': handOff(
      (m) => new m.FairChannel<Item>({ capacity: CAPACITY, perKeyCapacity: CAPACITY, overflow: 'block' }) as unknown as Lanes,
      (i) => KEYS[i % 10]!,
    ),
  },
});
