import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/tools/config/index.js';
import type { DashboardComponentView, DashboardSnapshot } from '../../src/tools/dashboard/index.js';
import { delay, root, startDemo, type RunningDemo } from './demo.test-helpers.js';

// Issue 16's reload figure: `sluice demo --config FILE` as a real process; the
// file is edited while it runs and the live components are read back from the
// dashboard's /snapshot.json. The demo reads the file every second (watchConfig).
const POLL_MS = 1000;
// Real time on a shared machine: a poll, plus a dashboard tick (1 s) to show it, plus slack.
const FOLLOW_WITHIN_MS = POLL_MS + 3000;

const CONFIG = `queues:
  ingest: { capacity: 10000, strategy: block, timeout: 2s, high_watermark: 0.8, low_watermark: 0.2 }
writers:
  sqlite-writer: { capacity: 5000, batch_size: 1000, flush_interval: 50ms }
rate_limits:
  intake: { rate: 2000/s }
`;

async function snapshot(url: string): Promise<Record<string, DashboardComponentView>> {
  const response = await fetch(new URL('snapshot.json', url));
  assert.equal(response.status, 200);
  const s = (await response.json()) as DashboardSnapshot;
  return Object.fromEntries(s.components.map((c) => [c.name, c]));
}

/** The intake bucket's rate and the ingest channel's watermarks, as the dashboard reads them from the live components. */
async function knobs(url: string): Promise<{ rate: unknown; high: unknown; low: unknown }> {
  const c = await snapshot(url);
  return { rate: c.intake?.gauges?.ratePerSecond, high: c.ingest?.highWatermark, low: c.ingest?.lowWatermark };
}

/** Resolves with the ms it took until `match` is in the demo's output; fails after `withinMs`. */
async function printed(demo: RunningDemo, match: RegExp, withinMs: number): Promise<number> {
  const start = Date.now();
  while (!match.test(demo.output())) {
    if (Date.now() - start > withinMs) assert.fail(`no line matching ${match} within ${withinMs} ms:\n${demo.output()}`);
    await delay(50);
  }
  return Date.now() - start;
}

/** Polls the snapshot until `want` holds; fails after `withinMs`. */
async function until(url: string, want: (k: Awaited<ReturnType<typeof knobs>>) => boolean, withinMs: number): Promise<Awaited<ReturnType<typeof knobs>>> {
  const start = Date.now();
  for (;;) {
    const k = await knobs(url);
    if (want(k)) return k;
    if (Date.now() - start > withinMs) assert.fail(`the dashboard still shows ${JSON.stringify(k)} after ${withinMs} ms`);
    await delay(100);
  }
}

/** Ctrl-C, so the demo deletes its temp database; SIGKILL if it has not exited within 10 s. */
async function stopGently(demo: RunningDemo): Promise<void> {
  const { child } = demo;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    await Promise.race([exited, delay(10_000)]);
  }
  await demo.stop();
}

describe('sluice demo --config: reload while it runs', { timeout: 30_000 }, () => {
  it('demo --config - a rate and a watermark changed in the file: the live components follow within one poll; a broken file changes nothing and is reported', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-reload-'));
    const file = join(dir, 'demo.yaml');
    writeFileSync(file, CONFIG);
    let demo: RunningDemo | undefined;
    try {
      demo = await startDemo('--config', file, '--no-contrast', '--duration', '30s');
      await printed(demo, /Config: .*demo\.yaml \(queues\.ingest, writers\.sqlite-writer, rate_limits\.intake\); intake limited to 2\.0k lines\/s/, 5000);
      assert.deepEqual(await until(demo.url, (k) => k.rate !== undefined, 5000), { rate: 2000, high: 0.8, low: 0.2 });

      // A rate and a watermark: applied at the next read of the file, one line printed.
      writeFileSync(file, CONFIG.replace('rate: 2000/s', 'rate: 500/s').replace('high_watermark: 0.8', 'high_watermark: 0.5'));
      const tookMs = await printed(demo, /config: reloaded .*demo\.yaml: ingest high_watermark 0\.8 -> 0\.5, intake rate 2000 -> 500\n/, FOLLOW_WITHIN_MS);
      // One poll plus slack for a loaded machine (real time; the exact "at the next poll" is checked on the virtual clock in src/tools/config/watch.test.ts).
      t.diagnostic(`reload line printed ${tookMs} ms after the write`);
      assert.ok(tookMs <= POLL_MS + 2000, `applied ${tookMs} ms after the write (one poll is ${POLL_MS} ms)`);
      assert.deepEqual(await until(demo.url, (k) => k.rate === 500, FOLLOW_WITHIN_MS), { rate: 500, high: 0.5, low: 0.2 });
      const events = ((await (await fetch(new URL('snapshot.json', demo.url))).json()) as DashboardSnapshot).knobEvents ?? [];
      assert.deepEqual(
        events.map((e) => `${e.component} ${e.setting} ${String(e.previous)} -> ${String(e.value)}`),
        ['ingest highWatermark 0.8 -> 0.5', 'intake ratePerSecond 2000 -> 500'],
      );

      // A broken file (a new rate, and a watermark above 1): refused whole and reported; nothing changes.
      writeFileSync(file, CONFIG.replace('rate: 2000/s', 'rate: 100/s').replace('high_watermark: 0.8', 'high_watermark: 1.5'));
      await printed(demo, /config: refused .*demo\.yaml, nothing changed: queues\.ingest\.high_watermark: 1\.5 is not a fraction between 0 and 1/, FOLLOW_WITHIN_MS);
      await delay(POLL_MS + 1100); // another poll and dashboard tick: still the old settings
      assert.deepEqual(await knobs(demo.url), { rate: 500, high: 0.5, low: 0.2 });
      assert.doesNotMatch(demo.output(), /intake rate 500 -> 100/);
    } finally {
      if (demo) await stopGently(demo);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('examples/demo.yaml - validates, and has the three entries the demo reads', () => {
    const config = parseConfig(readFileSync(join(root, 'examples/demo.yaml'), 'utf8'));
    assert.deepEqual([config.queues.ingest?.capacity, config.writers['sqlite-writer']?.batchSize, config.rateLimits.intake?.ratePerSecond], [10_000, 1000, 50_000]);
  });
});
