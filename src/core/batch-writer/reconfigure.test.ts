import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, type BatchWriterReconfigureEvent } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink } from './writer.test-helpers.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function setup(extra: { batchSize?: number; capacity?: number; minFlushIntervalMs?: number; maxFlushIntervalMs?: number; targetLatencyMs?: number } = {}) {
  const clock = new VirtualClock();
  const sink = manualSink<number>(() => clock.now());
  const writer = new BatchWriter({ flush: sink.flush, clock, batchSize: 10, capacity: 20, minFlushIntervalMs: 100, ...extra });
  const events: BatchWriterReconfigureEvent[] = [];
  writer.onReconfigure((e) => events.push(e));
  return { clock, sink, writer, events };
}

describe('BatchWriter runtime settings', () => {
  it('setBatchSize() - lowered below what is buffered, a full batch flushes at once and later flushes use the new size', async () => {
    const { sink, writer, events } = setup();
    for (let i = 1; i <= 5; i++) void writer.write(i);
    assert.equal(sink.calls.length, 0);
    writer.setBatchSize(3);
    assert.deepEqual(sink.calls.map((c) => c.items), [[1, 2, 3]]);
    assert.equal(writer.batchSize, 3);
    assert.deepEqual(events, [{ setting: 'batchSize', previous: 10, value: 3 }]);
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    void writer.write(6);
    assert.deepEqual(sink.calls.map((c) => c.items), [[1, 2, 3], [4, 5, 6]]);
    const s = check(writer);
    assert.equal(s.adjustments, 1);
  });

  it('setBatchSize() - a running flush keeps its batch; the next one, right after it, uses the new size', async () => {
    const { sink, writer } = setup({ batchSize: 4, capacity: 8 });
    for (let i = 1; i <= 7; i++) void writer.write(i); // 1..4 flushing, 5..7 buffered
    assert.deepEqual(sink.calls.map((c) => c.items), [[1, 2, 3, 4]]);
    writer.setBatchSize(2);
    assert.equal(sink.calls.length, 1, 'no second flush while one runs');
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.deepEqual(sink.calls.map((c) => c.items), [[1, 2, 3, 4], [5, 6]]);
    check(writer);
  });

  it('setBatchSize() - a bad value throws naming batchSize and changes nothing; the same size does nothing', () => {
    const { sink, writer, events } = setup();
    for (let i = 1; i <= 5; i++) void writer.write(i);
    for (const bad of [0, -1, 2.5, NaN, 21, '3', undefined]) {
      assert.throws(() => writer.setBatchSize(bad as never), isField('batchSize'), String(bad));
    }
    writer.setBatchSize(10);
    assert.equal(writer.batchSize, 10);
    assert.equal(sink.calls.length, 0);
    assert.deepEqual(events, []);
    assert.equal(writer.stats().adjustments, 0);
  });

  it('setFlushInterval() - re-times the waiting partial batch from when its interval started', async () => {
    const { clock, sink, writer, events } = setup({ minFlushIntervalMs: 1000 });
    void writer.write(1);
    await clock.advanceAsync(300);
    writer.setFlushInterval(500); // due at 500, not 800
    await clock.advanceAsync(199);
    assert.equal(sink.calls.length, 0);
    await clock.advanceAsync(1);
    assert.deepEqual(sink.calls.map((c) => c.at), [500]);
    assert.deepEqual(events, [{ setting: 'flushIntervalMs', previous: 1000, value: 500 }]);
    assert.equal(writer.stats().flushIntervalMs, 500);
    assert.equal(writer.stats().adjustments, 1);
  });

  it('setFlushInterval() - shortened below the time already waited, the partial batch flushes at once', async () => {
    const { clock, sink, writer } = setup({ minFlushIntervalMs: 1000 });
    void writer.write(1);
    await clock.advanceAsync(300);
    writer.setFlushInterval(200);
    assert.equal(sink.calls.length, 1);
    assert.equal(sink.calls[0]!.at, 300);
  });

  it('setFlushInterval() - sets the base the adaptation grows from and shrinks back to', async () => {
    const { clock, sink, writer } = setup({ minFlushIntervalMs: 100, maxFlushIntervalMs: 10_000, targetLatencyMs: 50 });
    writer.setFlushInterval(400);
    void writer.write(1);
    await clock.advanceAsync(400);
    await clock.advanceAsync(100); // a slow sink call: the interval grows x1.5
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.equal(writer.stats().flushIntervalMs, 600);
    for (let round = 0; round < 10; round++) {
      void writer.write(round);
      await clock.advanceAsync(writer.stats().flushIntervalMs);
      sink.pending()[0]!.resolve(); // instant: the interval shrinks x0.75, not below the base
      await flushMicrotasks();
    }
    assert.equal(writer.stats().flushIntervalMs, 400);
  });

  it('setFlushInterval() - a bad value throws naming flushIntervalMs and changes nothing', async () => {
    const { clock, sink, writer, events } = setup({ minFlushIntervalMs: 100, maxFlushIntervalMs: 1000 });
    void writer.write(1);
    for (const bad of [0, -5, NaN, Infinity, 1001, '50', undefined]) {
      assert.throws(() => writer.setFlushInterval(bad as never), isField('flushIntervalMs'), String(bad));
    }
    writer.setFlushInterval(100); // the same base and interval: nothing
    assert.deepEqual(events, []);
    assert.equal(writer.stats().adjustments, 0);
    await clock.advanceAsync(99);
    assert.equal(sink.calls.length, 0);
    await clock.advanceAsync(1);
    assert.equal(sink.calls.length, 1);
  });

  it('onReconfigure() - rejects a non-function; unsubscribing stops events; a throwing listener does not stop the others', async () => {
    const { writer } = setup();
    assert.throws(() => writer.onReconfigure(1 as never), InvalidArgumentError);
    const seen: string[] = [];
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      writer.onReconfigure(() => {
        throw new Error('listener bug');
      });
      const off = writer.onReconfigure((e) => seen.push(`${e.setting}=${e.value}`));
      writer.setBatchSize(5);
      off();
      writer.setFlushInterval(250);
      await flushMicrotasks();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.deepEqual(seen, ['batchSize=5']);
    assert.equal(writer.batchSize, 5);
    assert.equal(uncaught.length, 2);
  });
});
