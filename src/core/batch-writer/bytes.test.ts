import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink, track } from './writer.test-helpers.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

describe('BatchWriter byte budget', () => {
  it('write() - the buffer holds at most maxBytes; a buffer pressed by bytes flushes before batchSize or the interval', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const writer = new BatchWriter<string>({ flush: sink.flush, clock, capacity: 100, batchSize: 50, maxBytes: 10, minFlushIntervalMs: 1000 });
    assert.equal(writer.tryWrite('aaaa'), true);
    assert.equal(sink.calls.length, 0, '4 of 10 bytes: below the high watermark, no batch due');
    assert.equal(writer.tryWrite('bbbbb'), true); // 9 bytes: at or above 0.8 × 10
    assert.deepEqual(sink.calls.map((c) => c.items), [['aaaa', 'bbbbb']], 'a batch is due once the bytes press');
    assert.equal(writer.stats().bytes, 0, 'items in flight hold no bytes of the buffer');
    assert.equal(writer.tryWrite('cccccc'), true);
    assert.equal(writer.tryWrite('ddddd'), false, '6 + 5 > 10: block refuses a tryWrite');
    const waiting = track(writer.write('ddddd'));
    await flushMicrotasks();
    assert.equal(waiting.done, false);
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    // 6 bytes are below the high watermark, but a producer waits for room: the batch is due now, not after the interval.
    assert.equal(clock.now(), 0);
    assert.deepEqual(sink.calls[1]!.items, ['cccccc']);
    await flushMicrotasks();
    assert.equal(waiting.done, true);
    assert.equal(waiting.value, true);
    const s = check(writer);
    assert.equal(s.maxBytes, 10);
    assert.equal(s.bytes, 5);
    sink.calls[1]!.resolve();
    writer.close();
    await flushMicrotasks();
    sink.calls[2]?.resolve();
    await writer.drained();
  });

  it('write() - an item larger than maxBytes is dropped as too-large, never waits', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const writer = new BatchWriter<string>({ flush: sink.flush, clock, capacity: 10, batchSize: 5, maxBytes: 4 });
    assert.equal(await writer.write('too long'), false);
    const s = check(writer);
    assert.equal(s.droppedBy['too-large'], 1);
    writer.close();
    await writer.drained();
  });

  it('setMaxBytes() - raised, a producer waiting for room is let in; lowered below the bytes held, nothing is dropped and the batch is due at once', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const writer = new BatchWriter<string>({ flush: sink.flush, clock, capacity: 100, batchSize: 50, maxBytes: 10, minFlushIntervalMs: 1000 });
    const events: string[] = [];
    writer.onReconfigure((e) => events.push(`${e.setting}: ${e.previous} -> ${e.value}`));
    assert.equal(writer.tryWrite('aaaa'), true);
    assert.equal(writer.tryWrite('bbb'), true); // 7 of 10 bytes: below the high watermark (8)
    const waiting = track(writer.write('cccccc')); // 7 + 6 > 10: waits, and a waiting producer makes the batch due
    await flushMicrotasks();
    assert.deepEqual(sink.calls.map((c) => c.items), [['aaaa', 'bbb']]);
    assert.equal(waiting.done, true, 'the take let the waiting producer in');
    // Lowered below the 6 bytes held: nothing dropped; the bytes now press, so the next batch is due as soon as the sink is free.
    writer.setMaxBytes(5);
    assert.equal(writer.maxBytes, 5);
    let s = check(writer);
    assert.equal(s.bytes, 6);
    assert.equal(s.dropped, 0);
    assert.equal(writer.tryWrite('d'), false, 'over the new budget: block refuses a tryWrite');
    assert.equal(await writer.write('eeeeee'), false, 'an item larger than the new budget is too-large');
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.equal(clock.now(), 0);
    assert.deepEqual(sink.calls[1]!.items, ['cccccc'], 'the pressed buffer flushed without waiting for the interval');
    writer.setMaxBytes(5); // the current budget: nothing happens
    writer.setMaxBytes(20);
    assert.equal(writer.tryWrite('ffffffffffff'), true, '12 bytes fit under the raised budget');
    s = check(writer);
    assert.equal(s.adjustments, 2);
    assert.equal(s.droppedBy['too-large'], 1);
    assert.deepEqual(events, ['maxBytes: 10 -> 5', 'maxBytes: 5 -> 20']);
    sink.calls[1]!.resolve();
    writer.close();
    await flushMicrotasks();
    for (const c of sink.pending()) c.resolve();
    await writer.drained();
    s = check(writer);
    assert.equal(s.flushedBytes, 4 + 3 + 6 + 12);
    assert.equal(s.droppedBytes, 6);
  });

  it('setMaxBytes() - a bad value throws naming maxBytes and changes nothing; a writer built without maxBytes cannot take one', () => {
    const flush = async () => {};
    const writer = new BatchWriter<string>({ flush, maxBytes: 100 });
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, '10' as unknown as number]) assert.throws(() => writer.setMaxBytes(bad), isField('maxBytes'));
    assert.equal(writer.maxBytes, 100);
    assert.equal(writer.stats().adjustments, 0);
    writer.close();
    const plain = new BatchWriter<string>({ flush });
    assert.throws(() => plain.setMaxBytes(100), (e: unknown) => e instanceof InvalidArgumentError && /built without maxBytes/.test(e.message));
    assert.equal(plain.maxBytes, undefined);
    plain.close();
  });

  it('stats() - byte accounting follows items through partial failures, retries, dead letters and abort', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const dead: string[] = [];
    const writer = new BatchWriter<string>({
      flush: sink.flush,
      clock,
      capacity: 100,
      batchSize: 3,
      maxBytes: 1000,
      retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10, random: () => 0.5 },
      deadLetter: async (items) => void dead.push(...items),
    });
    for (const item of ['a', 'bb', 'ccc']) writer.tryWrite(item);
    assert.equal(check(writer).inFlightBytes, 6);
    sink.calls[0]!.resolve({ failed: [{ item: 'bb', error: 'bad row' }] });
    await flushMicrotasks();
    let s = check(writer);
    assert.equal(s.flushedBytes, 4, 'a and ccc');
    assert.equal(s.bufferedBytes, 2, 'bb waits for its retry outside the byte budget');
    assert.equal(s.bytes, 0);
    await clock.advanceAsync(10);
    sink.calls[1]!.reject(new Error('down'));
    await flushMicrotasks();
    s = check(writer);
    assert.equal(s.deadLetteredBytes, 2);
    assert.deepEqual(dead, ['bb']);
    for (const item of ['dddd', 'eeeee', 'ffffff']) writer.tryWrite(item);
    writer.tryWrite('g');
    writer.abort();
    await flushMicrotasks();
    s = check(writer);
    assert.equal(s.droppedBytes, 1, 'g was buffered when the writer aborted');
    sink.calls[2]!.resolve();
    await writer.drained();
    s = check(writer);
    assert.equal(s.flushedBytes, 4 + 15);
    assert.equal(s.writtenBytes, 22);
  });

  it('options - maxBytes and sizeOf are checked like Channel\'s; without maxBytes stats have no byte fields', () => {
    const flush = async () => {};
    assert.throws(() => new BatchWriter({ flush, maxBytes: -1 }), isField('maxBytes'));
    assert.throws(() => new BatchWriter<{ n: number }>({ flush, sizeOf: (x) => x.n }), isField('sizeOf'));
    const plain = new BatchWriter({ flush });
    assert.equal('bytes' in plain.stats(), false);
    plain.close();
  });
});
