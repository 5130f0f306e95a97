import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriter } from '../../core/batch-writer/index.js';
import { SluiceError } from '../../core/errors/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { ConfigError, componentSpecs, fromConfig, parseConfig, planReload, watchConfig, type ConfigReloadResult } from './index.js';

const BASE = `
writers:
  events: { capacity: 5000, strategy: block, batch_size: 1000, flush_interval: 250ms, max_flush_interval: 5s, target_latency: 200ms }
rate_limits:
  api: { rate: 50/s }
`;

function problems(text: string): string[] {
  try {
    parseConfig(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
    return error.issues.map((i) => i.message);
  }
  return assert.fail('the configuration was accepted');
}

describe('config writers', () => {
  it('parseConfig() - a writers entry: seed and Sluice key names, units resolved, keys left out left to the BatchWriter defaults', () => {
    const config = parseConfig(`${BASE}\n  # comment\n`);
    assert.deepEqual(config.writers.events, {
      capacity: 5000,
      strategy: 'block',
      highWatermark: undefined,
      lowWatermark: undefined,
      sampleEvery: undefined,
      maxBlockMs: undefined,
      batchSize: 1000,
      flushIntervalMs: 250,
      maxFlushIntervalMs: 5000,
      targetLatencyMs: 200,
      maxBytes: undefined,
    });
    const seed = parseConfig('writers:\n  logs: { size: 200, overflow: drop_oldest, high_watermark: "90%" }\n');
    assert.equal(seed.writers.logs!.capacity, 200);
    assert.equal(seed.writers.logs!.strategy, 'drop-oldest');
    assert.equal(seed.writers.logs!.highWatermark, 0.9);
    assert.deepEqual(parseConfig('queues:\n  q: { size: 1 }\n').writers, {});
  });

  it('parseConfig() - bad writer settings are coded errors naming the key, with what is allowed', () => {
    assert.deepEqual(problems('writers:\n  events: { capacity: 100, batch_size: 500 }\n'), ['writers.events.batch_size: 500 is not an integer from 1 to capacity (100)']);
    // Without a capacity the BatchWriter default (1000) bounds the batch.
    assert.deepEqual(problems('writers:\n  events: { batch_size: 1001 }\n'), ['writers.events.batch_size: 1001 is not an integer from 1 to capacity (1000)']);
    assert.deepEqual(problems('writers:\n  events: { flush_interval: 2s, max_flush_interval: 1s }\n'), ['writers.events.max_flush_interval: 1000 is not a duration >= flush_interval (2000 ms)']);
    assert.deepEqual(problems('writers:\n  events: { strategy: drop_oldest, timeout: 1s }\n'), ['writers.events.timeout: 1000 is not allowed with strategy drop-oldest (only with block)']);
    assert.deepEqual(problems('writers:\n  events: { flush_interval: 0 }\n'), ['writers.events.flush_interval: 0 is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)']);
    const [unknown] = problems('writers:\n  events: { batchsize: 10 }\n');
    assert.match(unknown!, /^writers\.events\.batchsize: unknown key; did you mean "batch_size"\?/);
    // Names are unique across sections: a writer and a queue cannot share one.
    assert.deepEqual(problems('queues:\n  events: { size: 10 }\nwriters:\n  events: { capacity: 10 }\n'), ['writers.events: "events" is not unique across sections (already used by queues.events)']);
  });

  it('fromConfig() - builds the writers it is given a sink for, with the file\'s settings; the others are not built', async () => {
    const clock = new VirtualClock();
    const config = parseConfig(BASE.replace('rate_limits:', '  audit: { capacity: 10 }\nrate_limits:'));
    const rows: number[][] = [];
    const built = fromConfig<number>(config, { clock, alertLog: false, sinks: { events: (batch) => void rows.push(batch) } });
    try {
      const events = built.writers.events!;
      assert.ok(events instanceof BatchWriter);
      assert.equal(built.components.events, events);
      assert.equal(built.writers.audit, undefined, 'no sink, no writer');
      assert.equal(built.components.audit, undefined);
      assert.equal(events.batchSize, 1000);
      const s = events.stats();
      assert.equal(s.capacity, 5000);
      assert.equal(s.flushIntervalMs, 250);
      await events.write(1);
      clock.advance(250);
      await Promise.resolve();
      assert.deepEqual(rows, [[1]], 'a partial batch goes after flush_interval');
    } finally {
      built.close();
    }
    // The spec lists every writer, built or not, with its constructor options (flush aside).
    assert.deepEqual(
      componentSpecs(config).components.filter((c) => c.kind === 'BatchWriter').map((c) => [c.name, c.path, c.options]),
      [
        ['events', 'writers.events', { name: 'events', capacity: 5000, overflow: 'block', batchSize: 1000, minFlushIntervalMs: 250, maxFlushIntervalMs: 5000, targetLatencyMs: 200 }],
        ['audit', 'writers.audit', { name: 'audit', capacity: 10 }],
      ],
    );
  });

  it('fromConfig() - a sink for a name the file has no writer for, or not a function, is refused before anything is built', () => {
    const config = parseConfig(BASE);
    for (const [sinks, field] of [
      [{ evnets: () => undefined }, 'sinks.evnets'],
      [{ events: 'db' }, 'sinks.events'],
      [[], 'sinks'],
    ] as const) {
      assert.throws(
        () => fromConfig(config, { clock: new VirtualClock(), sinks: sinks as never }),
        (error: unknown) => error instanceof SluiceError && error.code === 'ERR_SLUICE_INVALID_OPTION' && (error as SluiceError & { field: string }).field === field,
      );
    }
  });

  it('planReload() - batch_size and flush_interval are applied at runtime; capacity and strategy are refused, naming the key', () => {
    const from = parseConfig(BASE);
    const to = parseConfig(BASE.replace('batch_size: 1000', 'batch_size: 200').replace('flush_interval: 250ms', 'flush_interval: 1s'));
    const plan = planReload(from, to);
    assert.deepEqual(
      plan.components.map((c) => [c.name, c.action, c.changes.map((x) => `${x.setting}: ${String(x.previous)} -> ${String(x.value)}`)]),
      [['events', 'apply', ['batch_size: 1000 -> 200', 'flush_interval: 250 -> 1000']]],
    );
    const refused = planReload(from, parseConfig(BASE.replace('capacity: 5000', 'capacity: 6000').replace('batch_size: 1000', 'batch_size: 200')));
    assert.equal(refused.components[0]!.action, 'refused');
    assert.match(refused.components[0]!.reason!, /writers\.events\.capacity: BatchWriter "events" cannot change capacity at runtime \(5000 -> 6000\); restart to apply it/);
  });

  it('watchConfig() - a live writer follows batch_size and flush_interval within one poll; a broken file or a refused key changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-writers-'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, BASE);
    const clock = new VirtualClock();
    const config = parseConfig(BASE);
    const built = fromConfig<string>(config, { clock, alertLog: false, sinks: { events: () => undefined } });
    const events: (ConfigReloadResult | Error)[] = [];
    let notify: (() => void) | undefined;
    const push = (e: ConfigReloadResult | Error) => {
      events.push(e);
      notify?.();
    };
    const watcher = watchConfig(file, built, { clock, initial: config, pollIntervalMs: 1000, onReload: push, onError: push });
    /** Writes the file, lets one poll interval pass and waits (real time, at most 5 s) until the watcher reported `count` more events. */
    const change = async (text: string, count = 1) => {
      const before = events.length;
      writeFileSync(file, text);
      const reported = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing reported within 5 s')), 5000);
        notify = () => {
          if (events.length >= before + count) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      clock.advance(1000);
      await reported;
      return events.slice(before);
    };
    try {
      const writer = built.writers.events!;
      const [applied] = await change(BASE.replace('batch_size: 1000', 'batch_size: 200').replace('flush_interval: 250ms', 'flush_interval: 1s'));
      assert.ok(applied !== undefined && !(applied instanceof Error), String(applied));
      assert.deepEqual(applied.applied.map((c) => c.name), ['events']);
      assert.equal(writer.batchSize, 200);
      assert.equal(writer.stats().flushIntervalMs, 1000);
      assert.equal(writer.stats().adjustments, 2);

      const [broken] = await change(BASE.replace('batch_size: 1000', 'batch_size: 9000'));
      assert.ok(broken instanceof ConfigError, String(broken));
      assert.match(broken.message, /writers\.events\.batch_size: 9000 is not an integer from 1 to capacity \(5000\)/);
      assert.equal(writer.batchSize, 200, 'a broken file changes nothing');

      // A refused key refuses the whole component: its batch_size change is not applied either.
      const refused = await change(BASE.replace('batch_size: 1000', 'batch_size: 300').replace('target_latency: 200ms', 'target_latency: 1s'), 2);
      const error = refused.find((e) => e instanceof Error);
      assert.match(String(error?.message), /writers\.events\.target_latency: BatchWriter "events" cannot change target_latency at runtime/);
      assert.equal(writer.batchSize, 200);
      assert.equal(writer.stats().adjustments, 2);
    } finally {
      watcher.close();
      built.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
