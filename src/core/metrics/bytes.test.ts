import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { BatchWriter } from '../batch-writer/index.js';
import { collectMetrics, type MetricSample } from './index.js';

function value(samples: readonly MetricSample[], name: string, component: string): number | undefined {
  const s = samples.find((x) => x.name === name && x.labels.component === component);
  return s === undefined || s.type === 'histogram' ? undefined : s.value;
}

describe('collectMetrics: byte budgets', () => {
  it('collectMetrics() - maps a Channel with maxBytes: buffer bytes, the budget and the byte counters; none without maxBytes', async () => {
    const logs = new Channel<string>({ capacity: 10, maxBytes: 8, overflow: 'drop-newest' });
    logs.trySend('abc');
    logs.trySend('de');
    logs.trySend('fghij'); // 5 + 5 > 8: dropped
    logs.tryReceive();
    const plain = new Channel<string>({ capacity: 10 });
    const samples = await collectMetrics({ logs, plain });
    assert.equal(value(samples, 'sluice_buffer_bytes', 'logs'), 2);
    assert.equal(value(samples, 'sluice_buffer_max_bytes', 'logs'), 8);
    assert.equal(value(samples, 'sluice_offered_bytes_total', 'logs'), 10);
    assert.equal(value(samples, 'sluice_delivered_bytes_total', 'logs'), 3);
    assert.equal(value(samples, 'sluice_dropped_bytes_total', 'logs'), 5);
    assert.equal(samples.some((s) => s.labels.component === 'logs' && s.name === 'sluice_stat'), false, 'no byte field falls through to sluice_stat');
    for (const name of ['sluice_buffer_bytes', 'sluice_buffer_max_bytes', 'sluice_offered_bytes_total']) {
      assert.equal(value(samples, name, 'plain'), undefined, name);
    }
  });

  it('collectMetrics() - maps a BatchWriter with maxBytes: buffer bytes, the budget and the byte counters (written as offered, flushed as delivered)', async () => {
    const writer = new BatchWriter<string>({ flush: async () => {}, capacity: 10, batchSize: 2, maxBytes: 100 });
    writer.tryWrite('ab');
    writer.tryWrite('cde'); // a full batch: flushed
    await Promise.resolve();
    writer.tryWrite('hello');
    assert.equal(await writer.write('x'.repeat(101)), false); // too-large
    const samples = await collectMetrics({ writer });
    assert.equal(value(samples, 'sluice_buffer_bytes', 'writer'), 5);
    assert.equal(value(samples, 'sluice_buffer_max_bytes', 'writer'), 100);
    assert.equal(value(samples, 'sluice_offered_bytes_total', 'writer'), 111);
    assert.equal(value(samples, 'sluice_delivered_bytes_total', 'writer'), 5);
    assert.equal(value(samples, 'sluice_dropped_bytes_total', 'writer'), 101);
    assert.equal(samples.some((s) => s.labels.component === 'writer' && s.name === 'sluice_stat' && /bytes/i.test(s.labels.stat ?? '')), false, 'no byte field falls through to sluice_stat');
    writer.close();
    await writer.drained();
  });
});
