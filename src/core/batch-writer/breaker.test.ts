import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, type BatchWriterBreakerState } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink, track } from './writer.test-helpers.js';

function failingWriter(options: { overflow?: 'block' | 'drop-newest'; attempts?: number } = {}) {
  const clock = new VirtualClock();
  const sink = manualSink<number>(() => clock.now());
  const writer = new BatchWriter({
    flush: sink.flush,
    batchSize: 2,
    capacity: 4,
    overflow: options.overflow ?? 'block',
    clock,
    retry: { attempts: options.attempts ?? 10, initialDelayMs: 10, jitter: 'none' },
    breaker: { failureThreshold: 2, resetAfterMs: 1000 },
  });
  const changes: [BatchWriterBreakerState, BatchWriterBreakerState][] = [];
  writer.onBreakerChange((state, previous) => changes.push([state, previous]));
  return { clock, sink, writer, changes };
}

/** Fails the head batch `threshold` times: it is retried in between, then the breaker opens. */
async function tripBreaker(t: ReturnType<typeof failingWriter>): Promise<void> {
  t.writer.tryWrite(1);
  t.writer.tryWrite(2);
  t.sink.calls[0]!.reject(new Error('db down'));
  await t.clock.advanceAsync(10); // retry after 10 ms
  t.sink.calls[1]!.reject(new Error('db down'));
  await flushMicrotasks();
}

describe('BatchWriter breaker', () => {
  it('onBreakerChange() - the breaker opens after failureThreshold consecutive failed flushes', async () => {
    const t = failingWriter();
    await tripBreaker(t);
    assert.equal(t.writer.breakerState, 'open');
    assert.deepEqual(t.changes, [['open', 'closed']]);
    const s = check(t.writer);
    assert.deepEqual(s.breaker, { state: 'open', consecutiveFailures: 2, opens: 1 });
    assert.equal(s.failedBatches, 2);
  });

  it('write() - while open nothing reaches the sink, the buffer fills and a block producer waits', async () => {
    const t = failingWriter();
    await tripBreaker(t);
    for (let i = 3; i <= 6; i++) assert.equal(t.writer.tryWrite(i), true);
    const blocked = track(t.writer.write(7));
    await t.clock.advanceAsync(999);
    assert.equal(t.sink.calls.length, 2, 'no call while open, not even the retry');
    assert.equal(blocked.done, false);
    const s = check(t.writer);
    assert.equal(s.buffered, 6, '4 in the buffer + 2 waiting for their retry');
    assert.equal(s.waiting, 1);
    assert.equal(s.state, 'blocked');
  });

  it("tryWrite() - while open a 'drop-newest' writer drops what does not fit, counted", async () => {
    const t = failingWriter({ overflow: 'drop-newest' });
    await tripBreaker(t);
    for (let i = 3; i <= 8; i++) t.writer.tryWrite(i);
    const s = check(t.writer);
    assert.equal(s.droppedBy['drop-newest'], 2);
    assert.equal(s.buffered, 6);
    assert.equal(t.sink.calls.length, 2);
  });

  it('flush() - half-open sends exactly one probe batch; success closes the breaker and everything follows in order', async () => {
    const t = failingWriter();
    await tripBreaker(t);
    for (let i = 3; i <= 6; i++) t.writer.tryWrite(i);
    const blocked = track(t.writer.write(7));
    await t.clock.advanceAsync(1000);
    assert.equal(t.writer.breakerState, 'half-open');
    assert.equal(t.sink.calls.length, 3, 'one probe');
    assert.deepEqual(t.sink.calls[2]!.items, [1, 2], 'the retried batch is the probe');
    await t.clock.advanceAsync(5000);
    assert.equal(t.sink.calls.length, 3, 'nothing else while the probe is out');
    t.sink.calls[2]!.resolve();
    await flushMicrotasks();
    assert.equal(t.writer.breakerState, 'closed');
    assert.equal(blocked.done, true);
    while (t.sink.pending().length > 0) {
      t.sink.pending()[0]!.resolve();
      await t.clock.advanceAsync(100);
    }
    assert.deepEqual(t.sink.written, [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(t.changes, [
      ['open', 'closed'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
    const s = check(t.writer);
    assert.equal(s.flushed, 7);
    assert.equal(s.breaker.consecutiveFailures, 0);
  });

  it('flush() - a failed probe re-opens the breaker for another resetAfterMs', async () => {
    const t = failingWriter();
    await tripBreaker(t);
    await t.clock.advanceAsync(1000);
    t.sink.calls[2]!.reject(new Error('still down'));
    await flushMicrotasks();
    assert.equal(t.writer.breakerState, 'open');
    await t.clock.advanceAsync(999);
    assert.equal(t.sink.calls.length, 3);
    await t.clock.advanceAsync(1);
    assert.equal(t.sink.calls.length, 4);
    assert.equal(check(t.writer).breaker.opens, 2);
  });

  it('flush() - time spent open costs no retry attempt: the waiting retry is the probe', async () => {
    const t = failingWriter({ attempts: 2 });
    await tripBreaker(t); // attempts used: the first try and retry 1
    await t.clock.advanceAsync(1000);
    assert.equal(t.sink.calls[2]!.attempt, 2, 'the probe is retry 2, not a dead-letter');
    t.sink.calls[2]!.resolve();
    await flushMicrotasks();
    const s = check(t.writer);
    assert.equal(s.flushed, 2);
    assert.equal(s.dropped, 0);
  });

  it('flush() - at half-open the waiting retry goes at once, even when its backoff would run longer', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({
      flush: sink.flush,
      batchSize: 1,
      clock,
      retry: { attempts: 3, initialDelayMs: 5000, jitter: 'none' },
      breaker: { failureThreshold: 1, resetAfterMs: 1000 },
    });
    writer.tryWrite(1);
    sink.calls[0]!.reject(new Error('down'));
    await clock.advanceAsync(1000);
    assert.equal(sink.calls.length, 2);
    assert.equal(sink.calls[1]!.at, 1000);
    assert.equal(sink.calls[1]!.attempt, 1);
  });

  it('drained() - a writer that settles while the breaker is open leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({
      flush: () => Promise.reject(new Error('down')),
      batchSize: 1,
      clock,
      breaker: { failureThreshold: 1, resetAfterMs: 60_000 },
    });
    writer.tryWrite(1);
    await flushMicrotasks();
    assert.equal(writer.breakerState, 'open');
    await writer.drain();
    assert.equal(check(writer).droppedBy['flush-failed'], 1);
    assert.equal(clock.pending, 0, 'the reset timer would keep a real process alive for a minute');
  });

  it('flush() - a partial failure does not count against the breaker', async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({
      flush: (items) => ({ failed: [{ item: items[0]!, error: 'bad row' }] }),
      batchSize: 2,
      clock,
      breaker: { failureThreshold: 1, resetAfterMs: 1000 },
    });
    for (let i = 0; i < 6; i++) writer.tryWrite(i);
    await flushMicrotasks();
    assert.equal(writer.breakerState, 'closed');
    const s = check(writer);
    assert.equal(s.failedBatches, 3);
    assert.equal(s.breaker.consecutiveFailures, 0);
    assert.equal(s.droppedBy['flush-failed'], 3);
  });

  it('onBreakerChange() - unsubscribing stops the notifications', async () => {
    const t = failingWriter();
    const seen: string[] = [];
    const unsubscribe = t.writer.onBreakerChange((state) => seen.push(state));
    unsubscribe();
    await tripBreaker(t);
    assert.deepEqual(seen, []);
    assert.equal(t.changes.length, 1);
  });
  it('flush() - a reset timer that fires early (as real timers may, by a fraction of a ms) waits out the rest, then probes', async () => {
    const clock = new VirtualClock();
    // Every timer fires 0.5 ms before it is due.
    const early = { now: () => clock.now(), schedule: (ms: number, cb: () => void) => clock.schedule(ms - 0.5, cb), cancel: (h: object) => clock.cancel(h) };
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 1, clock: early, breaker: { failureThreshold: 1, resetAfterMs: 1000 } });
    writer.tryWrite(1);
    sink.calls[0]!.reject(new Error('down'));
    await flushMicrotasks();
    writer.tryWrite(2);
    await clock.advanceAsync(999.5);
    assert.equal(writer.breakerState, 'open', 'the timer fired at 999.5: still open');
    assert.equal(sink.calls.length, 1);
    await clock.advanceAsync(1);
    assert.equal(writer.breakerState, 'half-open');
    assert.equal(sink.calls.length, 2, 'the probe went once the period was over');
    sink.calls[1]!.resolve();
    await flushMicrotasks();
    assert.equal(writer.breakerState, 'closed');
  });

  it('constructor - breaker.failureThreshold is an integer from 1 to 100,000', () => {
    for (const failureThreshold of [0, 1.5, 100_001]) {
      assert.throws(() => new BatchWriter<number>({ flush: async () => {}, breaker: { failureThreshold } }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /breaker\.failureThreshold/ });
    }
  });
});
