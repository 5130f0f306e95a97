import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { Channel } from '../../core/channel/index.js';
import { Credits } from '../../core/credits/index.js';
import { ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { LatencyRecorder, sluiceMetricFamilies } from '../../core/metrics/index.js';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';
import { registerSluiceMetrics } from './index.js';

/** Real components driven into interesting states, on one virtual clock. */
async function drivenComponents() {
  const clock = new VirtualClock();

  // Blocking channel: one drop each for timeout, abort and close; 150 ms blocked in all.
  const orders = new Channel<number>({ capacity: 2, highWatermark: 1, lowWatermark: 0.5, maxBlockMs: 100, clock });
  orders.trySend(1);
  orders.trySend(2);
  const timedOut = orders.send(3);
  clock.advance(100);
  await timedOut;
  const controller = new AbortController();
  const aborted = orders.send(4, { signal: controller.signal }).catch(() => 'aborted');
  clock.advance(50);
  controller.abort();
  await aborted;
  orders.tryReceive();
  orders.close();
  assert.throws(() => orders.trySend(5));

  // Lossy channel: capacity 1, three offers, two evicted.
  const events = new Channel<number>({ capacity: 1, overflow: 'drop-oldest', clock });
  for (const n of [1, 2, 3]) events.trySend(n);

  // Credits: the producer starves for 250 ms.
  const upstream = new Credits({ initial: 0, max: 10, clock });
  const starving = upstream.acquire(1);
  clock.advance(250);
  upstream.grant(1);
  await starving;

  // Limiter: two permits out of three, one refused try, one success.
  const db = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 2, clock });
  const first = await db.acquire();
  await db.acquire();
  assert.equal(db.tryAcquire(), undefined);
  first.success();

  // Token bucket: burst 2, the third try refused.
  const api = new TokenBucket({ ratePerSecond: 10, burst: 2, clock });
  for (let i = 0; i < 3; i++) api.tryAcquire();

  await flushMicrotasks();
  return { clock, components: { orders, events, upstream, db, api } };
}

async function scrape(registry: Registry<any>): Promise<string[]> {
  return (await registry.metrics()).split('\n');
}

function assertLines(text: string[], expected: string[]): void {
  const missing = expected.filter((line) => !text.includes(line));
  assert.deepEqual(missing, [], `missing from the exposition:\n${missing.join('\n')}\n--- got ---\n${text.join('\n')}`);
}

describe('registerSluiceMetrics', () => {
  it('registerSluiceMetrics() - exposes a Channel: size, utilization, state, drops by reason, backpressure, blocked seconds', async () => {
    const { components } = await drivenComponents();
    const registry = new Registry();
    registerSluiceMetrics(registry, components);
    assertLines(await scrape(registry), [
      '# HELP sluice_buffer_size Items buffered now',
      '# TYPE sluice_buffer_size gauge',
      'sluice_buffer_size{component="orders"} 1',
      'sluice_buffer_size{component="events"} 1',
      'sluice_buffer_utilization_ratio{component="orders"} 0.5',
      'sluice_buffer_utilization_ratio{component="events"} 1',
      'sluice_pressured{component="orders"} 0',
      'sluice_pressured{component="events"} 1',
      'sluice_state{component="orders",state="draining"} 1',
      'sluice_state{component="orders",state="blocked"} 0',
      'sluice_state{component="events",state="blocked"} 1',
      '# TYPE sluice_dropped_total counter',
      'sluice_dropped_total{component="orders",reason="timeout"} 1',
      'sluice_dropped_total{component="orders",reason="aborted"} 1',
      'sluice_dropped_total{component="orders",reason="closed"} 1',
      'sluice_dropped_total{component="orders",reason="drop-oldest"} 0',
      'sluice_dropped_total{component="events",reason="drop-oldest"} 2',
      'sluice_offered_total{component="orders"} 5',
      'sluice_delivered_total{component="orders"} 1',
      'sluice_backpressure_events_total{component="orders"} 1',
      'sluice_backpressure_events_total{component="events"} 1',
      '# TYPE sluice_blocked_seconds_total counter',
      'sluice_blocked_seconds_total{component="orders"} 0.15',
    ]);
  });

  it('registerSluiceMetrics() - exposes Credits starving: credits available and starvation count and seconds', async () => {
    const { components } = await drivenComponents();
    const registry = new Registry();
    registerSluiceMetrics(registry, components);
    assertLines(await scrape(registry), [
      '# TYPE sluice_credits_available gauge',
      'sluice_credits_available{component="upstream"} 0',
      '# TYPE sluice_credit_starvation_total counter',
      'sluice_credit_starvation_total{component="upstream"} 1',
      'sluice_credit_starvation_seconds_total{component="upstream"} 0.25',
      'sluice_acquired_total{component="upstream"} 1',
    ]);
  });

  it('registerSluiceMetrics() - exposes a ConcurrencyLimiter and a TokenBucket: limit, in-flight, outcomes, tokens, rejections', async () => {
    const { components } = await drivenComponents();
    const registry = new Registry();
    registerSluiceMetrics(registry, components);
    assertLines(await scrape(registry), [
      'sluice_concurrency_limit{component="db"} 2',
      'sluice_inflight{component="db"} 1',
      'sluice_waiting{component="db"} 0',
      'sluice_completed_total{component="db",outcome="success"} 1',
      'sluice_completed_total{component="db",outcome="dropped"} 0',
      'sluice_rejected_total{component="db"} 1',
      'sluice_acquired_total{component="db"} 2',
      'sluice_tokens_available{component="api"} 0',
      'sluice_rate_limit_per_second{component="api"} 10',
      'sluice_acquired_total{component="api"} 2',
      'sluice_rejected_total{component="api"} 1',
      'sluice_stat{component="api",stat="burst"} 2',
    ]);
  });

  it('registerSluiceMetrics() - every family has HELP and TYPE; every name and label is valid; counters end in _total', async () => {
    const { components } = await drivenComponents();
    const latency = new LatencyRecorder();
    latency.record('orders', 12);
    const registry = new Registry();
    registerSluiceMetrics(registry, components, { latency });
    const text = await scrape(registry);
    const types = new Map<string, string>();
    for (const line of text) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
    }
    for (const family of sluiceMetricFamilies) {
      const name = `sluice_${family.name}`;
      assert.ok(text.some((l) => l.startsWith(`# HELP ${name} `)), `no HELP for ${name}`);
      assert.equal(types.get(name), family.type, `TYPE of ${name}`);
    }
    const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/;
    let samples = 0;
    for (const line of text) {
      if (line === '' || line.startsWith('#')) continue;
      const m = sampleLine.exec(line);
      assert.ok(m, `not a valid sample line: ${line}`);
      const name = m[1]!;
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(family), `sample ${name} has no TYPE`);
      if (types.get(family) === 'counter') assert.match(name, /_total$/);
      samples++;
    }
    assert.ok(samples > 50, `only ${samples} samples`);
  });

  it('registerSluiceMetrics() - reads values at scrape time, calling each stats() once per scrape', async () => {
    const channel = new Channel<number>({ capacity: 10 });
    let calls = 0;
    const counted = { stats: () => (calls++, channel.stats()) };
    const registry = new Registry();
    registerSluiceMetrics(registry, { jobs: counted });
    assertLines(await scrape(registry), ['sluice_buffer_size{component="jobs"} 0']);
    assert.equal(calls, 1);
    channel.trySend(1);
    channel.trySend(2);
    assertLines(await scrape(registry), ['sluice_buffer_size{component="jobs"} 2', 'sluice_offered_total{component="jobs"} 2']);
    assert.equal(calls, 2);
  });

  it('registerSluiceMetrics() - exposes the processing-latency histogram in seconds', async () => {
    const latency = new LatencyRecorder({ bucketsMs: [10, 100, 1000] });
    for (const ms of [5, 50, 60, 5000]) latency.record('writer', ms);
    const registry = new Registry();
    registerSluiceMetrics(registry, {}, { latency });
    const text = await scrape(registry);
    assertLines(text, [
      '# HELP sluice_processing_latency_seconds Processing time recorded with a LatencyRecorder',
      '# TYPE sluice_processing_latency_seconds histogram',
      'sluice_processing_latency_seconds_bucket{component="writer",le="0.01"} 1',
      'sluice_processing_latency_seconds_bucket{component="writer",le="0.1"} 3',
      'sluice_processing_latency_seconds_bucket{component="writer",le="1"} 3',
      'sluice_processing_latency_seconds_bucket{component="writer",le="+Inf"} 4',
      'sluice_processing_latency_seconds_sum{component="writer"} 5.115',
      'sluice_processing_latency_seconds_count{component="writer"} 4',
    ]);
  });

  it('unregister() - removes exactly the Sluice metrics, keeps the others, and is idempotent', async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'app_requests_total', help: 'Requests', registers: [registry] });
    mine.inc(3);
    const unregister = registerSluiceMetrics(registry, { jobs: new Channel<number>({ capacity: 1 }) });
    unregister();
    unregister();
    assert.deepEqual((await scrape(registry)).filter((l) => l !== ''), ['# HELP app_requests_total Requests', '# TYPE app_requests_total counter', 'app_requests_total 3']);
    registerSluiceMetrics(registry, { jobs: new Channel<number>({ capacity: 1 }) }); // the names are free again
  });

  it('registerSluiceMetrics() - a name already taken throws InvalidArgumentError and registers nothing; another prefix works', async () => {
    const registry = new Registry();
    new Counter({ name: 'sluice_dropped_total', help: 'someone else', registers: [registry] });
    assert.throws(
      () => registerSluiceMetrics(registry, { jobs: new Channel<number>({ capacity: 1 }) }),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('sluice_dropped_total'),
    );
    assert.equal(registry.getSingleMetric('sluice_buffer_size'), undefined);
    registerSluiceMetrics(registry, { jobs: new Channel<number>({ capacity: 1 }) }, { prefix: 'queue_' });
    assertLines(await scrape(registry), ['queue_buffer_capacity{component="jobs"} 1']);
  });

  it('registerSluiceMetrics() - works on an OpenMetrics registry (counter family without _total, samples with it)', async () => {
    const registry = new Registry<any>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const events = new Channel<number>({ capacity: 1, overflow: 'drop-newest' });
    events.trySend(1);
    events.trySend(2);
    const unregister = registerSluiceMetrics(registry, { events });
    const text = await scrape(registry);
    assertLines(text, [
      '# TYPE sluice_dropped counter',
      'sluice_dropped_total{component="events",reason="drop-newest"} 1',
      '# TYPE sluice_buffer_size gauge',
      'sluice_buffer_size{component="events"} 1',
      '# EOF',
    ]);
    unregister();
    assert.equal(registry.getMetricsAsArray().length, 0);
  });

  it('registerSluiceMetrics() - cluster workers aggregate: counters summed, ratios averaged', async () => {
    const workers = await Promise.all(
      [1, 3].map(async (n) => {
        const channel = new Channel<number>({ capacity: 4 });
        for (let i = 0; i < n; i++) channel.trySend(i);
        const registry = new Registry();
        registerSluiceMetrics(registry, { jobs: channel });
        return registry.getMetricsAsJSON();
      }),
    );
    const merged = AggregatorRegistry.aggregate(workers as never);
    assertLines(await scrape(merged), ['sluice_offered_total{component="jobs"} 4', 'sluice_buffer_utilization_ratio{component="jobs"} 0.5']);
  });

  it('registerSluiceMetrics() - cluster workers aggregate: a broker lag every worker polls is the max, a time to full the soonest', async () => {
    const workers = await Promise.all(
      [[120, 3000], [100, 9000]].map(async ([lag, timeToFullMs]) => {
        const registry = new Registry();
        registerSluiceMetrics(registry, {
          orders: { stats: () => ({ undelivered: lag!, pending: 0, backlog: lag!, polls: 1, pollErrors: 0, stale: false }) },
          jobs: { stats: () => ({ size: 10, capacity: 100, utilization: 0.1, fillRatePerSec: 5, timeToFullMs: timeToFullMs! }) },
        });
        return registry.getMetricsAsJSON();
      }),
    );
    const merged = AggregatorRegistry.aggregate(workers as never);
    const text = await scrape(merged);
    assertLines(text, [
      'sluice_lag{component="orders",kind="undelivered"} 120',
      'sluice_buffer_time_to_full_seconds{component="jobs"} 3',
      'sluice_buffer_fill_rate_per_second{component="jobs"} 10',
    ]);
  });

  it('registerSluiceMetrics() - a stats() that throws fails the scrape with that error', async () => {
    const registry = new Registry();
    registerSluiceMetrics(registry, { broken: { stats: () => { throw new Error('stats broke'); } } });
    await assert.rejects(registry.metrics(), /stats broke/);
  });

  it('registerSluiceMetrics() - rejects a non-registry and bad components with InvalidArgumentError, bad options naming the field', () => {
    const registry = new Registry();
    assert.throws(() => registerSluiceMetrics({} as never, {}), InvalidArgumentError);
    assert.throws(() => registerSluiceMetrics(registry, { jobs: {} } as never), InvalidArgumentError);
    for (const [options, field] of [[{ prefix: '1x' }, 'prefix'], [{ latency: 'yes' }, 'latency']] as const) {
      assert.throws(
        () => registerSluiceMetrics(registry, {}, options as never),
        (e: unknown) => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.message.includes(`"${field}"`),
      );
    }
    assert.equal(registry.getMetricsAsArray().length, 0);
  });

  it('registerSluiceMetrics() - serves /metrics over node:http on 127.0.0.1, scraped with fetch', async () => {
    const { components } = await drivenComponents();
    const registry = new Registry();
    registerSluiceMetrics(registry, components);
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assertLines((await response.text()).split('\n'), [
        'sluice_dropped_total{component="orders",reason="timeout"} 1',
        'sluice_credit_starvation_total{component="upstream"} 1',
        'sluice_inflight{component="db"} 1',
        'sluice_tokens_available{component="api"} 0',
      ]);
    } finally {
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    }
  });
});
