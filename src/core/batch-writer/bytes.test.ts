import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter } from './index.js';
import { InvalidOptionError } from '../errors/index.js';
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

  it('options - maxBytes and sizeOf are checked like Channel\'s; without maxBytes stats have no byte fields', () => {
    const flush = async () => {};
    assert.throws(() => new BatchWriter({ flush, maxBytes: -1 }), isField('maxBytes'));
    assert.throws(() => new BatchWriter<{ n: number }>({ flush, sizeOf: (x) => x.n }), isField('sizeOf'));
    const plain = new BatchWriter({ flush });
    assert.equal('bytes' in plain.stats(), false);
    plain.close();
  });
});
