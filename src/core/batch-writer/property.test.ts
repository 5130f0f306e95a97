import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BatchWriter } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { assertInvariant, manualSink } from './writer.test-helpers.js';

// Random interleavings of producers, sink outcomes, dead-letter failures,
// retries, breaker trips, clock advances, aborts and close, in virtual time.
// After every step the accounting invariant must hold and the counters must
// match what the test's sink and dead-letter handler actually saw.

type Op =
  | { kind: 'tryWrite' }
  | { kind: 'write'; abortable: boolean }
  | { kind: 'abortWrite'; index: number }
  | { kind: 'settle'; outcome: 'ok' | 'throw' | 'partial'; mask: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'setMaxBytes'; value: number }
  | { kind: 'close' }
  | { kind: 'abort' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 24, arbitrary: fc.constant({ kind: 'tryWrite' as const }) },
  { weight: 24, arbitrary: fc.record({ kind: fc.constant('write' as const), abortable: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('abortWrite' as const), index: fc.nat() }) },
  {
    weight: 24,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      outcome: fc.constantFrom('ok' as const, 'throw' as const, 'partial' as const),
      mask: fc.nat({ max: 255 }),
    }),
  },
  { weight: 16, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('setMaxBytes' as const), value: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
);

const configArb = fc.record({
  overflow: fc.constantFrom('block' as const, 'drop-newest' as const, 'drop-oldest' as const, 'reject' as const),
  capacity: fc.integer({ min: 1, max: 8 }),
  batchFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  attempts: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  threshold: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  deadLetter: fc.constantFrom('none' as const, 'ok' as const, 'flaky' as const),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  // A byte budget (items sized 0 to 6 bytes by their id), or items only.
  maxBytes: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
});

const sizeOf = (id: number): number => (id * 5) % 7;
const bytesOf = (ids: readonly number[]): number => ids.reduce((sum, id) => sum + sizeOf(id), 0);

type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

async function runScenario(config: Config, ops: Op[]): Promise<void> {
  const clock = new VirtualClock();
  const sink = manualSink<number>(() => clock.now());
  let seed = config.seed;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const dead: number[] = [];
  const deadFailed: number[] = [];
  let deadLetterCalls = 0;
  const batchSize = Math.max(1, Math.ceil(config.batchFraction * config.capacity));
  const writer = new BatchWriter<number>({
    flush: sink.flush,
    capacity: config.capacity,
    overflow: config.overflow,
    batchSize,
    minFlushIntervalMs: 50,
    maxFlushIntervalMs: 400,
    targetLatencyMs: 100,
    clock,
    ...(config.maxBytes === undefined ? {} : { maxBytes: config.maxBytes, sizeOf }),
    retry: config.attempts === undefined ? undefined : { attempts: config.attempts, initialDelayMs: 20, maxDelayMs: 200, random },
    breaker: config.threshold === undefined ? undefined : { failureThreshold: config.threshold, resetAfterMs: 250 },
    deadLetter:
      config.deadLetter === 'none'
        ? undefined
        : async (items) => {
            if (config.deadLetter === 'flaky' && deadLetterCalls++ % 2 === 1) {
              deadFailed.push(...items);
              throw new Error('dead-letter store down');
            }
            dead.push(...items);
          },
  });
  // Lowering the budget drops nothing buffered: until it drains, the buffer may hold more than the new budget.
  let peakAfterShrink = 0;
  const check = () => {
    const s = writer.stats();
    assertInvariant(s);
    assert.ok(s.buffered <= config.capacity + batchSize, 'memory stays within capacity + batchSize');
    assert.equal(s.flushed, sink.written.length, 'flushed matches what the sink confirmed');
    assert.equal(s.deadLettered, dead.length);
    assert.equal(s.droppedBy['dead-letter-failed'], deadFailed.length);
    const holding = sink.pending().reduce((n, c) => n + c.items.length, 0);
    assert.equal(s.inFlight, holding, 'inFlight is exactly what the sink holds');
    assert.ok(sink.pending().length <= 1, 'one flush in flight at a time');
    if (config.maxBytes !== undefined) {
      assert.equal(s.flushedBytes, bytesOf(sink.written), 'flushedBytes are the bytes the sink confirmed');
      assert.equal(s.deadLetteredBytes, bytesOf(dead));
      assert.equal(s.inFlightBytes, bytesOf(sink.pending().flatMap((c) => c.items)), 'inFlightBytes are the bytes the sink holds');
      assert.ok(s.bytes! <= Math.max(s.maxBytes!, peakAfterShrink), 'the buffer holds at most maxBytes (or what it held when the budget was lowered)');
    } else {
      assert.equal(s.writtenBytes, undefined, 'no byte fields without maxBytes');
    }
  };
  writer.onPressureChange(() => assertInvariant(writer.stats()));
  writer.onBreakerChange(() => assertInvariant(writer.stats()));

  let nextId = 0;
  const accepted = new Set<number>();
  const abortReason = new Error('producer aborted');
  let producerAborts = 0;
  const writes: { settled: boolean; controller?: AbortController }[] = [];
  let writerAborted = false;

  for (const op of ops) {
    switch (op.kind) {
      case 'tryWrite': {
        const id = nextId++;
        try {
          if (writer.tryWrite(id)) accepted.add(id);
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'ERR_SLUICE_CLOSED');
        }
        break;
      }
      case 'write': {
        const id = nextId++;
        const controller = op.abortable ? new AbortController() : undefined;
        const entry: { settled: boolean; controller?: AbortController } = { settled: false, controller };
        writes.push(entry);
        writer.write(id, { signal: controller?.signal }).then(
          (ok) => {
            if (ok) accepted.add(id);
          },
          (error) => {
            if (error === abortReason) producerAborts++;
          },
        ).finally(() => (entry.settled = true));
        break;
      }
      case 'abortWrite': {
        const open = writes.filter((w) => !w.settled && w.controller);
        open[op.index % Math.max(1, open.length)]?.controller?.abort(abortReason);
        break;
      }
      case 'settle': {
        const call = sink.pending()[0];
        if (!call) break;
        if (op.outcome === 'ok') call.resolve();
        else if (op.outcome === 'throw') call.reject(new Error('sink down'));
        else call.resolve({ failed: call.items.filter((_, i) => (op.mask >> i) & 1).map((item) => ({ item, error: 'bad row' })) });
        break;
      }
      case 'advance':
        await clock.advanceAsync(op.ms);
        break;
      case 'setMaxBytes':
        if (config.maxBytes === undefined) break;
        peakAfterShrink = Math.max(writer.stats().bytes!, op.value < writer.maxBytes! ? peakAfterShrink : 0);
        writer.setMaxBytes(op.value);
        break;
      case 'close':
        writer.close();
        break;
      case 'abort':
        writer.abort();
        writerAborted = true;
        break;
    }
    await flushMicrotasks();
    check();
  }

  // Close, let the sink succeed from now on, and run time forward: everything must settle.
  const drained = writer.drained();
  let isDrained = false;
  void drained.then(() => (isDrained = true));
  writer.close();
  for (let round = 0; round < 200 && !isDrained; round++) {
    for (const call of sink.pending()) call.resolve();
    await clock.advanceAsync(300);
    check();
  }
  await flushMicrotasks();
  assert.ok(isDrained, 'drained() resolves once the sink recovers');
  assert.ok(writes.every((w) => w.settled), 'every write() promise settles');
  const s = writer.stats();
  assertInvariant(s);
  assert.equal(s.buffered + s.inFlight, 0);
  assert.equal(s.written, s.flushed + s.dropped + s.deadLettered, 'every written item was flushed, dead-lettered or dropped');
  assert.equal(new Set(sink.written).size, sink.written.length, 'no item is flushed twice');
  for (const item of [...sink.written, ...dead, ...deadFailed]) assert.ok(accepted.has(item), `item ${item} was accepted`);
  if (config.overflow !== 'drop-oldest') {
    // Without evictions every accepted item can be traced to exactly one fate.
    const writerAborts = s.droppedBy.aborted - producerAborts;
    assert.equal(accepted.size, sink.written.length + dead.length + deadFailed.length + s.droppedBy['flush-failed'] + writerAborts);
    if (!writerAborted) assert.equal(writerAborts, 0);
  }
  assert.equal(clock.pending, 0, 'no timer outlives the drain');
}

describe('BatchWriter properties', () => {
  it('stats() - the accounting invariant holds at every step and every item ends with a fate', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), async (config, ops) => {
        await runScenario(config, ops);
      }),
      { numRuns: 300 },
    );
  });
});
