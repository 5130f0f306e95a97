import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DemoSummary, UnboundedSummary } from './index.js';
import { alertText, formatSummary, scenarioLines } from './report.js';

const scenario: DemoSummary['scenario'] = {
  servers: 1000,
  linesPerServerPerSecond: 2,
  baseLinesPerSecond: 2000,
  spikeMultiplier: 100,
  spikeLinesPerSecond: 200_000,
  spikeAtMs: 4000,
  durationMs: 20_000,
  sinkRowsPerSecond: 20_000,
  capacity: 10_000,
  writerCapacity: 5000,
  batchSize: 1000,
  maxHeld: 16_000,
  maxBlockMs: 2000,
};
const latency = (p99: number) => ({ p50: p99 / 2, p90: p99 * 0.9, p99, count: 100 });

function summary(unbounded: Partial<UnboundedSummary> | undefined): DemoSummary {
  return {
    scenario,
    strategy: 'block',
    ranMs: 20_000,
    interrupted: false,
    generated: 3_200_000,
    heldAtSources: 2_870_000,
    offered: 330_000,
    written: 330_000,
    dropped: 0,
    droppedBy: {},
    buffered: 0,
    inFlight: 0,
    bufferedAtStop: 16_000,
    drainMs: 800,
    peakQueued: 16_000,
    peakHeapMb: 60,
    peakRssMb: 600,
    latencyMs: latency(16_000),
    aggregatorLatencyMs: latency(1400),
    alerts: [{ component: 'ingest', rule: 'blocked_time', state: 'firing', atMs: 4700, value: 1900, threshold: 1000, unit: 'ms' }],
    unbounded: unbounded && {
      generated: 3_200_000,
      offered: 880_000,
      written: 300_000,
      queued: 580_000,
      refused: 2_320_000,
      peakQueued: 815_000,
      capped: true,
      cappedAtMs: 9000,
      queuedAtCap: 800_000,
      queuedAtSpike: 0,
      baselineHeapMb: 12,
      heapUsedMb: 260,
      heapAtCapMb: 268,
      peakHeapMb: 270,
      overallLatencyMs: latency(15_000),
      heapCapMb: 256,
      crashed: false,
      growthPerSecond: 160_000,
      bytesPerLine: 330,
      wouldHaveGrownTo: { lines: 2_600_000, mb: 820 },
      minutesToOomAt4GbHeap: 1.3,
      linesLostAtOom: 12_900_000,
      ...unbounded,
    },
    roi: {
      inputs: { messagesPerSecond: 160_000, messageValue: 0.001, infraCostPerHour: 500, dropRateWithoutBp: 0.05, crashRatePerHourWithoutBp: 0.001, dropRateWithBp: 0 },
      dailyBenefit: 1,
      annualBenefit: 365,
      droppedPrevention: 1,
      crashPrevention: 0.024,
      roiPercentage: 1,
    },
    dashboardUrl: undefined,
  };
}

describe('demo report', () => {
  it('formatSummary() - explains why the unbounded p99 can be lower: its refused lines have no latency', () => {
    const text = formatSummary(summary({})).join('\n');
    assert.match(text, /latency covers rows written only: the unbounded queue's 2,320,000 lines refused after its cap and 580,000 never written have none,/);
    assert.doesNotMatch(formatSummary(summary({ refused: 0, queued: 13, capped: false })).join('\n'), /latency covers rows written only/, 'not before the cap');
  });

  it('formatSummary() - counts the peak against the stated bound, in words; no rule names or seed', () => {
    const lines = formatSummary(summary(undefined));
    assert.ok(lines.some((l) => /^ {2}most lines held at once\s+16,000 \(of at most 16,000\)$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => l === '  alerts fired: servers waiting over 1.0 s on the ingest channel at 4.7 s'));
    assert.ok(!lines.some((l) => /seed|blocked_time|ms\/s/.test(l)));
    assert.ok(scenarioLines(scenario, 'block').some((l) => l.endsWith('behind it the writer buffers 5,000 and writes 1,000 at a time: at most 16,000 lines held.')));
  });

  it('formatSummary() - a run stopped before the spike says so instead of projecting', () => {
    const text = formatSummary({ ...summary({ growthPerSecond: 0 }), ranMs: 2500, interrupted: true }).join('\n');
    assert.match(text, /^Summary: 2\.5 s of logs \(stopped early; 20 s planned\), strategy 'block'$/m);
    assert.match(text, /Unbounded: the run ended before the spike, so its queue had no growth to project\./);
  });

  it('alertText() - an alert in words and units a user knows', () => {
    const e = { component: 'ingest', rule: 'blocked_time', state: 'firing', value: 1900, threshold: 1000, unit: 'ms' } as const;
    assert.equal(alertText(e), 'servers waiting for room in the ingest channel, the longest for 1.9 s (alert at 1.0 s)');
    assert.equal(alertText({ ...e, state: 'resolved', value: 20 }), 'servers no longer kept waiting by the ingest channel (longest wait now 20 ms)');
    assert.equal(alertText({ component: 'ingest', rule: 'queue_depth', state: 'firing', value: 1, threshold: 0.9, unit: 'utilization' }), 'ingest channel is 100 % full (alert at 90 %)');
    assert.equal(alertText({ component: 'unbounded', rule: 'queue_depth', state: 'firing', value: 133_000, threshold: 100_000, unit: 'items' }), 'unbounded queue holds 133,000 lines (alert at 100,000)');
    assert.equal(alertText({ component: 'ingest', rule: 'drop_rate', state: 'firing', value: 0.875, threshold: 0.01, unit: 'fraction' }), 'ingest channel drops 87.5 % of lines (alert at 1 %)');
  });
});
