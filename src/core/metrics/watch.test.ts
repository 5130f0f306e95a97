import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Channel } from '../channel/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { collectMetrics, LatencyRecorder, reportMetrics, watchComponents, type MetricLabels, type MetricsSink } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.ok(e.message.includes(`"${field}"`), e.message);
    return true;
  });
}

/** A sink that writes `kind name{labels} value` lines. */
function recordingSink(withHistogram = false): MetricsSink & { lines: string[] } {
  const lines: string[] = [];
  const fmt = (labels: MetricLabels) => Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const sink: MetricsSink & { lines: string[] } = {
    lines,
    gauge: (name, _help, labels, value) => void lines.push(`gauge ${name}{${fmt(labels)}} ${value}`),
    counter: (name, _help, labels, total) => void lines.push(`counter ${name}{${fmt(labels)}} ${total}`),
  };
  if (withHistogram) sink.histogram = (name, _help, labels, h) => void lines.push(`histogram ${name}{${fmt(labels)}} ${h.count}/${h.sum}`);
  return sink;
}

function sizeLines(sink: { lines: string[] }): string[] {
  return sink.lines.filter((l) => l.includes('buffer_size'));
}

describe('reportMetrics', () => {
  it('reportMetrics() - calls gauge() for gauges and counter() with running totals for counters', () => {
    const channel = new Channel<number>({ capacity: 4, overflow: 'drop-newest' });
    channel.trySend(1);
    const sink = recordingSink();
    reportMetrics(collectMetrics({ c: channel }), sink);
    assert.ok(sink.lines.includes('gauge sluice_buffer_size{component="c"} 1'));
    assert.ok(sink.lines.includes('counter sluice_offered_total{component="c"} 1'));
    assert.ok(sink.lines.includes('counter sluice_dropped_total{component="c",reason="drop-newest"} 0'));
  });

  it('reportMetrics() - hands histograms to histogram() when the sink has it', () => {
    const latency = new LatencyRecorder({ bucketsMs: [10] });
    latency.record('w', 4);
    const sink = recordingSink(true);
    reportMetrics(collectMetrics({}, { latency }), sink);
    assert.deepEqual(sink.lines, ['histogram sluice_processing_latency_seconds{component="w"} 1/0.004']);
  });

  it('reportMetrics() - without histogram(), sends _bucket{le}, _sum and _count counters instead', () => {
    const latency = new LatencyRecorder({ bucketsMs: [10, 100] });
    latency.record('w', 4);
    latency.record('w', 400);
    const sink = recordingSink(false);
    reportMetrics(collectMetrics({}, { latency }), sink);
    assert.deepEqual(sink.lines, [
      'counter sluice_processing_latency_seconds_bucket{component="w",le="0.01"} 1',
      'counter sluice_processing_latency_seconds_bucket{component="w",le="0.1"} 1',
      'counter sluice_processing_latency_seconds_bucket{component="w",le="+Inf"} 2',
      'counter sluice_processing_latency_seconds_sum{component="w"} 0.404',
      'counter sluice_processing_latency_seconds_count{component="w"} 2',
    ]);
  });

  it('reportMetrics() - rejects a sink without gauge() and counter() with InvalidArgumentError', () => {
    assert.throws(() => reportMetrics([], { gauge() {} } as never), InvalidArgumentError);
    assert.throws(() => reportMetrics([], { gauge() {}, counter() {}, histogram: 1 } as never), InvalidArgumentError);
  });
});

describe('watchComponents', () => {
  it('watchComponents() - reports one interval after the call, then once per interval, with fresh values', () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 4, clock });
    const sink = recordingSink();
    const watcher = watchComponents({ c: channel }, sink, { clock, intervalMs: 1000 });
    clock.advance(999);
    assert.deepEqual(sink.lines, []);
    clock.advance(1);
    channel.trySend(1);
    clock.advance(1000);
    assert.deepEqual(sizeLines(sink), ['gauge sluice_buffer_size{component="c"} 0', 'gauge sluice_buffer_size{component="c"} 1']);
    assert.deepEqual(watcher.stats(), { reports: 2, failedReports: 0, stopped: false });
    watcher.stop();
  });

  it('stop() - sends a last report, cancels the timer and is idempotent', () => {
    const clock = new VirtualClock();
    const sink = recordingSink();
    const watcher = watchComponents({ c: new Channel<number>({ capacity: 4, clock }) }, sink, { clock, intervalMs: 1000 });
    watcher.stop();
    watcher.stop();
    assert.equal(sizeLines(sink).length, 1);
    assert.equal(clock.pending, 0);
    clock.advance(5000);
    assert.equal(sizeLines(sink).length, 1);
    assert.deepEqual(watcher.stats(), { reports: 1, failedReports: 0, stopped: true });
  });

  it('watchComponents() - an aborted signal stops the watcher like stop(); an already aborted one never starts it', () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const sink = recordingSink();
    const watcher = watchComponents({ c: new Channel<number>({ capacity: 4, clock }) }, sink, { clock, intervalMs: 1000, signal: controller.signal });
    controller.abort();
    assert.equal(watcher.stats().stopped, true);
    assert.equal(sizeLines(sink).length, 1);
    assert.equal(clock.pending, 0);

    const late = watchComponents({ c: new Channel<number>({ capacity: 4, clock }) }, recordingSink(), { clock, signal: controller.signal });
    assert.deepEqual(late.stats(), { reports: 0, failedReports: 0, stopped: true });
    assert.equal(clock.pending, 0);
  });

  it('watchComponents() - a failing report goes to onError and the schedule goes on; report() throws instead', () => {
    const clock = new VirtualClock();
    let fail = true;
    const flaky = { stats: () => (fail ? (() => { throw new Error('stats broke'); })() : { size: 1 }) };
    const errors: unknown[] = [];
    const sink = recordingSink();
    const watcher = watchComponents({ flaky }, sink, { clock, intervalMs: 100, onError: (e) => errors.push(e) });
    clock.advance(100);
    assert.equal((errors[0] as Error).message, 'stats broke');
    assert.throws(() => watcher.report(), /stats broke/);
    fail = false;
    clock.advance(100);
    assert.deepEqual(sizeLines(sink), ['gauge sluice_buffer_size{component="flaky"} 1']);
    assert.deepEqual(watcher.stats(), { reports: 1, failedReports: 2, stopped: false });
    watcher.stop();
  });

  it('watchComponents() - without onError a failing report becomes a process warning', async () => {
    const clock = new VirtualClock();
    let down = true;
    const sink: MetricsSink = {
      gauge: () => {
        if (down) throw new Error('statsd down');
      },
      counter: () => {},
    };
    const watcher = watchComponents({ c: new Channel<number>({ capacity: 1, clock }) }, sink, { clock, intervalMs: 10 });
    const warning = once(process, 'warning');
    clock.advance(10);
    const [w] = (await warning) as [Error & { code?: string }];
    assert.equal(w.code, 'SLUICE_METRICS_REPORT_FAILED');
    assert.match(w.message, /statsd down/);
    down = false;
    watcher.stop();
  });

  it('watchComponents() - rejects bad arguments with InvalidArgumentError and bad options naming the field', () => {
    const components = { c: new Channel<number>({ capacity: 1 }) };
    const sink = recordingSink();
    assert.throws(() => watchComponents(components, {} as never), InvalidArgumentError);
    assert.throws(() => watchComponents({ c: 1 } as never, sink), InvalidArgumentError);
    assertInvalidOption(() => watchComponents(components, sink, { intervalMs: 0 }), 'intervalMs');
    assertInvalidOption(() => watchComponents(components, sink, { intervalMs: Infinity }), 'intervalMs');
    assertInvalidOption(() => watchComponents(components, sink, { clock: { now: () => 0 } as never }), 'clock');
    assertInvalidOption(() => watchComponents(components, sink, { signal: 'stop' as never }), 'signal');
    assertInvalidOption(() => watchComponents(components, sink, { onError: 'log' as never }), 'onError');
    assertInvalidOption(() => watchComponents(components, sink, { prefix: 'a-b' }), 'prefix');
  });
});
