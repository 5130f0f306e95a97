import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FairChannel, fairDropReasons } from './index.js';
import { InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// Random sends over a few keys (under 'block' with timeouts and aborts),
// receives (single, batch with waits), clock advances, resizes, per-key cap
// and watermark moves and close, in virtual time: the accounting balances
// after every step, no item is delivered twice or after being refused, every
// accepted item is delivered once the channel is drained, no key grows past
// its cap nor the channel past its capacity, a resize or cap change drops
// nothing (a bad value changes nothing), and no key state is left behind.

type Op =
  | { kind: 'trySend'; key: number }
  | { kind: 'send'; key: number; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'tryReceive' }
  | { kind: 'receive' }
  | { kind: 'receiveBatch'; max: number; maxWaitMs: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; index: number }
  | { kind: 'resize'; capacity: number }
  | { kind: 'perKey'; cap: number }
  | { kind: 'watermarks'; high: number; low: number }
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
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resize' as const), capacity: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('perKey' as const), cap: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('watermarks' as const), high: fc.integer({ min: 0, max: 4 }).map((q) => q / 4), low: fc.integer({ min: 0, max: 4 }).map((q) => q / 4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

describe('FairChannel properties', () => {
  it('stats() - every strategy: accounting balances, nothing lost or duplicated, per-key cap held, key state freed (random ops, waits, aborts)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom('drop-newest' as const, 'reject' as const, 'block' as const), fc.array(opArb, { maxLength: 60, size: 'max' }), async (capacity, cap, overflow, ops) => {
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
        let adjustments = 0;
        let before = ch.stats();
        const check = () => {
          const s = ch.stats();
          assert.equal(s.dropped, fairDropReasons.reduce((a, k) => a + s.droppedBy[k], 0));
          assert.equal(s.offered, s.delivered + s.size + s.dropped);
          assert.equal(s.delivered, delivered.length);
          // A shrink keeps what is buffered; nothing grows past the current bounds.
          assert.ok(s.size <= Math.max(ch.capacity, before.size), 'the size never grows past the capacity');
          assert.ok(s.largestKeySize <= Math.max(ch.perKeyCapacity, before.largestKeySize), 'no key grows past its cap');
          assert.ok(s.waiting >= 0 && s.keys >= 0);
          assert.equal(s.adjustments, adjustments);
          // Nobody waits while their key and the channel have room (the pump lets them in at once).
          // With room in the channel, someone waits only behind a full key (stats show the fullest one).
          if (s.waiting !== 0 && s.size < ch.capacity) assert.ok(s.largestKeySize >= ch.perKeyCapacity, 'a producer waits with room');
        };
        for (const op of ops) {
          before = ch.stats();
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
          else if (op.kind === 'resize' || op.kind === 'perKey') {
            const bad = op.kind === 'resize' ? op.capacity < Math.max(1, ch.perKeyCapacity) : op.cap < 1 || op.cap > ch.capacity;
            const [field, value, previous] = op.kind === 'resize' ? ['capacity', op.capacity, ch.capacity] : ['perKeyCapacity', op.cap, ch.perKeyCapacity];
            const apply = () => (op.kind === 'resize' ? ch.resize(op.capacity) : ch.setPerKeyCapacity(op.cap));
            if (bad) {
              assert.throws(apply, (e: unknown) => e instanceof InvalidOptionError && e.field === field);
              assert.deepEqual(ch.stats(), before, 'a refused value changes nothing');
            } else {
              apply();
              if (value !== previous) adjustments++;
              const after = ch.stats();
              assert.deepEqual(after.droppedBy, before.droppedBy, 'a resize drops nothing');
              assert.ok(after.delivered + after.size >= before.delivered + before.size, 'no buffered item lost by a resize');
            }
          } else if (op.kind === 'watermarks') {
            if (op.low > op.high) assert.throws(() => ch.setWatermarks(op.high, op.low), (e: unknown) => e instanceof InvalidOptionError && e.field === 'lowWatermark');
            else {
              if (op.high !== ch.highWatermark || op.low !== ch.lowWatermark) adjustments++;
              ch.setWatermarks(op.high, op.low);
            }
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
