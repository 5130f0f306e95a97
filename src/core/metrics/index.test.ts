import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Channel } from '../channel/index.js';
import { Credits } from '../credits/index.js';
import { ConcurrencyLimiter } from '../concurrency-limiter/index.js';
import { TokenBucket } from '../token-bucket/index.js';
import { CircuitBreaker } from '../circuit-breaker/index.js';
import { PriorityChannel } from '../priority-channel/index.js';
import { CongestionWindow } from '../congestion-window/index.js';
import { AdaptiveRate } from '../adaptive-rate/index.js';
import { pressureLevels } from '../pressure/index.js';
import { loadShed } from '../../adapters/http/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';
import { collectMetrics, MetricsCollector, sluiceMetricFamilies, type MetricSample } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

/** `name{k="v",...} value` for every scalar sample, to compare whole sets at once. */
function lines(samples: readonly MetricSample[], component?: string): string[] {
  return samples
    .filter((s) => s.type !== 'histogram' && (component === undefined || s.labels.component === component))
    .map((s) => {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',');
      return `${s.name}{${labels}} ${s.type === 'histogram' ? '' : s.value}`;
    });
}

describe('collectMetrics', () => {
  it('collectMetrics() - maps a Channel: buffer, state set, drops by reason, backpressure, blocked seconds', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 2, highWatermark: 1, lowWatermark: 0.5, maxBlockMs: 100, clock });
    channel.trySend(1);
    channel.trySend(2); // full: pressured, state 'blocked'
    const timedOut = channel.send(3); // waits 100 ms, then dropped 'timeout'
    clock.advance(100);
    assert.equal(await timedOut, false);
    const controller = new AbortController();
    const aborted = channel.send(4, { signal: controller.signal });
    clock.advance(50);
    controller.abort(new Error('gave up'));
    await assert.rejects(aborted, /gave up/);
    assert.equal(channel.tryReceive(), 1);
    channel.close();
    assert.throws(() => channel.trySend(5), { code: 'ERR_SLUICE_CLOSED' });
    await flushMicrotasks();

    assert.deepEqual(lines(collectMetrics({ orders: channel })), [
      'sluice_buffer_size{component="orders"} 1',
      'sluice_buffer_capacity{component="orders"} 2',
      'sluice_buffer_utilization_ratio{component="orders"} 0.5',
      'sluice_buffer_fill_rate_per_second{component="orders"} 0',
      'sluice_buffer_time_to_full_seconds{component="orders"} Infinity',
      'sluice_pressured{component="orders"} 0',
      'sluice_state{component="orders",state="normal"} 0',
      'sluice_state{component="orders",state="elevated"} 0',
      'sluice_state{component="orders",state="critical"} 0',
      'sluice_state{component="orders",state="blocked"} 0',
      'sluice_state{component="orders",state="draining"} 1',
      'sluice_state{component="orders",state="closed"} 0',
      'sluice_waiting{component="orders"} 0',
      'sluice_offered_total{component="orders"} 5',
      'sluice_accepted_total{component="orders"} 2',
      'sluice_delivered_total{component="orders"} 1',
      'sluice_dropped_total{component="orders",reason="drop-newest"} 0',
      'sluice_dropped_total{component="orders",reason="drop-oldest"} 0',
      'sluice_dropped_total{component="orders",reason="sample"} 0',
      'sluice_dropped_total{component="orders",reason="rejected"} 0',
      'sluice_dropped_total{component="orders",reason="timeout"} 1',
      'sluice_dropped_total{component="orders",reason="aborted"} 1',
      'sluice_dropped_total{component="orders",reason="closed"} 1',
      'sluice_dropped_total{component="orders",reason="spill-failed"} 0',
      'sluice_dropped_total{component="orders",reason="too-large"} 0',
      'sluice_backpressure_events_total{component="orders"} 1',
      'sluice_blocked_seconds_total{component="orders"} 0.15',
      'sluice_longest_blocked_seconds{component="orders"} 0',
      'sluice_events_total{component="orders",event="adjustments"} 0',
    ]);
  });

  it('collectMetrics() - maps Credits: available, starvation count and seconds, acquired; other counts go to events_total', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, max: 10, clock });
    const waiting = credits.acquire(2);
    clock.advance(250);
    credits.grant(3);
    await waiting;
    assert.equal(credits.tryAcquire(5), false);

    assert.deepEqual(lines(collectMetrics({ upstream: credits })), [
      'sluice_waiting{component="upstream"} 0',
      'sluice_credits_available{component="upstream"} 1',
      'sluice_credit_starvation_total{component="upstream"} 1',
      'sluice_credit_starvation_seconds_total{component="upstream"} 0.25',
      'sluice_acquired_total{component="upstream"} 2',
      'sluice_rejected_total{component="upstream"} 1',
      'sluice_longest_blocked_seconds{component="upstream"} 0',
      'sluice_events_total{component="upstream",event="granted"} 3',
      'sluice_events_total{component="upstream",event="discarded"} 0',
      'sluice_stat{component="upstream",stat="max"} 10',
      'sluice_stat{component="upstream",stat="low"} 0',
    ]);
  });

  it('collectMetrics() - maps a CircuitBreaker: a breaker state set, opens, rejections, and its call counts as events', async () => {
    const clock = new VirtualClock();
    const breaker = new CircuitBreaker({ windowSize: 4, minimumCalls: 4, failureRateThreshold: 0.5, resetAfterMs: 1000, clock });
    for (let i = 0; i < 4; i++) await breaker.run(() => Promise.reject(new Error('down'))).catch(() => {});
    await breaker.run(() => Promise.resolve(1)).catch(() => {}); // refused: open
    const all = lines(collectMetrics({ db: breaker }));
    for (const line of [
      'sluice_breaker_state{component="db",state="closed"} 0',
      'sluice_breaker_state{component="db",state="open"} 1',
      'sluice_breaker_state{component="db",state="half-open"} 0',
      'sluice_breaker_opens_total{component="db"} 1',
      'sluice_rejected_total{component="db"} 1',
      'sluice_events_total{component="db",event="failures"} 4',
      'sluice_events_total{component="db",event="calls"} 4',
    ]) assert.ok(all.includes(line), `missing ${line} in\n${all.join('\n')}`);
    assert.ok(!all.some((l) => l.startsWith('sluice_state{')), 'a breaker has no component state set');
  });

  it('collectMetrics() - a PriorityChannel reports each level as component <name>.<level>, with its own accounting', () => {
    const ch = new PriorityChannel<number, 'critical' | 'batch'>({ levels: ['critical', 'batch'], capacity: 2, overflow: 'shed-lowest' });
    ch.trySend(1, { priority: 'batch' });
    ch.trySend(2, { priority: 'batch' });
    ch.trySend(3, { priority: 'critical' }); // sheds the oldest batch item
    const all = lines(collectMetrics({ q: ch }));
    for (const line of [
      'sluice_buffer_size{component="q.critical"} 1',
      'sluice_buffer_size{component="q.batch"} 1',
      'sluice_offered_total{component="q.batch"} 2',
      'sluice_offered_total{component="q.critical"} 1',
    ]) assert.ok(all.includes(line), `missing ${line} in\n${all.join('\n')}`);
    assert.ok(all.some((l) => /^sluice_dropped_total\{component="q\.batch",reason="[a-z-]+"\} 1$/.test(l)), all.join('\n'));
  });

  it('collectMetrics() - a partitioned ConcurrencyLimiter reports each partition as component <name>.<partition>', async () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, partitions: { web: 0.5, batch: 0.25 }, clock: new VirtualClock() });
    await limiter.acquire({ partition: 'web' });
    const all = lines(collectMetrics({ db: limiter }));
    assert.ok(all.includes('sluice_inflight{component="db.web"} 1'), all.join('\n'));
    assert.ok(all.includes('sluice_inflight{component="db.batch"} 0'), all.join('\n'));
    assert.ok(all.includes('sluice_inflight{component="db.unpartitioned"} 0'), all.join('\n'));
    assert.ok(!all.some((l) => l.includes('stat="unpartitioned.')), all.join('\n'));
  });

  it('collectMetrics() - maps a ConcurrencyLimiter: limit, inflight, outcomes, rejections', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 3, clock });
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const c = await limiter.acquire();
    assert.equal(limiter.tryAcquire(), undefined);
    a.success();
    b.dropped();
    const samples = collectMetrics({ db: limiter });
    assert.deepEqual(lines(samples).slice(0, 8), [
      'sluice_waiting{component="db"} 0',
      'sluice_inflight{component="db"} 1',
      'sluice_concurrency_limit{component="db"} 3',
      'sluice_acquired_total{component="db"} 3',
      'sluice_rejected_total{component="db"} 1',
      'sluice_completed_total{component="db",outcome="success"} 1',
      'sluice_completed_total{component="db",outcome="dropped"} 1',
      'sluice_completed_total{component="db",outcome="ignored"} 0',
    ]);
    // The rest are the limiter's other numbers, exported raw.
    assert.ok(lines(samples).includes('sluice_stat{component="db",stat="highestLimit"} 3'));
    c.ignore();
  });

  it('collectMetrics() - maps a TokenBucket: tokens available, rate, acquired and rejected', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, clock });
    assert.equal(bucket.tryAcquire(), true);
    assert.equal(bucket.tryAcquire(), true);
    assert.equal(bucket.tryAcquire(), false);
    assert.deepEqual(lines(collectMetrics({ api: bucket })), [
      'sluice_waiting{component="api"} 0',
      'sluice_tokens_available{component="api"} 0',
      'sluice_rate_limit_per_second{component="api"} 10',
      'sluice_blocked_seconds_total{component="api"} 0',
      'sluice_acquired_total{component="api"} 2',
      'sluice_rejected_total{component="api"} 1',
      'sluice_longest_blocked_seconds{component="api"} 0',
      'sluice_events_total{component="api",event="adjustments"} 0',
      'sluice_stat{component="api",stat="burst"} 2',
    ]);
  });

  it('collectMetrics() - maps a CongestionWindow (window as limit, acks and losses as outcomes) and an AdaptiveRate', () => {
    const clock = new VirtualClock();
    const window = new CongestionWindow({ initialWindow: 2, clock });
    window.tryAcquire();
    window.tryAcquire();
    window.onAck();
    window.onLoss();
    const rate = new AdaptiveRate({ targetLatencyMs: 50, minRate: 1, maxRate: 100, initialRate: 20, clock });
    const got = lines(collectMetrics({ link: window, pace: rate }));
    for (const line of [
      'sluice_concurrency_limit{component="link"} 2',
      'sluice_inflight{component="link"} 0',
      'sluice_completed_total{component="link",outcome="success"} 1',
      'sluice_completed_total{component="link",outcome="dropped"} 1',
      'sluice_rate_limit_per_second{component="pace"} 20',
    ]) {
      assert.ok(got.includes(line), `missing ${line} in\n${got.join('\n')}`);
    }
  });

  it('collectMetrics() - maps pressure levels per level and a load shedder (shed as a drop reason)', () => {
    let reading = 0.9;
    const levels = pressureLevels({ app: { threshold: 0.5, source: () => reading }, system: { threshold: 2, source: () => 1 } });
    levels.check();
    const shed = loadShed({ pressure: () => reading, threshold: 0.8 });
    assert.equal(shed.admit(), false);
    reading = 0.1;
    assert.equal(shed.admit(), true);
    const got = lines(collectMetrics({ levels, door: shed }));
    for (const line of [
      'sluice_pressure_level{component="levels",level="app"} 1.8',
      'sluice_pressure_level{component="levels",level="system"} 0.5',
      'sluice_pressured{component="door"} 0',
      'sluice_pressure{component="door"} 0.1',
      'sluice_dropped_total{component="door",reason="shed"} 1',
      'sluice_backpressure_events_total{component="door"} 1',
      'sluice_events_total{component="door",event="served"} 1',
      'sluice_events_total{component="door",event="readErrors"} 0',
    ]) {
      assert.ok(got.includes(line), `missing ${line} in\n${got.join('\n')}`);
    }
  });

  it('collectMetrics() - maps a BatchWriter-shaped component; unclaimed numbers go to stat, strings nowhere', () => {
    const writer = {
      stats: () => ({
        written: 40,
        flushed: 30,
        retried: 2,
        deadLettered: 1,
        buffered: 3,
        inFlight: 5,
        dropped: 2,
        droppedBy: { 'flush-failed': 1, overflow: 1 },
        batches: 4,
        failedBatches: 1,
        lastFlushLatencyMs: 25,
        flushIntervalMs: 200,
        breaker: { state: 'open', consecutiveFailures: 4, opens: 1 },
        paused: true,
        label: 'ignored',
      }),
    };
    assert.deepEqual(lines(collectMetrics({ writer })), [
      'sluice_buffer_size{component="writer"} 3',
      'sluice_inflight{component="writer"} 5',
      'sluice_breaker_state{component="writer",state="closed"} 0',
      'sluice_breaker_state{component="writer",state="open"} 1',
      'sluice_breaker_state{component="writer",state="half-open"} 0',
      'sluice_last_flush_latency_seconds{component="writer"} 0.025',
      'sluice_flush_interval_seconds{component="writer"} 0.2',
      'sluice_offered_total{component="writer"} 40',
      'sluice_delivered_total{component="writer"} 30',
      'sluice_dropped_total{component="writer",reason="flush-failed"} 1',
      'sluice_dropped_total{component="writer",reason="overflow"} 1',
      'sluice_retried_total{component="writer"} 2',
      'sluice_dead_lettered_total{component="writer"} 1',
      'sluice_batches_total{component="writer"} 4',
      'sluice_failed_batches_total{component="writer"} 1',
      'sluice_breaker_opens_total{component="writer"} 1',
      'sluice_stat{component="writer",stat="breaker.consecutiveFailures"} 4',
      'sluice_stat{component="writer",stat="paused"} 1',
    ]);
  });

  it('collectMetrics() - a dropped count without droppedBy gets reason "unspecified"', () => {
    const samples = collectMetrics({ queue: { stats: () => ({ dropped: 7 }) } });
    assert.deepEqual(lines(samples), ['sluice_dropped_total{component="queue",reason="unspecified"} 7']);
  });

  it('collectMetrics() - prefix is put in front of every name; the empty prefix is allowed', () => {
    const channel = new Channel<number>({ capacity: 4 });
    assert.ok(collectMetrics({ c: channel }, { prefix: 'shop_' }).every((s) => s.name.startsWith('shop_')));
    assert.ok(collectMetrics({ c: channel }, { prefix: '' }).some((s) => s.name === 'dropped_total'));
  });

  it('collectMetrics() - reads views (Sender/Receiver) like their Channel', () => {
    const channel = new Channel<number>({ capacity: 4 });
    channel.trySend(1);
    assert.deepEqual(lines(collectMetrics({ c: channel.sender })), lines(collectMetrics({ c: channel })));
  });

  it('collectMetrics() - rejects bad components with InvalidArgumentError and bad options with the field name', () => {
    assert.throws(() => collectMetrics(null as never), InvalidArgumentError);
    assert.throws(() => collectMetrics({ a: { size: 1 } } as never), (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('"a"'));
    assertInvalidOption(() => collectMetrics({}, { prefix: '9lives' }), 'prefix');
    assertInvalidOption(() => collectMetrics({}, { prefix: 'has space' }), 'prefix');
    assertInvalidOption(() => collectMetrics({}, { latency: {} as never }), 'latency');
  });
});

describe('MetricsCollector', () => {
  it('collect() - a state seen once stays exported at 0 after the component leaves it', () => {
    let state = 'warming';
    const collector = new MetricsCollector({ pool: { stats: () => ({ state }) } });
    assert.deepEqual(lines(collector.collect()), ['sluice_state{component="pool",state="warming"} 1']);
    state = 'ready';
    assert.deepEqual(lines(collector.collect()), [
      'sluice_state{component="pool",state="warming"} 0',
      'sluice_state{component="pool",state="ready"} 1',
    ]);
  });

  it('collect() - reads stats() at each call, once per component', () => {
    let calls = 0;
    const collector = new MetricsCollector({ c: { stats: () => ({ size: ++calls }) } });
    collector.collect();
    const second = collector.collect();
    assert.equal(calls, 2);
    assert.deepEqual(lines(second), ['sluice_buffer_size{component="c"} 2']);
    assert.deepEqual(collector.stats(), { components: 1, collections: 2 });
  });

  it('constructor - copies the components, so later changes to the object are not seen', () => {
    const components: Record<string, { stats(): object }> = { a: { stats: () => ({ size: 1 }) } };
    const collector = new MetricsCollector(components);
    components.b = { stats: () => ({ size: 2 }) };
    assert.deepEqual(lines(collector.collect()), ['sluice_buffer_size{component="a"} 1']);
  });
});

describe('sluiceMetricFamilies', () => {
  const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

  it('sluiceMetricFamilies - names are valid Prometheus names; counters and only counters end in _total; times in seconds', () => {
    for (const family of sluiceMetricFamilies) {
      assert.match(`sluice_${family.name}`, metricName);
      assert.equal(family.name.endsWith('_total'), family.type === 'counter', family.name);
      assert.ok(!/_ms\b|millis/.test(family.name), family.name);
      assert.equal(family.labelNames[0], 'component');
      for (const label of family.labelNames) assert.match(label, labelName);
    }
    assert.equal(new Set(sluiceMetricFamilies.map((f) => f.name)).size, sluiceMetricFamilies.length);
  });

  it('sluiceMetricFamilies - docs/metrics.md documents every family', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    for (const family of sluiceMetricFamilies) assert.ok(doc.includes(`sluice_${family.name}`), `docs/metrics.md lacks sluice_${family.name}`);
  });
});
