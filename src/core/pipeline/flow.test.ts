import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { InvalidOptionError, OverflowError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { batch, buffer, map, pipeline, throttle } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(e.field, field);
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('batch()', () => {
  it('batch() - emits full batches and the remainder at the end', async () => {
    const out: number[][] = [];
    const stage = batch<number>({ size: 3 });
    await pipeline([1, 2, 3, 4, 5, 6, 7], stage, (b: number[]) => void out.push(b));
    assert.deepEqual(out, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(stage.stats(), { runs: 1, batches: 3, items: 7, timedOut: 0 });
  });

  it('batch() - emits a partial batch maxWaitMs after its first item', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 10 });
    const out: number[][] = [];
    const stage = batch<number>({ size: 5, maxWaitMs: 100, clock });
    const done = pipeline(channel, stage, (b: number[]) => void out.push(b));
    channel.trySend(1);
    await clock.advanceAsync(60);
    channel.trySend(2);
    await clock.advanceAsync(39);
    assert.deepEqual(out, []);
    await clock.advanceAsync(1); // 100 ms after item 1
    assert.deepEqual(out, [[1, 2]]);
    channel.trySend(3);
    await clock.advanceAsync(99);
    assert.deepEqual(out, [[1, 2]]);
    await clock.advanceAsync(1); // 100 ms after item 3, not after the previous batch
    assert.deepEqual(out, [[1, 2], [3]]);
    channel.close();
    await done;
    assert.equal(stage.stats().timedOut, 2);
  });

  it('batch() - a batch that fills before maxWaitMs leaves at once and cancels its timer', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 10 });
    const out: number[][] = [];
    const done = pipeline(channel, batch<number>({ size: 2, maxWaitMs: 100, clock }), (b: number[]) => void out.push(b));
    channel.trySend(1);
    await tick();
    channel.trySend(2);
    await tick();
    assert.deepEqual(out, [[1, 2]]);
    assert.equal(clock.pending, 0);
    channel.close();
    await done;
  });

  it('batch() - maxWaitMs 0 emits what is at hand whenever upstream has to wait', async () => {
    const channel = new Channel<number>({ capacity: 10 });
    const out: number[][] = [];
    const done = pipeline(channel, batch<number>({ size: 10, maxWaitMs: 0 }), (b: number[]) => void out.push(b));
    channel.trySend(1);
    channel.trySend(2);
    await tick();
    channel.trySend(3);
    channel.close();
    await done;
    assert.deepEqual(out, [[1, 2], [3]]);
  });

  it('batch() - rejects a missing or bad size, a negative maxWaitMs and a bad clock', () => {
    for (const size of [undefined, 0, 1.5, -2, 'x']) assertInvalidOption(() => batch({ size: size as never }), 'size');
    assertInvalidOption(() => batch({ size: 2, maxWaitMs: -1 }), 'maxWaitMs');
    assertInvalidOption(() => batch({ size: 2, clock: {} as never }), 'clock');
  });
});

describe('buffer()', () => {
  it('buffer() - lets the upstream part run ahead of a slow consumer, up to capacity', async () => {
    const clock = new VirtualClock();
    let pulled = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const stage = buffer<number>({ capacity: 5 });
    const controller = new AbortController();
    const received: number[] = [];
    const done = pipeline(naturals(), stage, (n: number) => {
      received.push(n);
      return new Promise<void>((r) => clock.schedule(10, r));
    }, { signal: controller.signal });
    await tick();
    // One item in the sink, five in the channel, one waiting in the pump for room.
    assert.equal(received.length, 1);
    assert.equal(stage.stats().size, 5);
    assert.equal(pulled, 7);
    await clock.advanceAsync(10);
    assert.equal(received.length, 2);
    assert.equal(pulled, 8);
    controller.abort(new Error('enough'));
    await assert.rejects(done, /enough/);
  });

  it('buffer() - under a dropping strategy discards the excess and counts it in stats()', async () => {
    const clock = new VirtualClock();
    const source = new Channel<number>({ capacity: 100 });
    const stage = buffer<number>({ capacity: 2, overflow: 'drop-newest' });
    const received: number[] = [];
    const done = pipeline(source, stage, (n: number) => {
      received.push(n);
      return new Promise<void>((r) => clock.schedule(10, r));
    });
    for (let i = 0; i < 10; i++) source.trySend(i);
    source.close();
    await tick();
    await clock.advanceAsync(100);
    await done;
    // Item 0 went straight to the sink, 1 and 2 filled the buffer, 3..9 were dropped.
    assert.deepEqual(received, [0, 1, 2]);
    assert.equal(stage.stats().droppedBy['drop-newest'], 7);
    assert.equal(stage.stats().delivered, 3);
  });

  it('buffer() - under reject fails the pipeline with OverflowError when full', async () => {
    const clock = new VirtualClock();
    await assert.rejects(
      pipeline([1, 2, 3, 4, 5], buffer<number>({ capacity: 1, overflow: 'reject' }), () => new Promise<void>((r) => clock.schedule(10, r))),
      OverflowError,
    );
  });

  it('buffer() - each run gets a fresh channel; stats() shows the latest', async () => {
    const stage = buffer<number>({ capacity: 4 });
    const first = stage.channel;
    await pipeline([1, 2], stage, () => {});
    assert.equal(stage.channel, first);
    await pipeline([1, 2, 3], stage, () => {});
    assert.notEqual(stage.channel, first);
    assert.equal(stage.stats().delivered, 3);
  });

  it('buffer() - validates channel options at creation', () => {
    assertInvalidOption(() => buffer({ capacity: 0 }), 'capacity');
    assertInvalidOption(() => buffer({ overflow: 'spill' as never }), 'overflow');
  });
});

describe('throttle()', () => {
  it('throttle() - lets items through at ratePerSecond after the burst', async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const stage = throttle<number>({ ratePerSecond: 10, burst: 2, clock });
    const done = pipeline([1, 2, 3, 4, 5], stage, () => void times.push(clock.now()));
    await tick();
    assert.deepEqual(times, [0, 0]);
    await clock.advanceAsync(300);
    await done;
    assert.deepEqual(times, [0, 0, 100, 200, 300]);
    assert.equal(stage.stats().acquired, 5);
  });

  it('throttle() - reads the source no faster than the rate', async () => {
    const clock = new VirtualClock();
    let pulled = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const controller = new AbortController();
    const done = pipeline(naturals(), throttle({ ratePerSecond: 100, burst: 1, clock }), map((n: number) => n), () => {}, {
      signal: controller.signal,
    });
    await clock.advanceAsync(1000);
    assert.ok(pulled >= 100 && pulled <= 102, `pulled ${pulled}`);
    controller.abort(new Error('stop'));
    await assert.rejects(done, /stop/);
  });

  it('throttle() - rejects a missing or non-positive ratePerSecond and a small burst', () => {
    assertInvalidOption(() => throttle({} as never), 'ratePerSecond');
    assertInvalidOption(() => throttle({ ratePerSecond: 0 }), 'ratePerSecond');
    assertInvalidOption(() => throttle({ ratePerSecond: 5, burst: 0.5 }), 'burst');
  });
});
