import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Channel } from '../../core/channel/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { registerSluiceMetrics } from '../../adapters/prometheus/index.js';
import { dashboardBase, SseParser } from './dashboard-reader.js';
import { parsePrometheusText, viewsFromScrape } from './prometheus-reader.js';
import { findBottleneck } from './bottleneck.js';

describe('parsePrometheusText', () => {
  it('parsePrometheusText - labels with escapes, +Inf, timestamps; comments and junk skipped', () => {
    const samples = parsePrometheusText(
      '# HELP x y\n# TYPE a gauge\na{component="q \\"1\\"",kind="x"} 3 1700000000\nb +Inf\nnot a sample line at all\nc{component="z"} NaN\n',
    );
    assert.equal(samples.length, 3);
    assert.deepEqual(samples[0], { name: 'a', labels: { component: 'q "1"', kind: 'x' }, value: 3 });
    assert.equal(samples[1]!.value, Infinity);
    assert.ok(Number.isNaN(samples[2]!.value));
  });
});

describe('viewsFromScrape', () => {
  it('viewsFromScrape - a Channel through prom-client: size, capacity, utilization, state, rates from counter deltas, drops by reason', async () => {
    const clock = new VirtualClock();
    const orders = new Channel<number>({ name: 'orders', capacity: 10, overflow: 'drop-newest', clock });
    const registry = new Registry();
    registerSluiceMetrics(registry, { orders });
    const first = parsePrometheusText(await registry.metrics());
    for (let i = 0; i < 14; i++) orders.trySend(i); // 10 buffered, 4 dropped
    clock.advance(2000);
    const second = parsePrometheusText(await registry.metrics());
    const [view] = viewsFromScrape(second, first, 2);
    assert.equal(view!.name, 'orders');
    assert.equal(view!.size, 10);
    assert.equal(view!.capacity, 10);
    assert.equal(view!.utilization, 1);
    assert.equal(view!.inRate, 7); // 14 offered in 2 s
    assert.equal(view!.outRate, 0);
    assert.equal(view!.droppedBy!['drop-newest'], 4);
    assert.equal(view!.dropRateBy!['drop-newest'], 2);
    assert.equal(findBottleneck({ components: [view!] })?.component, 'orders');
    orders.close();
  });

  it('viewsFromScrape - no previous scrape or a counter reset: levels without rates', () => {
    const now = parsePrometheusText('sluice_offered_total{component="a"} 5\nsluice_inflight{component="a"} 4\nsluice_concurrency_limit{component="a"} 4\n');
    const before = parsePrometheusText('sluice_offered_total{component="a"} 50\n');
    assert.equal(viewsFromScrape(now, undefined, 1)[0]!.inRate, undefined);
    const [v] = viewsFromScrape(now, before, 1);
    assert.equal(v!.inRate, undefined);
    assert.deepEqual(v!.gauges, { inflight: 4, limit: 4 });
    assert.equal(findBottleneck({ components: [v!] })?.reason, 'a: pinned at 4/4 in flight');
  });

  it('viewsFromScrape - another prefix: only its families are read', () => {
    const s = parsePrometheusText('app_buffer_size{component="a"} 1\nsluice_buffer_size{component="b"} 2\n');
    assert.deepEqual(viewsFromScrape(s, undefined, 1, 'app_').map((v) => v.name), ['a']);
  });
});

describe('SseParser', () => {
  it('SseParser.push - messages split across chunks, CRLF, comments, named events, multi-line data', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('retry: 2000\n\nevent: history\nda'), []);
    assert.deepEqual(p.push('ta: [1]\n\n: ping\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'), [
      { event: 'history', data: '[1]' },
      { event: 'message', data: '{"a":\n1}' },
    ]);
  });
});

describe('dashboardBase', () => {
  it('dashboardBase - page, /events or /snapshot.json URLs all give the base with a trailing slash', () => {
    assert.equal(dashboardBase(new URL('http://h:1/dash')).href, 'http://h:1/dash/');
    assert.equal(dashboardBase(new URL('http://h:1/dash/events?x=1')).href, 'http://h:1/dash/');
    assert.equal(dashboardBase(new URL('http://h:1/snapshot.json')).href, 'http://h:1/');
  });
});
