import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { ErrorCode, InvalidOptionError } from '../errors/index.js';
import { channelPressure, fromFunction, limiterPressure, pressureLevels, throttleFactor, type Pressure } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    assert.match(error.message, new RegExp(`"${field.replace('.', '\\.')}"`));
    return true;
  });
}

describe('fromFunction()', () => {
  it('fromFunction() - calls the function on every read', () => {
    let value = 0.25;
    const pressure = fromFunction(() => value, 'backlog');
    assert.equal(pressure.read(), 0.25);
    value = 3;
    assert.equal(pressure.read(), 3);
    assert.equal(pressure.name, 'backlog');
  });

  it('fromFunction() - rejects a non-function with InvalidArgumentError', () => {
    assert.throws(() => fromFunction(42 as unknown as () => number), { code: ErrorCode.invalidArgument });
  });
});

describe('channelPressure()', () => {
  it('channelPressure() - reads utilization divided by highWatermark, live', () => {
    const channel = new Channel<number>({ capacity: 10, highWatermark: 0.8, overflow: 'drop-newest', name: 'jobs' });
    const pressure = channelPressure(channel);
    assert.equal(pressure.read(), 0);
    for (let i = 0; i < 4; i++) channel.trySend(i);
    assert.equal(pressure.read(), 0.4 / 0.8);
    for (let i = 0; i < 4; i++) channel.trySend(i);
    assert.equal(pressure.read(), 0.8 / 0.8);
    channel.trySend(9);
    channel.trySend(10);
    assert.equal(pressure.read(), 1 / 0.8);
    assert.equal(pressure.name, 'channel:jobs');
  });

  it('channelPressure() - a zero high watermark reads Infinity once anything is buffered', () => {
    const fake = { utilization: 0, highWatermark: 0 };
    const pressure = channelPressure(fake);
    assert.equal(pressure.read(), 0);
    fake.utilization = 0.1;
    assert.equal(pressure.read(), Infinity);
  });

  it('channelPressure() - rejects an object without utilization and highWatermark', () => {
    assert.throws(() => channelPressure({} as never), { code: ErrorCode.invalidArgument });
    assert.throws(() => channelPressure(null as never), { code: ErrorCode.invalidArgument });
  });
});

describe('limiterPressure()', () => {
  it('limiterPressure() - reads inflight divided by limit, live', () => {
    const limiter = { inflight: 0, limit: 8 };
    const pressure = limiterPressure(limiter);
    assert.equal(pressure.read(), 0);
    limiter.inflight = 6;
    assert.equal(pressure.read(), 0.75);
    limiter.inflight = 8;
    assert.equal(pressure.read(), 1);
    limiter.limit = Infinity;
    assert.equal(pressure.read(), 0);
  });

  it('limiterPressure() - a zero limit reads Infinity while anything runs', () => {
    const limiter = { inflight: 0, limit: 0 };
    const pressure = limiterPressure(limiter);
    assert.equal(pressure.read(), 0);
    limiter.inflight = 1;
    assert.equal(pressure.read(), Infinity);
  });

  it('limiterPressure() - rejects an object without inflight and limit', () => {
    assert.throws(() => limiterPressure({ inflight: 1 } as never), { code: ErrorCode.invalidArgument });
  });
});

describe('throttleFactor()', () => {
  it('throttleFactor() - is 1 up to pressure 1, then halves per threshold', () => {
    assert.equal(throttleFactor(0), 1);
    assert.equal(throttleFactor(1), 1);
    assert.equal(throttleFactor(2), 0.5);
    assert.equal(throttleFactor(3), 0.25);
    assert.equal(throttleFactor(1.5), 1 / 2 ** 0.5);
    assert.equal(throttleFactor(Infinity), 0);
  });
});

describe('pressureLevels()', () => {
  function seedLevels() {
    const readings = { application: 0, service: 0, system: 0 };
    const levels = pressureLevels({
      application: { threshold: 0.8, source: () => readings.application },
      service: { threshold: 0.7, source: () => readings.service },
      system: { threshold: 0.9, source: () => readings.system },
    });
    return { readings, levels };
  }

  it('check() - within every threshold: not over, no level, throttle factor 1', () => {
    const { readings, levels } = seedLevels();
    readings.application = 0.4;
    readings.service = 0.35;
    readings.system = 0.9; // exactly at its threshold is not over
    assert.deepEqual(levels.check(), { over: false, level: undefined, pressure: 1, throttleFactor: 1 });
  });

  it('check() - reports the first level over, in the order given', () => {
    const { readings, levels } = seedLevels();
    readings.service = 0.84; // 1.2 × 0.7
    readings.system = 1.8; // 2 × 0.9
    const result = levels.check();
    assert.equal(result.over, true);
    assert.equal(result.level, 'service');
    readings.application = 0.81;
    assert.equal(levels.check().level, 'application');
  });

  it('check() - pressure is the largest reading/threshold over all levels', () => {
    const { readings, levels } = seedLevels();
    readings.application = 0.88; // 1.1
    readings.service = 0.21; // 0.3
    readings.system = 1.8; // 2
    const result = levels.check();
    assert.equal(result.level, 'application');
    assert.equal(result.pressure, 1.8 / 0.9);
  });

  it('check() - throttleFactor is exactly 1 / 2^(p - 1) with p = max(current / threshold)', () => {
    const { readings, levels } = seedLevels();
    for (const service of [0.7 * 1.25, 0.7 * 1.5, 0.7 * 2, 0.7 * 3, 0.7 * 4.5]) {
      readings.service = service;
      const p = service / 0.7;
      const result = levels.check();
      assert.equal(result.pressure, p);
      assert.equal(result.throttleFactor, 1 / 2 ** (p - 1));
    }
    const exact = pressureLevels({ system: { threshold: 0.5, source: () => 1.5 } });
    assert.equal(exact.check().throttleFactor, 0.25); // p = 3
  });

  it('check() - user-named levels work, and the threshold defaults to 1', () => {
    let queue = 0.5;
    const levels = pressureLevels({ queue: { source: () => queue } });
    assert.deepEqual(levels.levels, ['queue']);
    assert.equal(levels.check().over, false);
    queue = 1.5;
    assert.deepEqual(levels.check(), { over: true, level: 'queue', pressure: 1.5, throttleFactor: 1 / 2 ** 0.5 });
  });

  it('check() - a NaN reading counts as not over', () => {
    const levels = pressureLevels({ broken: { source: () => NaN }, fine: { source: () => 0.5 } });
    assert.deepEqual(levels.check(), { over: false, level: undefined, pressure: 0.5, throttleFactor: 1 });
  });

  it('read() - returns the overall pressure, so levels nest and plug in wherever a Pressure goes', () => {
    let inner = 0.5;
    const nested = pressureLevels({ cpu: { threshold: 0.5, source: () => inner } }, { name: 'node' });
    const outer = pressureLevels({ system: { source: nested }, application: { threshold: 10, source: () => 5 } });
    assert.equal(outer.read(), 1);
    inner = 1;
    assert.equal(outer.read(), 2);
    assert.equal(outer.check().level, 'system');
    assert.equal(nested.name, 'node');
  });

  it('stats() - counts checks, over checks and per-level readings', () => {
    const { readings, levels } = seedLevels();
    levels.check();
    readings.system = 1.8;
    levels.check();
    readings.service = 1.4;
    levels.check();
    const stats = levels.stats();
    assert.equal(stats.checks, 3);
    assert.equal(stats.overChecks, 2);
    assert.deepEqual(stats.levels.system, { threshold: 0.9, current: 1.8, pressure: 2, overChecks: 2 });
    assert.deepEqual(stats.levels.service, { threshold: 0.7, current: 1.4, pressure: 2, overChecks: 1 });
    assert.equal(stats.levels.application!.overChecks, 0);
  });

  it('close() - closes every source that has close()', () => {
    let closed = 0;
    const probe: Pressure = { read: () => 0, close: () => void closed++ };
    const levels = pressureLevels({ a: { source: probe }, b: { source: () => 0 }, c: { source: probe } });
    levels.close();
    assert.equal(closed, 2);
  });

  it('pressureLevels() - rejects invalid levels with ERR_SLUICE_INVALID_OPTION naming the field', () => {
    assertInvalidOption(() => pressureLevels({}), 'levels');
    assertInvalidOption(() => pressureLevels({ application: undefined }), 'levels');
    assertInvalidOption(() => pressureLevels({ application: { threshold: 0, source: () => 0 } }), 'application.threshold');
    assertInvalidOption(() => pressureLevels({ system: { threshold: -1, source: () => 0 } }), 'system.threshold');
    assertInvalidOption(() => pressureLevels({ service: { threshold: NaN, source: () => 0 } }), 'service.threshold');
    assertInvalidOption(() => pressureLevels({ service: { threshold: 1 } as never }), 'service.source');
    assertInvalidOption(() => pressureLevels({ service: { source: 3 } as never }), 'service.source');
    assertInvalidOption(() => pressureLevels({ custom: 0.8 as never }), 'custom');
    assertInvalidOption(() => pressureLevels(null as never), 'pressureLevels options');
    assertInvalidOption(() => pressureLevels({ a: { source: () => 0 } }, { name: '' }), 'name');
  });
});
