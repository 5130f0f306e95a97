import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { Channel } from '../../core/channel/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { dashboardHandler, type DashboardHandler } from './index.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function newDashboard(): { dashboard: DashboardHandler; clock: VirtualClock } {
  const clock = new VirtualClock();
  return { clock, dashboard: dashboardHandler({ jobs: new Channel<number>({ clock }) }, { clock, basePath: '/dashboard/' }) };
}

/** Reads an event stream until the first `data:` snapshot after the history. */
async function firstSnapshot(response: Response, clock: VirtualClock): Promise<{ history: unknown[]; snapshot: { seq: number } }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let history: unknown[] | undefined;
  for (;;) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'stream ended early');
    text += value;
    const h = /event: history\ndata: (.*)\n\n/.exec(text);
    if (h && !history) {
      history = JSON.parse(h[1]!) as unknown[];
      clock.advance(500); // the next snapshot
    }
    const d = /\n\ndata: (.*)\n\n/.exec(text);
    if (history && d) {
      await reader.cancel();
      return { history, snapshot: JSON.parse(d[1]!) as { seq: number } };
    }
  }
}

async function exercise(base: string, dashboard: DashboardHandler, clock: VirtualClock): Promise<void> {
  const page = await fetch(`${base}/dashboard/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Sluice<\/title>/);
  const asset = await fetch(`${base}/dashboard/assets/uPlot.min.css`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /^text\/css/);
  const events = await fetch(`${base}/dashboard/events`);
  assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/);
  const { history, snapshot } = await firstSnapshot(events, clock);
  assert.equal(history.length, 1);
  assert.equal(snapshot.seq, 2);
  for (let i = 0; i < 100 && dashboard.stats().clients > 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(dashboard.stats().clients, 0, 'the cancelled stream is cleaned up');
}

describe('dashboard adapters', () => {
  it('express - serves the page, assets and events as middleware; other routes still reach the app', async () => {
    const { dashboard, clock } = newDashboard();
    const app = express();
    app.use(dashboard.express);
    app.get('/hello', (_req, res) => void res.send('app'));
    const server = createServer(app);
    const base = await listen(server);
    try {
      await exercise(base, dashboard, clock);
      assert.equal(await (await fetch(`${base}/hello`)).text(), 'app');
    } finally {
      dashboard.close();
      await closeServer(server);
    }
  });

  it('express - works mounted under its basePath with app.use(path, …)', async () => {
    const { dashboard, clock } = newDashboard();
    const app = express();
    app.use('/dashboard', dashboard.express);
    const server = createServer(app);
    const base = await listen(server);
    try {
      await exercise(base, dashboard, clock);
    } finally {
      dashboard.close();
      await closeServer(server);
    }
  });

  it('fastify - serves the page, assets and events from a route handler', async () => {
    const { dashboard, clock } = newDashboard();
    const app = Fastify();
    app.get('/dashboard/*', dashboard.fastify);
    app.get('/dashboard', dashboard.fastify);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await exercise(base, dashboard, clock);
      const bare = await fetch(`${base}/dashboard`, { redirect: 'manual' });
      assert.equal(bare.status, 308);
    } finally {
      dashboard.close();
      await app.close();
    }
  });

  it('hono - serves the page, assets and events through @hono/node-server', async () => {
    const { dashboard, clock } = newDashboard();
    const app = new Hono();
    app.get('/dashboard/*', dashboard.hono);
    app.get('/hello', (c) => c.text('app'));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await exercise(base, dashboard, clock);
      assert.equal(await (await fetch(`${base}/hello`)).text(), 'app');
    } finally {
      dashboard.close();
      await closeServer(server);
    }
  });

  it('fetch() - the stream ends and the client is removed when the request is aborted', async () => {
    const { dashboard } = newDashboard();
    const controller = new AbortController();
    const response = await dashboard.fetch(new Request('http://localhost/dashboard/events', { signal: controller.signal }));
    assert.equal(response.status, 200);
    assert.equal(dashboard.stats().clients, 1);
    controller.abort();
    assert.equal(dashboard.stats().clients, 0);
    const missing = await dashboard.fetch(new Request('http://localhost/elsewhere'));
    assert.equal(missing.status, 404);
    dashboard.close();
  });
});
