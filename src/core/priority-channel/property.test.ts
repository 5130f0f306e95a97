import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PriorityChannel, priorityDropReasons, priorityOverflows, type PriorityOverflow } from './index.js';
import { InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

// Random interleavings of sends at random levels, receives, aborts, timeouts,
// resizes, watermark moves and close, in virtual time. After every step each
// level's accounting balances and the size never grows past the capacity; a
// resize drops nothing (every level's delivered + size never shrinks across
// it, its drops stay put) and a bad value changes nothing; at the end every
// item the channel accepted was delivered exactly once or shed, and no
// refused item was ever delivered.

const LEVELS = ['l0', 'l1', 'l2'] as const;
type Level = (typeof LEVELS)[number];

type Op =
  | { kind: 'trySend'; level: number }
  | { kind: 'send'; level: number; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'tryReceive' }
  | { kind: 'receive' }
  | { kind: 'receiveBatch'; max: number; maxWaitMs: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; index: number }
  | { kind: 'resize'; capacity: number }
  | { kind: 'watermarks'; high: number; low: number }
  | { kind: 'close' };

const level = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('trySend' as const), level }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      level,
      timeoutMs: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'receive' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receiveBatch' as const), max: fc.integer({ min: 1, max: 5 }), maxWaitMs: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('resize' as const), capacity: fc.integer({ min: 0, max: 8 }) }) },
  // Quarters, so low > high (refused) comes up often enough.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('watermarks' as const), high: fc.integer({ min: 0, max: 4 }).map((q) => q / 4), low: fc.integer({ min: 0, max: 4 }).map((q) => q / 4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

async function run(overflow: PriorityOverflow, capacity: number, reserve: number, weighted: boolean, ops: Op[]): Promise<void> {
  const clock = new VirtualClock();
  const ch = new PriorityChannel<number, Level>({
    levels: LEVELS,
    capacity,
    reserve,
    overflow,
    clock,
    highWatermark: 0.75,
    lowWatermark: 0.25,
    ...(weighted ? { weights: { l0: 3, l1: 2, l2: 1 } } : {}),
  });
  let nextId = 0;
  const levelOf = new Map<number, number>();
  const accepted = new Set<number>();
  const refused = new Set<number>();
  const delivered: number[] = [];
  const controllers: AbortController[] = [];
  const take = (x: number | undefined) => {
    if (x !== undefined) delivered.push(x);
  };
  let adjustments = 0;
  let sizeBefore = 0;
  const check = () => {
    const s = ch.stats();
    assert.ok(s.size <= Math.max(ch.capacity, sizeBefore), 'the size never grows past the capacity');
    assert.equal(s.adjustments, adjustments);
    for (const [i, name] of LEVELS.entries()) {
      // A producer waits only while its level is full: a grown capacity lets it in at once.
      if (s.levels[name].waiting !== 0) assert.ok(s.size >= (i === 0 ? ch.capacity : ch.capacity - reserve), `${name} waits with room`);
    }
    for (const r of [s, ...Object.values(s.levels)]) {
      assert.equal(r.dropped, priorityDropReasons.reduce((a, k) => a + r.droppedBy[k], 0));
      assert.equal(r.offered, r.delivered + r.size + r.dropped);
    }
    assert.equal(s.delivered, delivered.length);
    for (const [i, name] of LEVELS.entries()) {
      assert.equal(s.levels[name].delivered, delivered.filter((id) => levelOf.get(id) === i).length, `${name} delivered`);
    }
  };
  for (const op of ops) {
    const before = ch.stats();
    sizeBefore = before.size;
    switch (op.kind) {
      case 'trySend': {
        const id = nextId++;
        levelOf.set(id, op.level);
        try {
          (ch.trySend(id, { priority: LEVELS[op.level] }) ? accepted : refused).add(id);
        } catch {
          refused.add(id);
        }
        break;
      }
      case 'send': {
        const id = nextId++;
        levelOf.set(id, op.level);
        const controller = op.abortable ? new AbortController() : undefined;
        if (controller) controllers.push(controller);
        ch.send(id, { priority: LEVELS[op.level], timeoutMs: overflow === 'block' ? op.timeoutMs : undefined, signal: controller?.signal }).then(
          (ok) => (ok ? accepted : refused).add(id),
          () => refused.add(id),
        );
        break;
      }
      case 'tryReceive':
        take(ch.tryReceive());
        break;
      case 'receive':
        ch.receive().then(take);
        break;
      case 'receiveBatch':
        ch.receiveBatch(op.max, { maxWaitMs: op.maxWaitMs }).then((items) => items.forEach((x) => take(x)));
        break;
      case 'advance':
        await clock.advanceAsync(op.ms);
        break;
      case 'abort':
        if (controllers.length) controllers[op.index % controllers.length]!.abort(new Error('aborted'));
        break;
      case 'resize': {
        const previous = ch.capacity;
        if (op.capacity <= reserve) {
          assert.throws(() => ch.resize(op.capacity), (e: unknown) => e instanceof InvalidOptionError && e.field === 'capacity');
          assert.deepEqual(ch.stats(), before, 'a refused resize changes nothing');
          break;
        }
        ch.resize(op.capacity);
        if (op.capacity !== previous) adjustments++;
        const after = ch.stats();
        assert.equal(after.capacity, op.capacity);
        for (const name of LEVELS) {
          const [b, a] = [before.levels[name], after.levels[name]];
          assert.deepEqual(a.droppedBy, b.droppedBy, `${name}: a resize drops nothing`);
          assert.ok(a.delivered + a.size >= b.delivered + b.size, `${name}: no buffered item lost by a resize`);
        }
        break;
      }
      case 'watermarks': {
        const [high, low] = [ch.highWatermark, ch.lowWatermark];
        if (op.low > op.high) {
          assert.throws(() => ch.setWatermarks(op.high, op.low), (e: unknown) => e instanceof InvalidOptionError && e.field === 'lowWatermark');
          assert.deepEqual([ch.highWatermark, ch.lowWatermark], [high, low]);
          break;
        }
        ch.setWatermarks(op.high, op.low);
        if (op.high !== high || op.low !== low) adjustments++;
        assert.equal(ch.stats().size, before.size, 'moving a watermark moves no item');
        break;
      }
      case 'close':
        ch.close();
        break;
    }
    await flushMicrotasks();
    check();
  }
  ch.close();
  await flushMicrotasks();
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) take(x);
  await clock.advanceAsync(100);
  await ch.drained();
  await flushMicrotasks();
  check();
  assert.equal(new Set(delivered).size, delivered.length, 'no item delivered twice');
  for (const id of delivered) assert.ok(accepted.has(id), `delivered ${id} was accepted`);
  assert.equal(accepted.size + refused.size, nextId, 'every offer settled');
  const s = ch.stats();
  assert.equal(accepted.size - delivered.length, s.droppedBy.shed, 'every accepted item not delivered was shed');
  assert.equal(s.size, 0);
}

describe('PriorityChannel properties', () => {
  for (const overflow of priorityOverflows) {
    it(`stats() - ${overflow}: every level balances, no item lost or duplicated (random ops and levels)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 }), fc.boolean(), fc.array(opArb, { maxLength: 60, size: 'max' }), async (capacity, reserve, weighted, ops) => {
          await run(overflow, capacity, Math.min(reserve, capacity - 1), weighted, ops);
        }),
        { numRuns: 150 },
      );
    });
  }
});
