import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, type BatchDeadLetterInfo } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink } from './writer.test-helpers.js';

describe('BatchWriter retry', () => {
  it('flush() - a partial failure retries only the failed items, alone and ahead of newer items', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const writer = new BatchWriter({
      flush: sink.flush,
      batchSize: 3,
      clock,
      retry: { attempts: 2, initialDelayMs: 100, jitter: 'none' },
    });
    for (const item of ['a', 'b', 'c']) writer.tryWrite(item);
    for (const item of ['d', 'e', 'f']) writer.tryWrite(item); // buffered behind the flush
    const boom = new Error('b rejected');
    sink.calls[0]!.resolve({ failed: [{ item: 'b', error: boom }] });
    await flushMicrotasks();
    let s = check(writer);
    assert.equal(s.flushed, 2);
    assert.equal(s.buffered, 4, 'the item waiting for its retry counts as buffered');
    assert.equal(s.failedBatches, 1);
    assert.equal(sink.calls.length, 1, 'newer items do not overtake the retry');
    await clock.advanceAsync(100);
    assert.equal(sink.calls.length, 2);
    assert.deepEqual(sink.calls[1]!.items, ['b']);
    assert.equal(sink.calls[1]!.attempt, 1);
    sink.calls[1]!.resolve();
    await flushMicrotasks();
    assert.deepEqual(sink.calls[2]!.items, ['d', 'e', 'f']);
    sink.calls[2]!.resolve();
    await flushMicrotasks();
    s = check(writer);
    assert.deepEqual(sink.written, ['a', 'c', 'b', 'd', 'e', 'f']);
    assert.equal(s.retried, 1);
    assert.equal(s.flushed, 6);
  });

  it('flush() - retry delays follow the exponential schedule scaled by the injected random', async () => {
    const clock = new VirtualClock();
    const randoms = [0.5, 0.25, 0.75, 0, 0.5];
    const times: number[] = [];
    const writer = new BatchWriter<number>({
      flush: () => {
        times.push(clock.now());
        return Promise.reject(new Error('down'));
      },
      batchSize: 1,
      clock,
      retry: { attempts: 5, initialDelayMs: 100, maxDelayMs: 1000, random: () => randoms.shift()! },
      deadLetter: () => undefined,
    });
    writer.tryWrite(1);
    await clock.advanceAsync(5000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // caps 100, 200, 400, 800, 1000 (clamped) times the random draws
    assert.deepEqual(gaps, [50, 50, 300, 0, 500]);
    const s = check(writer);
    assert.equal(s.retried, 5);
    assert.equal(s.deadLettered, 1);
  });

  it("flush() - jitter 'none' waits exactly the cap and 'equal' waits at least half of it", async () => {
    for (const [jitter, expected] of [
      ['none', [100, 200, 400]],
      ['equal', [50, 100, 200]],
    ] as const) {
      const clock = new VirtualClock();
      const times: number[] = [];
      const writer = new BatchWriter<number>({
        flush: () => {
          times.push(clock.now());
          throw new Error('down');
        },
        batchSize: 1,
        clock,
        retry: { attempts: 3, initialDelayMs: 100, jitter, random: () => 0 },
      });
      writer.tryWrite(1);
      await clock.advanceAsync(5000);
      assert.deepEqual(
        times.slice(1).map((t, i) => t - times[i]!),
        expected,
        jitter,
      );
      assert.equal(check(writer).droppedBy['flush-failed'], 1);
    }
  });

  it('deadLetter() - receives the exhausted items with the last error, per-item errors and the attempt count', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const letters: { items: string[]; error: unknown; info: BatchDeadLetterInfo }[] = [];
    const writer = new BatchWriter({
      flush: sink.flush,
      batchSize: 2,
      clock,
      retry: { attempts: 1, initialDelayMs: 10, jitter: 'none' },
      deadLetter: (items, error, info) => {
        letters.push({ items, error, info });
      },
    });
    writer.tryWrite('x');
    writer.tryWrite('y');
    sink.calls[0]!.reject(new Error('first'));
    await clock.advanceAsync(10);
    assert.deepEqual(sink.calls[1]!.items, ['x', 'y']);
    const last = new Error('second');
    sink.calls[1]!.resolve({ failed: [{ item: 'y', error: last }] });
    await flushMicrotasks();
    assert.equal(letters.length, 1);
    assert.deepEqual(letters[0]!.items, ['y']);
    assert.equal(letters[0]!.error, last);
    assert.deepEqual(letters[0]!.info, { errors: [last], attempts: 2 });
    const s = check(writer);
    assert.equal(s.flushed, 1);
    assert.equal(s.deadLettered, 1);
  });

  it('deadLetter() - items failing with different errors arrive with an AggregateError', async () => {
    const clock = new VirtualClock();
    let got: unknown;
    const e1 = new Error('one');
    const e2 = new Error('two');
    const writer = new BatchWriter<number>({
      flush: (items) => ({ failed: items.map((item) => ({ item, error: item === 2 ? e2 : e1 })) }),
      batchSize: 3,
      clock,
      deadLetter: (_items, error) => {
        got = error;
      },
    });
    [1, 2, 3].forEach((i) => writer.tryWrite(i));
    await flushMicrotasks();
    assert.ok(got instanceof AggregateError);
    assert.deepEqual((got as AggregateError).errors, [e1, e2]);
    assert.equal(check(writer).deadLettered, 3);
  });

  it('flush() - without retry config failed items go straight to deadLetter', async () => {
    const clock = new VirtualClock();
    const letters: number[][] = [];
    const writer = new BatchWriter<number>({
      flush: () => Promise.reject(new Error('down')),
      batchSize: 2,
      clock,
      deadLetter: (items) => {
        letters.push(items);
      },
    });
    writer.tryWrite(1);
    writer.tryWrite(2);
    await flushMicrotasks();
    assert.deepEqual(letters, [[1, 2]]);
    const s = check(writer);
    assert.equal(s.retried, 0);
    assert.equal(s.deadLettered, 2);
  });

  it("deadLetter() - a throwing dead-letter handler counts the items as dropped with reason 'dead-letter-failed'", async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({
      flush: () => Promise.reject(new Error('down')),
      batchSize: 2,
      clock,
      deadLetter: async () => {
        throw new Error('dead-letter store down too');
      },
    });
    writer.tryWrite(1);
    writer.tryWrite(2);
    await flushMicrotasks();
    const s = check(writer);
    assert.equal(s.deadLettered, 0);
    assert.equal(s.droppedBy['dead-letter-failed'], 2);
    assert.equal(s.dropped, 2);
  });

  it('deadLetter() - the next flush waits for an async dead-letter; its items count as in flight meanwhile', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    let release!: () => void;
    const writer = new BatchWriter<number>({
      flush: sink.flush,
      batchSize: 1,
      clock,
      deadLetter: () => new Promise<void>((resolve) => (release = resolve)),
    });
    writer.tryWrite(1);
    writer.tryWrite(2);
    sink.calls[0]!.reject(new Error('down'));
    await flushMicrotasks();
    let s = check(writer);
    assert.equal(s.inFlight, 1);
    assert.equal(sink.calls.length, 1);
    release();
    await flushMicrotasks();
    s = check(writer);
    assert.equal(s.deadLettered, 1);
    assert.equal(sink.calls.length, 2);
  });

  it('flush() - a result naming an item not in the batch fails the whole batch', async () => {
    const clock = new VirtualClock();
    let error: unknown;
    const writer = new BatchWriter<number>({
      flush: () => ({ failed: [{ item: 99, error: 'nope' }] }),
      batchSize: 2,
      clock,
      deadLetter: (_items, e) => {
        error = e;
      },
    });
    writer.tryWrite(1);
    writer.tryWrite(2);
    await flushMicrotasks();
    assert.equal((error as { code?: string }).code, 'ERR_SLUICE_INVALID_ARGUMENT');
    const s = check(writer);
    assert.equal(s.deadLettered, 2);
    assert.equal(s.flushed, 0);
  });

  it('flush() - an empty failed list counts as full success', async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({ flush: () => ({ failed: [] }), batchSize: 1, clock });
    writer.tryWrite(1);
    await flushMicrotasks();
    const s = check(writer);
    assert.equal(s.flushed, 1);
    assert.equal(s.failedBatches, 0);
  });
});
