import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { ErrorCode, InvalidOptionError } from '../../core/errors/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { liveness, loadShed, readiness, type HealthEndpoint, type Readiness } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    assert.ok(error.message.includes(`"${field}"`), error.message);
    return true;
  });
}

/** Answers for a sequence of readings, as 'R' (200, ready) and 'N' (503, not ready). */
function states(ready: Readiness, readings: number[], set: (value: number) => void): string {
  return readings.map((r) => (set(r), ready.check().statusCode === 200 ? 'R' : 'N')).join('');
}

describe('readiness() state', () => {
  it('check() - 200 with a ready JSON summary up to the threshold (default 0.8), 503 with Retry-After above it', () => {
    let reading = 0.8;
    const ready = readiness({ pressure: () => reading });
    const ok = ready.check();
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(JSON.parse(ok.body), { status: 'ready', name: 'readiness', pressure: 0.8, threshold: 0.8, resumeBelow: 0.64 });
    assert.equal(ok.headers['cache-control'], 'no-store');
    assert.equal(ok.headers['retry-after'], undefined);
    assert.match(ok.headers['content-type']!, /^application\/json/);
    assert.equal(ok.headers['content-length'], String(Buffer.byteLength(ok.body)));
    reading = 0.8123456;
    const over = ready.check();
    assert.equal(over.statusCode, 503);
    assert.deepEqual(JSON.parse(over.body), { status: 'not-ready', name: 'readiness', pressure: 0.812, threshold: 0.8, resumeBelow: 0.64, retryAfter: 1 });
    assert.equal(over.headers['retry-after'], '1');
    assert.equal(over.headers['cache-control'], 'no-store');
  });

  it('check() - stays not ready until the reading falls below resumeBelow (default 0.8 × threshold)', () => {
    let reading = 0;
    const ready = readiness({ pressure: () => reading, threshold: 1 });
    assert.equal(ready.resumeBelow, 0.8);
    // over at 1.2; 0.9 and exactly 0.8 stay not ready; 0.79 is ready; 0.95 stays ready; 1.01 is not
    assert.equal(states(ready, [0.5, 1.2, 0.9, 0.8, 0.79, 0.95, 1, 1.01], (r) => (reading = r)), 'RNNNRRRN');
  });

  it('check() - honours a custom resumeBelow', () => {
    let reading = 0;
    const ready = readiness({ pressure: () => reading, threshold: 2, resumeBelow: 1 });
    assert.equal(states(ready, [2.5, 1.9, 1, 0.99, 1.9], (r) => (reading = r)), 'NNNRR');
  });

  it('check() - a reading that hovers around the threshold changes state once, where a check without hysteresis flaps', () => {
    // ±10% noise around the threshold, deterministic
    const noisy = Array.from({ length: 200 }, (_, i) => 0.8 * (1 + 0.1 * Math.sin(i * 1.7)));
    let reading = 0;
    const withHysteresis = readiness({ pressure: () => reading });
    const withoutHysteresis = readiness({ pressure: () => reading, resumeBelow: 0.8 });
    states(withHysteresis, noisy, (r) => (reading = r));
    states(withoutHysteresis, noisy, (r) => (reading = r));
    assert.equal(withHysteresis.stats().transitions, 1);
    assert.equal(withHysteresis.state, 'not-ready');
    assert.ok(withoutHysteresis.stats().transitions > 50, `without hysteresis: ${withoutHysteresis.stats().transitions} transitions`);
  });

  it('check() - minStateMs holds a change back until the state is that old; the first change is never held (virtual clock)', () => {
    const clock = new VirtualClock();
    let reading = 0;
    const ready = readiness({ pressure: () => reading, minStateMs: 5000, clock });
    assert.equal(ready.retryAfterSeconds, 5, 'Retry-After defaults to minStateMs in whole seconds');
    clock.advance(10);
    reading = 2;
    assert.equal(ready.check().statusCode, 503, 'the first change is immediate');
    reading = 0;
    clock.advance(4999);
    assert.equal(ready.check().statusCode, 503, 'held: not ready for only 4999 ms');
    assert.equal(ready.stats().held, 1);
    clock.advance(1);
    assert.equal(ready.check().statusCode, 200, 'released once 5000 ms have passed');
    reading = 2;
    clock.advance(100);
    assert.equal(ready.check().statusCode, 200, 'held: ready for only 100 ms');
    reading = 0.7; // under the threshold again: nothing to hold
    clock.advance(1000);
    assert.equal(ready.check().statusCode, 200);
    const stats = ready.stats();
    assert.deepEqual(
      { state: stats.state, transitions: stats.transitions, held: stats.held, checks: stats.checks, stateForMs: stats.stateForMs, lastReading: stats.lastReading },
      { state: 'ready', transitions: 2, held: 2, checks: 5, stateForMs: 1100, lastReading: 0.7 },
    );
  });

  it('check() - an explicit retryAfterSeconds wins over the one derived from minStateMs', () => {
    const ready = readiness({ pressure: () => 9, minStateMs: 30_000, retryAfterSeconds: 2 });
    const answer = ready.check();
    assert.equal(answer.headers['retry-after'], '2');
    assert.equal(JSON.parse(answer.body).retryAfter, 2);
  });

  it('check() - a reading that throws fails open: ready, pressure null and readError in the body, counted, not-ready ended', () => {
    let reading: number | Error = 3;
    const ready = readiness({
      pressure: () => {
        if (reading instanceof Error) throw reading;
        return reading;
      },
      name: 'api',
    });
    assert.equal(ready.check().statusCode, 503);
    reading = new RangeError('probe closed');
    const answer = ready.check();
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(JSON.parse(answer.body), { status: 'ready', name: 'api', pressure: null, threshold: 0.8, resumeBelow: 0.64, readError: true });
    assert.equal(ready.check().statusCode, 200);
    const stats = ready.stats();
    assert.deepEqual(
      { state: stats.state, readErrors: stats.readErrors, lastReadError: stats.lastReadError, lastReading: stats.lastReading, transitions: stats.transitions },
      { state: 'ready', readErrors: 2, lastReadError: 'RangeError: probe closed', lastReading: 3, transitions: 2 },
    );
  });

  it('check() - a NaN reading counts as no pressure; Infinity is not ready with pressure null in the body', () => {
    let reading = NaN;
    const ready = readiness({ pressure: () => reading });
    assert.equal(states(ready, [NaN, Infinity, NaN], (r) => (reading = r)), 'RNR');
    reading = Infinity;
    assert.equal(JSON.parse(ready.check().body).pressure, null);
    assert.equal(ready.stats().readErrors, 0);
  });

  it('check() - with loadShed on one pressure and both defaults: on a rising ramp 503 comes before the first shed, on the falling ramp 200 comes after the last', () => {
    let reading = 0;
    const ready = readiness({ pressure: () => reading });
    const shed = loadShed({ pressure: () => reading });
    const ramp = [...Array.from({ length: 31 }, (_, i) => i * 0.05), ...Array.from({ length: 31 }, (_, i) => 1.5 - i * 0.05)];
    let notReadyAt: number | undefined;
    let firstShedAt: number | undefined;
    let lastShedAt: number | undefined;
    let readyAgainAt: number | undefined;
    ramp.forEach((r, i) => {
      reading = r;
      const isReady = ready.check().statusCode === 200;
      const admitted = shed.admit();
      if (!isReady && notReadyAt === undefined) notReadyAt = i;
      if (!admitted) {
        firstShedAt ??= i;
        lastShedAt = i;
      }
      if (isReady && notReadyAt !== undefined && readyAgainAt === undefined) readyAgainAt = i;
    });
    assert.ok(notReadyAt !== undefined && firstShedAt !== undefined && lastShedAt !== undefined && readyAgainAt !== undefined);
    assert.ok(ramp[notReadyAt]! > 0.8 && ramp[notReadyAt]! < 1, `not ready at ${ramp[notReadyAt]}`);
    assert.ok(notReadyAt < firstShedAt, 'not ready before the first shed');
    assert.ok(readyAgainAt > lastShedAt, 'ready again only after the last shed');
    assert.ok(ramp[readyAgainAt]! < 0.64, `ready again at ${ramp[readyAgainAt]}`);
    assert.equal(ready.stats().transitions, 2);
  });

  it('check() - reads a Pressure object once per check', () => {
    let reads = 0;
    const ready = readiness({ pressure: { name: 'p', read: () => (reads++, 0.1) } });
    ready.check();
    ready.check();
    assert.equal(reads, 2);
    assert.equal(ready.stats().checks, 2);
  });

  it('drain() - every later check answers 503 with draining in the body, whatever the reading, and minStateMs does not hold it back (virtual clock)', () => {
    const clock = new VirtualClock();
    let reading = 0.1;
    const ready = readiness({ pressure: () => reading, minStateMs: 60_000, clock });
    assert.equal(ready.check().statusCode, 200);
    reading = 2;
    assert.equal(ready.check().statusCode, 503);
    reading = 0;
    clock.advance(60_000);
    assert.equal(ready.check().statusCode, 200, 'ready again: the last change was 60 s ago');
    clock.advance(1);
    ready.drain();
    assert.equal(ready.state, 'not-ready', 'drain() changes the state at once, before any check');
    const answer = ready.check();
    assert.equal(answer.statusCode, 503);
    assert.deepEqual(JSON.parse(answer.body), { status: 'not-ready', name: 'readiness', pressure: 0, threshold: 0.8, resumeBelow: 0.64, draining: true, retryAfter: 60 });
    clock.advance(3_600_000);
    assert.equal(states(ready, [0, 0.5, 2, 0], (r) => (reading = r)), 'NNNN', 'never ready again');
    ready.drain();
    const stats = ready.stats();
    assert.equal(stats.draining, true);
    assert.equal(stats.transitions, 3, 'two changes by pressure, one by drain(); the second drain() does nothing');
    assert.equal(stats.held, 0);
  });

  it('drain() - on a not-ready instance keeps it not ready and adds draining to the body', () => {
    const ready = readiness({ pressure: () => 5 });
    assert.equal(ready.check().statusCode, 503);
    assert.equal(ready.stats().draining, false);
    ready.drain();
    const answer = JSON.parse(ready.check().body) as { status: string; draining?: boolean };
    assert.equal(answer.status, 'not-ready');
    assert.equal(answer.draining, true);
    assert.equal(ready.stats().transitions, 1);
  });

  it('readiness() - rejects bad options naming the field', () => {
    const pressure = () => 0;
    assertInvalidOption(() => readiness(undefined as never), 'pressure');
    assertInvalidOption(() => readiness({ pressure: 5 as never }), 'pressure');
    assertInvalidOption(() => readiness({ pressure, threshold: 0 }), 'threshold');
    assertInvalidOption(() => readiness({ pressure, threshold: NaN }), 'threshold');
    assertInvalidOption(() => readiness({ pressure, threshold: 1, resumeBelow: 1.5 }), 'resumeBelow');
    assertInvalidOption(() => readiness({ pressure, resumeBelow: 0 }), 'resumeBelow');
    assertInvalidOption(() => readiness({ pressure, retryAfterSeconds: 1.5 }), 'retryAfterSeconds');
    assertInvalidOption(() => readiness({ pressure, retryAfterSeconds: -1 }), 'retryAfterSeconds');
    assertInvalidOption(() => readiness({ pressure, minStateMs: -1 }), 'minStateMs');
    assertInvalidOption(() => readiness({ pressure, minStateMs: Infinity }), 'minStateMs');
    assertInvalidOption(() => readiness({ pressure, name: '' }), 'name');
    assertInvalidOption(() => readiness({ pressure, clock: {} as never }), 'clock');
    assertInvalidOption(() => readiness({ pressure, treshold: 1 } as never), 'treshold');
    assert.throws(() => readiness({ pressure, treshold: 1 } as never), /did you mean "threshold"/);
  });
});

describe('liveness()', () => {
  it('check() - answers 200 alive while readiness on the same pressure answers 503', () => {
    const pressure = () => 50;
    const ready = readiness({ pressure });
    const shed = loadShed({ pressure });
    const alive = liveness();
    assert.equal(ready.check().statusCode, 503);
    assert.equal(shed.admit(), false);
    const answer = alive.check();
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(JSON.parse(answer.body), { status: 'alive', name: 'liveness' });
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.equal(answer.headers['retry-after'], undefined);
  });

  it('check() - reports the delay probe as eventLoopDelayMs, still 200 when it is far over its threshold', () => {
    let value = 2.34567;
    const alive = liveness({ eventLoopDelay: { stats: () => ({ value }) }, name: 'api' });
    assert.deepEqual(JSON.parse(alive.check().body), { status: 'alive', name: 'api', eventLoopDelayMs: 2.346 });
    value = 60_000;
    const answer = alive.check();
    assert.equal(answer.statusCode, 200);
    assert.equal(JSON.parse(answer.body).eventLoopDelayMs, 60_000);
    assert.equal(alive.stats().checks, 2);
  });

  it('check() - a probe whose stats() throws leaves the figure out, is counted, and still answers 200', () => {
    const alive = liveness({
      eventLoopDelay: {
        stats: () => {
          throw new Error('closed');
        },
      },
    });
    const answer = alive.check();
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(JSON.parse(answer.body), { status: 'alive', name: 'liveness' });
    assert.deepEqual(alive.stats(), { name: 'liveness', checks: 1, readErrors: 1, lastReadError: 'Error: closed' });
  });

  it('liveness() - rejects bad options naming the field', () => {
    assertInvalidOption(() => liveness({ eventLoopDelay: 5 as never }), 'eventLoopDelay');
    assertInvalidOption(() => liveness({ eventLoopDelay: {} as never }), 'eventLoopDelay');
    assertInvalidOption(() => liveness({ name: 3 as never }), 'name');
    assertInvalidOption(() => liveness({ pressure: () => 1 } as never), 'pressure');
    assertInvalidOption(() => liveness(7 as never), 'liveness options');
  });
});

// ---- adapters on real loopback servers

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

async function honoServer(fetchHandler: (request: Request) => Response | Promise<Response>): Promise<{ base: string; server: Server }> {
  const server = serve({ fetch: fetchHandler, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The "status" field of a JSON answer. */
async function statusOf(response: Response): Promise<string> {
  return ((await response.json()) as { status: string }).status;
}

/** A readiness check whose pressure the test sets, and a liveness check. */
function endpoints(): { ready: Readiness; alive: HealthEndpoint; set: (p: number) => void } {
  let pressure = 0;
  return { ready: readiness({ pressure: () => pressure, retryAfterSeconds: 7 }), alive: liveness(), set: (p) => void (pressure = p) };
}

/**
 * GET and HEAD on /readyz while ready and while not ready, an OPTIONS check (HAProxy's
 * default), and GET /livez while not ready.
 */
async function scenario(base: string, ready: Readiness, set: (p: number) => void): Promise<void> {
  set(0.1);
  let response = await fetch(`${base}/readyz`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(await statusOf(response), 'ready');
  response = await fetch(`${base}/readyz`, { method: 'HEAD' });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(await response.text(), '');

  set(3);
  response = await fetch(`${base}/readyz`);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '7');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await response.json(), { status: 'not-ready', name: 'readiness', pressure: 3, threshold: 0.8, resumeBelow: 0.64, retryAfter: 7 });
  response = await fetch(`${base}/readyz`, { method: 'HEAD' });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '7');
  assert.equal(await response.text(), '');

  response = await fetch(`${base}/livez`);
  assert.equal(response.status, 200, 'liveness stays 200 under pressure');
  assert.equal(await statusOf(response), 'alive');

  set(0.7); // between resumeBelow and threshold: still not ready
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  set(0.1);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal(ready.stats().transitions, 2);
}

describe('readiness() / liveness() adapters on real servers', () => {
  it('node - GET/HEAD/OPTIONS on a node:http server: state, Retry-After, no-store, no body for HEAD', async () => {
    const { ready, alive, set } = endpoints();
    const server = createServer((req, res) => {
      if (req.url === '/readyz') return ready.node(req, res);
      if (req.url === '/livez') return alive.node(req, res);
      res.end('app');
    });
    const base = await listen(server);
    try {
      await scenario(base, ready, set);
      set(3);
      const options = await fetch(`${base}/readyz`, { method: 'OPTIONS' });
      assert.equal(options.status, 503, 'OPTIONS (HAProxy httpchk default) gets the same answer');
      assert.equal(await statusOf(options), 'not-ready');
    } finally {
      await closeServer(server);
    }
  });

  it('node - a check with a large unread request body is answered and leaves the keep-alive connection usable', async () => {
    const { ready, set } = endpoints();
    let appRequests = 0;
    const server = createServer((req, res) => {
      if (req.url === '/readyz') return ready.node(req, res);
      appRequests++;
      req.resume();
      req.on('end', () => res.end('app'));
    });
    const base = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (path: string, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { method: 'POST', agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      set(2);
      const check = await send('/readyz', 'x'.repeat(500_000));
      const after = await send('/app', 'y');
      assert.equal(check.status, 503);
      assert.equal(JSON.parse(check.text).status, 'not-ready');
      assert.deepEqual(after, { status: 200, text: 'app' });
      assert.equal(appRequests, 1);
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });

  it("express - app.get('/readyz', ready.express): GET and HEAD, 200/503, liveness 200", async () => {
    const { ready, alive, set } = endpoints();
    const app = express();
    app.get('/readyz', ready.express);
    app.get('/livez', alive.express);
    const server = createServer(app);
    const base = await listen(server);
    try {
      await scenario(base, ready, set);
    } finally {
      await closeServer(server);
    }
  });

  it("fastify - fastify.get('/readyz', ready.fastify): GET and HEAD, 200/503, liveness 200", async () => {
    const { ready, alive, set } = endpoints();
    const app = Fastify();
    app.get('/readyz', ready.fastify);
    app.get('/livez', alive.fastify);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await scenario(base, ready, set);
    } finally {
      await app.close();
    }
  });

  it("hono - app.get('/readyz', ready.hono) on @hono/node-server: GET and HEAD, 200/503, liveness 200", async () => {
    const { ready, alive, set } = endpoints();
    const app = new Hono();
    app.get('/readyz', ready.hono);
    app.get('/livez', alive.hono);
    const { base, server } = await honoServer(app.fetch);
    try {
      await scenario(base, ready, set);
    } finally {
      await closeServer(server);
    }
  });

  it('hono - app.request() reaches the handler without a server; HEAD has no body', async () => {
    const { ready, set } = endpoints();
    const app = new Hono();
    app.get('/readyz', ready.hono);
    set(5);
    const over = await app.request('/readyz');
    assert.equal(over.status, 503);
    assert.equal(over.headers.get('retry-after'), '7');
    assert.equal(await statusOf(over), 'not-ready');
    const head = await app.request('/readyz', { method: 'HEAD' });
    assert.equal(head.status, 503);
    assert.equal(head.body, null);
  });

  it('fetch - a fetch-style handler routing /readyz and /livez: GET and HEAD, 200/503, liveness 200', async () => {
    const { ready, alive, set } = endpoints();
    const handler = (request: Request): Response => {
      const path = new URL(request.url).pathname;
      if (path === '/readyz') return ready.fetch(request);
      if (path === '/livez') return alive.fetch(request);
      return new Response('app');
    };
    const { base, server } = await honoServer(handler);
    try {
      await scenario(base, ready, set);
    } finally {
      await closeServer(server);
    }
  });
});
