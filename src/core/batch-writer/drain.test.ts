import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter } from './index.js';
import { ChannelClosedError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink, track } from './writer.test-helpers.js';

function setup(options: { capacity?: number; batchSize?: number } = {}) {
  const clock = new VirtualClock();
  const sink = manualSink<number>(() => clock.now());
  const writer = new BatchWriter({ flush: sink.flush, batchSize: options.batchSize ?? 3, capacity: options.capacity ?? 100, clock });
  return { clock, sink, writer };
}

describe('BatchWriter close and drain', () => {
  it('close() - flushes what is buffered at once, in full batches, and drained() resolves when all is flushed', async () => {
    const { sink, writer, clock } = setup();
    for (let i = 1; i <= 7; i++) writer.tryWrite(i); // 3 in flight, 4 buffered
    const drained = track(writer.drained());
    await flushMicrotasks();
    assert.equal(drained.done, false, 'drained() waits for close');
    writer.close();
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.deepEqual(sink.calls[1]!.items, [4, 5, 6]);
    sink.calls[1]!.resolve();
    await flushMicrotasks();
    assert.deepEqual(sink.calls[2]!.items, [7], 'the partial batch does not wait for the interval');
    assert.equal(clock.now(), 0);
    assert.equal(drained.done, false);
    sink.calls[2]!.resolve();
    await flushMicrotasks();
    assert.equal(drained.done, true);
    const s = check(writer);
    assert.equal(s.flushed, 7);
    assert.equal(s.state, 'closed');
    assert.equal(clock.pending, 0, 'no timer left to keep the process alive');
  });

  it("write() - after close rejects with ChannelClosedError and tryWrite() throws, both counted 'closed'", async () => {
    const { writer } = setup();
    writer.close();
    await assert.rejects(writer.write(1), ChannelClosedError);
    assert.throws(() => writer.tryWrite(2), { code: 'ERR_SLUICE_CLOSED' });
    const s = check(writer);
    assert.equal(s.written, 2);
    assert.equal(s.droppedBy.closed, 2);
  });

  it("close() - rejects producers waiting for room, counted 'closed'", async () => {
    const { writer } = setup({ capacity: 3, batchSize: 3 });
    for (let i = 0; i < 6; i++) writer.tryWrite(i); // 3 in flight, 3 buffered: full
    const waiting = writer.write(99);
    assert.equal(writer.stats().waiting, 1);
    writer.close();
    await assert.rejects(waiting, ChannelClosedError);
    assert.equal(check(writer).droppedBy.closed, 1);
  });

  it('write() - an abort while waiting for room rejects with the reason and counts the item aborted', async () => {
    const { writer } = setup({ capacity: 3, batchSize: 3 });
    for (let i = 0; i < 6; i++) writer.tryWrite(i);
    const controller = new AbortController();
    const waiting = writer.write(99, { signal: controller.signal });
    const reason = new Error('client went away');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    const s = check(writer);
    assert.equal(s.droppedBy.aborted, 1);
    assert.equal(s.waiting, 0);
  });

  it('drain() - with a stuck sink, reports what remained when the timeout passed; nothing is discarded', async () => {
    const { sink, writer, clock } = setup();
    for (let i = 1; i <= 5; i++) writer.tryWrite(i);
    const report = track(writer.drain({ timeoutMs: 1000 }));
    await clock.advanceAsync(999);
    assert.equal(report.done, false);
    await clock.advanceAsync(1);
    assert.deepEqual(report.value, { flushed: 0, deadLettered: 0, dropped: 0, remaining: 5, timedOut: true });
    let s = check(writer);
    assert.equal(s.inFlight + s.buffered, 5, 'the items stay counted');
    sink.calls[0]!.resolve(); // the writer keeps going after the report
    await flushMicrotasks();
    sink.calls[1]!.resolve();
    await writer.drained();
    s = check(writer);
    assert.equal(s.flushed, 5);
  });

  it('drain() - without a timeout resolves once everything is flushed, counting only what the drain did', async () => {
    const { sink, writer } = setup();
    for (let i = 1; i <= 4; i++) writer.tryWrite(i);
    sink.calls[0]!.resolve();
    await flushMicrotasks(); // 3 flushed before the drain, 1 buffered
    const report = writer.drain();
    await flushMicrotasks();
    sink.calls[1]!.resolve();
    assert.deepEqual(await report, { flushed: 1, deadLettered: 0, dropped: 0, remaining: 0, timedOut: false });
  });

  it('drain() - rejects a bad timeoutMs or an unknown option with ERR_SLUICE_INVALID_OPTION and does not close', async () => {
    const { writer } = setup();
    await assert.rejects(writer.drain({ timeoutMs: -1 }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'timeoutMs' });
    await assert.rejects(writer.drain({ timeoutMs: NaN }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'timeoutMs' });
    await assert.rejects(writer.drain({ timeout: 5 } as never), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'timeout', message: /did you mean "timeoutMs"/ });
    assert.equal(writer.closed, false);
  });

  it('drain() - an abort rejects with the reason; the writer stays closed and keeps draining', async () => {
    const { sink, writer } = setup();
    writer.tryWrite(1);
    const controller = new AbortController();
    const draining = writer.drain({ signal: controller.signal });
    const reason = new Error('deploy cancelled');
    controller.abort(reason);
    await assert.rejects(draining, (e) => e === reason);
    assert.equal(writer.closed, true);
    sink.calls[0]!.resolve();
    await writer.drained();
    assert.equal(check(writer).flushed, 1);
  });

  it('drained() - an abort rejects with the reason and leaves the writer open', async () => {
    const { writer } = setup();
    const controller = new AbortController();
    const waiting = writer.drained({ signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await assert.rejects(waiting, /stop waiting/);
    assert.equal(writer.closed, false);
    await assert.rejects(writer.drained({ signal: controller.signal }), /stop waiting/, 'already aborted');
  });

  it("abort() - drops what is buffered or waiting for retry with reason 'aborted' and signals the sink", async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 2, clock, retry: { attempts: 3 } });
    for (let i = 1; i <= 5; i++) writer.tryWrite(i);
    sink.calls[0]!.resolve({ failed: [{ item: 1, error: 'x' }] }); // 1 waits for a retry
    await flushMicrotasks();
    // The retry timer is pending, so 3, 4, 5 are still buffered.
    const drained = track(writer.drained());
    const reason = new Error('shutting down hard');
    writer.abort(reason);
    const s = check(writer);
    assert.equal(s.droppedBy.aborted, 4);
    assert.equal(s.buffered, 0);
    assert.equal(writer.state, 'closed');
    await flushMicrotasks();
    assert.equal(drained.done, true);
    assert.equal(clock.pending, 0);
  });

  it('abort() - the batch in the sink counts as in flight until the sink settles, then flushed or dropped', async () => {
    const { sink, writer } = setup({ batchSize: 2 });
    for (let i = 1; i <= 4; i++) writer.tryWrite(i);
    const drained = track(writer.drained());
    writer.abort();
    assert.equal(sink.calls[0]!.signal.aborted, true);
    await flushMicrotasks();
    assert.equal(drained.done, false);
    assert.equal(check(writer).inFlight, 2);
    sink.calls[0]!.reject(sink.calls[0]!.signal.reason);
    await flushMicrotasks();
    assert.equal(drained.done, true);
    const s = check(writer);
    assert.equal(s.droppedBy.aborted, 4, 'no retry or dead-letter after abort');
    assert.equal(sink.calls.length, 1);
  });
});
