import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FairChannel, fairDropReasons } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// Random sends over a few keys (under 'block' with timeouts and aborts),
// receives (single, batch with waits), clock advances and close, in virtual time: the accounting balances after every
// step, no item is delivered twice or after being refused, every accepted
// item is delivered once the channel is drained, no key is held past its
// cap, and no key state is left behind.

type Op =
  | { kind: 'trySend'; key: number }
  | { kind: 'send'; key: number; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'tryReceive' }
  | { kind: 'receive' }
  | { kind: 'receiveBatch'; max: number; maxWaitMs: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; index: number }
  | { kind: 'close' };

const key = fc.integer({ min: 0, max: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('trySend' as const), key }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      key,
      timeoutMs: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'receive' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receiveBatch' as const), max: fc.integer({ min: 1, max: 5 }), maxWaitMs: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

describe('FairChannel properties', () => {
  it('stats() - every strategy: accounting balances, nothing lost or duplicated, per-key cap held, key state freed (random ops, waits, aborts)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom('drop-newest' as const, 'reject' as const, 'block' as const), fc.array(opArb, { maxLength: 60 }), async (capacity, cap, overflow, ops) => {
        const clock = new VirtualClock();
        const perKeyCapacity = Math.min(cap, capacity);
        const ch = new FairChannel<number>({ capacity, perKeyCapacity, clock, overflow });
        const controllers: AbortController[] = [];
        let nextId = 0;
        const accepted = new Set<number>();
        const refused = new Set<number>();
        const delivered: number[] = [];
        const take = (x: number | undefined) => {
          if (x !== undefined) delivered.push(x);
        };
        const check = () => {
          const s = ch.stats();
          assert.equal(s.dropped, fairDropReasons.reduce((a, k) => a + s.droppedBy[k], 0));
          assert.equal(s.offered, s.delivered + s.size + s.dropped);
          assert.equal(s.delivered, delivered.length);
          assert.ok(s.size <= capacity && s.largestKeySize <= perKeyCapacity);
          assert.ok(s.waiting >= 0 && s.keys >= 0);
          // Nobody waits while their key and the channel have room (the pump lets them in at once).
          if (s.waiting !== 0) assert.ok(s.size === capacity || s.waitingKeys <= s.keys);
        };
        for (const op of ops) {
          if (op.kind === 'trySend') {
            const id = nextId++;
            try {
              (ch.trySend(id, { key: `k${op.key}` }) ? accepted : refused).add(id);
            } catch {
              refused.add(id);
            }
          } else if (op.kind === 'send') {
            const id = nextId++;
            const controller = op.abortable ? new AbortController() : undefined;
            if (controller) controllers.push(controller);
            ch.send(id, { key: `k${op.key}`, signal: controller?.signal, timeoutMs: overflow === 'block' ? op.timeoutMs : undefined }).then(
              (ok) => (ok ? accepted : refused).add(id),
              () => refused.add(id),
            );
          } else if (op.kind === 'tryReceive') take(ch.tryReceive());
          else if (op.kind === 'receive') void ch.receive().then(take);
          else if (op.kind === 'receiveBatch') void ch.receiveBatch(op.max, { maxWaitMs: op.maxWaitMs }).then((xs) => xs.forEach((x) => take(x)));
          else if (op.kind === 'advance') await clock.advanceAsync(op.ms);
          else if (op.kind === 'abort') {
            if (controllers.length) controllers[op.index % controllers.length]!.abort(new Error('aborted'));
          }
          else ch.close();
          await flushMicrotasks();
          check();
        }
        ch.close();
        for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) take(x);
        await clock.advanceAsync(100);
        await ch.drained();
        await flushMicrotasks();
        check();
        assert.equal(new Set(delivered).size, delivered.length, 'no item delivered twice');
        assert.equal(accepted.size + refused.size, nextId, 'every offer settled');
        assert.deepEqual([...delivered].sort((a, b) => a - b), [...accepted].sort((a, b) => a - b), 'every accepted item delivered, nothing else');
        assert.equal(ch.keys, 0, 'no key state left');
      }),
      { numRuns: 300 },
    );
  });
});
