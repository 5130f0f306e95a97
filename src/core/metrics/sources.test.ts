import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Channel } from '../channel/index.js';
import { batch, map } from '../pipeline/index.js';
import { dashboardHandler } from '../../tools/dashboard/index.js';
import { AlertMonitor } from '../alerts/index.js';
import { registerSluiceMetrics } from '../../adapters/prometheus/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { collectMetrics, MetricsCollector, watchComponents } from './index.js';

// Pipeline stages and dashboardHandler() are functions carrying stats(); the
// metrics sources must take them like objects.
function functionSources(clock: VirtualClock) {
  const stage = batch<number>({ size: 10, clock });
  const mapped = map<number, number>((n) => n * 2);
  const dashboard = dashboardHandler({ jobs: new Channel<number>({ capacity: 4, clock }) }, { clock });
  return { stage, mapped, dashboard };
}

/** A function whose source would be unmistakable in a message. */
function secretlyLong(): string {
  const marker = 'SOURCE-TEXT-THAT-MUST-NOT-APPEAR';
  return marker;
}

function assertBriefError(fn: () => unknown, type: new (...args: never[]) => Error, includes: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.ok(!e.message.includes('SOURCE-TEXT-THAT-MUST-NOT-APPEAR'), e.message);
    assert.ok(!e.message.includes('=>') && !e.message.includes('return '), e.message);
    assert.ok(e.message.includes(includes), e.message);
    assert.ok(e.message.length < 300, `message too long: ${e.message.length}`);
    return true;
  });
}

describe('metrics sources', () => {
  it('collectMetrics() - accepts functions with stats(): a batch() stage, a map() stage and a dashboardHandler', () => {
    const clock = new VirtualClock();
    const { stage, mapped, dashboard } = functionSources(clock);
    const samples = collectMetrics({ stage, mapped, dashboard });
    const components = new Set(samples.map((s) => s.labels.component));
    assert.deepEqual([...components].sort(), ['dashboard', 'mapped', 'stage']);
    assert.ok(samples.some((s) => s.name === 'sluice_batches_total' && s.labels.component === 'stage'));
    dashboard.close();
  });

  it('registerSluiceMetrics() - accepts a batch() stage and a dashboardHandler', async () => {
    const clock = new VirtualClock();
    const { stage, dashboard } = functionSources(clock);
    const registry = new Registry();
    registerSluiceMetrics(registry, { stage, dashboard });
    const text = await registry.metrics();
    assert.match(text, /sluice_batches_total\{component="stage"\} 0/);
    dashboard.close();
  });

  it('AlertMonitor - accepts a batch() stage and a dashboardHandler as components', () => {
    const clock = new VirtualClock();
    const { stage, dashboard } = functionSources(clock);
    const monitor = new AlertMonitor({ components: { stage, dashboard }, thresholds: { dropRate: 0.5 }, clock, log: false });
    assert.deepEqual(monitor.evaluate(), []);
    dashboard.close();
  });

  it('dashboardHandler() - shows a batch() stage and another dashboardHandler', () => {
    const clock = new VirtualClock();
    const { stage, dashboard: inner } = functionSources(clock);
    const outer = dashboardHandler({ stage, inner }, { clock });
    clock.advance(500);
    const names = outer.snapshot()?.components.map((c) => c.name);
    assert.deepEqual(names, ['stage', 'inner']);
    outer.close();
    inner.close();
  });

  it('checkSources - a function without stats() is described briefly, never by its source', () => {
    const clock = new VirtualClock();
    assertBriefError(() => collectMetrics({ bad: secretlyLong } as never), InvalidArgumentError, 'function named "secretlyLong" without a stats() method');
    assertBriefError(() => new MetricsCollector({ bad: () => 1 } as never), InvalidArgumentError, 'components["bad"]');
    assertBriefError(() => registerSluiceMetrics(new Registry(), { bad: secretlyLong } as never), InvalidArgumentError, 'stats()');
    assertBriefError(() => dashboardHandler({ bad: secretlyLong } as never, { clock }), InvalidArgumentError, 'stats()');
    assertBriefError(
      () => watchComponents({ bad: secretlyLong } as never, { gauge() {}, counter() {} }, { clock }),
      InvalidArgumentError,
      'stats()',
    );
    assertBriefError(
      () => new AlertMonitor({ components: { bad: secretlyLong } as never, thresholds: { dropRate: 0.5 }, clock, log: false }),
      InvalidOptionError,
      'components.bad',
    );
  });

  it('checkSources - a large object without stats() is described by a few keys, not dumped', () => {
    const big = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, 'x'.repeat(100)]));
    assertBriefError(() => collectMetrics({ big } as never), InvalidArgumentError, 'keys: key0, key1, key2, key3, key4, …');
    assertBriefError(
      () => new AlertMonitor({ components: { big } as never, thresholds: { dropRate: 0.5 }, clock: new VirtualClock(), log: false }),
      InvalidOptionError,
      'keys: key0',
    );
    assertBriefError(() => collectMetrics({ n: null } as never), InvalidArgumentError, 'got null');
    assertBriefError(() => collectMetrics({ n: 5 } as never), InvalidArgumentError, 'got number 5');
  });
});
