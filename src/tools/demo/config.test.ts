import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '../../core/errors/index.js';
import { ConfigError } from '../config/index.js';
import { runDemo } from './index.js';

const quiet = () => undefined;

/** A config file in a temp directory, removed on dispose. */
function configFile(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-config-'));
  const path = join(dir, 'demo.yaml');
  writeFileSync(path, text);
  return { path, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('runDemo({ configFile })', () => {
  it('runDemo() - configFile: the ingest channel, the writer and an intake rate limit come from the file; other entries are listed as ignored', async () => {
    using file = configFile(`queues:
  ingest: { capacity: 3000, strategy: drop_oldest, high_watermark: 0.7, low_watermark: 0.3 }
  orders: { capacity: 10 }
writers:
  sqlite-writer: { capacity: 2000, batch_size: 250, flush_interval: 20ms }
rate_limits:
  intake: { rate: 20000/s, burst: 200 }
`);
    const lines: string[] = [];
    const s = await runDemo({ configFile: file.path, durationMs: 1500, spikeAtMs: 300, dashboard: false, unboundedContrast: false, print: (l) => lines.push(l) });
    assert.equal(s.strategy, 'drop-oldest');
    assert.deepEqual([s.scenario.capacity, s.scenario.writerCapacity, s.scenario.batchSize, s.scenario.maxHeld], [3000, 2000, 250, 3000 + 2000 + 250]);
    assert.ok(lines.some((l) => l.includes(`Config: ${file.path} (queues.ingest, writers.sqlite-writer, rate_limits.intake); intake limited to 20k lines/s; ignored: queues.orders; watched every 1.0 s`)), lines.join('\n'));
    // The intake bucket holds what the servers hand over to its rate (plus its burst), whatever the spike; the rest stays on the servers.
    assert.ok(s.offered <= (20_000 * s.ranMs) / 1000 + 200 + 20_000 * 0.05, `offered ${s.offered} in ${s.ranMs} ms at most 20,000/s`);
    assert.ok(s.heldAtSources > 0, 'the spike outruns the intake limit');
    assert.equal(s.offered, s.written + s.dropped + s.buffered + s.inFlight);
  });

  it('runDemo() - configFile: without queues.ingest, writers or rate_limits the built-in settings apply, with no intake limit', async () => {
    using file = configFile('queues:\n  other: { capacity: 10 }\n');
    const lines: string[] = [];
    const s = await runDemo({ configFile: file.path, durationMs: 500, dashboard: false, unboundedContrast: false, print: (l) => lines.push(l) });
    assert.deepEqual([s.strategy, s.scenario.capacity, s.scenario.writerCapacity, s.scenario.batchSize], ['block', 10_000, 5000, 1000]);
    assert.ok(lines.some((l) => l.includes('(none of queues.ingest, writers.sqlite-writer, rate_limits.intake); ignored: queues.other;')), lines.join('\n'));
  });

  it('runDemo() - configFile: a reload prints one line for what it applied and one for what it refused (a strategy cannot change at runtime)', async () => {
    const text = 'queues:\n  ingest: { capacity: 2000, strategy: block }\nwriters:\n  sqlite-writer: { capacity: 2000, batch_size: 1000 }\n';
    using file = configFile(text);
    const lines: string[] = [];
    const s = await runDemo({
      configFile: file.path,
      configPollMs: 50,
      durationMs: 1500,
      dashboard: false,
      unboundedContrast: false,
      print: (l) => lines.push(l),
      // Before the fleet starts: the first read of the file (50 ms in) finds it changed.
      onReady: () => writeFileSync(file.path, text.replace('strategy: block', 'strategy: drop_oldest').replace('batch_size: 1000', 'batch_size: 400')),
    });
    const config = lines.filter((l) => l.includes('config: '));
    assert.deepEqual(config, [
      `      config: reload of ${file.path} refused in part: queues.ingest.strategy: Channel "ingest" cannot change strategy at runtime ("block" -> "drop-oldest"); restart to apply it`,
      `      config: reloaded ${file.path}: sqlite-writer batch_size 1000 -> 400`,
    ]);
    assert.equal(s.strategy, 'block', 'the refused strategy did not change');
    assert.equal(s.scenario.batchSize, 1000, 'the summary states the batch size the run started with');
  });

  it('runDemo() - configFile: an invalid file, a queues.ingest with priorities, or strategy given both ways is refused before anything starts', async () => {
    using bad = configFile('queues:\n  ingest: { capacity: 0 }\n');
    await assert.rejects(runDemo({ configFile: bad.path, dashboard: false, unboundedContrast: false, print: quiet }), (e: unknown) => e instanceof ConfigError && /queues\.ingest\.capacity: 0 is not an integer >= 1/.test(e.message));
    using priorities = configFile('queues:\n  ingest: { capacity: 100, strategy: shed_lowest, priorities: { levels: [a, b] } }\n');
    await assert.rejects(runDemo({ configFile: priorities.path, dashboard: false, unboundedContrast: false, print: quiet }), (e: unknown) => e instanceof ConfigError && /queues\.ingest\.priorities: not allowed here/.test(e.message));
    using ok = configFile('queues:\n  ingest: { capacity: 100 }\n');
    await assert.rejects(
      runDemo({ configFile: ok.path, strategy: 'drop-oldest', dashboard: false, unboundedContrast: false, print: quiet }),
      (e: unknown) => e instanceof SluiceError && e.code === 'ERR_SLUICE_INVALID_OPTION' && /strategy/.test(e.message),
    );
    for (const [options, field] of [
      [{ configFile: '' }, 'configFile'],
      [{ configFile: ok.path, configPollMs: 1 }, 'configPollMs'],
    ] as const) {
      await assert.rejects(runDemo({ ...options, dashboard: false, unboundedContrast: false, print: quiet }), (e: unknown) => e instanceof SluiceError && (e as SluiceError & { field: string }).field === field);
    }
  });
});
