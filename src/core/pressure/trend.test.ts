import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { mulberry32 } from '../testing/prng.test-helpers.js';
import { pressureLevels, trend, Trend } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    return true;
  });
}

describe('trend()', () => {
  it('timeToThresholdMs - on a linear ramp, within 10% of the truth one window after the ramp starts', () => {
    const clock = new VirtualClock();
    const rampStart = 5000;
    const perSecond = 0.05;
    const level = () => (clock.now() < rampStart ? 0.2 : 0.2 + (perSecond * (clock.now() - rampStart)) / 1000);
    const t = trend(level, { windowMs: 10_000, sampleEveryMs: 250, clock });
    clock.advance(rampStart + 10_000);
    const truthMs = ((1 - level()) / perSecond) * 1000; // 6000 ms
    const { timeToThresholdMs, slope, current } = t.stats();
    assert.ok(Math.abs(timeToThresholdMs - truthMs) <= 0.1 * truthMs, `timeToThresholdMs ${timeToThresholdMs} vs truth ${truthMs}`);
    assert.ok(Math.abs(slope - perSecond) <= 0.1 * perSecond, `slope ${slope}/s vs ${perSecond}/s`);
    assert.ok(Math.abs(current - 0.7) < 1e-9);
    // read() looks horizonMs (= windowMs, 10 s) ahead: 0.7 + 0.05 × 10 = 1.2, over the threshold before the level is.
    assert.ok(Math.abs(t.read() - 1.2) < 0.05, `read() ${t.read()}`);
    t.close();
  });

  it('read() - on a flat signal with ±20% noise, the predicted reading stays below 1 over many windows', () => {
    const clock = new VirtualClock();
    const random = mulberry32(12); // seeded: the same noise on every run
    const noisy = () => 0.6 * (1 + 0.4 * (random() - 0.5));
    const t = trend(noisy, { windowMs: 10_000, sampleEveryMs: 250, clock });
    let highest = 0;
    for (let step = 0; step < 50 * 40; step++) {
      // 50 windows of 40 samples; a read between every two samples.
      clock.advance(250);
      highest = Math.max(highest, t.read(), t.stats().predicted);
      assert.ok(t.timeToThresholdMs > 5_000, `timeToThresholdMs ${t.timeToThresholdMs} at step ${step}`);
    }
    assert.ok(highest < 1, `highest predicted reading ${highest}`);
    assert.ok(highest > 0.6, 'the noise did reach the reading');
    t.close();
  });

  it('timeToThresholdMs - Infinity on a falling signal, and read() is the current reading', () => {
    const clock = new VirtualClock();
    const falling = () => 0.9 - clock.now() / 100_000;
    const t = trend(falling, { windowMs: 5000, sampleEveryMs: 100, clock });
    clock.advance(6000);
    assert.equal(t.timeToThresholdMs, Infinity);
    assert.ok(t.slope < 0 && Math.abs(t.slope + 0.01) < 1e-9, `slope ${t.slope}`);
    assert.equal(t.read(), falling());
    assert.equal(t.stats().predicted, t.stats().current);
    t.close();
  });

  it('slope - stays 0 until the samples span half the window (warm-up)', () => {
    const clock = new VirtualClock();
    const rising = () => clock.now() / 1000; // +1/s
    const t = trend(rising, { windowMs: 1000, sampleEveryMs: 100, clock });
    clock.advance(400);
    assert.equal(t.slope, 0);
    assert.equal(t.timeToThresholdMs, Infinity);
    clock.advance(100);
    assert.ok(Math.abs(t.slope - 1) < 1e-9, `slope ${t.slope}`);
    assert.ok(Math.abs(t.timeToThresholdMs - 500) < 1e-6, `timeToThresholdMs ${t.timeToThresholdMs}`);
    t.close();
  });

  it('timeToThresholdMs - 0 once the reading is at 1 or over', () => {
    const clock = new VirtualClock();
    let value = 1.3;
    const t = trend(() => value, { windowMs: 1000, sampleEveryMs: 100, clock });
    assert.equal(t.timeToThresholdMs, 0);
    value = 0.5;
    clock.advance(100);
    assert.equal(t.timeToThresholdMs, Infinity); // falling now
    t.close();
  });

  it('slope - a single wild sample in a flat window does not move it (Theil–Sen)', () => {
    const clock = new VirtualClock();
    let spike = false;
    const t = trend(() => (spike ? 50 : 0.5), { windowMs: 10_000, sampleEveryMs: 250, clock });
    clock.advance(5000);
    spike = true;
    clock.advance(250);
    spike = false;
    clock.advance(250);
    assert.equal(t.slope, 0);
    assert.equal(t.read(), 0.5);
    t.close();
  });

  it('read() - a source that throws keeps the last reading and counts the error, never throwing', () => {
    const clock = new VirtualClock();
    let failing = false;
    const boom = new Error('source down');
    const t = trend(
      () => {
        if (failing) throw boom;
        return 0.4;
      },
      { windowMs: 1000, sampleEveryMs: 100, clock },
    );
    clock.advance(300);
    const samples = t.stats().samples;
    failing = true;
    assert.equal(t.read(), 0.4);
    clock.advance(300); // three failed samples
    const stats = t.stats();
    assert.equal(stats.current, 0.4);
    assert.equal(stats.errors, 4);
    assert.equal(stats.lastError, boom);
    assert.equal(stats.samples, samples, 'failed reads are not samples');
    failing = false;
    clock.advance(100);
    assert.equal(t.stats().samples, samples + 1);
    t.close();
  });

  it('read() - a source returning NaN or a non-number counts an error and keeps the last reading', () => {
    const clock = new VirtualClock();
    let value: unknown = 0.3;
    const t = trend(() => value as number, { windowMs: 1000, sampleEveryMs: 100, clock });
    value = Number.NaN;
    assert.equal(t.read(), 0.3);
    value = 'high';
    assert.equal(t.read(), 0.3);
    assert.equal(t.stats().errors, 2);
    const error = t.stats().lastError;
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.code, 'ERR_SLUICE_INVALID_ARGUMENT');
    assert.match(error.message, /^trend "trend": source\.read\(\) returned "high"; expected a number/);
    value = Number.NaN;
    t.read();
    assert.match((t.stats().lastError as Error).message, /returned NaN;/);
    t.close();
  });

  it('read() - an Infinity reading is passed through but kept out of the window', () => {
    const clock = new VirtualClock();
    let value = 0.5;
    const t = trend(() => value, { windowMs: 1000, sampleEveryMs: 100, clock });
    clock.advance(500);
    value = Infinity;
    clock.advance(200);
    assert.equal(t.read(), Infinity);
    assert.equal(t.slope, 0);
    assert.equal(t.stats().samples, 6);
    t.close();
  });

  it('stats() - the window holds a fixed number of samples', () => {
    const clock = new VirtualClock();
    const t = trend(() => 0.1, { windowMs: 1000, sampleEveryMs: 100, clock });
    clock.advance(10_000);
    assert.equal(t.stats().samples, 101);
    assert.equal(t.stats().windowSamples, 11);
    t.close();
  });

  it('close() - stops sampling, is idempotent, and leaves the source open', () => {
    const clock = new VirtualClock();
    let closed = 0;
    let value = 0;
    const source = { name: 'jobs', read: () => (value += 0.1), close: () => void closed++ };
    const t = trend(source, { windowMs: 1000, sampleEveryMs: 100, clock });
    assert.equal(t.name, 'trend:jobs');
    assert.equal(clock.pending, 1);
    clock.advance(500);
    t.close();
    t.close();
    assert.equal(clock.pending, 0);
    const samples = t.stats().samples;
    clock.advance(1000);
    assert.equal(t.stats().samples, samples);
    assert.equal(t.stats().closed, true);
    assert.equal(closed, 0, 'the source is not the trend’s to close');
    // After close, read() is the current reading with nothing added.
    assert.ok(t.slope > 0);
    assert.equal(t.read(), value);
  });

  it('read() - a trend works wherever a Pressure does (pressureLevels)', () => {
    const clock = new VirtualClock();
    const rising = () => clock.now() / 10_000; // +0.1/s
    const t = trend(rising, { windowMs: 2000, sampleEveryMs: 100, horizonMs: 5000, clock });
    const levels = pressureLevels({ application: { source: t } });
    clock.advance(5000); // reading 0.5, 0.5 + 0.1 × 5 = 1 ahead
    clock.advance(1000); // reading 0.6, 1.1 ahead
    const check = levels.check();
    assert.equal(check.over, true);
    assert.ok(Math.abs(check.pressure - 1.1) < 1e-9, `pressure ${check.pressure}`);
    assert.ok(t instanceof Trend);
    t.close();
  });

  it('trend() - rejects invalid options naming the field', () => {
    assertInvalidOption(() => trend(42 as never), 'source');
    assertInvalidOption(() => trend(() => 0, null as never), 'trend options');
    assertInvalidOption(() => trend(() => 0, { windowMs: 0 }), 'windowMs');
    assertInvalidOption(() => trend(() => 0, { windowMs: Infinity }), 'windowMs');
    assertInvalidOption(() => trend(() => 0, { sampleEveryMs: -1 }), 'sampleEveryMs');
    assertInvalidOption(() => trend(() => 0, { windowMs: 1000, sampleEveryMs: 600 }), 'sampleEveryMs');
    assertInvalidOption(() => trend(() => 0, { windowMs: 1e9, sampleEveryMs: 1 }), 'sampleEveryMs');
    assertInvalidOption(() => trend(() => 0, { horizonMs: -5 }), 'horizonMs');
    assertInvalidOption(() => trend(() => 0, { clock: {} as never }), 'clock');
    assertInvalidOption(() => trend(() => 0, { name: '' }), 'name');
    assertInvalidOption(() => trend(() => 0, { windwMs: 10 } as never), 'windwMs');
  });
});
