import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Channel, overflowStrategies, type ChannelReconfigureEvent, type ChannelStats, type OverflowStrategy } from './index.js';
import { InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { settle, spillChannel } from './spill.test-helpers.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function invariant(s: ChannelStats): void {
  const sum = Object.values(s.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(s.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
}

function setup(options: { capacity: number; overflow?: OverflowStrategy; highWatermark?: number; lowWatermark?: number }) {
  const clock = new VirtualClock();
  const ch = new Channel<number>({ clock, ...options });
  const events: ChannelReconfigureEvent[] = [];
  ch.onReconfigure((e) => events.push(e));
  return { clock, ch, events };
}

describe('Channel runtime settings', () => {
  it('resize() - grown: waiting senders are let in at once, oldest first, and the change is counted and reported', async () => {
    const { ch, events } = setup({ capacity: 2 });
    ch.trySend(1);
    ch.trySend(2);
    const a = ch.send(3);
    const b = ch.send(4);
    const c = ch.send(5);
    assert.equal(ch.stats().waiting, 3);
    ch.resize(4);
    assert.equal(ch.capacity, 4);
    assert.equal(await a, true);
    assert.equal(await b, true);
    assert.equal(ch.stats().waiting, 1);
    assert.deepEqual(events, [{ setting: 'capacity', previous: 2, value: 4 }]);
    assert.deepEqual(await ch.receiveBatch(10), [1, 2, 3, 4]);
    assert.equal(await c, true);
    const s = ch.stats();
    assert.equal(s.capacity, 4);
    assert.equal(s.adjustments, 1);
    invariant(s);
  });

  it('resize() - shrunk below the size: nothing buffered is dropped, block senders wait until the size fits', async () => {
    const { clock, ch } = setup({ capacity: 6 });
    for (let i = 1; i <= 5; i++) ch.trySend(i);
    ch.resize(2);
    assert.equal(ch.size, 5, 'a shrink keeps every buffered item');
    assert.equal(ch.state, 'blocked');
    assert.equal(ch.trySend(6), false, 'trySend is refused (and the item stays the caller\'s)');
    let done = false;
    const waiting = ch.send(6).then((v) => (done = v));
    await flushMicrotasks();
    assert.equal(done, false);
    assert.equal(ch.tryReceive(), 1);
    assert.equal(ch.tryReceive(), 2);
    assert.equal(ch.tryReceive(), 3);
    await flushMicrotasks();
    assert.equal(done, false, 'size 2 is not below the new capacity 2');
    assert.equal(ch.tryReceive(), 4);
    await flushMicrotasks();
    assert.equal(done, true);
    await waiting;
    assert.deepEqual(await ch.receiveBatch(10), [5, 6]);
    invariant(ch.stats());
    assert.equal(ch.stats().dropped, 0);
    clock.runAll();
  });

  it('resize() - shrunk under drop-newest, reject and sample: offers are refused with the strategy\'s reason until the size fits', async () => {
    for (const [overflow, reason] of [['drop-newest', 'drop-newest'], ['reject', 'rejected'], ['sample', 'drop-newest']] as const) {
      const { ch } = setup({ capacity: 5, overflow, highWatermark: 1 });
      for (let i = 1; i <= 4; i++) ch.trySend(i);
      ch.resize(2);
      // Under 'sample' with highWatermark 1 every offer at or above capacity is kept-then-dropped or sampled out.
      assert.equal(ch.trySend(10), false, overflow);
      assert.equal(ch.size, 4, overflow);
      const s = ch.stats();
      assert.equal(s.dropped, 1, overflow);
      assert.equal(s.droppedBy[reason] + s.droppedBy.sample, 1, overflow);
      assert.deepEqual(await ch.receiveBatch(10), [1, 2, 3, 4]);
      assert.equal(ch.trySend(11), true, `${overflow}: room again once the size is below the new capacity`);
      invariant(ch.stats());
    }
  });

  it('resize() - shrunk under drop-oldest: each offer evicts one oldest item, so the size never grows past what it was', async () => {
    const { ch } = setup({ capacity: 5, overflow: 'drop-oldest' });
    for (let i = 1; i <= 4; i++) ch.trySend(i);
    ch.resize(2);
    assert.equal(ch.size, 4);
    assert.equal(ch.trySend(5), true);
    assert.equal(ch.size, 4);
    assert.equal(ch.stats().droppedBy['drop-oldest'], 1);
    assert.deepEqual(await ch.receiveBatch(2), [2, 3]);
    assert.equal(ch.trySend(6), true);
    assert.deepEqual(await ch.receiveBatch(10), [5, 6], 'at capacity 2 the offer evicts the oldest as usual');
    assert.equal(ch.stats().droppedBy['drop-oldest'], 2);
    invariant(ch.stats());
  });

  it('resize() - pressure and state follow the new capacity at once', () => {
    const { ch } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    const states: string[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    ch.onStateChange((s) => states.push(s));
    for (let i = 0; i < 4; i++) ch.trySend(i);
    assert.equal(ch.pressured, false);
    ch.resize(5); // 4 of 5: at the high watermark
    assert.deepEqual(pressure, [true]);
    assert.equal(ch.state, 'critical');
    ch.resize(40); // 4 of 40: at or below the low watermark
    assert.deepEqual(pressure, [true, false]);
    assert.equal(ch.state, 'normal');
    assert.deepEqual(states, ['elevated', 'critical', 'normal']);
    assert.equal(ch.stats().pressureEvents, 1);
  });

  it('resize() - a bad value throws InvalidOptionError naming capacity and changes nothing; the same value is a no-op', () => {
    const { ch, events } = setup({ capacity: 3 });
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, '4', undefined, null]) {
      assert.throws(() => ch.resize(bad as number), isField('capacity'), String(bad));
    }
    ch.resize(3);
    assert.equal(ch.capacity, 3);
    assert.equal(ch.stats().adjustments, 0);
    assert.deepEqual(events, []);
  });

  it('resize() - with spill: memory spills from the new high watermark and refills up to the new capacity, in order', async () => {
    const { ch } = spillChannel({ capacity: 4, highWatermark: 0.5, lowWatermark: 0.25 });
    await settle();
    for (let i = 1; i <= 10; i++) await ch.send(i);
    await settle();
    let s = ch.stats();
    assert.equal(s.inMemory, 2, 'spills from 2 of 4');
    assert.equal(s.size, 10);
    ch.resize(16); // spills from 8 now, refills at 4 and below: memory (2) asks the store for up to 14
    await settle();
    s = ch.stats();
    assert.equal(s.inMemory, 10);
    assert.equal(s.spilled, 0);
    assert.equal(s.spilling, false);
    assert.equal(ch.trySend(11), true);
    await settle();
    s = ch.stats();
    assert.equal(s.inMemory, 10, 'at or above the new high watermark (8) an offer goes to the store');
    assert.equal(s.spilled, 1);
    ch.close(); // a closed channel still delivers what memory and the store hold, then yields []
    const got: number[] = [];
    for (let b = await ch.receiveBatch(100); b.length !== 0; b = await ch.receiveBatch(100)) got.push(...b);
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    invariant(ch.stats());
  });

  it('setWatermarks() - pressure turns on or off at once when the new thresholds are crossed', () => {
    const { ch, events } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    for (let i = 0; i < 5; i++) ch.trySend(i);
    ch.setWatermarks(0.5, 0.3);
    assert.deepEqual(pressure, [true]);
    assert.equal(ch.state, 'critical');
    assert.equal(ch.highWatermark, 0.5);
    assert.equal(ch.lowWatermark, 0.3);
    ch.tryReceive();
    ch.tryReceive(); // 3 of 10: at the low watermark
    assert.deepEqual(pressure, [true, false]);
    ch.setWatermarks(0.2, 0.1); // 3 of 10 is above the new high watermark
    assert.deepEqual(pressure, [true, false, true]);
    ch.setWatermarks(0.9, 0.5); // and at or below the new low one
    assert.deepEqual(pressure, [true, false, true, false]);
    assert.deepEqual(events, [
      { setting: 'highWatermark', previous: 0.8, value: 0.5 },
      { setting: 'lowWatermark', previous: 0.2, value: 0.3 },
      { setting: 'highWatermark', previous: 0.5, value: 0.2 },
      { setting: 'lowWatermark', previous: 0.3, value: 0.1 },
      { setting: 'highWatermark', previous: 0.2, value: 0.9 },
      { setting: 'lowWatermark', previous: 0.1, value: 0.5 },
    ]);
    assert.equal(ch.stats().adjustments, 3, 'one per call that changed something');
  });

  it('setWatermarks() - bad values throw InvalidOptionError naming the field and change nothing', () => {
    const { ch, events } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    assert.throws(() => ch.setWatermarks(1.5, 0.2), isField('highWatermark'));
    assert.throws(() => ch.setWatermarks(Number.NaN, 0.2), isField('highWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, -0.1), isField('lowWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, 0.6), isField('lowWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, undefined as unknown as number), isField('lowWatermark'));
    assert.equal(ch.highWatermark, 0.8);
    assert.equal(ch.lowWatermark, 0.2);
    ch.setWatermarks(0.8, 0.2);
    assert.deepEqual(events, []);
    assert.equal(ch.stats().adjustments, 0);
  });

  it('onReconfigure() - a throwing listener does not stop the others; unsubscribe stops the events', async () => {
    const { ch, events } = setup({ capacity: 3 });
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      const off = ch.onReconfigure(() => {
        throw new Error('listener failed');
      });
      ch.resize(4);
      await new Promise((r) => setImmediate(r));
      assert.equal(events.length, 1);
      assert.equal(uncaught.length, 1);
      assert.equal(ch.capacity, 4, 'the change stays in effect');
      off();
      ch.resize(5);
      await new Promise((r) => setImmediate(r));
      assert.equal(events.length, 2);
      assert.equal(uncaught.length, 1);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
  });
});

// Random sends, receives and resizes on the virtual clock: accounting balances
// after every step, and no buffered item is lost by a shrink.
type Op =
  | { kind: 'trySend' }
  | { kind: 'send'; timeoutMs: number | undefined }
  | { kind: 'tryReceive' }
  | { kind: 'receiveBatch'; max: number }
  | { kind: 'resize'; capacity: number }
  | { kind: 'watermarks'; high: number; low: number }
  | { kind: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'trySend' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), timeoutMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receiveBatch' as const), max: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resize' as const), capacity: fc.integer({ min: 1, max: 12 }) }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }))
      .map(([a, b]) => ({ kind: 'watermarks' as const, high: Math.max(a, b) / 10, low: Math.min(a, b) / 10 })),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
);

async function runScenario(overflow: OverflowStrategy, capacity: number, ops: Op[]): Promise<void> {
  const clock = new VirtualClock();
  const ch = new Channel<number>({ capacity, overflow, clock, sampleEvery: 2 });
  let next = 0;
  const received: number[] = [];
  const pending: Promise<unknown>[] = [];
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'trySend':
          ch.trySend(next++);
          break;
        case 'send':
          pending.push(ch.send(next++, op.timeoutMs === undefined || overflow !== 'block' ? undefined : { timeoutMs: op.timeoutMs }).catch(() => {}));
          break;
        case 'tryReceive': {
          const item = ch.tryReceive();
          if (item !== undefined) received.push(item);
          break;
        }
        case 'receiveBatch':
          if (ch.size !== 0) received.push(...(await ch.receiveBatch(op.max)));
          break;
        case 'resize': {
          const before = ch.size;
          ch.resize(op.capacity);
          assert.equal(ch.size >= before, true, 'a resize never removes a buffered item');
          assert.equal(ch.capacity, op.capacity);
          break;
        }
        case 'watermarks':
          ch.setWatermarks(op.high, op.low);
          break;
        case 'advance':
          clock.advance(op.ms);
          break;
      }
      await flushMicrotasks();
      const s = ch.stats();
      invariant(s);
      assert.equal(s.delivered, received.length);
      if (s.waiting !== 0) assert.equal(s.size >= ch.capacity, true, 'a producer waits only while the channel is full');
    }
    ch.close();
    for (let item = ch.tryReceive(); item !== undefined; item = ch.tryReceive()) received.push(item);
    await Promise.all(pending);
    const s = ch.stats();
    invariant(s);
    assert.equal(s.size, 0);
    // FIFO, and every accepted item is either received or was evicted by drop-oldest.
    for (let i = 1; i < received.length; i++) assert.equal(received[i - 1]! < received[i]!, true, 'FIFO order');
    assert.equal(s.accepted, received.length + s.droppedBy['drop-oldest']);
  } finally {
    ch.close();
    clock.runAll();
  }
}

describe('Channel runtime settings: properties', () => {
  it('resize()/setWatermarks() - random sends, receives and resizes: offered = delivered + buffered + dropped by reason, no buffered item lost', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...overflowStrategies), fc.integer({ min: 1, max: 8 }), fc.array(opArb, { maxLength: 80 }), (overflow, capacity, ops) =>
        runScenario(overflow, capacity, ops),
      ),
      { numRuns: 300 },
    );
  });
});
