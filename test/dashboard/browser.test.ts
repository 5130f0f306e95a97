// The dashboard in a real browser: Debian's Chromium, headless, driven by
// playwright-core (no browser download). The demo runs in-process with a short
// duration; the page must load without console errors, draw its uPlot charts,
// and show numbers that change while the demo runs. A screenshot goes to
// test-output/dashboard.png, and to docs/dashboard.png with UPDATE_SCREENSHOT=1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { runDemo, type DemoSummary } from '../../src/tools/demo/index.js';

// `npm test` (scripts/ensure-env.mjs) installs Debian's chromium, or names the command that does.
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const screenshot = 'test-output/dashboard.png';

interface PageState {
  snapshots: number;
  charts: { width: number; height: number; series: number }[];
  canvases: { width: number; height: number }[];
  components: string[];
  clock: string;
  kpis: string;
}

describe('dashboard in Chromium', () => {
  it('page - loads without console errors, draws uPlot charts and updates while the demo runs', async () => {
    assert.ok(existsSync(executablePath), `${executablePath} is missing; run npm test (it installs Debian's chromium) or apt-get install -y chromium`);
    let demo: Promise<DemoSummary> | undefined;
    const url = await new Promise<string>((resolve, reject) => {
      demo = runDemo({
        durationMs: 14_000,
        spikeAtMs: 2_000,
        unboundedHeapCapMb: 128,
        port: 0,
        print: () => undefined,
        onReady: ({ url }) => (url ? resolve(url) : reject(new Error('no dashboard URL'))),
      });
      demo.catch(reject);
    });

    const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => {
        if (!r.url().endsWith('/events')) problems.push(`request failed: ${r.url()}`);
      });
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);

      // Runs in the page (kept as source text: this project compiles without DOM types).
      const read = () =>
        page.evaluate(`(() => {
          const d = window.sluiceDashboard;
          return {
            snapshots: d.snapshots(),
            charts: d.charts().map((u) => ({ width: u.width, height: u.height, series: u.series.length })),
            canvases: Array.from(document.querySelectorAll('.uplot canvas')).map((c) => ({ width: c.width, height: c.height })),
            components: d.components(),
            clock: document.getElementById('clock').textContent,
            kpis: Array.from(document.querySelectorAll('.kpis')).map((k) => k.textContent).join(' | '),
          };
        })()`) as Promise<PageState>;

      await page.waitForFunction('window.sluiceDashboard && window.sluiceDashboard.charts().length >= 10', undefined, { timeout: 10_000 });
      const first = await read();
      assert.deepEqual(first.components, ['fleet', 'ingest', 'sqlite-writer', 'unbounded queue (contrast)', 'aggregator']);
      assert.ok(first.charts.length >= 10, `${first.charts.length} uPlot charts`);
      for (const chart of first.charts) assert.ok(chart.width > 100 && chart.height > 100, JSON.stringify(chart));
      // Every chart but an empty "drops by reason" (no drops so far under 'block') has data series.
      assert.ok(first.charts.filter((c) => c.series > 1).length >= first.charts.length - 3);
      assert.ok(first.canvases.length >= first.charts.length);
      for (const canvas of first.canvases) assert.ok(canvas.width > 0 && canvas.height > 0, 'canvas has a size');
      assert.equal(await page.locator('#conn').textContent(), 'live');

      await page.waitForTimeout(3000);
      const later = await read();
      assert.ok(later.snapshots >= first.snapshots + 4, `snapshots ${first.snapshots} → ${later.snapshots}`);
      assert.notEqual(later.clock, first.clock);
      assert.notEqual(later.kpis, first.kpis, 'the numbers changed');

      await page.waitForTimeout(4500); // into the spike, the unbounded queue at its cap
      const bands = await page.locator('.band-wrap canvas').count();
      assert.ok(bands >= 3, 'state timelines drawn');
      assert.ok((await page.locator('#alerts .alert').count()) > 0, 'alert badges shown during the spike');
      mkdirSync('test-output', { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(screenshot, 'docs/dashboard.png');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await demo;
    }
  });
});
