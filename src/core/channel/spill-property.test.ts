import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStore } from '../durable-channel/memory-store.js';
import { VirtualClock } from '../testing/index.js';
import { Channel } from './index.js';
import { ScriptedStore, invariant, settle } from './spill.test-helpers.js';

// Random interleavings of producers, consumers, aborts, timeouts, store
// failures, store calls held in flight, and close on a spill channel over a
// MemoryStore, in virtual time.
// Items are offered in increasing order, so "received in order, none twice"
// is "strictly increasing".

type Op =
  | { kind: 'trySend' }
  | { kind: 'send'; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'burst'; count: number }
  | { kind: 'tryReceive' }
  | { kind: 'receive'; abortable: boolean }
  | { kind: 'receiveBatch'; max: number; maxWaitMs: number }
  | { kind: 'hold'; appends: boolean; leases: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; index: number }
  | { kind: 'failAppends'; on: boolean }
  | { kind: 'failLeases'; on: boolean }
  | { kind: 'close' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'trySend' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      timeoutMs: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burst' as const), count: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'tryReceive' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receive' as const), abortable: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('receiveBatch' as const),
      max: fc.integer({ min: 1, max: 8 }),
      maxWaitMs: fc.integer({ min: 0, max: 20 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hold' as const), appends: fc.boolean(), leases: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failAppends' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failLeases' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

/** What the runs reached, so a generator that never spills cannot pass unnoticed. */
const reached = { appends: 0, refills: 0, spillFailed: 0, spillErrors: 0 };

async function runScenario(overflow: 'block' | 'drop-newest' | 'reject', capacity: number, spillCapacity: number | undefined, ops: Op[]) {
  const clock = new VirtualClock();
  const store = new ScriptedStore<number>(new MemoryStore<number>({ clock }));
  const ch = new Channel<number>({ capacity, overflow, clock, spill: store, spillCapacity, highWatermark: 0.75, lowWatermark: 0.25 });
  const received: number[] = [];
  const committed: number[] = []; // items whose send() resolved true: they can no longer be lost
  const pending: { settled: boolean; controller: AbortController | undefined }[] = [];
  let next = 0;
  const take = (items: (number | undefined)[]) => {
    for (const x of items) if (x !== undefined) received.push(x);
  };
  const track = (p: Promise<unknown>, controller?: AbortController) => {
    const entry = { settled: false, controller };
    pending.push(entry);
    p.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    );
  };
  const check = () => {
    invariant(ch.stats());
    for (let i = 1; i < received.length; i++) assert.ok(received[i]! > received[i - 1]!, `in order, none twice: ${received.join(',')}`);
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'trySend':
        try {
          ch.trySend(next++);
        } catch {
          // closed: counted
        }
        break;
      case 'burst':
        for (let i = 0; i < op.count; i++) {
          try {
            ch.trySend(next++);
          } catch {
            // closed: counted
          }
        }
        break;
      case 'send': {
        const controller = op.abortable ? new AbortController() : undefined;
        const item = next++;
        const p = ch.send(item, { timeoutMs: op.timeoutMs, signal: controller?.signal });
        p.then((ok) => ok && committed.push(item), () => {});
        track(p, controller);
        break;
      }
      case 'tryReceive':
        take([ch.tryReceive()]);
        break;
      case 'receive': {
        const controller = op.abortable ? new AbortController() : undefined;
        const p = ch.receive({ signal: controller?.signal });
        p.then((x) => take([x]), () => {});
        track(p, controller);
        break;
      }
      case 'receiveBatch': {
        const p = ch.receiveBatch(op.max, { maxWaitMs: op.maxWaitMs });
        p.then(take, () => {});
        track(p);
        break;
      }
      case 'hold':
        // Store calls stay in flight across the next ops while held.
        if (op.appends) store.holdAppends = true;
        else store.releaseAppends();
        if (op.leases) store.holdLeases = true;
        else store.releaseLeases();
        break;
      case 'advance':
        await clock.advanceAsync(op.ms);
        break;
      case 'abort': {
        const open = pending.filter((p) => !p.settled && p.controller);
        if (open.length) open[op.index % open.length]!.controller!.abort(new Error('aborted'));
        break;
      }
      case 'failAppends':
        store.failAppend = op.on ? new Error('append failed') : undefined;
        break;
      case 'failLeases':
        store.failLease = op.on ? new Error('lease failed') : undefined;
        break;
      case 'close':
        ch.close();
        break;
    }
    // Receivers record what they got before the next op takes anything synchronously.
    await settle(1);
    check();
  }

  // Heal the store, close, and drain: every promise settles and nothing is lost or duplicated.
  store.failAppend = undefined;
  store.failLease = undefined;
  store.releaseAppends();
  store.releaseLeases();
  ch.close();
  const drained = ch.drained();
  for (let i = 0; i < 200 && ch.size !== 0; i++) {
    for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) received.push(x);
    await clock.advanceAsync(1_000);
  }
  await clock.advanceAsync(1_000);
  await drained;
  check();
  for (const p of pending) assert.ok(p.settled, 'every pending promise settled');
  const s = ch.stats();
  assert.equal(s.size, 0);
  assert.equal(s.state, 'closed');
  assert.equal(received.length, s.delivered);
  assert.equal(s.delivered, s.offered - s.dropped);
  const got = new Set(received);
  for (const item of committed) assert.ok(got.has(item), `committed item ${item} delivered`);
  assert.equal(await store.inner.size(), 0, 'the store is empty once drained');
  reached.appends += s.spillAppends!;
  reached.refills += s.spillRefills!;
  reached.spillFailed += s.droppedBy['spill-failed'];
  reached.spillErrors += s.spillErrors!;
}

describe('Channel spill properties (fast-check)', () => {
  for (const overflow of ['block', 'drop-newest', 'reject'] as const) {
    it(`${overflow} - accounting, order and settlement hold over random interleavings with a flaky store`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
          fc.array(opArb, { minLength: 1, maxLength: 60 }),
          (capacity, spillCapacity, ops) => runScenario(overflow, capacity, spillCapacity, ops),
        ),
        { numRuns: 120 },
      );
    });
  }

  it('runs - reached spills, refills and failed appends', () => {
    for (const [what, count] of Object.entries(reached)) assert.ok(count > 0, `${what}: ${count}`);
  });
});
