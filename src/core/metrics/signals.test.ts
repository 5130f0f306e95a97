import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TokenBucket } from '../token-bucket/index.js';
import { governor, trend } from '../pressure/index.js';
import { readiness } from '../../adapters/http/index.js';
import { registerSluiceMetrics } from '../../adapters/prometheus/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { collectMetrics, type MetricSample } from './index.js';
import { fakeLagSources } from './lag-fakes.test-helpers.js';

/** `name{label values} value` for every scalar sample of one component. */
function lines(samples: readonly MetricSample[], component: string): string[] {
  return samples
    .filter((s) => s.type !== 'histogram' && s.labels.component === component)
    .map((s) => `${s.name}{${Object.values(s.labels).slice(1).join(',')}} ${s.type === 'histogram' ? '' : s.value}`);
}

describe('metrics of the system-wide signals (#12)', () => {
  it('collectMetrics() - the lag sources: sluice_lag by kind (undelivered, unacked), consumers, stale; polls and pollErrors are counters', async () => {
    const clock = new VirtualClock();
    const { figures, sources, close } = fakeLagSources(clock, { threshold: 100 });
    await flushMicrotasks(); // the first poll, at creation
    Object.assign(figures, { undelivered: 70, pending: 30, ready: 40, consumers: 3, numPending: 20, numAckPending: 5 });
    clock.advance(1000);
    await flushMicrotasks();
    const samples = collectMetrics(sources);
    assert.deepEqual(lines(samples, 'redisLag'), [
      'sluice_pressure{} 1',
      'sluice_lag{undelivered} 70',
      'sluice_lag{unacked} 30',
      'sluice_stale{} 0',
      'sluice_events_total{polls} 2',
      'sluice_events_total{pollErrors} 0',
      'sluice_stat{threshold} 100',
      'sluice_stat{closed} 0',
    ]);
    assert.deepEqual(lines(samples, 'amqpLag').slice(0, 4), ['sluice_pressure{} 0.4', 'sluice_lag{undelivered} 40', 'sluice_consumers{} 3', 'sluice_stale{} 0']);
    assert.deepEqual(lines(samples, 'natsLag').slice(0, 4), ['sluice_pressure{} 0.25', 'sluice_lag{undelivered} 20', 'sluice_lag{unacked} 5', 'sluice_stale{} 0']);
    close();
  });

  it('collectMetrics() - a failing lag source: stale 1, pollErrors counted, the kept reading exported, lastError (with its numbers) not', async () => {
    const clock = new VirtualClock();
    const { figures, sources, close } = fakeLagSources(clock, { threshold: 100, intervalMs: 1000 });
    await flushMicrotasks();
    figures.undelivered = 50;
    clock.advance(1000);
    await flushMicrotasks();
    figures.fail = 'connection reset';
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await flushMicrotasks();
    }
    assert.equal(sources.redisLag.stats().lastError?.message, 'connection reset');
    const redis = lines(collectMetrics({ redisLag: sources.redisLag }), 'redisLag');
    assert.ok(redis.includes('sluice_stale{} 1'), redis.join('\n'));
    assert.ok(redis.includes('sluice_lag{undelivered} 50'), 'the last good reading is kept');
    assert.ok(redis.includes('sluice_events_total{pollErrors} 4'));
    assert.ok(!redis.some((l) => /lastError|errno|backlog|lastPollAt/.test(l)), redis.join('\n'));
    close();
  });

  it('collectMetrics() - a trend: slope per second, time to threshold in seconds, the prediction, the current reading as sluice_pressure', () => {
    const clock = new VirtualClock();
    // A ramp of 0.1 per second from 0.2: reaches 1 eight seconds after t = 0.
    const t = trend(() => 0.2 + clock.now() / 10_000, { windowMs: 2000, sampleEveryMs: 100, horizonMs: 1000, clock });
    clock.advance(3000);
    const got = lines(collectMetrics({ t }), 't');
    const value = (name: string) => Number(got.find((l) => l.startsWith(`${name}{`))!.split(' ')[1]);
    assert.ok(Math.abs(value('sluice_pressure') - 0.5) < 1e-9);
    assert.ok(Math.abs(value('sluice_pressure_slope_per_second') - 0.1) < 1e-9);
    assert.ok(Math.abs(value('sluice_time_to_threshold_seconds') - 5) < 1e-6);
    assert.ok(Math.abs(value('sluice_pressure_predicted') - 0.6) < 1e-9);
    assert.ok(got.includes('sluice_events_total{samples} 31'));
    assert.ok(!got.some((l) => l.startsWith('sluice_duration_seconds')), 'timeToThresholdMs has its own family');
    t.close();
  });

  it('registerSluiceMetrics() - a flat trend prints time to threshold +Inf', async () => {
    const clock = new VirtualClock();
    const t = trend(() => 0.3, { windowMs: 1000, sampleEveryMs: 100, clock });
    clock.advance(2000);
    const registry = new Registry();
    registerSluiceMetrics(registry, { t });
    const text = await registry.metrics();
    assert.match(text, /^sluice_time_to_threshold_seconds\{component="t"\} \+Inf$/m);
    assert.match(text, /^sluice_pressure_slope_per_second\{component="t"\} 0$/m);
    t.close();
  });

  it('collectMetrics() - a governor: the rate it set as sluice_rate_limit_per_second, the throttle factor and the rate it heads for; its counts as events', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 400, burst: 10, clock });
    const g = governor({ pressure: () => 3, target: bucket, minRate: 10, maxRate: 400, intervalMs: 100, clock });
    clock.advance(100);
    const got = lines(collectMetrics({ g }), 'g');
    const s = g.stats();
    assert.deepEqual(got, [
      'sluice_rate_limit_per_second{} 100',
      'sluice_pressure{} 3',
      'sluice_throttle_factor{} 0.25',
      'sluice_desired_rate_per_second{} 100',
      `sluice_events_total{adjustments} ${s.adjustments}`,
      `sluice_events_total{decreases} ${s.decreases}`,
      `sluice_events_total{increases} ${s.increases}`,
      `sluice_events_total{ticks} ${s.ticks}`,
      'sluice_events_total{errors} 0',
      'sluice_stat{closed} 0',
    ]);
    assert.equal(bucket.ratePerSecond, 100, 'the governor set the bucket to 400 × 0.25');
    g.close();
  });

  it('collectMetrics() - readiness: a ready / not-ready state set from the first scrape, transitions and held as counters, the reading as sluice_pressure', () => {
    const clock = new VirtualClock();
    let reading = 0.5;
    const ready = readiness({ pressure: () => reading, threshold: 1, resumeBelow: 0.8, clock });
    ready.check();
    let got = lines(collectMetrics({ ready }), 'ready');
    assert.deepEqual(got.slice(0, 3), ['sluice_state{ready} 1', 'sluice_state{not-ready} 0', 'sluice_pressure{} 0.5']);
    reading = 2;
    ready.check();
    got = lines(collectMetrics({ ready }), 'ready');
    assert.deepEqual(got.slice(0, 3), ['sluice_state{ready} 0', 'sluice_state{not-ready} 1', 'sluice_pressure{} 2']);
    assert.ok(got.includes('sluice_events_total{transitions} 1'));
    assert.ok(got.includes('sluice_events_total{held} 0'));
    assert.ok(got.includes('sluice_events_total{checks} 2'));
    assert.ok(!got.some((l) => l.startsWith('sluice_stat{transitions') || l.startsWith('sluice_stat{held')));
  });
});
