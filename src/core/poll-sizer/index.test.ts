import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PollSizer } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

describe('PollSizer', () => {
  it('constructor - rejects invalid options, naming the field', () => {
    assertInvalidOption(() => new PollSizer({ maxPollRecords: 0 }), 'maxPollRecords');
    assertInvalidOption(() => new PollSizer({ maxPollRecords: 1.5 }), 'maxPollRecords');
    assertInvalidOption(() => new PollSizer({ maxPollIntervalMs: 0 }), 'maxPollIntervalMs');
    assertInvalidOption(() => new PollSizer({ maxPollIntervalMs: Infinity }), 'maxPollIntervalMs');
    assertInvalidOption(() => new PollSizer({ safety: 0 }), 'safety');
    assertInvalidOption(() => new PollSizer({ safety: 1.01 }), 'safety');
    assertInvalidOption(() => new PollSizer({ window: 0 }), 'window');
    assertInvalidOption(() => new PollSizer('x' as never), 'PollSizer options');
  });

  it('next() - with no history returns maxPollRecords', () => {
    assert.equal(new PollSizer().next(), 500);
    assert.equal(new PollSizer({ maxPollRecords: 42 }).next(123_456), 42);
  });

  it('next() - sizes the batch to fit the remaining interval: floor(remaining / avg × safety)', () => {
    const sizer = new PollSizer();
    sizer.record(600);
    sizer.record(600);
    assert.equal(sizer.next(), 400); // 300000 / 600 × 0.8
    assert.equal(sizer.next(150_000), 200); // 150000 / 600 × 0.8
    assert.equal(sizer.next(299_000), 1); // floor(1.33)
    const strict = new PollSizer({ maxPollIntervalMs: 10_000, safety: 1 });
    strict.record(30);
    assert.equal(strict.next(1_000), 300); // 9000 / 30
    strict.record(60);
    assert.equal(strict.next(1_000), 200); // 9000 / 45
  });

  it('next() - clamps to maxPollRecords when items are fast and to 1 when the interval is used up', () => {
    const sizer = new PollSizer({ maxPollRecords: 100 });
    sizer.record(1);
    assert.equal(sizer.next(), 100);
    assert.equal(sizer.next(300_000), 1);
    assert.equal(sizer.next(1_000_000), 1, 'past the interval: still one record, so progress continues');
  });

  it('next() - with only zero processing times returns maxPollRecords', () => {
    const sizer = new PollSizer({ maxPollRecords: 7 });
    sizer.record(0);
    assert.equal(sizer.next(), 7);
  });

  it('record() - averages only the last `window` times', () => {
    const sizer = new PollSizer({ window: 2, maxPollIntervalMs: 1_000, safety: 1 });
    sizer.record(1_000);
    sizer.record(10);
    sizer.record(10); // the 1000 ms item has left the window
    assert.equal(sizer.averageMsPerItem, 10);
    assert.equal(sizer.next(), 100);
  });

  it('record() and next() - reject negative or non-finite arguments', () => {
    const sizer = new PollSizer();
    assert.throws(() => sizer.record(-1), InvalidArgumentError);
    assert.throws(() => sizer.record(Infinity), InvalidArgumentError);
    assert.throws(() => sizer.next(-5), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    assert.throws(() => sizer.next(NaN), InvalidArgumentError);
  });

  it('stats() - reports samples, average, polls and the last size', () => {
    const sizer = new PollSizer({ window: 3 });
    assert.deepEqual(sizer.stats(), { samples: 0, averageMsPerItem: 0, polls: 0, lastSize: 0 });
    for (const ms of [100, 200, 300, 400]) sizer.record(ms);
    sizer.next();
    assert.deepEqual(sizer.stats(), { samples: 3, averageMsPerItem: 300, polls: 1, lastSize: 500 });
    sizer.next(299_700);
    assert.deepEqual(sizer.stats(), { samples: 3, averageMsPerItem: 300, polls: 2, lastSize: 1 });
  });
});
