import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { dashboardHandler } from '../dashboard/index.js';
import { ConfigError, fromConfig, parseConfig, planReload, watchConfig, type ConfigReloadResult, type ConfigWatcher } from './index.js';

const BASE = `
queues:
  jobs: { size: 100, strategy: block, high_watermark: 0.8, low_watermark: 0.2 }
rate_limits:
  api: { rate: 50/s, burst: 10 }
concurrency:
  db: { algorithm: fixed, initial_limit: 4, max_limit: 8 }
  adaptive_db: { algorithm: aimd, initial_limit: 4, max_limit: 50 }
`;

/** A temp config file, the components built from it on a virtual clock, and a watcher whose events can be awaited. */
function setup(text = BASE, pollIntervalMs = 1000) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-watch-'));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, text);
  const clock = new VirtualClock();
  const built = fromConfig(parseConfig(text), { clock, alertLog: false });
  const events: (ConfigReloadResult | Error)[] = [];
  let waiting: ((e: ConfigReloadResult | Error) => void) | undefined;
  const push = (e: ConfigReloadResult | Error) => {
    events.push(e);
    waiting?.(e);
    waiting = undefined;
  };
  const watcher: ConfigWatcher = watchConfig(file, built, { clock, pollIntervalMs, onReload: push, onError: push });
  return {
    file,
    clock,
    built,
    watcher,
    events,
    /** Writes the file and lets one poll interval pass; resolves with what the watcher reported (fails after 5 s of real time). */
    async change(next: string): Promise<ConfigReloadResult | Error> {
      writeFileSync(file, next);
      const reported = new Promise<ConfigReloadResult | Error>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing reported within 5 s')), 5000);
        waiting = (e) => {
          clearTimeout(timer);
          resolve(e);
        };
      });
      clock.advance(pollIntervalMs);
      return reported;
    },
    [Symbol.dispose]() {
      watcher.close();
      built.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function asResult(e: ConfigReloadResult | Error): ConfigReloadResult {
  if (e instanceof Error) assert.fail(`expected a reload, got ${e.message}`);
  return e;
}

function asError(e: ConfigReloadResult | Error): Error {
  if (!(e instanceof Error)) assert.fail(`expected an error, got a reload of ${e.applied.length} components`);
  return e;
}

describe('watchConfig()', () => {
  it('watchConfig() - a rate and a watermark changed in the file: the components follow within one poll; a broken file changes nothing', async () => {
    using w = setup();
    const jobs = w.built.channels.jobs!;
    const api = w.built.tokenBuckets.api!;
    const result = asResult(await w.change(BASE.replace('rate: 50/s', 'rate: 200/s').replace('high_watermark: 0.8', 'high_watermark: 0.6')));
    assert.equal(api.ratePerSecond, 200);
    assert.equal(jobs.highWatermark, 0.6);
    assert.equal(jobs.lowWatermark, 0.2);
    assert.equal(api.stats().adjustments, 1);
    assert.equal(jobs.stats().adjustments, 1);
    assert.deepEqual(
      result.applied.map((c) => [c.name, c.changes.map((x) => `${x.setting}: ${String(x.previous)} -> ${String(x.value)}`)]),
      [
        ['jobs', ['high_watermark: 0.8 -> 0.6']],
        ['api', ['rate: 50 -> 200']],
      ],
    );
    assert.deepEqual(result.refused, []);

    // Broken YAML, then a schema error, then a value only the constructors refuse: each refused whole.
    for (const broken of [
      BASE.replace('rate: 50/s', 'rate: 10/s').replace('queues:', 'queues: [\n'),
      BASE.replace('rate: 50/s', 'rate: 10/s').replace('strategy: block', 'strategy: blok'),
      BASE.replace('rate: 50/s', 'rate: 10/s').replace('initial_limit: 4, max_limit: 8', 'initial_limit: 9, max_limit: 8'),
    ]) {
      const error = asError(await w.change(broken));
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal((error as ConfigError).code, 'ERR_SLUICE_INVALID_OPTION');
      assert.match(error.message, /sluice\.yaml/);
      assert.equal(api.ratePerSecond, 200, 'the broken file changed nothing');
      assert.equal(jobs.highWatermark, 0.6);
      assert.equal(w.built.concurrencyLimiters.db!.limit, 4);
    }
    assert.deepEqual(w.watcher.stats(), { checks: 4, reloads: 1, rejectedFiles: 3, refusedComponents: 0, closed: false });
  });

  it('watchConfig() - capacity resizes, limits move in order (max before a limit above the old max), and the dashboard shows each knob event', async () => {
    using w = setup();
    const dashboard = dashboardHandler(w.built.components, { clock: w.clock });
    try {
      const db = w.built.concurrencyLimiters.db!;
      const result = asResult(await w.change(BASE.replace('size: 100', 'size: 40').replace('initial_limit: 4, max_limit: 8', 'initial_limit: 12, max_limit: 16')));
      assert.deepEqual(result.refused, []);
      assert.equal(w.built.channels.jobs!.capacity, 40);
      assert.equal(db.maxLimit, 16);
      assert.equal(db.limit, 12);
      w.clock.advance(500);
      assert.deepEqual(
        dashboard.snapshot()!.knobEvents!.map((e) => `${e.component} ${e.setting} ${String(e.previous)} -> ${String(e.value)}`),
        ['jobs capacity 100 -> 40', 'db maxLimit 8 -> 16', 'db limit 4 -> 12'],
      );
    } finally {
      dashboard.close();
    }
  });

  it('watchConfig() - a changed strategy, burst or algorithm-set limit refuses that component whole, naming it and the field; the others apply', async () => {
    using w = setup();
    const next = BASE.replace('size: 100, strategy: block', 'size: 50, strategy: drop-oldest')
      .replace('rate: 50/s, burst: 10', 'rate: 70/s, burst: 20')
      .replace('initial_limit: 4, max_limit: 50', 'initial_limit: 6, max_limit: 50')
      .replace('initial_limit: 4, max_limit: 8', 'initial_limit: 5, max_limit: 8');
    await w.change(next); // the refusals are reported (onError) before the reload (onReload)
    const result = asResult(w.events.find((e) => !(e instanceof Error))!);
    const refusal = asError(w.events.find((e) => e instanceof Error)!);
    assert.deepEqual(result.applied.map((c) => c.name), ['db']);
    assert.equal(w.built.concurrencyLimiters.db!.limit, 5);
    assert.deepEqual(result.refused.map((c) => c.name), ['jobs', 'api', 'adaptive_db']);
    assert.match(result.refused[0]!.reason!, /^queues\.jobs\.strategy: Channel "jobs" cannot change strategy at runtime \("block" -> "drop-oldest"\)/);
    assert.match(result.refused[1]!.reason!, /^rate_limits\.api\.burst: TokenBucket "api" cannot change burst/);
    assert.match(result.refused[2]!.reason!, /concurrency\.adaptive_db\.initial_limit: the 'aimd' algorithm of "adaptive_db" sets its own limit/);
    assert.match(refusal.message, /queues\.jobs\.strategy/);
    // Refused whole: the tunable changes of a refused component are not applied either.
    assert.equal(w.built.channels.jobs!.capacity, 100);
    assert.equal(w.built.tokenBuckets.api!.ratePerSecond, 50);
    assert.equal(w.watcher.stats().refusedComponents, 3);
  });

  it('watchConfig() - a changed kind, an added and a removed component are reported, nothing built or closed', async () => {
    using w = setup();
    const next = BASE.replace('rate_limits:\n  api: { rate: 50/s, burst: 10 }', 'rate_limits:\n  search: { rate: 5/s }')
      .replace('  db: {', '  api: { algorithm: fixed, initial_limit: 2 }\n  db: {')
      .replace('  adaptive_db: { algorithm: aimd, initial_limit: 4, max_limit: 50 }\n', '');
    await w.change(next);
    const result = asResult(w.events.find((e) => !(e instanceof Error))!);
    assert.deepEqual(
      result.refused.map((c) => [c.name, c.action]),
      [
        ['search', 'added'],
        ['api', 'refused'],
        ['adaptive_db', 'removed'],
      ],
    );
    assert.match(result.refused[2]!.reason!, /^concurrency\.adaptive_db: ConcurrencyLimiter "adaptive_db" is gone from the file; a reload does not close components/);
    assert.equal(w.built.concurrencyLimiters.adaptive_db!.closed, false);
    assert.match(result.refused[1]!.reason!, /"api" is a TokenBucket, the file now makes it a ConcurrencyLimiter; a reload cannot change a component's kind/);
    assert.equal(w.built.tokenBuckets.api!.closed, false);
    assert.equal(w.built.components.search, undefined);
  });

  it('check() - applies a changed file at once (e.g. on SIGHUP); an unchanged file reports nothing; close() stops the polling', async () => {
    using w = setup();
    assert.equal(await w.watcher.check(), undefined);
    writeFileSync(w.file, BASE.replace('rate: 50/s', 'rate: 60/s'));
    const result = await w.watcher.check();
    assert.deepEqual(result?.applied.map((c) => c.name), ['api']);
    assert.equal(w.built.tokenBuckets.api!.ratePerSecond, 60);
    assert.equal(w.clock.pending, 1);
    w.watcher.close();
    w.watcher.close();
    assert.equal(w.clock.pending, 0);
    writeFileSync(w.file, BASE.replace('rate: 50/s', 'rate: 70/s'));
    assert.equal(await w.watcher.check(), undefined);
    assert.equal(w.built.tokenBuckets.api!.ratePerSecond, 60);
    assert.equal(w.watcher.stats().closed, true);
  });

  it('watchConfig() - takes a record of components too, and leaves the ones it was not given alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-watch-'));
    const file = join(dir, 'sluice.json');
    const api = new TokenBucket({ ratePerSecond: 50, burst: 10 });
    const other = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 4, maxLimit: 8 });
    try {
      const text = (rate: number, limit: number) => JSON.stringify({ rate_limits: { api: { rate: rate, burst: 10 } }, concurrency: { db: { algorithm: 'fixed', initial_limit: limit, max_limit: 8 } } });
      writeFileSync(file, text(50, 4));
      const watcher = watchConfig(file, { api }, { onError: (e) => assert.fail(e) });
      try {
        writeFileSync(file, text(80, 6));
        const result = await watcher.check();
        assert.equal(api.ratePerSecond, 80);
        assert.equal(other.limit, 4);
        assert.deepEqual(result?.applied.map((c) => c.name), ['api']);
      } finally {
        watcher.close();
      }
    } finally {
      api.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('watchConfig() - rejects bad arguments with coded errors naming the field, before watching', () => {
    const clock = new VirtualClock();
    const initial = parseConfig(BASE);
    assert.throws(() => watchConfig('', {}, { initial, clock }), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => watchConfig('x.yaml', null as never, { initial, clock }), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => watchConfig('x.yaml', {}, { initial, clock, pollIntervalMs: 0 }), (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && /pollIntervalMs/.test(e.message));
    assert.throws(() => watchConfig('x.yaml', {}, { initial, clock, onError: 5 as never }), (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && /onError/.test(e.message));
    assert.throws(() => watchConfig('x.yaml', {}, { initial: 'queues: {}' as never, clock }), (e: Error & { code?: string }) => e.code === 'ERR_SLUICE_INVALID_OPTION' && /initial/.test(e.message));
    assert.throws(() => watchConfig(join(tmpdir(), 'no-such-sluice-file.yaml'), {}, { clock }), { code: 'ENOENT' });
    assert.equal(clock.pending, 0, 'nothing scheduled by a refused call');
  });
});

describe('planReload()', () => {
  it('planReload() - lists each differing setting old -> new, marks what a reload refuses, and notes monitoring', () => {
    const from = parseConfig(`${BASE}monitoring: { alert_thresholds: { queue_depth: 0.9 } }\n`);
    const to = parseConfig(`${BASE.replace('low_watermark: 0.2', 'low_watermark: 0.3').replace('burst: 10', 'burst: 12')}monitoring: { alert_thresholds: { queue_depth: 0.8 } }\n`);
    const plan = planReload(from, to);
    assert.deepEqual(
      plan.components.map((c) => [c.name, c.action, c.changes.map((x) => `${x.setting}: ${String(x.previous)} -> ${String(x.value)}`)]),
      [
        ['jobs', 'apply', ['low_watermark: 0.2 -> 0.3']],
        ['api', 'refused', ['burst: 10 -> 12']],
      ],
    );
    assert.deepEqual(plan.notApplied.map((n) => n.path), ['monitoring']);
    assert.deepEqual(planReload(from, from), { components: [], notApplied: [] });
  });
});
