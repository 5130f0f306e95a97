import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock, TimerHandle } from '../clock/index.js';
import { ErrorCode, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { eventLoopDelay, eventLoopStall, eventLoopUtilization, heapUsed, rss } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    assert.ok(error.message.includes(`"${field}"`), error.message);
    return true;
  });
}

/** A clock whose time and timers move only by hand, separately, so a "turn" can last a while. */
class ManualClock implements Clock {
  time = 0;
  readonly timers = new Map<TimerHandle, () => void>();
  readonly scheduleOptions: ({ unref?: boolean } | undefined)[] = [];
  now(): number {
    return this.time;
  }
  schedule(_delayMs: number, callback: () => void, options?: { unref?: boolean }): TimerHandle {
    const handle = {};
    this.timers.set(handle, callback);
    this.scheduleOptions.push(options);
    return handle;
  }
  cancel(handle: TimerHandle): void {
    this.timers.delete(handle);
  }
  runTimers(): void {
    for (const [handle, callback] of [...this.timers]) {
      this.timers.delete(handle);
      callback();
    }
  }
}

describe('eventLoopDelay()', () => {
  it('eventLoopDelay() - samples on an unref timer and close() stops sampling', () => {
    const clock = new VirtualClock();
    const probe = eventLoopDelay({ thresholdMs: 100, sampleIntervalMs: 500, clock });
    assert.equal(clock.pending, 1);
    clock.advance(1500);
    assert.equal(probe.stats().samples, 3);
    probe.close();
    assert.equal(clock.pending, 0);
    clock.advance(5000);
    assert.equal(probe.stats().samples, 3);
    assert.equal(probe.stats().closed, true);
    probe.close(); // idempotent
  });

  it('eventLoopDelay() - rejects invalid options naming the field', () => {
    assertInvalidOption(() => eventLoopDelay({} as never), 'thresholdMs');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 0 }), 'thresholdMs');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 10, statistic: 'p95' as never }), 'statistic');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 10, resolutionMs: 0.5 }), 'resolutionMs');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 10, sampleIntervalMs: 0 }), 'sampleIntervalMs');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 10, clock: {} as never }), 'clock');
    assertInvalidOption(() => eventLoopDelay({ thresholdMs: 10, name: '' }), 'name');
    assertInvalidOption(() => eventLoopDelay(null as never), 'eventLoopDelay options');
  });
});

describe('eventLoopUtilization()', () => {
  it('eventLoopUtilization() - close() stops sampling', () => {
    const clock = new VirtualClock();
    const probe = eventLoopUtilization({ threshold: 0.9, clock });
    clock.advance(1000);
    assert.equal(probe.stats().samples, 2);
    probe.close();
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(probe.stats().samples, 2);
  });

  it('eventLoopUtilization() - rejects a threshold outside (0, 1]', () => {
    assertInvalidOption(() => eventLoopUtilization({ threshold: 0 }), 'threshold');
    assertInvalidOption(() => eventLoopUtilization({ threshold: 1.5 }), 'threshold');
    assertInvalidOption(() => eventLoopUtilization({ threshold: 0.9, sampleIntervalMs: -5 }), 'sampleIntervalMs');
  });
});

describe('heapUsed() and rss()', () => {
  it('heapUsed() - measures at creation and reads heapUsed divided by thresholdBytes', () => {
    const clock = new VirtualClock();
    const probe = heapUsed({ thresholdBytes: 1e9, clock });
    const { value, samples } = probe.stats();
    const actual = process.memoryUsage().heapUsed;
    assert.equal(samples, 1);
    assert.ok(value > 0 && Math.abs(value - actual) < 64 * 1024 * 1024, `heapUsed ${value} vs ${actual}`);
    assert.equal(probe.read(), value / 1e9);
    probe.close();
  });

  it('rss() - measures at creation and reads rss divided by thresholdBytes', () => {
    const clock = new VirtualClock();
    const probe = rss({ thresholdBytes: 4e9, clock });
    const { value } = probe.stats();
    assert.ok(Number.isFinite(value) && value > 0);
    assert.ok(Math.abs(value - process.memoryUsage.rss()) < 64 * 1024 * 1024);
    assert.equal(probe.read(), value / 4e9);
    assert.equal(probe.name, 'rss');
    probe.close();
  });

  it('heapUsed() - resamples every sampleIntervalMs until close()', () => {
    const clock = new VirtualClock();
    const probe = heapUsed({ thresholdBytes: 1e9, sampleIntervalMs: 100, clock, name: 'heap' });
    clock.advance(350);
    assert.equal(probe.stats().samples, 4);
    probe.close();
    clock.advance(1000);
    assert.equal(probe.stats().samples, 4);
    assert.equal(probe.stats().name, 'heap');
  });

  it('rss() - passes unref to the clock so sampling never keeps the process alive', () => {
    const clock = new ManualClock();
    const probe = rss({ thresholdBytes: 1e9, clock });
    assert.deepEqual(clock.scheduleOptions, [{ unref: true }]);
    clock.runTimers();
    assert.deepEqual(clock.scheduleOptions, [{ unref: true }, { unref: true }]);
    probe.close();
    assert.equal(clock.timers.size, 0);
  });

  it('heapUsed() / rss() - reject a missing or non-positive thresholdBytes', () => {
    assertInvalidOption(() => heapUsed({} as never), 'thresholdBytes');
    assertInvalidOption(() => heapUsed({ thresholdBytes: -1 }), 'thresholdBytes');
    assertInvalidOption(() => rss({ thresholdBytes: 0 }), 'thresholdBytes');
    assertInvalidOption(() => rss({ thresholdBytes: Infinity }), 'thresholdBytes');
  });
});

describe('eventLoopStall()', () => {
  it('read() - the first read of a turn reads 0, later reads grow with the time spent in the turn', () => {
    const clock = new ManualClock();
    const stall = eventLoopStall({ thresholdMs: 10, clock });
    assert.equal(stall.read(), 0);
    clock.time = 5;
    assert.equal(stall.read(), 0.5);
    clock.time = 25;
    assert.equal(stall.read(), 2.5);
    assert.deepEqual(stall.stats(), { name: 'eventLoopStall', value: 25, pressure: 2.5, samples: 1, closed: false });
  });

  it('read() - a new turn starts once the end-of-turn timer has run', () => {
    const clock = new ManualClock();
    const stall = eventLoopStall({ thresholdMs: 10, clock });
    stall.read();
    clock.time = 30;
    assert.equal(stall.read(), 3);
    clock.runTimers(); // the loop got through its turn
    assert.equal(stall.read(), 0);
    clock.time = 32;
    assert.equal(stall.read(), 0.2);
    assert.equal(stall.stats().samples, 2);
  });

  it('read() - schedules one unref timer per turn, however often it is read', () => {
    const clock = new ManualClock();
    const stall = eventLoopStall({ thresholdMs: 10, clock });
    for (let i = 0; i < 100; i++) stall.read();
    assert.deepEqual(clock.scheduleOptions, [{ unref: true }]);
    clock.runTimers();
    stall.read();
    assert.equal(clock.scheduleOptions.length, 2);
  });

  it('close() - cancels the pending end-of-turn timer; reads 0 afterwards', () => {
    const clock = new ManualClock();
    const stall = eventLoopStall({ thresholdMs: 10, clock });
    stall.read();
    clock.time = 50;
    stall.close();
    assert.equal(clock.timers.size, 0);
    assert.equal(stall.read(), 0);
    assert.equal(clock.timers.size, 0);
    assert.equal(stall.stats().closed, true);
  });

  it('eventLoopStall() - rejects invalid options naming the field', () => {
    assertInvalidOption(() => eventLoopStall({} as never), 'thresholdMs');
    assertInvalidOption(() => eventLoopStall({ thresholdMs: -1 }), 'thresholdMs');
    assertInvalidOption(() => eventLoopStall({ thresholdMs: 5, clock: { now: () => 0 } as never }), 'clock');
    assertInvalidOption(() => eventLoopStall({ thresholdMs: 5, name: 7 as never }), 'name');
  });
});
