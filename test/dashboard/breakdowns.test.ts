// The #13 cards in a real browser (Debian's Chromium via playwright-core): a
// PriorityChannel's per-level table, a partitioned limiter's per-partition
// in-flight against its limit, a FairChannel's keys and top droppers, and a
// CircuitBreaker's failure rate and opens; no console errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { CircuitBreaker } from '../../src/core/circuit-breaker/index.js';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter/index.js';
import { FairChannel } from '../../src/core/fair-channel/index.js';
import { PriorityChannel } from '../../src/core/priority-channel/index.js';
import { dashboardHandler } from '../../src/tools/dashboard/index.js';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

interface Tables {
  captions: string[];
  rows: Record<string, string[][]>;
  kpis: Record<string, string>;
}

describe('dashboard in Chromium: levels, partitions, keys and breakers', () => {
  it('page - draws the per-level, per-partition and top-dropper tables and the breaker figures', async () => {
    assert.ok(existsSync(executablePath), `${executablePath} is missing; run npm test (it installs Debian's chromium) or apt-get install -y chromium`);
    const requests = new PriorityChannel<number>({ levels: ['critical', 'normal', 'batch'], capacity: 10, overflow: 'shed-lowest' });
    for (let i = 0; i < 10; i++) requests.trySend(i, { priority: 'batch' });
    for (let i = 0; i < 3; i++) requests.trySend(i, { priority: 'critical' });
    requests.tryReceive();
    const jobs = new FairChannel<number>({ perKeyCapacity: 2, capacity: 50 });
    for (let i = 0; i < 9; i++) jobs.trySend(i, { key: 'tenant-noisy' });
    jobs.trySend(0, { key: 'tenant-quiet' });
    const api = new ConcurrencyLimiter({ initialLimit: 10, partitions: { critical: 0.6, batch: 0.2 } });
    for (let i = 0; i < 3; i++) api.tryAcquire({ partition: 'batch' });
    const payments = new CircuitBreaker({ windowSize: 4, minimumCalls: 4 });
    for (let i = 0; i < 4; i++) await payments.run(() => Promise.reject(new Error('down'))).catch(() => {});

    const dashboard = dashboardHandler({ requests, jobs, api, payments }, { intervalMs: 200 });
    const server = createServer(dashboard);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      assert.equal((await page.goto(url))?.status(), 200);
      await page.waitForFunction("document.querySelectorAll('.breakdown table').length >= 3", undefined, { timeout: 10_000 });
      const read = (await page.evaluate(`(() => {
        const out = { captions: [], rows: {}, kpis: {} };
        for (const card of document.querySelectorAll('article.card')) {
          const name = card.dataset.component;
          out.kpis[name] = card.querySelector('.kpis').textContent;
          for (const t of card.querySelectorAll('.breakdown table')) {
            out.captions.push(name + ': ' + t.querySelector('caption').textContent);
            out.rows[name] = Array.from(t.querySelectorAll('tr')).slice(1).map((tr) => Array.from(tr.children).map((td) => td.textContent));
          }
        }
        return out;
      })()`)) as Tables;
      assert.deepEqual(read.captions, ['requests: Levels (highest first)', 'jobs: Top droppers', 'api: Partitions (in flight of guaranteed)']);
      assert.deepEqual(read.rows.requests, [
        ['critical', '2', '3', '1', '0'],
        ['normal', '0', '0', '0', '0'],
        ['batch', '7', '10', '0', '3'],
      ]);
      assert.deepEqual(read.rows.jobs, [['tenant-noisy', '7']]);
      assert.deepEqual(read.rows.api, [
        ['critical', '0 / 6', '0', '60%'],
        ['batch', '3 / 2', '0', '20%'],
        ['unpartitioned', '0 / 2', '0', '20%'],
      ]);
      assert.match(read.kpis.jobs!, /2\s*keys/i);
      assert.match(read.kpis.payments!, /100%\s*failure rate/i);
      assert.match(read.kpis.payments!, /1\s*opens/i);
      assert.equal(await page.locator('article[data-component="payments"] .pill:not([hidden])').first().textContent(), 'breaker open');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
