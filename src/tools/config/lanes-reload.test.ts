import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../core/testing/index.js';
import { run } from '../cli/index.js';
import { ConfigError, fromConfig, parseConfig, planReload, watchConfig, type ConfigReloadResult } from './index.js';

// #16 part 2: a reload changes capacity and watermarks of queues with
// priorities or fairness (and fairness.per_key_capacity) through resize(),
// setWatermarks() and setPerKeyCapacity(); their other settings stay fixed.

const BASE = `
queues:
  requests: { capacity: 100, strategy: shed_lowest, high_watermark: 0.8, low_watermark: 0.2, priorities: { levels: [critical, normal, batch], reserve: 10 } }
  tenant_jobs: { capacity: 50, strategy: drop_newest, high_watermark: 0.8, low_watermark: 0.2, fairness: { per_key_capacity: 20 } }
`;

function line(c: { name: string; action: string; changes: { setting: string; previous: unknown; value: unknown }[] }): string {
  return `${c.name} ${c.action} ${c.changes.map((x) => `${x.setting}: ${String(x.previous)} -> ${String(x.value)}`).join(', ')}`;
}

/** A temp file, components built from it on a virtual clock, and a watcher; `change()` writes and polls once. */
function setup(text = BASE) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lanes-reload-'));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, text);
  const clock = new VirtualClock();
  const built = fromConfig<string>(parseConfig(text), { clock, alertLog: false });
  let waiting: ((e: ConfigReloadResult | Error) => void) | undefined;
  const push = (e: ConfigReloadResult | Error) => {
    waiting?.(e);
    waiting = undefined;
  };
  const watcher = watchConfig(file, built, { clock, pollIntervalMs: 1000, onReload: push, onError: push });
  return {
    dir,
    built,
    async change(next: string): Promise<ConfigReloadResult | Error> {
      writeFileSync(file, next);
      const reported = new Promise<ConfigReloadResult | Error>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing reported within 5 s')), 5000);
        waiting = (e) => {
          clearTimeout(timer);
          resolve(e);
        };
      });
      clock.advance(1000);
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

describe('planReload() - queues with priorities or fairness', () => {
  it('planReload() - capacity, watermarks and per_key_capacity are applied; levels, reserve and quantum are refused', () => {
    const from = parseConfig(BASE);
    const tuned = parseConfig(BASE.replace('capacity: 100', 'capacity: 60').replace('high_watermark: 0.8, low_watermark: 0.2, priorities', 'high_watermark: 0.7, low_watermark: 0.3, priorities').replace('per_key_capacity: 20', 'per_key_capacity: 10'));
    assert.deepEqual(planReload(from, tuned).components.map(line), [
      'requests apply capacity: 100 -> 60, high_watermark: 0.8 -> 0.7, low_watermark: 0.2 -> 0.3',
      'tenant_jobs apply fairness.per_key_capacity: 20 -> 10',
    ]);
    const fixed = parseConfig(BASE.replace('reserve: 10', 'reserve: 5').replace('per_key_capacity: 20 }', 'per_key_capacity: 20, quantum: 2 }'));
    const plan = planReload(from, fixed);
    assert.deepEqual(plan.components.map((c) => c.action), ['refused', 'refused']);
    assert.match(plan.components[0]!.reason!, /queues\.requests\.priorities\.reserve: PriorityChannel "requests" cannot change priorities\.reserve at runtime/);
    assert.match(plan.components[1]!.reason!, /queues\.tenant_jobs\.fairness\.quantum: FairChannel "tenant_jobs" cannot change fairness\.quantum at runtime/);
  });
});

describe('watchConfig() - queues with priorities or fairness', () => {
  it('watchConfig() - a priority queue\'s capacity and watermarks follow within one poll; a capacity at or below the reserve is refused whole', async () => {
    using w = setup();
    const requests = w.built.priorityChannels.requests!;
    for (let i = 0; i < 70; i++) requests.trySend(`b${i}`, { priority: 'batch' });
    const result = asResult(await w.change(BASE.replace('capacity: 100', 'capacity: 60').replace('high_watermark: 0.8, low_watermark: 0.2, priorities', 'high_watermark: 0.7, low_watermark: 0.3, priorities')));
    assert.deepEqual(result.refused, []);
    assert.deepEqual(result.applied.map((c) => c.name), ['requests']);
    assert.equal(requests.capacity, 60);
    assert.equal(requests.highWatermark, 0.7);
    assert.equal(requests.lowWatermark, 0.3);
    assert.equal(requests.size, 70, 'the shrink kept every buffered item');
    assert.equal(requests.pressured, true);
    assert.equal(requests.stats().adjustments, 2, 'resize() and setWatermarks()');
    const broken = await w.change(BASE.replace('capacity: 100', 'capacity: 10'));
    assert.ok(broken instanceof ConfigError, String(broken));
    assert.match(broken.message, /reserve/);
    assert.equal(requests.capacity, 60, 'the refused file changed nothing');
  });

  it('watchConfig() - a fair queue shrunk below its old per-key cap lowers the cap first; grown, the capacity moves first', async () => {
    using w = setup();
    const jobs = w.built.fairChannels.tenant_jobs!;
    const events: string[] = [];
    jobs.onReconfigure((e) => events.push(`${e.setting} ${e.previous} -> ${e.value}`));
    const shrunk = asResult(await w.change(BASE.replace('capacity: 50', 'capacity: 8').replace('per_key_capacity: 20', 'per_key_capacity: 4')));
    assert.deepEqual(shrunk.refused, []);
    assert.equal(jobs.capacity, 8);
    assert.equal(jobs.perKeyCapacity, 4);
    const grown = asResult(await w.change(BASE.replace('capacity: 50', 'capacity: 200').replace('per_key_capacity: 20', 'per_key_capacity: 100')));
    assert.deepEqual(grown.refused, []);
    assert.equal(jobs.capacity, 200);
    assert.equal(jobs.perKeyCapacity, 100);
    assert.deepEqual(events, ['perKeyCapacity 20 -> 4', 'capacity 50 -> 8', 'capacity 8 -> 200', 'perKeyCapacity 4 -> 100']);
    assert.equal(jobs.stats().adjustments, 4);
  });
});

describe('sluice validate --diff - queues with priorities or fairness', () => {
  it('validate --diff - shows their capacity, watermark and per_key_capacity changes as applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lanes-cli-'));
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    try {
      let stdout = '';
      let stderr = '';
      const before = write('old.yaml', BASE);
      const after = write('new.yaml', BASE.replace('capacity: 100', 'capacity: 60').replace('low_watermark: 0.2, fairness', 'low_watermark: 0.1, fairness').replace('per_key_capacity: 20', 'per_key_capacity: 10'));
      const code = await run(['validate', '--diff', before, after], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
      assert.equal(stderr, '');
      assert.equal(code, 0);
      assert.match(stdout, /requests\s+PriorityChannel\s+capacity\s+100\s+60\s+applied/);
      assert.match(stdout, /tenant_jobs\s+FairChannel\s+fairness\.per_key_capacity\s+20\s+10\s+applied/);
      assert.match(stdout, /tenant_jobs\s+FairChannel\s+low_watermark\s+0\.2\s+0\.1\s+applied/);
      assert.doesNotMatch(stdout, /refused/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
