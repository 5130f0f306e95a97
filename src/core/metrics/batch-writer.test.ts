import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter } from '../batch-writer/index.js';
import { VirtualClock } from '../testing/index.js';
import { collectMetrics, LatencyRecorder, type HistogramMetricSample, type MetricSample } from './index.js';

function line(samples: readonly MetricSample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.find(
    (s) => s.name === name && s.type !== 'histogram' && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found && found.type !== 'histogram' ? found.value : undefined;
}

describe('collectMetrics with a BatchWriter', () => {
  it('collectMetrics() - maps a real BatchWriter, with its sink timed by a LatencyRecorder as docs/metrics.md shows', async () => {
    const clock = new VirtualClock();
    const latency = new LatencyRecorder({ bucketsMs: [10, 50, 100] });
    const writes = latency.histogram('writer');
    const writer = new BatchWriter<number>({
      batchSize: 2,
      capacity: 10,
      clock,
      flush: async () => {
        const startedAt = clock.now();
        await new Promise<void>((resolve) => clock.schedule(30, resolve));
        writes.record(clock.now() - startedAt);
      },
    });
    writer.tryWrite(1);
    writer.tryWrite(2); // fills the batch: the flush starts at once
    writer.tryWrite(3);
    await clock.advanceAsync(30);

    const samples = collectMetrics({ writer }, { latency });
    const c = { component: 'writer' };
    assert.equal(line(samples, 'sluice_offered_total', c), 3);
    assert.equal(line(samples, 'sluice_delivered_total', c), 2);
    assert.equal(line(samples, 'sluice_buffer_size', c), 1);
    assert.equal(line(samples, 'sluice_buffer_capacity', c), 10);
    assert.equal(line(samples, 'sluice_buffer_utilization_ratio', c), 0.1);
    assert.equal(line(samples, 'sluice_inflight', c), 0);
    assert.equal(line(samples, 'sluice_batches_total', c), 1);
    assert.equal(line(samples, 'sluice_failed_batches_total', c), 0);
    assert.equal(line(samples, 'sluice_last_flush_latency_seconds', c), 0.03);
    assert.equal(line(samples, 'sluice_state', { ...c, state: 'normal' }), 1);
    assert.equal(line(samples, 'sluice_breaker_state', { ...c, state: 'closed' }), 1);
    assert.equal(line(samples, 'sluice_breaker_opens_total', c), 0);
    assert.equal(line(samples, 'sluice_dropped_total', { ...c, reason: 'flush-failed' }), 0);
    assert.equal(line(samples, 'sluice_stat', { ...c, stat: 'breaker.consecutiveFailures' }), 0);
    const histogram = samples.find((s) => s.type === 'histogram') as HistogramMetricSample;
    assert.deepEqual([histogram.labels, histogram.cumulativeCounts, histogram.count, histogram.sum], [c, [0, 1, 1], 1, 0.03]);
    writer.close(); // the last item flushes at once, taking 30 ms
    const drained = writer.drained();
    await clock.advanceAsync(30);
    await drained;
  });
});
