import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { Credits } from '../credits/index.js';
import { ConcurrencyLimiter } from '../concurrency-limiter/index.js';
import { TokenBucket } from '../token-bucket/index.js';
import { CongestionWindow } from '../congestion-window/index.js';
import { AdaptiveRate } from '../adaptive-rate/index.js';
import { PollSizer } from '../poll-sizer/index.js';
import { cpuUsage, eventLoopDelay, eventLoopStall, eventLoopUtilization, governor, heapUsed, pressureLevels, rss, trend } from '../pressure/index.js';
import { liveness, loadShed, readiness } from '../../adapters/http/index.js';
import { BatchWriter } from '../batch-writer/index.js';
import { DurableChannel, MemoryStore } from '../durable-channel/index.js';
import { publisherFrom, toAsyncIterable } from '../reactive/index.js';
import { policyRegistry, streamPolicy } from '../stream-policy/index.js';
import { batch, buffer, map, throttle } from '../pipeline/index.js';
import { AlertMonitor } from '../alerts/index.js';
import { dashboardHandler } from '../../tools/dashboard/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { Registry } from 'prom-client';
import { registerSluiceMetrics } from '../../adapters/prometheus/index.js';
import { LatencyRecorder, MetricsCollector, watchComponents, type MetricSample } from './index.js';
import { fakeLagSources } from './lag-fakes.test-helpers.js';

/** One of every core component kind (and view), driven a little so counters move. */
export async function everyComponent(clock: VirtualClock) {
  const channel = new Channel<number>({ capacity: 4, clock });
  channel.trySend(1);
  const durable = new DurableChannel<number>({ store: new MemoryStore(), capacity: 4, clock });
  await durable.send(1);
  const writer = new BatchWriter<number>({ flush: async () => {}, batchSize: 10, clock });
  writer.tryWrite(1);
  const credits = new Credits({ initial: 1, max: 5, clock });
  credits.tryAcquire();
  const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', clock });
  (await limiter.acquire()).success();
  const fixedLimiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 2, clock });
  const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, clock });
  bucket.tryAcquire();
  const window = new CongestionWindow({ initialWindow: 2, clock });
  window.tryAcquire();
  window.onAck();
  const rate = new AdaptiveRate({ targetLatencyMs: 50, minRate: 1, maxRate: 100, initialRate: 20, clock });
  const sizer = new PollSizer({ maxPollRecords: 100 });
  const stall = eventLoopStall({ thresholdMs: 50, clock });
  const delay = eventLoopDelay({ thresholdMs: 50, clock });
  const utilization = eventLoopUtilization({ threshold: 0.9, clock });
  const heap = heapUsed({ thresholdBytes: 1e9, clock });
  const memory = rss({ thresholdBytes: 1e10, clock });
  const levels = pressureLevels({ app: { threshold: 1, source: () => 0.5 } });
  levels.check();
  const shed = loadShed({ pressure: () => 0.5 });
  shed.admit();
  // The system-wide signals (#12): a trend, a governor, the CPU probe, readiness and liveness, the three lag sources.
  const rising = trend(() => clock.now() / 10_000, { windowMs: 1000, sampleEveryMs: 100, horizonMs: 1000, clock });
  const governed = governor({ pressure: () => 2, target: new TokenBucket({ ratePerSecond: 100, burst: 10, clock }), minRate: 1, maxRate: 100, intervalMs: 100, clock });
  const cpu = cpuUsage({ threshold: 0.9, clock });
  const ready = readiness({ pressure: () => 0.5, clock });
  ready.check();
  const alive = liveness();
  alive.check();
  const lag = fakeLagSources(clock);
  Object.assign(lag.figures, { undelivered: 7, pending: 3, ready: 5, consumers: 2, numPending: 4, numAckPending: 1 });
  clock.advance(1000); // a second of trend samples, governor ticks and polls
  const publisher = publisherFrom([1, 2, 3]);
  const iterator = toAsyncIterable(publisherFrom([1, 2, 3]), { prefetch: 4 });
  const policy = streamPolicy({ strategy: 'block', bufferSize: 10 });
  const drained = policy.apply([1, 2, 3]);
  for await (const _ of drained) void _;
  const live = policy.apply([1, 2, 3]);
  await live.next();
  const registry = policyRegistry({ prices: { strategy: 'drop-newest', bufferSize: 5 } });
  const stages = { batch: batch<number>({ size: 2, clock }), buffer: buffer<number>({ capacity: 2, clock }), map: map<number, number>((n) => n), throttle: throttle<number>({ ratePerSecond: 10, clock }) };
  const latency = new LatencyRecorder();
  latency.histogram('writer').record(5);
  const alerts = new AlertMonitor({ components: { channel }, thresholds: { dropRate: 0.5 }, clock, log: false });
  alerts.evaluate();
  const dashboard = dashboardHandler({ channel }, { clock });
  const collector = new MetricsCollector({ channel });
  collector.collect();
  const watcher = watchComponents({ channel }, { gauge() {}, counter() {} }, { clock });
  await flushMicrotasks();
  const components = {
    channel, sender: channel.sender, receiver: channel.receiver, durable, writer, credits, limiter, fixedLimiter, bucket, window, rate, sizer,
    stall, delay, utilization, heap, memory, levels, shed, rising, governed, cpu, ready, alive, ...lag.sources, publisher, iterator, policy, live, registry, ...stages, alerts, dashboard, collector, watcher, latency,
  };
  const close = async () => {
    dashboard.close();
    watcher.stop();
    for (const probe of [stall, delay, utilization, heap, memory, cpu, rising, governed]) probe.close?.();
    lag.close();
    await live.return?.();
    channel.close();
    durable.close();
    writer.close();
  };
  return { components, close };
}

// What may still land in the catch-all `sluice_stat`: levels, settings and
// flags with no family of their own, in the component's own unit. A new
// entry here is a decision: give the field a family instead where one fits.
const allowedInCatchAll = [
  'durable committing', 'durable receiving',
  'writer breaker.consecutiveFailures',
  'credits max', 'credits low',
  'limiter lowestLimit', 'limiter highestLimit', 'fixedLimiter lowestLimit', 'fixedLimiter highestLimit',
  'bucket burst', 'throttle burst',
  'window ssthresh',
  'sizer lastSize',
  'stall value', 'stall closed', 'delay value', 'delay closed', 'utilization value', 'utilization closed', 'heap value', 'heap closed', 'memory value', 'memory closed',
  'shed threshold', 'shed resumeBelow',
  'rising windowSamples', 'rising closed', 'governed closed', 'cpu value', 'cpu closed', 'ready threshold', 'ready resumeBelow', 'ready draining',
  'redisLag threshold', 'redisLag closed', 'amqpLag threshold', 'amqpLag closed', 'natsLag threshold', 'natsLag closed',
  'publisher active',
  'iterator prefetch', 'iterator lowTide',
  'alerts firing', 'alerts running',
  'dashboard clients', 'dashboard closed',
  'collector components',
  'watcher stopped',
  'latency components',
];

describe('metrics catch-all', () => {
  it('collect() - every core component kind registered: the catch-all holds only the allow-list', async () => {
    const clock = new VirtualClock();
    const { components, close } = await everyComponent(clock);
    const samples: MetricSample[] = new MetricsCollector(components).collect();
    const stat = samples.filter((s) => s.name === 'sluice_stat').map((s) => `${s.labels.component} ${s.labels.stat}`);
    assert.deepEqual([...stat].sort(), [...allowedInCatchAll].sort());
    assert.equal(stat.length, 49);
    // Every component reports something outside the catch-all too.
    for (const name of Object.keys(components)) {
      assert.ok(samples.some((s) => s.labels.component?.startsWith(name) && s.name !== 'sluice_stat') || name === 'latency', `${name} has only catch-all samples`);
    }
    await close();
  });

  it('registerSluiceMetrics() - a full registration: counters typed counter, the catch-all only the allow-list', async () => {
    const clock = new VirtualClock();
    const { components, close } = await everyComponent(clock);
    const registry = new Registry();
    registerSluiceMetrics(registry, components, { latency: components.latency });
    const text = await registry.metrics();
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const catchAll = samples.filter((line) => line.startsWith('sluice_stat{'));
    assert.equal(catchAll.length, allowedInCatchAll.length, `${catchAll.length} of ${samples.length} samples in sluice_stat`);
    assert.match(text, /# TYPE sluice_events_total counter/);
    assert.match(text, /# TYPE sluice_longest_blocked_seconds gauge/);
    assert.ok(!/sluice_stat\{[^}]*stat="[^"]*(Ms|At)"/.test(text), 'no milliseconds or timestamps in the catch-all');
    await close();
  });

  it('collect() - counters are counters, times are seconds, process-relative timestamps are left out', () => {
    const source = { stats: () => ({ granted: 3, degradedMs: 1500, averageLatencyMs: 40, averageMsPerItem: 2, lastLimitChangeAt: 123_456, longestBlockedMs: 2500, redis: { timeouts: 2, degradedMs: 500 } }) };
    const lines = new MetricsCollector({ c: source }).collect().map((s) => `${s.name}{${Object.values(s.labels).join(',')}} ${s.type} ${s.type === 'histogram' ? '' : s.value}`);
    assert.deepEqual(lines, [
      'sluice_longest_blocked_seconds{c} gauge 2.5',
      'sluice_events_total{c,granted} counter 3',
      'sluice_events_total{c,redis.timeouts} counter 2',
      'sluice_duration_seconds_total{c,degraded} counter 1.5',
      'sluice_duration_seconds_total{c,redis.degraded} counter 0.5',
      'sluice_duration_seconds{c,averageLatency} gauge 0.04',
      'sluice_duration_seconds{c,averagePerItem} gauge 0.002',
    ]);
  });

  it('collect() - a StreamPolicy, its streams and a policyRegistry map onto the named families', async () => {
    const policy = streamPolicy({ strategy: 'drop-newest', bufferSize: 2 });
    const stream = policy.apply([1, 2, 3, 4, 5]);
    await stream.next();
    const registry = policyRegistry({ prices: { strategy: 'block', bufferSize: 5 } });
    const samples = new MetricsCollector({ policy, registry }).collect();
    const names = (component: string) => [...new Set(samples.filter((s) => s.labels.component === component).map((s) => s.name))];
    assert.deepEqual(names('policy'), [
      'sluice_buffer_size', 'sluice_buffer_capacity', 'sluice_buffer_utilization_ratio', 'sluice_offered_total', 'sluice_delivered_total',
      'sluice_dropped_total', 'sluice_backpressure_events_total', 'sluice_streams_active', 'sluice_streams_total', 'sluice_streams_ended_total',
    ]);
    assert.deepEqual(names('registry.prices'), names('policy'));
    assert.ok(samples.some((s) => s.name === 'sluice_dropped_total' && s.labels.reason === 'overflow'));
    await stream.return?.();
  });
});
