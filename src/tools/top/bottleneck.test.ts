import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { DashboardComponentView, DashboardSnapshot } from '../dashboard/index.js';
import { findBottleneck, orderComponents, pressureOf, SaturationTracker } from './bottleneck.js';

// Snapshots recorded from `sluice demo` (/snapshot.json, with the unbounded contrast on).
const fixture = (name: string): DashboardSnapshot => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as DashboardSnapshot;
const snap = (components: DashboardComponentView[]): DashboardSnapshot => ({ seq: 1, t: 1, components, alerts: [], alertEvents: [] });

describe('findBottleneck', () => {
  it('findBottleneck - recorded demo baseline: nothing pinned or growing, no verdict', () => {
    assert.equal(findBottleneck(fixture('demo-baseline')), undefined);
  });

  it('findBottleneck - recorded demo spike: names the SQLite writer, full, with the fleet piling up before it', () => {
    const v = findBottleneck(fixture('demo-spike'));
    assert.ok(v);
    assert.equal(v.component, 'sqlite-writer');
    assert.equal(v.cause, 'full');
    assert.match(v.reason, /^sqlite-writer: full at 5,000\/5,000 \(high watermark 80%\) while its input fills at [\d,]+ items\/s \(fleet\)$/);
    assert.ok(v.inputFillRatePerSec! > 100_000, `fleet grows at ${v.inputFillRatePerSec}`);
    // The unbounded contrast after it grows but has no bound: a side branch, not the cause.
    assert.deepEqual(v.after, ['unbounded queue (contrast)', 'aggregator']);
  });

  it('findBottleneck - recorded start of the spike: the writer, not the full ingest channel before it', () => {
    assert.equal(findBottleneck(fixture('demo-spike-start'))?.component, 'sqlite-writer');
  });

  it('findBottleneck - writer dips below its watermark after a flush: one snapshot alone names ingest, the tracker holds the writer', () => {
    const dip = fixture('demo-spike-writer-dip');
    assert.equal(findBottleneck(dip)?.component, 'ingest');
    const tracker = new SaturationTracker(2000);
    const before = fixture('demo-spike');
    tracker.update(before.components, 6000);
    tracker.update(before.components, 7000);
    const held = tracker.update(dip.components, 8000);
    const v = findBottleneck(dip, { held });
    assert.equal(v?.component, 'sqlite-writer');
    assert.match(v!.reason, /for 2 s/);
    // Beyond the grace period the dip counts.
    assert.equal(findBottleneck(dip, { held: tracker.update(dip.components, 10_500) })?.component, 'ingest');
  });

  it('findBottleneck - a limiter pinned at its limit while the buffer before it fills: pinned at 4/4 for 12 s, input fill rate', () => {
    const components: DashboardComponentView[] = [
      { name: 'queue', kind: 'channel', size: 300, capacity: 1000, utilization: 0.3, highWatermark: 0.8, inRate: 900, outRate: 50, fillRatePerSec: 850, timeToFullMs: 823 },
      { name: 'sqlite-writer', kind: 'concurrency-limiter', inRate: 50, gauges: { limit: 4, inflight: 4 } },
      { name: 'sink', kind: 'channel', size: 0, capacity: 100, utilization: 0, inRate: 50, outRate: 50, fillRatePerSec: 0 },
    ];
    const tracker = new SaturationTracker();
    for (let t = 0; t < 12_000; t += 1000) tracker.update(components, t);
    const v = findBottleneck(snap(components), { held: tracker.update(components, 12_000) });
    assert.equal(v?.reason, 'sqlite-writer: pinned at 4/4 in flight for 12 s while its input fills at 850 items/s (queue)');
    assert.equal(v?.cause, 'limit');
    assert.equal(v?.forMs, 12_000);
  });

  it('findBottleneck - only a growing queue: named with its growth and time to full', () => {
    const v = findBottleneck(snap([{ name: 'q', kind: 'channel', size: 10, capacity: 100, utilization: 0.1, fillRatePerSec: 30, timeToFullMs: 3000 }]));
    assert.equal(v?.reason, 'q: queue grows at 30 items/s, full in 3 s');
    assert.equal(v?.cause, 'growing');
  });

  it('findBottleneck - --order overrides the listed order: the downstream pinned one wins', () => {
    const a: DashboardComponentView = { name: 'a', kind: 'channel', size: 90, capacity: 100, utilization: 0.9 };
    const b: DashboardComponentView = { name: 'b', kind: 'concurrency-limiter', gauges: { limit: 8, inflight: 8 } };
    assert.equal(findBottleneck(snap([a, b]))?.component, 'b');
    assert.equal(findBottleneck(snap([a, b]), { order: ['b', 'a'] })?.component, 'a');
  });

  it('findBottleneck - pinned with nothing piling up before it: says what it takes, and nothing when it takes nothing', () => {
    const limiter: DashboardComponentView = { name: 'db', kind: 'concurrency-limiter', inRate: 50, gauges: { limit: 10, inflight: 10 } };
    assert.equal(findBottleneck(snap([limiter]))?.reason, 'db: pinned at 10/10 in flight taking 50 items/s');
    assert.equal(findBottleneck(snap([{ ...limiter, inRate: 0 }]))?.reason, 'db: pinned at 10/10 in flight');
  });

  it('findBottleneck - a component whose stats threw is skipped', () => {
    assert.equal(findBottleneck(snap([{ name: 'x', kind: 'custom', utilization: 1, error: 'boom' }])), undefined);
  });
});

describe('pressureOf', () => {
  it('pressureOf - rounding between readings (in-rate 5 % above out-rate) is not growth; a real backlog is', () => {
    assert.equal(pressureOf({ name: 'f', kind: 'x', size: 7, inRate: 2000, outRate: 1960 }).growth, 0);
    assert.equal(pressureOf({ name: 'f', kind: 'x', size: 7000, inRate: 2000, outRate: 1000 }).growth, 1000);
  });

  it('pressureOf - a full buffer whose fill rate is positive but no time to full (not filling per its stats) is pinned, not growing', () => {
    const p = pressureOf({ name: 'c', kind: 'channel', utilization: 1, fillRatePerSec: 5 });
    assert.equal(p.pinned, 'full');
    assert.equal(p.growth, 0);
  });
});

describe('orderComponents', () => {
  it('orderComponents - named ones first in the given order, the rest as listed; unknown names ignored', () => {
    const names = orderComponents(['a', 'b', 'c', 'd'].map((name) => ({ name, kind: 'x' })), ['c', 'zz', 'a']).map((c) => c.name);
    assert.deepEqual(names, ['c', 'a', 'b', 'd']);
  });
});
