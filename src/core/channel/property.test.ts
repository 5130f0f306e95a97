import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Channel, overflowStrategies, type OverflowStrategy } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// Random interleavings of producers, consumers, aborts, timeouts and close,
// driven in virtual time so every run is deterministic and replayable from
// its fast-check seed. Scheduling is jittered by the generated clock advances
// and by the order in which operations are started and aborted.

type Op =
  | { kind: 'trySend' }
  | { kind: 'send'; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'tryReceive' }
  | { kind: 'receive'; abortable: boolean }
  | { kind: 'receiveBatch'; max: number; maxWaitMs: number; abortable: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; index: number }
  | { kind: 'close' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'trySend' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      timeoutMs: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('receive' as const), abortable: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('receiveBatch' as const),
      max: fc.integer({ min: 1, max: 6 }),
      maxWaitMs: fc.integer({ min: 0, max: 30 }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

interface Pending {
  settled: boolean;
  controller: AbortController | undefined;
}

async function runScenario(strategy: OverflowStrategy, capacity: number, ops: Op[]): Promise<void> {
  const clock = new VirtualClock();
  const ch = new Channel<number>({
    capacity,
    overflow: strategy,
    clock,
    highWatermark: 0.75,
    lowWatermark: 0.25,
    sampleEvery: 2,
  });
  let nextId = 0;
  let refused = 0;
  const delivered: number[] = [];
  const pending: Pending[] = [];
  const track = <T>(p: Promise<T>, controller: AbortController | undefined, onValue: (v: T) => void) => {
    const entry: Pending = { settled: false, controller };
    pending.push(entry);
    p.then(onValue, () => undefined).finally(() => (entry.settled = true));
  };
  const check = () => {
    const s = ch.stats();
    assert.ok(s.size <= capacity, 'size never exceeds capacity');
    assert.equal(s.dropped, Object.values(s.droppedBy).reduce((a, b) => a + b, 0));
    assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
    assert.equal(s.delivered, delivered.length);
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'trySend':
        // Under 'block' a refused trySend leaves the item with the caller: not offered.
        if (!ch.closed && !ch.trySend(nextId++) && strategy === 'block') refused++;
        break;
      case 'send': {
        const controller = op.abortable ? new AbortController() : undefined;
        const sendOptions = { ...(controller ? { signal: controller.signal } : {}), ...(strategy === 'block' && op.timeoutMs !== undefined ? { timeoutMs: op.timeoutMs } : {}) };
        track(ch.send(nextId++, sendOptions), controller, () => undefined);
        break;
      }
      case 'tryReceive': {
        const v = ch.tryReceive();
        if (v !== undefined) delivered.push(v);
        break;
      }
      case 'receive': {
        const controller = op.abortable ? new AbortController() : undefined;
        track(ch.receive({ signal: controller?.signal }), controller, (v) => {
          if (v !== undefined) delivered.push(v);
        });
        break;
      }
      case 'receiveBatch': {
        const controller = op.abortable ? new AbortController() : undefined;
        track(ch.receiveBatch(op.max, { maxWaitMs: op.maxWaitMs, signal: controller?.signal }), controller, (batch) => {
          assert.ok(batch.length <= op.max);
          delivered.push(...batch);
        });
        break;
      }
      case 'advance':
        clock.advance(op.ms);
        break;
      case 'abort': {
        const open = pending.filter((p) => !p.settled && p.controller);
        const target = open[op.index % Math.max(1, open.length)];
        target?.controller?.abort(new Error('aborted by test'));
        break;
      }
      case 'close':
        ch.close();
        break;
    }
    await flushMicrotasks();
    check();
  }

  // Close, drain, and let every timer fire: every pending promise must settle.
  ch.close();
  for (let v = ch.tryReceive(); v !== undefined; v = ch.tryReceive()) delivered.push(v);
  clock.runAll();
  await flushMicrotasks();
  check();
  assert.ok(pending.every((p) => p.settled), 'every pending promise settles once the channel is closed');
  for (let i = 1; i < delivered.length; i++) assert.ok(delivered[i - 1]! < delivered[i]!, 'delivered items keep their order');
  const s = ch.stats();
  assert.equal(s.size, 0);
  assert.equal(s.waiting, 0);
  assert.equal(s.state, 'closed');
  assert.equal(s.offered, nextId - refused, 'every item handed to the channel is delivered or counted as dropped');
}

describe('Channel properties (fast-check)', () => {
  for (const strategy of overflowStrategies) {
    it(`${strategy} - accounting, capacity, order and settlement hold over random interleavings`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 80 }), (capacity, ops) =>
          runScenario(strategy, capacity, ops),
        ),
        { numRuns: 150, endOnFailure: true },
      );
    });
  }
});

// Large capacities start with 1024 ring slots and grow while the hot path
// stores without growing: bursts of synchronous sends and receives against a
// plain array model check that no item is overwritten, lost or reordered.
describe('Channel properties above the initial ring size (fast-check)', () => {
  const burstArb = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 2500 })), { minLength: 1, maxLength: 12 });
  for (const strategy of overflowStrategies) {
    it(`${strategy} - bursts of trySend/tryReceive match an array model`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1025, max: 3000 }), burstArb, (capacity, bursts) => {
          const ch = new Channel<number>({ capacity, overflow: strategy });
          const model: number[] = [];
          let next = 0;
          let droppedAtOffer = 0;
          for (const [sending, count] of bursts) {
            for (let k = 0; k < count; k++) {
              if (sending) {
                const item = next++;
                const full = model.length >= capacity;
                const kept = ch.trySend(item);
                if (kept) {
                  if (full) model.shift(); // drop-oldest evicted the oldest
                  model.push(item);
                } else if (strategy !== 'block') droppedAtOffer++;
              } else {
                const got = ch.tryReceive();
                assert.equal(got, model.shift());
              }
              assert.equal(ch.size, model.length);
            }
          }
          const s = ch.stats();
          assert.ok(s.size <= capacity);
          assert.equal(s.offered, s.delivered + s.size + s.dropped);
          assert.equal(s.dropped - s.droppedBy['drop-oldest'], droppedAtOffer);
          const rest: number[] = [];
          for (let v = ch.tryReceive(); v !== undefined; v = ch.tryReceive()) rest.push(v);
          assert.deepEqual(rest, model);
        }),
        { numRuns: 40, endOnFailure: true },
      );
    });
  }
});
