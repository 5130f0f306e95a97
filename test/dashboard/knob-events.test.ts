// Knob events in a real browser (Debian's Chromium via playwright-core): a
// setting changed at runtime appears in the page's "Knob changes" list
// (component, setting, previous -> value), newest first; no console errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { Channel } from '../../src/core/channel/index.js';
import { TokenBucket } from '../../src/core/token-bucket/index.js';
import { dashboardHandler } from '../../src/tools/dashboard/index.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

describe('dashboard in Chromium: knob events', () => {
  it('page - lists runtime setting changes, newest first, as they happen', async () => {
    assert.ok(existsSync(executablePath), `${executablePath} is missing; run npm test (it installs Debian's chromium) or apt-get install -y chromium`);
    const jobs = new Channel<number>({ capacity: 100 });
    const bucket = new TokenBucket({ ratePerSecond: 500 });
    const dashboard = dashboardHandler({ jobs, bucket }, { intervalMs: 200 });
    const server = createServer(dashboard);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      assert.equal((await page.goto(url))?.status(), 200);
      // Locator waits, not waitForFunction: the page's CSP (script-src 'self') refuses string evaluation while polling.
      await page.locator('article.card').nth(1).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#knob-log li').first().textContent(), 'No runtime setting changes yet');
      bucket.setRate(125);
      jobs.resize(50);
      await page.locator('#knob-log li.knob').nth(1).waitFor({ timeout: 10_000 });
      const lines = (await page.locator('#knob-log li').allTextContents()).map((t) => t.replace(/^\S+ s\s+/, '').replace(/\s+/g, ' '));
      assert.deepEqual(lines, ['jobs capacity 100 → 50', 'bucket ratePerSecond 500 → 125']);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      dashboard.close();
      jobs.close();
      bucket.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
