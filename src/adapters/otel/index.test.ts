import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BatchWriter } from '../../core/batch-writer/index.js';
import { Channel } from '../../core/channel/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { sluiceMetricFamilies } from '../../core/metrics/index.js';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';
import { describeSluiceInstruments, registerSluiceInstruments, type OtelMeterLike } from './index.js';

/** A reader whose collect() the test calls (the SDK's MetricReader is abstract only in these two hooks). */
class ManualReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** A Channel, a TokenBucket and a BatchWriter, driven on one virtual clock. */
async function workload() {
  const clock = new VirtualClock();
  const orders = new Channel<number>({ capacity: 4, overflow: 'drop-newest', clock });
  for (let i = 0; i < 6; i++) orders.trySend(i); // 4 buffered, 2 dropped (drop-newest)
  orders.tryReceive();

  const api = new TokenBucket({ ratePerSecond: 10, burst: 2, clock });
  for (let i = 0; i < 3; i++) api.tryAcquire(); // 2 acquired, 1 rejected

  const writer = new BatchWriter<number>({
    batchSize: 2,
    capacity: 10,
    clock,
    flush: () => new Promise<void>((resolve) => clock.schedule(30, resolve)),
  });
  for (const n of [1, 2, 3]) writer.tryWrite(n); // one batch of 2 flushes, 1 left buffered
  await clock.advanceAsync(30);
  await flushMicrotasks();
  return { clock, orders, api, writer };
}

type Point = { attributes: Record<string, unknown>; value: unknown };

function metricsOf(collected: { scopeMetrics: { metrics: MetricData[] }[] }): Map<string, MetricData> {
  return new Map(collected.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
}

function value(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): unknown {
  const metric = metrics.get(name);
  assert.ok(metric, `no metric ${name}; got ${[...metrics.keys()].join(', ')}`);
  const points = metric.dataPoints as Point[];
  const found = points.filter((p) => Object.keys(attributes).every((k) => p.attributes[k] === attributes[k]));
  assert.equal(found.length, 1, `${name} ${JSON.stringify(attributes)}: ${found.length} points of ${JSON.stringify(points.map((p) => p.attributes))}`);
  return found[0]!.value;
}

describe('registerSluiceInstruments', () => {
  it('registerSluiceInstruments() - after a Channel/TokenBucket/BatchWriter workload the in-memory exporter has the names, units, attributes and values of sluice/prometheus', async () => {
    const { orders, api, writer, clock } = await workload();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    registerSluiceInstruments(provider.getMeter('test'), { orders, api, writer });
    await reader.forceFlush();
    const exported = exporter.getMetrics();
    assert.equal(exported.length, 1);
    const metrics = metricsOf(exported[0]!);

    // Names: the Prometheus family names, counters without _total.
    const gauge = metrics.get('sluice_buffer_size')!;
    assert.equal(gauge.dataPointType, DataPointType.GAUGE);
    assert.equal(gauge.descriptor.unit, '{item}');
    assert.equal(gauge.descriptor.description, 'Items buffered now');
    const offered = metrics.get('sluice_offered')!;
    assert.equal(offered.dataPointType, DataPointType.SUM);
    assert.equal((offered as { isMonotonic?: boolean }).isMonotonic, true);
    assert.equal(offered.descriptor.unit, '{item}');
    assert.equal(metrics.has('sluice_offered_total'), false);
    assert.equal(metrics.get('sluice_buffer_utilization_ratio')!.descriptor.unit, '1');
    assert.equal(metrics.get('sluice_last_flush_latency_seconds')!.descriptor.unit, 's');
    assert.equal(metrics.get('sluice_blocked_seconds')!.descriptor.unit, 's');
    assert.equal(metrics.get('sluice_buffer_fill_rate_per_second')!.descriptor.unit, '{item}/s');

    // Channel: 6 offered, 4 accepted, 2 dropped as drop-newest, 1 delivered, 3 buffered of 4.
    const o = { component: 'orders' };
    assert.equal(value(metrics, 'sluice_offered', o), 6);
    assert.equal(value(metrics, 'sluice_accepted', o), 4);
    assert.equal(value(metrics, 'sluice_delivered', o), 1);
    assert.equal(value(metrics, 'sluice_dropped', { ...o, reason: 'drop-newest' }), 2);
    assert.equal(value(metrics, 'sluice_dropped', { ...o, reason: 'timeout' }), 0);
    assert.equal(value(metrics, 'sluice_buffer_size', o), 3);
    assert.equal(value(metrics, 'sluice_buffer_capacity', o), 4);
    assert.equal(value(metrics, 'sluice_buffer_utilization_ratio', o), 0.75);
    assert.equal(value(metrics, 'sluice_state', { ...o, state: 'elevated' }), 1);
    assert.equal(value(metrics, 'sluice_state', { ...o, state: 'normal' }), 0);
    assert.equal(value(metrics, 'sluice_buffer_time_to_full_seconds', o), Infinity);

    // TokenBucket: burst 2, the third try refused.
    const a = { component: 'api' };
    assert.equal(value(metrics, 'sluice_acquired', a), 2);
    assert.equal(value(metrics, 'sluice_rejected', a), 1);
    assert.equal(value(metrics, 'sluice_tokens_available', a), 0.3); // refilled for 30 ms at 10/s
    assert.equal(value(metrics, 'sluice_rate_limit_per_second', a), 10);

    // BatchWriter: 3 written, one batch of 2 confirmed after 30 ms, 1 buffered.
    const w = { component: 'writer' };
    assert.equal(value(metrics, 'sluice_offered', w), 3);
    assert.equal(value(metrics, 'sluice_delivered', w), 2);
    assert.equal(value(metrics, 'sluice_batches', w), 1);
    assert.equal(value(metrics, 'sluice_buffer_size', w), 1);
    assert.equal(value(metrics, 'sluice_last_flush_latency_seconds', w), 0.03);
    assert.equal(value(metrics, 'sluice_breaker_state', { ...w, state: 'closed' }), 1);

    // Every attribute set carries the family's label names, component first.
    for (const d of describeSluiceInstruments()) {
      for (const point of (metrics.get(d.name)?.dataPoints ?? []) as Point[]) assert.deepEqual(Object.keys(point.attributes), d.attributes, d.name);
    }

    writer.close();
    const drained = writer.drained();
    await clock.advanceAsync(30);
    await drained;
    await provider.shutdown();
  });

  it('registerSluiceInstruments() - counters are monotonic: a later collection reports the grown totals, one stats() call per collection', async () => {
    const clock = new VirtualClock();
    const orders = new Channel<number>({ capacity: 2, overflow: 'drop-oldest', clock });
    let statsCalls = 0;
    const counted = { stats: () => (statsCalls++, orders.stats()) };
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    registerSluiceInstruments(provider.getMeter('test'), { orders: counted });

    const readings: number[][] = [];
    for (const offers of [1, 3, 5]) {
      for (let i = 0; i < offers; i++) orders.trySend(i);
      const { resourceMetrics, errors } = await reader.collect();
      assert.deepEqual(errors, []);
      const m = metricsOf(resourceMetrics);
      readings.push([
        value(m, 'sluice_offered', { component: 'orders' }) as number,
        value(m, 'sluice_dropped', { component: 'orders', reason: 'drop-oldest' }) as number,
      ]);
    }
    assert.deepEqual(readings, [
      [1, 0],
      [4, 2],
      [9, 7],
    ]);
    assert.equal(statsCalls, 3);
    await provider.shutdown();
  });

  it('registerSluiceInstruments() - unregister stops observing: stats() is no longer read and no new value is reported; calling it again does nothing', async () => {
    const orders = new Channel<number>({ capacity: 2 });
    let statsCalls = 0;
    const counted = { stats: () => (statsCalls++, orders.stats()) };
    orders.trySend(1);
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    const unregister = registerSluiceInstruments(provider.getMeter('test'), { orders: counted });
    const before = metricsOf((await reader.collect()).resourceMetrics);
    assert.equal(value(before, 'sluice_buffer_size', { component: 'orders' }), 1);
    assert.equal(statsCalls, 1);

    unregister();
    unregister();
    orders.trySend(2);
    const after = metricsOf((await reader.collect()).resourceMetrics);
    assert.equal(statsCalls, 1, 'no stats() call after unregister');
    // The SDK's cumulative storage may repeat the last observation; it never reports the new state.
    for (const [name, expected] of [['sluice_buffer_size', 1], ['sluice_offered', 1]] as const) {
      const points = (after.get(name)?.dataPoints ?? []) as Point[];
      assert.deepEqual(points.filter((p) => p.value !== expected), [], name);
    }
    await provider.shutdown();
  });

  it('registerSluiceInstruments() - the prefix option renames every instrument', async () => {
    const orders = new Channel<number>({ capacity: 2 });
    const reader = new ManualReader();
    const provider = new MeterProvider({ readers: [reader] });
    registerSluiceInstruments(provider.getMeter('test'), { orders }, { prefix: 'shop_' });
    const names = [...metricsOf((await reader.collect()).resourceMetrics).keys()];
    assert.ok(names.includes('shop_buffer_size'), names.join(', '));
    assert.ok(names.includes('shop_offered'), names.join(', '));
    assert.deepEqual(names.filter((n) => !n.startsWith('shop_')), []);
    await provider.shutdown();
  });

  it('registerSluiceInstruments() - rejects a non-meter, bad components and bad options before creating anything', () => {
    const created: string[] = [];
    const meter: OtelMeterLike = {
      createObservableGauge: (name) => created.push(name),
      createObservableCounter: (name) => created.push(name),
      addBatchObservableCallback: () => {},
      removeBatchObservableCallback: () => {},
    };
    assert.throws(() => registerSluiceInstruments({} as OtelMeterLike, {}), InvalidArgumentError);
    assert.throws(() => registerSluiceInstruments(null as unknown as OtelMeterLike, {}), /meter must be an OpenTelemetry Meter/);
    assert.throws(() => registerSluiceInstruments(meter, { orders: {} as never }), InvalidArgumentError);
    assert.throws(() => registerSluiceInstruments(meter, {}, { prefix: '1bad' }), (e: unknown) => e instanceof InvalidOptionError && /prefix/.test(e.message));
    assert.throws(() => registerSluiceInstruments(meter, {}, { prefx: 'a_' } as never), (e: unknown) => e instanceof InvalidOptionError && /prefix/.test(e.message));
    assert.throws(() => registerSluiceInstruments(meter, {}, { latency: {} } as never), InvalidOptionError);
    assert.deepEqual(created, []);
  });

  it('OtelMeterLike - the Meter of @opentelemetry/api fits it (type-level)', () => {
    const provider = new MeterProvider();
    const meter: Meter = provider.getMeter('test');
    const fits: OtelMeterLike = meter;
    assert.equal(typeof fits.addBatchObservableCallback, 'function');
  });
});

describe('describeSluiceInstruments', () => {
  it('describeSluiceInstruments() - one instrument per non-histogram family with a unit, and a unit-appending Prometheus exporter adds nothing to its name', () => {
    const described = describeSluiceInstruments();
    const families = sluiceMetricFamilies.filter((f) => f.type !== 'histogram');
    assert.equal(described.length, families.length);
    for (const [i, d] of described.entries()) {
      assert.equal(d.prometheusName, `sluice_${families[i]!.name}`);
      assert.equal(d.kind === 'counter', families[i]!.type === 'counter');
      if (d.name.endsWith('_seconds')) assert.equal(d.unit, 's', d.name);
      if (d.name.endsWith('_ratio')) assert.equal(d.unit, '1', d.name);
    }
    // What a unit-appending Prometheus exporter adds is already in the name, or nothing (annotations).
    // (The unit suffix goes before a counter's _total, so it is looked for there.)
    for (const d of described) {
      const base = d.kind === 'counter' ? d.name.replace(/_total$/, '') : d.name;
      if (d.unit === 's') assert.match(base, /_seconds$/, d.name);
      else if (d.unit === '1') assert.match(base, /_ratio$/, d.name);
      else if (d.unit.endsWith('/s')) assert.match(`${d.unit} ${base}`, /^\{\w+\}\/s .*_per_second$/, d.name);
      else assert.match(d.unit, /^(\{\w+\})?$/, d.name);
    }
    // Names are unique: a counter whose name without _total is a gauge's keeps _total.
    assert.equal(new Set(described.map((d) => d.name)).size, described.length);
    assert.deepEqual(described.filter((d) => d.name.startsWith('sluice_duration_seconds')).map((d) => [d.name, d.kind]), [
      ['sluice_duration_seconds_total', 'counter'],
      ['sluice_duration_seconds', 'gauge'],
    ]);
    // Only the raw catch-all has no unit.
    assert.deepEqual(described.filter((d) => d.unit === '').map((d) => d.name), ['sluice_stat']);
    assert.equal(describeSluiceInstruments({ prefix: '' })[0]!.name, 'buffer_size');
  });

  it('describeSluiceInstruments() - docs/otel.md lists exactly these instruments, kinds, units and attributes', () => {
    const doc = readFileSync(new URL('../../../docs/otel.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((line) => /^\| `sluice_/.test(line));
    const expected = describeSluiceInstruments().map((d) => {
      const extra = d.attributes.slice(1).map((a) => `\`${a}\``).join(', ');
      return `| \`${d.name}\` | ${d.kind} | ${d.unit ? `\`${d.unit}\`` : ''} | ${extra} | \`${d.prometheusName}\` |`;
    });
    assert.deepEqual(rows, expected);
  });
});
