import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';
import { fakeLagSources } from '../../core/metrics/lag-fakes.test-helpers.js';
import { ConfigError, componentSpecs, fromConfig, loadConfig, parseConfig } from './index.js';

const fixture = fileURLToPath(new URL('./fixtures/lag-alerts.yaml', import.meta.url));

function problems(input: string | object): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
    return error.issues.map((i) => i.message);
  }
  assert.fail('expected a ConfigError');
}

const thresholds = (alert_thresholds: object) => ({ queues: { q: { capacity: 10 } }, monitoring: { alert_thresholds } });

describe('config: alert thresholds on lag, slope and time to full (#12)', () => {
  it('loadConfig() - a YAML file with time_to_full, lag and slope loads and validates into the AlertMonitor thresholds', async () => {
    const config = await loadConfig(fixture);
    assert.deepEqual(config.monitoring!.thresholds, { lag: { items: 1000 }, slope: 0.05, timeToFull: 5000 });
    assert.deepEqual(config.warnings, []);
    assert.deepEqual(componentSpecs(config).alerts, { components: ['ingest'], options: { thresholds: { lag: { items: 1000 }, slope: 0.05, timeToFull: 5000 }, intervalMs: 1000 } });
  });

  it('fromConfig() - the monitor built from the file fires time_to_full on the queue before it is full, and lag on a source given in watch', async () => {
    const clock = new VirtualClock();
    const lag = fakeLagSources(clock, { threshold: 500, intervalMs: 1000 });
    const lines: string[] = [];
    const built = fromConfig<number>(await loadConfig(fixture), { clock, alertLog: (line) => lines.push(line), watch: { billing: lag.sources.redisLag } });
    assert.deepEqual(built.alerts!.components, ['ingest', 'billing']);
    const ingest = built.channels.ingest!;
    // A producer at a steady 100 items/s, between the evaluations.
    let n = 0;
    const produce = () => {
      for (let i = 0; i < 10; i++) ingest.trySend(n++);
      clock.schedule(100, produce);
    };
    clock.schedule(50, produce);
    let sizeAtFiring = -1;
    built.alerts!.onAlert((e) => {
      if (e.rule === 'time_to_full' && e.state === 'firing') sizeAtFiring = ingest.size;
    });
    built.alerts!.start();
    await flushMicrotasks();
    lag.figures.undelivered = 800;
    lag.figures.pending = 250;
    for (let t = 0; t < 6; t++) {
      clock.advance(1000);
      await flushMicrotasks();
    }
    assert.deepEqual(lines, ['sluice alert FIRING lag on billing: items 1050 >= 1000 at 2s', 'sluice alert FIRING time_to_full on ingest: ms 5000 <= 5000 at 5s']);
    assert.equal(sizeAtFiring, 500);
    assert.ok(sizeAtFiring < ingest.capacity);
    built.close();
    lag.close();
  });

  it('parseConfig() - bad lag, slope and time_to_full values: one short line each, naming the key', () => {
    const got = problems(thresholds({ lag: { items: 0 }, slope: 0, time_to_full: 'soon' }));
    assert.deepEqual(got, [
      'monitoring.alert_thresholds.lag.items: 0 is not an integer >= 1',
      'monitoring.alert_thresholds.slope: 0 is not a change per second such as 0.05/s or 3/min, or a number per second (> 0)',
      'monitoring.alert_thresholds.time_to_full: "soon" is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)',
    ]);
    for (const line of got) assert.ok(line.length < 160, `${line.length} chars: ${line}`);
    assert.deepEqual(problems(thresholds({ lag: 5000 })), [
      "monitoring.alert_thresholds.lag: 5000 is not an object: { items: N } (messages behind) or { pressure: P } (backlog divided by the lag source's threshold)",
    ]);
    assert.deepEqual(problems(thresholds({ lag: {} })), ['monitoring.alert_thresholds.lag.items: missing; expected an integer >= 1 (or pressure: a number > 0)']);
    assert.deepEqual(problems(thresholds({ lag: { pressure: -1 } })), ['monitoring.alert_thresholds.lag.pressure: -1 is not a number > 0']);
    assert.deepEqual(problems(thresholds({ lag: { items: 10, pressure: 1 } })), ['monitoring.alert_thresholds.lag.pressure: 1 is not allowed together with items (give one of them)']);
    assert.deepEqual(problems(thresholds({ lag: { item: 10 } })), [
      'monitoring.alert_thresholds.lag.item: unknown key; did you mean "items"? (allowed: items, pressure)',
      'monitoring.alert_thresholds.lag.items: missing; expected an integer >= 1 (or pressure: a number > 0)',
    ]);
    assert.deepEqual(problems(thresholds({ time_to_full: 0 })), [
      'monitoring.alert_thresholds.time_to_full: 0 is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)',
    ]);
    assert.match(problems(thresholds({ time_to_ful: '5s' }))[0]!, /^monitoring\.alert_thresholds\.time_to_ful: unknown key; did you mean "time_to_full"\?/);
  });

  it('parseConfig() - lag as pressure, slope as a plain number or per minute, time_to_full in ms', () => {
    assert.deepEqual(parseConfig(thresholds({ lag: { pressure: 1.5 }, slope: '3/min', time_to_full: 30_000 })).monitoring!.thresholds, { lag: { pressure: 1.5 }, slope: 0.05, timeToFull: 30_000 });
    assert.equal(parseConfig(thresholds({ slope: 0.2 })).monitoring!.thresholds.slope, 0.2);
  });

  it('fromConfig() - watch: a name the file uses or a value without stats() is refused, naming watch.<name>', () => {
    const config = parseConfig(thresholds({ time_to_full: '5s' }));
    assert.throws(() => fromConfig(config, { watch: { q: { stats: () => ({}) } } }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"watch\.q".*queues\.q/ });
    assert.throws(() => fromConfig(config, { watch: { lag: {} as never } }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"watch\.lag"/ });
    assert.throws(() => fromConfig(config, { watch: 5 as never }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"watch"/ });
  });

  it('fromConfig() - a file with only monitoring builds a monitor over the components given in watch', async () => {
    const clock = new VirtualClock();
    const lag = fakeLagSources(clock, { threshold: 100, intervalMs: 1000 });
    const built = fromConfig(parseConfig({ monitoring: { alert_thresholds: { lag: { pressure: 2 } } } }), { clock, alertLog: false, watch: lag.sources });
    assert.deepEqual(built.alerts!.components, ['redisLag', 'amqpLag', 'natsLag']);
    await flushMicrotasks();
    lag.figures.ready = 250;
    clock.advance(1000);
    await flushMicrotasks();
    assert.deepEqual(built.alerts!.evaluate().map((e) => [e.component, e.rule, e.value, e.unit]), [['amqpLag', 'lag', 2.5, 'pressure']]);
    built.close();
    lag.close();
  });
});
