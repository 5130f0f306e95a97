import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Channel } from '../../core/channel/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { dashboardHandler, type DashboardHandler } from './index.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A raw loopback client that asks for /events and then never reads: its socket stays paused. */
function idleClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {}); // reset by the server on eviction: expected
    socket.once('connect', () => {
      socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads an event stream over fetch until `count` messages came, returning their event names. */
async function readEvents(response: Response, count: number): Promise<string[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const events: string[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      if (!block.includes('data: ')) continue;
      events.push(/^event: (.*)$/m.exec(block)?.[1] ?? 'message');
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

/** Polls every 5 ms (up to 20 s: the machine may be busy), calling `tick` between polls. */
async function until(condition: () => boolean, what: string, tick?: () => void): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (condition()) return;
    tick?.();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function serve(options: Parameters<typeof dashboardHandler>[1], description = '') {
  const clock = new VirtualClock();
  const jobs = Object.assign(new Channel<number>({ capacity: 10, clock }), {});
  const source = description ? { stats: () => jobs.stats(), description } : jobs;
  const dashboard: DashboardHandler = dashboardHandler({ jobs: source }, { clock, ...options });
  const server = createServer(dashboard);
  const port = await listen(server);
  const sockets: Socket[] = [];
  let connections = 0;
  server.on('connection', (socket) => {
    connections++;
    socket.on('close', () => connections--);
  });
  return {
    connections: () => connections,
    clock,
    dashboard,
    port,
    base: `http://127.0.0.1:${port}`,
    sockets,
    async [Symbol.asyncDispose]() {
      dashboard.close();
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

describe('dashboardHandler() clients that do not read', () => {
  it('GET /events - 32 idle clients hold every slot: a new viewer still streams, the stalest idle one is evicted', async () => {
    await using d = await serve({ maxClients: 32 });
    for (let i = 0; i < 32; i++) d.sockets.push(await idleClient(d.port));
    await until(() => d.dashboard.stats().clients === 32, '32 idle clients');

    const viewer = await fetch(`${d.base}/events`);
    assert.equal(viewer.status, 200);
    await until(() => d.dashboard.stats().evicted === 1, 'one eviction');
    assert.equal(d.dashboard.stats().clients, 32);
    // Server side: the evicted connection is closed (a paused client does not notice until it reads).
    await until(() => d.connections() === 32, 'the oldest idle connection to be closed on the server');
    d.sockets[0]!.resume();
    await until(() => d.sockets[0]!.closed, 'the oldest idle client to see the end');
    assert.ok(d.sockets.slice(1).every((s) => !s.closed), 'only the stalest one goes');
    d.clock.advance(500);
    assert.deepEqual(await readEvents(viewer, 2), ['history', 'message']);
  });

  it('GET /events - a page evicted while it still reads gets event "evicted" and its stream ends', async () => {
    await using d = await serve({ maxClients: 1 });
    const first = await fetch(`${d.base}/events`);
    await until(() => d.dashboard.stats().clients === 1, 'the first page');
    const second = await fetch(`${d.base}/events`);
    assert.equal(second.status, 200);
    assert.deepEqual(await readEvents(first, 3), ['history', 'evicted']);
    assert.deepEqual({ clients: d.dashboard.stats().clients, evicted: d.dashboard.stats().evicted }, { clients: 1, evicted: 1 });
    await second.body!.cancel();
  });

  it('GET /events - a client whose socket stays full for clientStallTimeoutMs is dropped; a reading page is kept', async () => {
    // Large snapshots fill the idle client's socket buffers within a few snapshots.
    await using d = await serve({ clientStallTimeoutMs: 5000, historySize: 2 }, 'x'.repeat(512 * 1024));
    const idle = await idleClient(d.port);
    d.sockets.push(idle);
    const stop = new AbortController();
    const reader = await fetch(`${d.base}/events`, { signal: stop.signal });
    const received = { seq: 0 };
    const readAll = (async () => {
      let tail = '';
      for await (const chunk of reader.body!.pipeThrough(new TextDecoderStream())) {
        const text = tail + chunk;
        for (const m of text.matchAll(/data: \{"seq":(\d+),/g)) received.seq = Math.max(received.seq, Number(m[1]));
        tail = text.slice(-32);
      }
    })();
    await until(() => d.dashboard.stats().clients === 2, 'both clients');

    // Snapshots go out until the idle client's transport refuses more; from then on it is skipped.
    await until(() => d.dashboard.stats().skipped > 0, 'the idle client to fill up', () => d.clock.advance(500));
    // The write that found the buffer full came one snapshot before the first skipped one.
    const filledAt = d.clock.now() - 500;
    assert.equal(d.dashboard.stats().stalled, 0);
    while (d.clock.now() - filledAt < 4500) {
      d.clock.advance(500);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(d.dashboard.stats().clients, 2, 'kept until the deadline');
    d.clock.advance(500);
    d.clock.advance(500);
    await until(() => d.connections() === 1, 'the idle client to be disconnected on the server');
    assert.deepEqual({ clients: d.dashboard.stats().clients, stalled: d.dashboard.stats().stalled }, { clients: 1, stalled: 1 });
    const seqBefore = d.dashboard.snapshot()!.seq;
    d.clock.advance(500);
    // On a busy machine the reading page may still be working through earlier
    // 512 KiB snapshots, its buffer full, so the next one skips it too: keep
    // snapshots coming (one per 200 ms) until one reaches it.
    let polls = 0;
    await until(() => received.seq > seqBefore, 'the reading page to get a later snapshot', () => {
      if (++polls % 40 === 0) d.clock.advance(500);
    });
    assert.equal(d.dashboard.stats().clients, 1, 'the reading page is still connected');
    stop.abort();
    await readAll.catch(() => {});
  });
});
