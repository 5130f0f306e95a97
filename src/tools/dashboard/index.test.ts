import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Channel } from '../../core/channel/index.js';
import { ErrorCode } from '../../core/errors/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { dashboardHandler, type DashboardHandler, type DashboardSnapshot } from './index.js';

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

/** A dashboard on a virtual clock behind a real node:http server. */
async function serve(options: Parameters<typeof dashboardHandler>[1] = {}) {
  const clock = new VirtualClock();
  const channel = new Channel<number>({ capacity: 10, name: 'jobs', clock });
  const dashboard = dashboardHandler({ jobs: channel }, { clock, ...options });
  const server = createServer(dashboard);
  const base = await listen(server);
  return {
    clock,
    channel,
    dashboard,
    base,
    async [Symbol.asyncDispose]() {
      dashboard.close();
      await closeServer(server);
    },
  };
}

/** Opens an event stream and collects its messages; `close()` drops the connection. */
function openEvents(url: string): Promise<{ res: IncomingMessage; messages: { event: string; data: string }[]; next: () => Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      const messages: { event: string; data: string }[] = [];
      let buffer = '';
      let waiter: (() => void) | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) {
            messages.push({ event, data: data.join('\n') });
            waiter?.();
          }
        }
      });
      const next = () => new Promise<void>((r) => (waiter = r));
      resolve({ res, messages, next, close: () => req.destroy() });
    });
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('dashboardHandler() over node:http', () => {
  it('GET / - returns the HTML page with its title, script and stylesheet', async () => {
    await using d = await serve({ title: 'Ingest <prod>', subtitle: 'eu-west-1' });
    const response = await fetch(`${d.base}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await response.text();
    assert.match(html, /<title>Ingest &#60;prod&#62;<\/title>/);
    assert.match(html, /eu-west-1/);
    assert.match(html, /<script src="assets\/uPlot\.iife\.min\.js"><\/script>/);
    assert.match(html, /<script src="assets\/dashboard\.js"><\/script>/);
    assert.match(html, /"intervalMs":500/);
  });

  it('GET /events - sends the history, then a data: JSON snapshot every intervalMs', async () => {
    await using d = await serve({ intervalMs: 500 });
    d.clock.advance(500); // a second snapshot into the history
    const stream = await openEvents(`${d.base}/events`);
    assert.match(stream.res.headers['content-type'] ?? '', /^text\/event-stream/);
    await until(() => stream.messages.length >= 1, 'the history');
    assert.equal(stream.messages[0]!.event, 'history');
    const history = JSON.parse(stream.messages[0]!.data) as DashboardSnapshot[];
    assert.deepEqual(history.map((s) => s.seq), [1, 2]);

    for (let i = 0; i < 30; i++) d.channel.trySend(i); // 10 fit, 20 wait (block): not offered
    const arrived = stream.next();
    d.clock.advance(500);
    await arrived;
    const last = stream.messages.at(-1)!;
    assert.equal(last.event, 'message');
    const snapshot = JSON.parse(last.data) as DashboardSnapshot;
    assert.equal(snapshot.seq, 3);
    assert.equal(snapshot.t, 1);
    const jobs = snapshot.components.find((c) => c.name === 'jobs')!;
    assert.equal(jobs.kind, 'channel');
    assert.equal(jobs.size, 10);
    assert.equal(jobs.utilization, 1);
    assert.equal(jobs.state, 'blocked');
    assert.equal(jobs.inRate, 20); // 10 items in 0.5 s
    assert.equal(jobs.highWatermark, 0.8);
    assert.equal(jobs.lowWatermark, 0.2);
    stream.close();
  });

  it('GET /assets/* - serves uPlot from the package, and the page script and stylesheet', async () => {
    await using d = await serve();
    const uplotPath = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js');
    const js = await fetch(`${d.base}/assets/uPlot.iife.min.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(await js.text(), readFileSync(uplotPath, 'utf8'));
    const css = await fetch(`${d.base}/assets/uPlot.min.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.match(await css.text(), /\.uplot/);
    const script = await fetch(`${d.base}/assets/dashboard.js`);
    assert.match(await script.text(), /new EventSource\(["']events["']\)/); // bundled from browser/client.ts
    const style = await fetch(`${d.base}/assets/dashboard.css`);
    assert.match(await style.text(), /\.card/);
  });

  it('GET /snapshot.json - returns the latest snapshot', async () => {
    await using d = await serve();
    d.channel.trySend(1);
    d.clock.advance(500);
    const snapshot = (await (await fetch(`${d.base}/snapshot.json`)).json()) as DashboardSnapshot;
    assert.equal(snapshot.seq, 2);
    assert.equal(snapshot.components[0]!.size, 1);
  });

  it('GET /snapshot.json - lists knob events (time, component, setting, previous -> value) from the components\' onReconfigure', async () => {
    await using d = await serve();
    d.clock.advance(1500);
    d.channel.resize(20);
    d.clock.advance(500);
    d.channel.setWatermarks(0.6, 0.3);
    d.clock.advance(500);
    const snapshot = (await (await fetch(`${d.base}/snapshot.json`)).json()) as DashboardSnapshot;
    assert.deepEqual(snapshot.knobEvents, [
      { t: 1.5, component: 'jobs', setting: 'capacity', previous: 10, value: 20 },
      { t: 2, component: 'jobs', setting: 'highWatermark', previous: 0.8, value: 0.6 },
      { t: 2, component: 'jobs', setting: 'lowWatermark', previous: 0.2, value: 0.3 },
    ]);
  });

  it('handler - answers 404 for an unknown path, 405 for another method, and HEAD without a body', async () => {
    await using d = await serve();
    const missing = await fetch(`${d.base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await fetch(`${d.base}/assets/secret.js`)).status, 404);
    const post = await fetch(`${d.base}/`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${d.base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal(d.dashboard.stats().notFound, 2);
  });

  it('handler - under basePath, redirects the bare path and 404s outside it', async () => {
    await using d = await serve({ basePath: '/ops/sluice' });
    const bare = await fetch(`${d.base}/ops/sluice?x=1`, { redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/ops/sluice/?x=1');
    assert.equal((await fetch(`${d.base}/ops/sluice/`)).status, 200);
    assert.equal((await fetch(`${d.base}/ops/sluice/assets/dashboard.css`)).status, 200);
    assert.equal((await fetch(`${d.base}/`)).status, 404);
  });

  it('handler - as Connect middleware, passes unknown paths to next()', async () => {
    const clock = new VirtualClock();
    const dashboard = dashboardHandler({ jobs: new Channel({ clock }) }, { clock, basePath: '/dash/' });
    const server = createServer((req, res) => dashboard(req, res, () => res.end('app')));
    const base = await listen(server);
    try {
      assert.equal(await (await fetch(`${base}/other`)).text(), 'app');
      assert.equal((await fetch(`${base}/dash/`)).status, 200);
    } finally {
      dashboard.close();
      await closeServer(server);
    }
  });

  it('GET /events - a client that disconnects is removed', async () => {
    await using d = await serve();
    const stream = await openEvents(`${d.base}/events`);
    await until(() => d.dashboard.stats().clients === 1, 'the client to register');
    stream.close();
    await until(() => d.dashboard.stats().clients === 0, 'the client to be removed');
    d.clock.advance(500); // broadcasting to nobody
    assert.equal(d.dashboard.stats().sent, 0);
  });

  it('GET /events - a client beyond maxClients is served; the stalest stream makes room', async () => {
    await using d = await serve({ maxClients: 1 });
    const first = await openEvents(`${d.base}/events`);
    await until(() => d.dashboard.stats().clients === 1, 'the first client');
    const second = await openEvents(`${d.base}/events`);
    assert.equal(second.res.statusCode, 200);
    await until(() => first.messages.some((m) => m.event === 'evicted'), 'the first page to be told');
    assert.deepEqual({ clients: d.dashboard.stats().clients, evicted: d.dashboard.stats().evicted }, { clients: 1, evicted: 1 });
    first.close();
    second.close();
  });

  it('close() - stops the timer, ends every stream, then answers /events with 204', async () => {
    await using d = await serve();
    const stream = await openEvents(`${d.base}/events`);
    await until(() => d.dashboard.stats().clients === 1, 'the client');
    const ended = new Promise<void>((resolve) => stream.res.on('end', resolve));
    d.dashboard.close();
    await ended;
    assert.equal(d.dashboard.stats().clients, 0);
    assert.equal(d.dashboard.stats().closed, true);
    const snapshots = d.dashboard.stats().snapshots;
    d.clock.advance(5000);
    assert.equal(d.dashboard.stats().snapshots, snapshots, 'no snapshot after close()');
    assert.equal(d.clock.pending, 0);
    assert.equal((await fetch(`${d.base}/events`)).status, 204);
    assert.equal((await fetch(`${d.base}/`)).status, 200, 'the page is still served');
    d.dashboard.close(); // idempotent
  });

  it('timer - takes a snapshot every intervalMs on the injected clock', async () => {
    const clock = new VirtualClock();
    const dashboard: DashboardHandler = dashboardHandler({ jobs: new Channel({ clock }) }, { clock, intervalMs: 250 });
    assert.equal(dashboard.stats().snapshots, 1, 'one at construction');
    clock.advance(1000);
    assert.equal(dashboard.stats().snapshots, 5);
    assert.equal(dashboard.snapshot()!.t, 1);
    dashboard.close();
  });
});

describe('dashboardHandler() - knob events', () => {
  it('knobEvents - keeps only the last knobEventsKept, in every snapshot, oldest first', () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, clock });
    const dashboard = dashboardHandler({ bucket }, { clock, knobEventsKept: 3 });
    try {
      for (let rate = 101; rate <= 105; rate++) bucket.setRate(rate);
      clock.advance(500);
      assert.deepEqual(
        dashboard.snapshot()!.knobEvents!.map((e) => `${e.previous}->${e.value}`),
        ['102->103', '103->104', '104->105'],
      );
      clock.advance(500);
      assert.equal(dashboard.snapshot()!.knobEvents!.length, 3, 'not only the new ones: a late reader sees them too');
    } finally {
      dashboard.close();
    }
  });

  it('close() - unsubscribes from the components; knobEventsKept 0 does not subscribe', () => {
    const clock = new VirtualClock();
    let listeners = 0;
    const source = {
      stats: () => ({ ratePerSecond: 1, burst: 1 }),
      onReconfigure: () => {
        listeners++;
        return () => void listeners--;
      },
    };
    const dashboard = dashboardHandler({ a: source }, { clock });
    assert.equal(listeners, 1);
    dashboard.close();
    assert.equal(listeners, 0);
    dashboardHandler({ a: source }, { clock, knobEventsKept: 0 }).close();
    assert.equal(listeners, 0);
  });

  it('knobEvents - a non-number setting is shown as its string form; a wrapper without onReconfigure has none', () => {
    const clock = new VirtualClock();
    let emit: (e: { setting: string; previous: unknown; value: unknown }) => void = () => {};
    const source = {
      stats: () => ({ ratePerSecond: 1, burst: 1 }),
      onReconfigure: (l: typeof emit) => {
        emit = l;
        return () => {};
      },
    };
    const dashboard = dashboardHandler({ a: source, b: { stats: () => ({}) } }, { clock });
    try {
      emit({ setting: 'mode', previous: 'fixed', value: { algorithm: 'aimd' } });
      emit({ setting: 'max', previous: Infinity, value: undefined });
      clock.advance(500);
      assert.deepEqual(dashboard.snapshot()!.knobEvents, [
        { t: 0, component: 'a', setting: 'mode', previous: 'fixed', value: '{"algorithm":"aimd"}' },
        { t: 0, component: 'a', setting: 'max', previous: 'Infinity', value: null },
      ]);
    } finally {
      dashboard.close();
    }
  });
});

describe('dashboardHandler() - options', () => {
  const clock = new VirtualClock();
  const components = { jobs: new Channel({ clock }) };
  const cases: [string, Record<string, unknown>][] = [
    ['basePath', { basePath: 'dash' }],
    ['intervalMs', { intervalMs: 0 }],
    ['historySize', { historySize: 1 }],
    ['maxClients', { maxClients: 0 }],
    ['knobEventsKept', { knobEventsKept: -1 }],
    ['latencyWindowMs', { intervalMs: 500, latencyWindowMs: 100 }],
    ['alerts', { alerts: {} }],
    ['latency', { latency: { nope: true } }],
    ['title', { title: 5 }],
    ['clock', { clock: {} }],
  ];
  for (const [field, options] of cases) {
    it(`dashboardHandler() - rejects an invalid ${field}`, () => {
      assert.throws(
        () => dashboardHandler(components, { clock, ...options }),
        (error: Error & { code?: string }) => error.code === ErrorCode.invalidOption && error.message.includes(`"${field}"`),
      );
    });
  }

  it('dashboardHandler() - rejects a component without stats()', () => {
    assert.throws(
      () => dashboardHandler({ jobs: {} as never }, { clock }),
      (error: Error & { code?: string }) => error.code === ErrorCode.invalidArgument && error.message.includes('jobs'),
    );
  });
});
