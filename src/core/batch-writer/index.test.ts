import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, type BatchFlushFunction } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { check, manualSink } from './writer.test-helpers.js';

const noop: BatchFlushFunction<unknown> = () => undefined;

describe('BatchWriter options', () => {
  it('constructor - uses the documented defaults', () => {
    const writer = new BatchWriter({ flush: noop });
    assert.equal(writer.batchSize, 100);
    assert.equal(writer.capacity, 1000);
    assert.equal(writer.overflow, 'block');
    assert.equal(writer.name, 'batch-writer');
    assert.equal(writer.state, 'normal');
    assert.equal(writer.pressured, false);
    assert.equal(writer.breakerState, 'closed');
    const s = check(writer);
    assert.equal(s.flushIntervalMs, 100, 'the interval starts at minFlushIntervalMs');
    assert.equal(s.lastFlushLatencyMs, 0);
    assert.deepEqual(s.breaker, { state: 'closed', consecutiveFailures: 0, opens: 0 });
  });

  it('constructor - batchSize defaults to capacity when capacity is below 100', () => {
    assert.equal(new BatchWriter({ flush: noop, capacity: 10 }).batchSize, 10);
  });

  const bad: [string, object, string][] = [
    ['no flush', {}, 'flush'],
    ['flush not a function', { flush: 'insert' }, 'flush'],
    ['batchSize 0', { flush: noop, batchSize: 0 }, 'batchSize'],
    ['fractional batchSize', { flush: noop, batchSize: 2.5 }, 'batchSize'],
    ['batchSize above capacity', { flush: noop, capacity: 10, batchSize: 11 }, 'batchSize'],
    ['minFlushIntervalMs 0', { flush: noop, minFlushIntervalMs: 0 }, 'minFlushIntervalMs'],
    ['NaN minFlushIntervalMs', { flush: noop, minFlushIntervalMs: NaN }, 'minFlushIntervalMs'],
    ['min above max interval', { flush: noop, minFlushIntervalMs: 500, maxFlushIntervalMs: 400 }, 'maxFlushIntervalMs'],
    ['targetLatencyMs 0', { flush: noop, targetLatencyMs: 0 }, 'targetLatencyMs'],
    ['negative targetLatencyMs', { flush: noop, targetLatencyMs: -1 }, 'targetLatencyMs'],
    ['retry not an object', { flush: noop, retry: 3 }, 'retry'],
    ['negative retry.attempts', { flush: noop, retry: { attempts: -1 } }, 'retry.attempts'],
    ['fractional retry.attempts', { flush: noop, retry: { attempts: 1.5 } }, 'retry.attempts'],
    ['negative retry.initialDelayMs', { flush: noop, retry: { initialDelayMs: -1 } }, 'retry.initialDelayMs'],
    ['retry.maxDelayMs below initialDelayMs', { flush: noop, retry: { initialDelayMs: 100, maxDelayMs: 50 } }, 'retry.maxDelayMs'],
    ['unknown retry.jitter', { flush: noop, retry: { jitter: 'half' } }, 'retry.jitter'],
    ['retry.random not a function', { flush: noop, retry: { random: 0.5 } }, 'retry.random'],
    ['breaker not an object', { flush: noop, breaker: true }, 'breaker'],
    ['breaker.failureThreshold 0', { flush: noop, breaker: { failureThreshold: 0 } }, 'breaker.failureThreshold'],
    ['breaker.resetAfterMs 0', { flush: noop, breaker: { resetAfterMs: 0 } }, 'breaker.resetAfterMs'],
    ['deadLetter not a function', { flush: noop, deadLetter: [] }, 'deadLetter'],
    ['capacity 0', { flush: noop, capacity: 0 }, 'capacity'],
    ['unknown overflow', { flush: noop, overflow: 'spill' }, 'overflow'],
    ['lowWatermark above highWatermark', { flush: noop, highWatermark: 0.5, lowWatermark: 0.6 }, 'lowWatermark'],
    ['empty name', { flush: noop, name: '' }, 'name'],
  ];
  for (const [label, options, field] of bad) {
    it(`constructor - rejects ${label}, naming the field`, () => {
      assert.throws(
        () => new BatchWriter(options as never),
        (error: Error & { code?: string; field?: string }) => {
          assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
          assert.equal(error.field, field);
          assert.match(error.message, new RegExp(`"${field.replace('.', '\\.')}"`));
          return true;
        },
      );
    });
  }

  it('constructor - rejects a non-object options argument', () => {
    assert.throws(() => new BatchWriter(null as never), { code: 'ERR_SLUICE_INVALID_OPTION' });
  });
});

describe('BatchWriter flushing', () => {
  it('write() - starts a flush inside the write that fills the batch', () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 3, clock });
    void writer.write(1);
    void writer.write(2);
    assert.equal(sink.calls.length, 0);
    void writer.write(3);
    assert.equal(sink.calls.length, 1);
    assert.deepEqual(sink.calls[0]!.items, [1, 2, 3]);
    assert.equal(sink.calls[0]!.attempt, 0);
    const s = check(writer);
    assert.equal(s.inFlight, 3);
    assert.equal(s.buffered, 0);
    assert.equal(s.batches, 1);
  });

  it('tryWrite() - a full batch is flushed; later items wait for the flush in flight', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 2, clock });
    for (let i = 1; i <= 5; i++) assert.equal(writer.tryWrite(i), true);
    assert.equal(sink.calls.length, 1, 'one flush in flight at a time');
    assert.equal(check(writer).buffered, 3);
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.equal(sink.calls.length, 2);
    assert.deepEqual(sink.calls[1]!.items, [3, 4]);
    sink.calls[1]!.resolve();
    await flushMicrotasks();
    assert.equal(sink.calls.length, 2, 'the single leftover item waits for the interval');
    const s = check(writer);
    assert.equal(s.flushed, 4);
    assert.equal(s.buffered, 1);
  });

  it('write() - flushes a partial batch once the interval has passed since the oldest item arrived', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<string>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 10, minFlushIntervalMs: 100, clock });
    void writer.write('a');
    await clock.advanceAsync(60);
    void writer.write('b'); // does not restart the timer
    await clock.advanceAsync(39);
    assert.equal(sink.calls.length, 0);
    await clock.advanceAsync(1);
    assert.equal(sink.calls.length, 1);
    assert.deepEqual(sink.calls[0]!.items, ['a', 'b']);
    assert.equal(sink.calls[0]!.at, 100);
    check(writer);
  });

  it('write() - items left after a flush wait one interval from the end of that flush', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 2, minFlushIntervalMs: 100, targetLatencyMs: 1000, clock });
    void writer.write(1);
    void writer.write(2); // full: flush at t=0
    void writer.write(3); // arrives during the flush
    await clock.advanceAsync(300);
    sink.calls[0]!.resolve(); // flush ends at t=300; latency 300 keeps the interval at 100
    await clock.advanceAsync(99);
    assert.equal(sink.calls.length, 1);
    await clock.advanceAsync(1);
    assert.equal(sink.calls.length, 2);
    assert.deepEqual(sink.calls[1]!.items, [3]);
    assert.equal(sink.calls[1]!.at, 400);
  });

  it('write() - schedules no timer while nothing is buffered', async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter({ flush: noop, batchSize: 1, clock });
    await writer.write(1);
    await flushMicrotasks();
    assert.equal(clock.pending, 0);
    assert.equal(check(writer).flushed, 1);
  });

  it('flush() - accepts a synchronous sink and a synchronous throw', async () => {
    const clock = new VirtualClock();
    let fail = true;
    const writer = new BatchWriter<number>({
      flush: () => {
        if (fail) throw new Error('sync failure');
      },
      batchSize: 1,
      clock,
    });
    writer.tryWrite(1);
    await flushMicrotasks();
    fail = false;
    writer.tryWrite(2);
    await flushMicrotasks();
    const s = check(writer);
    assert.equal(s.flushed, 1);
    assert.equal(s.droppedBy['flush-failed'], 1);
    assert.equal(s.failedBatches, 1);
  });
});

describe('BatchWriter adaptive interval', () => {
  /** A sink that takes `latency()` ms of virtual time. */
  function timedWriter(latency: () => number) {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({
      flush: () => new Promise<void>((resolve) => clock.schedule(latency(), resolve)),
      batchSize: 1,
      minFlushIntervalMs: 100,
      maxFlushIntervalMs: 400,
      targetLatencyMs: 100,
      clock,
    });
    const flushOnce = async () => {
      writer.tryWrite(1);
      await clock.advanceAsync(1000);
      return check(writer).flushIntervalMs;
    };
    return { writer, flushOnce };
  }

  it('stats() - the interval grows x1.5 after slow flushes, up to maxFlushIntervalMs', async () => {
    const { flushOnce } = timedWriter(() => 150);
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await flushOnce());
    assert.deepEqual(seen, [150, 225, 337.5, 400, 400]);
  });

  it('stats() - the interval shrinks x0.75 after fast flushes, down to minFlushIntervalMs', async () => {
    let latency = 150;
    const { flushOnce, writer } = timedWriter(() => latency);
    for (let i = 0; i < 4; i++) await flushOnce();
    assert.equal(writer.stats().flushIntervalMs, 400);
    latency = 10; // below target / 2
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await flushOnce());
    assert.deepEqual(seen, [300, 225, 168.75, 126.5625, 100, 100]);
    assert.equal(writer.stats().lastFlushLatencyMs, 10);
  });

  it('stats() - a latency between target / 2 and target leaves the interval alone', async () => {
    let latency = 150;
    const { flushOnce } = timedWriter(() => latency);
    await flushOnce();
    latency = 75;
    assert.equal(await flushOnce(), 150);
    latency = 100; // exactly the target is not "slower than"
    assert.equal(await flushOnce(), 150);
  });

  it('write() - a partial batch waits for the adapted interval', async () => {
    const clock = new VirtualClock();
    const writer = new BatchWriter<number>({
      flush: () => new Promise<void>((resolve) => clock.schedule(150, resolve)),
      batchSize: 2,
      minFlushIntervalMs: 100,
      targetLatencyMs: 100,
      clock,
    });
    writer.tryWrite(1);
    writer.tryWrite(2);
    await clock.advanceAsync(150); // slow flush: interval 100 -> 150
    assert.equal(writer.stats().flushIntervalMs, 150);
    writer.tryWrite(3);
    await clock.advanceAsync(149);
    assert.equal(writer.stats().inFlight, 0);
    await clock.advanceAsync(1);
    assert.equal(writer.stats().inFlight, 1, 'the partial batch left after 150 ms');
  });
});

describe('BatchWriter pressure and state', () => {
  it('onPressureChange() - fires at the high watermark and again at the low one as batches leave', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, capacity: 10, batchSize: 5, highWatermark: 0.8, lowWatermark: 0.2, clock });
    const events: boolean[] = [];
    const unsubscribe = writer.onPressureChange((on) => {
      events.push(on);
      check(writer); // consistent even inside the listener
    });
    for (let i = 0; i < 13; i++) writer.tryWrite(i); // 5 in flight, 8 buffered
    assert.equal(writer.pressured, true);
    assert.equal(writer.state, 'critical');
    sink.calls[0]!.resolve();
    await flushMicrotasks(); // next 5 leave: 3 buffered
    assert.equal(writer.pressured, true, 'hysteresis: 30% is above the low watermark');
    sink.calls[1]!.resolve();
    await flushMicrotasks(); // 3 in flight (interval not due yet: still 3 buffered)
    await clock.advanceAsync(100);
    assert.equal(writer.pressured, false);
    assert.deepEqual(events, [true, false]);
    unsubscribe();
  });

  it('state - turns draining on close and closed once everything is flushed', async () => {
    const clock = new VirtualClock();
    const sink = manualSink<number>(() => clock.now());
    const writer = new BatchWriter({ flush: sink.flush, batchSize: 5, clock });
    writer.tryWrite(1);
    writer.close();
    assert.equal(writer.state, 'draining');
    assert.equal(writer.closed, true);
    sink.calls[0]!.resolve();
    await flushMicrotasks();
    assert.equal(writer.state, 'closed');
  });
});
