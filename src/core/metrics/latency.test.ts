import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { collectMetrics, defaultLatencyBucketsMs, LatencyHistogram, LatencyRecorder, type HistogramMetricSample } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

describe('LatencyHistogram', () => {
  it('record() - counts a value in the first bucket whose bound is >= it (bounds are inclusive)', () => {
    const h = new LatencyHistogram({ bucketsMs: [10, 100] });
    h.record(0);
    h.record(10);
    h.record(10.5);
    h.record(100);
    assert.deepEqual(h.snapshot(), { bucketsMs: [10, 100], cumulativeCounts: [2, 4], count: 4, sumMs: 120.5 });
  });

  it('record() - a value above the last bound is counted only in +Inf (count)', () => {
    const h = new LatencyHistogram({ bucketsMs: [10] });
    h.record(5);
    h.record(11);
    const s = h.snapshot();
    assert.deepEqual(s.cumulativeCounts, [1]);
    assert.equal(s.count, 2);
    assert.deepEqual(h.stats(), { count: 2, sumMs: 16, meanMs: 8 });
  });

  it('record() - rejects negative, NaN and infinite values with InvalidArgumentError and counts nothing', () => {
    const h = new LatencyHistogram();
    for (const bad of [-1, NaN, Infinity, '5' as never]) assert.throws(() => h.record(bad), InvalidArgumentError);
    assert.equal(h.stats().count, 0);
  });

  it('constructor - defaults to 1 ms .. 10 s buckets', () => {
    assert.deepEqual(new LatencyHistogram().bucketsMs, defaultLatencyBucketsMs);
    assert.equal(defaultLatencyBucketsMs[0], 1);
    assert.equal(defaultLatencyBucketsMs.at(-1), 10_000);
  });

  it('constructor - rejects bucketsMs that are empty, unordered, non-positive, non-finite, too many or not an array', () => {
    for (const bucketsMs of [[], [5, 5], [10, 5], [0, 1], [-1], [1, Infinity], [1, NaN], Array.from({ length: 65 }, (_, i) => i + 1), 'fast', [1, '2']]) {
      assertInvalidOption(() => new LatencyHistogram({ bucketsMs: bucketsMs as never }), 'bucketsMs');
      assertInvalidOption(() => new LatencyRecorder({ bucketsMs: bucketsMs as never }), 'bucketsMs');
    }
  });
});

describe('LatencyRecorder', () => {
  it('histogram() - returns the same histogram for a name, created with the recorder buckets', () => {
    const recorder = new LatencyRecorder({ bucketsMs: [1, 2] });
    const h = recorder.histogram('writer');
    assert.equal(recorder.histogram('writer'), h);
    assert.deepEqual(h.bucketsMs, [1, 2]);
    assert.throws(() => recorder.histogram(''), InvalidArgumentError);
  });

  it('record() - adds to the named component only; stats() sums over components', () => {
    const recorder = new LatencyRecorder();
    recorder.record('a', 3);
    recorder.record('a', 4);
    recorder.record('b', 5);
    assert.equal(recorder.histogram('a').stats().count, 2);
    assert.equal(recorder.histogram('b').stats().count, 1);
    assert.deepEqual(recorder.stats(), { components: 2, observations: 3 });
    assert.throws(() => recorder.record('a', -1), InvalidArgumentError);
  });

  it('collectMetrics() - exports each histogram as processing_latency_seconds, in seconds, cumulative', () => {
    const latency = new LatencyRecorder({ bucketsMs: [5, 50, 500] });
    for (const ms of [1, 20, 40, 400, 4000]) latency.record('writer', ms);
    const samples = collectMetrics({}, { latency });
    assert.equal(samples.length, 1);
    const h = samples[0] as HistogramMetricSample;
    assert.deepEqual(
      { name: h.name, type: h.type, labels: h.labels, buckets: h.buckets, cumulativeCounts: h.cumulativeCounts, count: h.count, sum: h.sum },
      {
        name: 'sluice_processing_latency_seconds',
        type: 'histogram',
        labels: { component: 'writer' },
        buckets: [0.005, 0.05, 0.5],
        cumulativeCounts: [1, 3, 4],
        count: 5,
        sum: 4.461,
      },
    );
  });
});
