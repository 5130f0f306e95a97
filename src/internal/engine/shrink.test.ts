import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryBuffer, SHRINK_AFTER_MS } from './memory.js';
import { resolveChannelOptions, type ChannelOptions } from './options.js';
import { VirtualClock } from '../../core/testing/index.js';

const START = 1024;

function buffer(options: ChannelOptions & { clock: VirtualClock }): MemoryBuffer<number> {
  return new MemoryBuffer<number>(resolveChannelOptions(options, null));
}

function fill(b: MemoryBuffer<number>, n: number, from = 0): void {
  for (let i = 0; i < n; i++) assert.equal(b.trySend(from + i), true);
}

function drain(b: MemoryBuffer<number>, expectFrom: number): number {
  let next = expectFrom;
  for (let x = b.tryReceive(); x !== undefined; x = b.tryReceive()) assert.equal(x, next++);
  return next;
}

function assertAccounting(b: MemoryBuffer<number>): void {
  const s = b.stats();
  assert.equal(s.offered, s.delivered + s.size + s.dropped);
}

describe('MemoryBuffer ring shrink', () => {
  it('MemoryBuffer – a 1M ring filled then drained shrinks back to its starting size after a quiet period', () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 1_000_000, clock });
    assert.equal(b.ringSlots, START);
    fill(b, 1_000_000);
    assert.equal(b.ringSlots, 2 ** 20);
    assert.equal(drain(b, 0), 1_000_000);
    // The period in which it was full does not count as quiet.
    clock.advance(SHRINK_AFTER_MS);
    assert.equal(b.ringSlots, 2 ** 20);
    clock.advance(SHRINK_AFTER_MS - 1);
    assert.equal(b.ringSlots, 2 ** 20);
    clock.advance(1);
    assert.equal(b.ringSlots, START);
    assert.equal(clock.pending, 0, 'no timer once back at the starting size');
    assertAccounting(b);
    // Still a working channel, growing again on demand.
    fill(b, 5000, 1_000_000);
    assert.equal(drain(b, 1_000_000), 1_005_000);
    assert.equal(b.stats().delivered, 1_005_000);
    assertAccounting(b);
  });

  it('MemoryBuffer – a ring that keeps a small backlog after a burst shrinks to twice that backlog, rounded up to a power of two', () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 1_000_000, clock });
    fill(b, 200_000);
    for (let i = 0; i < 197_000; i++) b.tryReceive(); // 3000 left
    clock.advance(2 * SHRINK_AFTER_MS);
    assert.equal(b.ringSlots, 8192);
    assert.equal(b.memorySize, 3000);
    assert.equal(drain(b, 197_000), 200_000);
    assertAccounting(b);
  });

  it('MemoryBuffer – a ring refilled within every period keeps its size (no thrash)', () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 1_000_000, clock });
    let next = 0;
    for (let round = 0; round < 30; round++) {
      fill(b, 600_000, next);
      assert.equal(b.ringSlots, 2 ** 20, `round ${round}`);
      next = drain(b, next);
      clock.advance(SHRINK_AFTER_MS / 3); // the next burst comes well within the period
    }
    assert.equal(b.ringSlots, 2 ** 20);
    assert.equal(b.stats().delivered, 30 * 600_000);
    assertAccounting(b);
  });

  it('MemoryBuffer – a grown ring sitting idle stops its timer, and resumes shrinking once items are taken', () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 100_000, clock });
    fill(b, 50_000);
    clock.advance(2 * SHRINK_AFTER_MS);
    assert.equal(b.ringSlots, 65_536, 'half full: no shrink');
    assert.equal(clock.pending, 0, 'nothing moved for a period: no timer kept');
    clock.runAll(); // and nothing reschedules itself
    assert.equal(drain(b, 0), 50_000);
    clock.advance(2 * SHRINK_AFTER_MS);
    assert.equal(b.ringSlots, START);
    assert.equal(clock.pending, 0);
    assertAccounting(b);
  });

  it('MemoryBuffer – close() on a drained grown ring gives the memory back at once', async () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 100_000, clock });
    fill(b, 10_000);
    const batch = await b.receiveBatch(10_000);
    assert.equal(batch.length, 10_000);
    assert.equal(b.ringSlots, 16_384);
    b.close();
    assert.equal(b.ringSlots, START);
    assert.equal(clock.pending, 0);
    assertAccounting(b);
  });

  it('MemoryBuffer – a channel whose ring never grows schedules no timer', () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 1024, clock });
    fill(b, 1024);
    drain(b, 0);
    assert.equal(clock.pending, 0);
  });

  it('MemoryBuffer – producers blocked on a full grown ring are let in, in order, across a shrink', async () => {
    const clock = new VirtualClock();
    const b = buffer({ capacity: 4096, clock });
    fill(b, 4096);
    const sends = [b.send(4096), b.send(4097)];
    assert.equal(drain(b, 0), 4098); // the waiting producers' items follow, in order
    assert.deepEqual(await Promise.all(sends), [true, true]);
    clock.advance(2 * SHRINK_AFTER_MS);
    assert.equal(b.ringSlots, START);
    assertAccounting(b);
  });

  it('MemoryBuffer – items keep FIFO order and the accounting holds across growth and shrink (property)', () => {
    type Op = { kind: 'push'; n: number } | { kind: 'take'; n: number } | { kind: 'batch'; n: number } | { kind: 'wait'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 6000 }) }),
      fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: 1, max: 6000 }) }),
      fc.record({ kind: fc.constant('batch' as const), n: fc.integer({ min: 1, max: 6000 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2 * SHRINK_AFTER_MS }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const capacity = 10_000;
        const clock = new VirtualClock();
        const b = buffer({ capacity, clock });
        let pushed = 0;
        let taken = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            for (let i = 0; i < o.n; i++) {
              const ok = b.trySend(pushed);
              assert.equal(ok, pushed - taken < capacity);
              if (ok) pushed++;
            }
          } else if (o.kind === 'take') {
            for (let i = 0; i < o.n && taken < pushed; i++) assert.equal(b.tryReceive(), taken++);
          } else if (o.kind === 'batch') {
            for (const x of b.takeBatch(o.n)) assert.equal(x, taken++);
          } else clock.advance(o.ms);
          const slots = b.ringSlots;
          assert.equal(b.memorySize, pushed - taken);
          assert.ok(slots >= START && slots >= pushed - taken && (slots & (slots - 1)) === 0, `ring of ${slots} slots`);
          assertAccounting(b);
        }
        assert.equal(drain(b, taken), pushed);
        clock.advance(2 * SHRINK_AFTER_MS);
        assert.equal(b.ringSlots, START, 'empty for two periods: back at the start');
        assert.equal(clock.pending, 0);
      }),
      { numRuns: 200 },
    );
  });
});
