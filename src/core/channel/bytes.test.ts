import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Channel, overflowStrategies, type ChannelReconfigureEvent, type ChannelStats, type OverflowStrategy } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { MemoryStore } from '../durable-channel/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function invariant(s: ChannelStats): void {
  const sum = Object.values(s.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(s.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
  assert.equal(s.offeredBytes, s.deliveredBytes! + s.bytes! + s.droppedBytes!, 'offeredBytes === deliveredBytes + bytes + droppedBytes');
}

/** An item whose size is its `n`. */
interface Blob {
  id: number;
  n: number;
}
const sizeOf = (b: Blob): number => b.n;

describe('Channel byte budget', () => {
  it('trySend() - admits while both bounds hold: the byte bound refuses before the item bound', () => {
    const ch = new Channel<string>({ capacity: 10, maxBytes: 10, overflow: 'drop-newest' });
    assert.equal(ch.trySend('abcd'), true);
    assert.equal(ch.trySend('éé'), true, '4 UTF-8 bytes');
    assert.equal(ch.bytes, 8);
    assert.equal(ch.trySend('abc'), false, '8 + 3 > 10');
    assert.equal(ch.trySend('ab'), true);
    const s = ch.stats();
    assert.equal(s.bytes, 10);
    assert.equal(s.maxBytes, 10);
    assert.equal(s.size, 3);
    assert.equal(s.droppedBy['drop-newest'], 1);
    assert.equal(s.droppedBytes, 3);
    assert.equal(s.state, 'blocked', 'full by bytes');
    assert.equal(s.utilization, 1);
    invariant(s);
  });

  it('trySend() - the item bound still holds under a byte budget', () => {
    const ch = new Channel<string>({ capacity: 2, maxBytes: 1000, overflow: 'reject' });
    assert.equal(ch.trySend('a'), true);
    assert.equal(ch.trySend('b'), true);
    assert.equal(ch.trySend('c'), false);
    assert.equal(ch.stats().droppedBy.rejected, 1);
    invariant(ch.stats());
  });

  it('default sizeOf - UTF-8 bytes for strings, byteLength for Buffer, typed arrays, DataView and ArrayBuffer', () => {
    const ch = new Channel<string | ArrayBufferView | ArrayBuffer>({ capacity: 10, maxBytes: 1000 });
    ch.trySend('€'); // 3
    ch.trySend(Buffer.alloc(5));
    ch.trySend(new Uint32Array(2)); // 8
    ch.trySend(new DataView(new ArrayBuffer(7)));
    ch.trySend(new ArrayBuffer(11));
    assert.equal(ch.bytes, 3 + 5 + 8 + 7 + 11);
    assert.equal(ch.stats().offeredBytes, 34);
  });

  it('send() - an item larger than maxBytes is dropped as too-large at once, even under block', async () => {
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf });
    assert.equal(await ch.send({ id: 1, n: 101 }), false);
    assert.equal(ch.trySend({ id: 2, n: 500 }), false);
    assert.equal(await ch.send({ id: 3, n: 100 }), true, 'exactly maxBytes fits an empty channel');
    const s = ch.stats();
    assert.equal(s.droppedBy['too-large'], 2);
    assert.equal(s.droppedBytes, 601);
    assert.equal(s.waiting, 0);
    invariant(s);
  });

  it('send() - under block a producer waits until its bytes fit, FIFO, and a take lets it in', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf, clock });
    ch.trySend({ id: 1, n: 60 });
    ch.trySend({ id: 2, n: 30 });
    let a: boolean | undefined;
    let b: boolean | undefined;
    void ch.send({ id: 3, n: 40 }).then((v) => (a = v));
    void ch.send({ id: 4, n: 5 }).then((v) => (b = v)); // would fit, but does not overtake
    assert.equal(ch.trySend({ id: 5, n: 1 }), false, 'trySend does not overtake waiting producers');
    await flushMicrotasks();
    assert.equal(a, undefined);
    assert.equal(b, undefined);
    assert.equal(ch.tryReceive()!.id, 1); // 30 held: 40 fits, then 5
    await flushMicrotasks();
    assert.equal(a, true);
    assert.equal(b, true);
    assert.equal(ch.bytes, 75);
    invariant(ch.stats());
  });

  it('send() - a producer that times out or is aborted, or is released by close, counts its bytes as dropped', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 10, sizeOf, clock });
    ch.trySend({ id: 1, n: 10 });
    const timedOut = ch.send({ id: 2, n: 3 }, { timeoutMs: 5 });
    const controller = new AbortController();
    const aborted = ch.send({ id: 3, n: 4 }, { signal: controller.signal }).catch((e: unknown) => e);
    const closed = ch.send({ id: 4, n: 2 }).catch((e: unknown) => e);
    const zero = ch.send({ id: 5, n: 1 }, { timeoutMs: 0 });
    clock.advance(5);
    assert.equal(await timedOut, false);
    assert.equal(await zero, false);
    controller.abort();
    await aborted;
    ch.close();
    await closed;
    const s = ch.stats();
    assert.equal(s.droppedBy.timeout, 2);
    assert.equal(s.droppedBy.aborted, 1);
    assert.equal(s.droppedBy.closed, 1);
    assert.equal(s.droppedBytes, 3 + 1 + 4 + 2);
    invariant(s);
  });

  it('send() - drop-oldest evicts oldest items until the new one fits the bytes', async () => {
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf, overflow: 'drop-oldest' });
    for (const [id, n] of [[1, 30], [2, 30], [3, 30]]) ch.trySend({ id: id!, n: n! });
    assert.equal(await ch.send({ id: 4, n: 65 }), true);
    assert.deepEqual((await ch.receiveBatch(10)).map((b) => b.id), [3, 4]);
    const s = ch.stats();
    assert.equal(s.droppedBy['drop-oldest'], 2);
    assert.equal(s.droppedBytes, 60);
    invariant(s);
  });

  it('setMaxBytes() - lowered under drop-oldest: an offer evicts only until the bytes held do not grow, not down to the new budget', async () => {
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf, overflow: 'drop-oldest' });
    ch.trySend({ id: 1, n: 40 });
    ch.trySend({ id: 2, n: 40 });
    ch.setMaxBytes(50);
    assert.equal(ch.trySend({ id: 3, n: 30 }), true);
    assert.equal(ch.bytes, 70, 'one eviction: 40 + 30 held, no more than the 80 before');
    assert.deepEqual((await ch.receiveBatch(10)).map((b) => b.id), [2, 3]);
    assert.equal(ch.stats().droppedBy['drop-oldest'], 1);
    invariant(ch.stats());
  });

  it('receiveBatch() - with maxWaitMs, takes what is there at once when the bytes are full and a producer waits', async () => {
    const clock = new VirtualClock();
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf, clock });
    ch.trySend({ id: 1, n: 60 });
    ch.trySend({ id: 2, n: 30 });
    const waiting = ch.send({ id: 3, n: 20 });
    let batch: Blob[] | undefined;
    const taking = ch.receiveBatch(10, { maxWaitMs: 1000 }).then((b) => (batch = b));
    await flushMicrotasks();
    assert.deepEqual(batch?.map((b) => b.id), [1, 2], 'no wait: nothing more could arrive before a take');
    clock.advance(1000); // (lets the test end even if it did wait)
    await taking;
    assert.equal(await waiting, true);
    // Waiting for a first item: the producer let in fills nothing up, so the collector waits its maxWaitMs.
    const next = ch.receiveBatch(10, { maxWaitMs: 50 });
    clock.advance(50);
    assert.deepEqual((await next).map((b) => b.id), [3]);
    invariant(ch.stats());
  });

  it('sizeOf - a bad result is an InvalidOptionError naming sizeOf: trySend throws, send rejects, nothing is counted', async () => {
    for (const bad of [-1, Number.NaN, Infinity, '3', undefined]) {
      const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf: () => bad as number });
      assert.throws(() => ch.trySend({ id: 1, n: 1 }), isField('sizeOf'), String(bad));
      await assert.rejects(ch.send({ id: 1, n: 1 }), isField('sizeOf'));
      const s = ch.stats();
      assert.equal(s.offered, 0);
      assert.equal(s.offeredBytes, 0);
    }
    // @ts-expect-error: for items the default cannot size, maxBytes needs sizeOf (also a type error)
    const plain = new Channel<object>({ capacity: 10, maxBytes: 100 });
    assert.throws(() => plain.trySend({}), isField('sizeOf'), 'the default sizes no plain object');
  });

  it('options - maxBytes and sizeOf are checked at construction', () => {
    assert.throws(() => new Channel<string>({ maxBytes: 0 }), isField('maxBytes'));
    assert.throws(() => new Channel<string>({ maxBytes: 1.5 }), isField('maxBytes'));
    assert.throws(() => new Channel<string>({ maxBytes: '1MB' as unknown as number }), isField('maxBytes'));
    assert.throws(() => new Channel<string>({ maxBytes: 10, sizeOf: 3 as unknown as () => number }), isField('sizeOf'));
    // @ts-expect-error: sizeOf without maxBytes is a type error too
    assert.throws(() => new Channel<Blob>({ sizeOf }), isField('sizeOf'), 'sizeOf without maxBytes');
    assert.throws(() => new Channel<string>({ maxBytes: 10, spill: new MemoryStore<string>() }), isField('maxBytes'));
  });

  it('pressure and state - follow whichever bound is fuller', () => {
    const ch = new Channel<Blob>({ capacity: 100, maxBytes: 1000, sizeOf, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    ch.trySend({ id: 1, n: 500 });
    assert.equal(ch.state, 'elevated', '2 items of 100, but half the bytes');
    ch.trySend({ id: 2, n: 300 });
    assert.deepEqual(pressure, [true]);
    assert.equal(ch.utilization, 0.8);
    ch.tryReceive(); // 300 of 1000
    assert.deepEqual(pressure, [true]);
    ch.tryReceive();
    assert.deepEqual(pressure, [true, false]);
    assert.equal(ch.state, 'normal');
  });

  it('stats() - fill rate and time to full follow the bytes when they are the fuller bound', () => {
    const clock = new VirtualClock();
    const ch = new Channel<Blob>({ capacity: 100, maxBytes: 1000, sizeOf, clock });
    ch.stats(); // first reading: level 0
    ch.trySend({ id: 1, n: 500 }); // 1 item of 100, half the bytes: level 50 of 100
    clock.advance(1000);
    const s = ch.stats();
    assert.equal(s.fillRatePerSec, 50);
    assert.equal(s.timeToFullMs, 1000, 'the other half of the bytes at the same pace');
    assert.equal(s.utilization, 0.5);
  });

  it('setMaxBytes() - lowered: nothing buffered is dropped; raised: waiting producers are let in; counted and reported', async () => {
    const ch = new Channel<Blob>({ capacity: 10, maxBytes: 100, sizeOf });
    const events: ChannelReconfigureEvent[] = [];
    ch.onReconfigure((e) => events.push(e));
    ch.trySend({ id: 1, n: 40 });
    ch.trySend({ id: 2, n: 40 });
    ch.setMaxBytes(50);
    assert.equal(ch.bytes, 80);
    assert.equal(ch.size, 2);
    assert.equal(ch.state, 'blocked');
    assert.equal(ch.trySend({ id: 3, n: 1 }), false);
    assert.equal(await ch.send({ id: 4, n: 60 }), false, 'larger than the new budget: too-large');
    let done: boolean | undefined;
    void ch.send({ id: 5, n: 20 }).then((v) => (done = v));
    ch.tryReceive(); // 40 held: 40 + 20 > 50
    await flushMicrotasks();
    assert.equal(done, undefined);
    ch.setMaxBytes(60);
    await flushMicrotasks();
    assert.equal(done, true);
    assert.throws(() => ch.setMaxBytes(0), isField('maxBytes'));
    assert.equal(ch.maxBytes, 60);
    assert.deepEqual(events, [
      { setting: 'maxBytes', previous: 100, value: 50 },
      { setting: 'maxBytes', previous: 50, value: 60 },
    ]);
    const s = ch.stats();
    assert.equal(s.adjustments, 2);
    assert.equal(s.droppedBy['too-large'], 1);
    invariant(s);
    assert.throws(() => new Channel({}).setMaxBytes(10), (e: unknown) => e instanceof InvalidArgumentError);
  });
});

// Random sizes, sends, receives, resizes and budget changes on the virtual
// clock: item and byte accounting balance after every step, FIFO holds, and
// no buffered item is lost by a shrink.
type Op =
  | { kind: 'trySend'; n: number }
  | { kind: 'send'; n: number; timeoutMs: number | undefined }
  | { kind: 'tryReceive' }
  | { kind: 'receiveBatch'; max: number }
  | { kind: 'resize'; capacity: number }
  | { kind: 'setMaxBytes'; maxBytes: number }
  | { kind: 'advance'; ms: number };

const sizeArb = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 150 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('trySend' as const), n: sizeArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), n: sizeArb, timeoutMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receiveBatch' as const), max: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resize' as const), capacity: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setMaxBytes' as const), maxBytes: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
);

async function runScenario(overflow: OverflowStrategy, capacity: number, maxBytes: number, ops: Op[]): Promise<void> {
  const clock = new VirtualClock();
  const ch = new Channel<Blob>({ capacity, maxBytes, sizeOf, overflow, clock, sampleEvery: 2 });
  let next = 0;
  const received: Blob[] = [];
  const pending: Promise<unknown>[] = [];
  const take = (b: Blob | undefined) => {
    if (b !== undefined) received.push(b);
  };
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'trySend':
          ch.trySend({ id: next++, n: op.n });
          break;
        case 'send':
          pending.push(ch.send({ id: next++, n: op.n }, op.timeoutMs === undefined || overflow !== 'block' ? undefined : { timeoutMs: op.timeoutMs }).catch(() => {}));
          break;
        case 'tryReceive':
          take(ch.tryReceive());
          break;
        case 'receiveBatch':
          if (ch.size !== 0) received.push(...(await ch.receiveBatch(op.max)));
          break;
        case 'resize':
        case 'setMaxBytes': {
          const size = ch.size;
          const bytes = ch.bytes;
          if (op.kind === 'resize') ch.resize(op.capacity);
          else ch.setMaxBytes(op.maxBytes);
          // Growing may let waiters in; a shrink never takes anything out.
          assert.equal(ch.size >= size && ch.bytes >= bytes, true, 'a shrink removes no buffered item');
          break;
        }
        case 'advance':
          clock.advance(op.ms);
          break;
      }
      await flushMicrotasks();
      const s = ch.stats();
      invariant(s);
      assert.equal(s.delivered, received.length);
      assert.equal(s.deliveredBytes, received.reduce((a, b) => a + b.n, 0));
      assert.equal(s.bytes! >= 0, true);
    }
    ch.close();
    for (let b = ch.tryReceive(); b !== undefined; b = ch.tryReceive()) received.push(b);
    await Promise.all(pending);
    const s = ch.stats();
    invariant(s);
    assert.equal(s.size, 0);
    assert.equal(s.bytes, 0);
    for (let i = 1; i < received.length; i++) assert.equal(received[i - 1]!.id < received[i]!.id, true, 'FIFO order');
    assert.equal(s.accepted, received.length + s.droppedBy['drop-oldest']);
  } finally {
    ch.close();
    clock.runAll();
  }
}

describe('Channel byte budget: properties', () => {
  it('maxBytes - random sizes, sends, receives, resizes and setMaxBytes: item and byte accounting balance at every step', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...overflowStrategies),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 160 }),
        fc.array(opArb, { maxLength: 80 }),
        (overflow, capacity, maxBytes, ops) => runScenario(overflow, capacity, maxBytes, ops),
      ),
      { numRuns: 300 },
    );
  });
});
