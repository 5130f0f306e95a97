import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { loadShed, type LoadShedder } from './index.js';

/** A shedder whose pressure the test sets by hand, and how many requests reached the app. */
function controlledShed(retryAfterSeconds = 1): { shed: LoadShedder; setPressure: (p: number) => void; reached: { count: number } } {
  let pressure = 0;
  const shed = loadShed({ pressure: () => pressure, retryAfterSeconds });
  return { shed, setPressure: (p) => void (pressure = p), reached: { count: 0 } };
}

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

async function expectServed(base: string, body: string): Promise<void> {
  const response = await fetch(`${base}/hello`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), body);
}

async function expectShed(base: string, retryAfter = 1): Promise<void> {
  const response = await fetch(`${base}/hello`);
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), String(retryAfter));
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await response.json(), { error: 'overloaded', retryAfter });
}

/** Runs the standard scenario: served while under, 503 while over, served again once pressure falls below resumeBelow. */
async function scenario(base: string, setPressure: (p: number) => void, reached: { count: number }, body: string, retryAfter = 1) {
  setPressure(0.5);
  await expectServed(base, body);
  assert.equal(reached.count, 1);
  setPressure(1.5);
  await expectShed(base, retryAfter);
  setPressure(0.95); // above resumeBelow (0.9): still shedding
  await expectShed(base, retryAfter);
  assert.equal(reached.count, 1, 'shed requests must not reach the handler');
  setPressure(0.2);
  await expectServed(base, body);
  assert.equal(reached.count, 2);
}

describe('loadShed() adapters on real servers', () => {
  it('node() - wraps a node:http handler: 503 + Retry-After + JSON when over, pass-through when under', async () => {
    const { shed, setPressure, reached } = controlledShed();
    const server = createServer(
      shed.node((_req, res) => {
        reached.count++;
        res.end('node ok');
      }),
    );
    const base = await listen(server);
    try {
      await scenario(base, setPressure, reached, 'node ok');
      assert.deepEqual({ served: shed.stats().served, shed: shed.stats().shed }, { served: 2, shed: 2 });
    } finally {
      await closeServer(server);
    }
  });

  it('node() / express / fastify - a pressure reading that throws is answered by the handler (fail-open), not an uncaughtException', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const throwing = () => loadShed({
      pressure: () => {
        throw new Error('probe broke');
      },
    });
    const nodeShed = throwing();
    const expressShed = throwing();
    const fastifyShed = throwing();
    const nodeServer = createServer(nodeShed.node((_req, res) => res.end('node ok')));
    const app = express();
    app.use(expressShed.express);
    app.get('/hello', (_req, res) => void res.send('express ok'));
    const expressServer = createServer(app);
    const fastify = Fastify();
    fastify.addHook('onRequest', fastifyShed.fastify);
    fastify.get('/hello', async () => 'fastify ok');
    try {
      await expectServed(await listen(nodeServer), 'node ok');
      await expectServed(await listen(expressServer), 'express ok');
      await expectServed(await fastify.listen({ host: '127.0.0.1', port: 0 }), 'fastify ok');
      for (const shed of [nodeShed, expressShed, fastifyShed]) {
        assert.deepEqual(
          { served: shed.stats().served, readErrors: shed.stats().readErrors, lastReadError: shed.stats().lastReadError },
          { served: 1, readErrors: 1, lastReadError: 'Error: probe broke' },
        );
      }
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', onUncaught);
      await closeServer(nodeServer);
      await closeServer(expressServer);
      await fastify.close();
    }
  });

  it('node() - a shed request with an unread body leaves the keep-alive connection usable', async () => {
    const { shed, setPressure, reached } = controlledShed();
    const server = createServer(
      shed.node((req, res) => {
        reached.count++;
        req.resume();
        req.on('end', () => res.end('ok'));
      }),
    );
    const base = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = httpRequest(`${base}/upload`, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      setPressure(2);
      const first = await post('x'.repeat(200_000));
      setPressure(0);
      const second = await post('y');
      assert.equal(first.status, 503);
      assert.equal(second.status, 200);
      assert.equal(reached.count, 1);
    } finally {
      agent.destroy();
      await closeServer(server);
    }
  });

  it('express - app.use(shed.express): 503 + Retry-After + JSON when over, pass-through when under', async () => {
    const { shed, setPressure, reached } = controlledShed(3);
    const app = express();
    app.use(shed.express);
    app.get('/hello', (_req, res) => {
      reached.count++;
      res.send('express ok');
    });
    const server = createServer(app);
    const base = await listen(server);
    try {
      await scenario(base, setPressure, reached, 'express ok', 3);
    } finally {
      await closeServer(server);
    }
  });

  it("fastify - addHook('onRequest', shed.fastify): 503 + Retry-After + JSON when over, pass-through when under", async () => {
    const { shed, setPressure, reached } = controlledShed();
    const app = Fastify();
    app.addHook('onRequest', shed.fastify);
    app.get('/hello', async () => {
      reached.count++;
      return 'fastify ok';
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await scenario(base, setPressure, reached, 'fastify ok');
    } finally {
      await app.close();
    }
  });

  it('hono - app.use(shed.hono) on @hono/node-server: 503 + Retry-After + JSON when over, pass-through when under', async () => {
    const { shed, setPressure, reached } = controlledShed(2);
    const app = new Hono();
    app.use(shed.hono);
    app.get('/hello', (c) => {
      reached.count++;
      return c.text('hono ok');
    });
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await scenario(base, setPressure, reached, 'hono ok', 2);
    } finally {
      await closeServer(server);
    }
  });

  it('hono - app.request() with shed.hono answers 503 without reaching the route', async () => {
    const { shed, setPressure, reached } = controlledShed();
    const app = new Hono();
    app.use(shed.hono);
    app.get('/hello', (c) => {
      reached.count++;
      return c.text('hono ok');
    });
    setPressure(5);
    const over = await app.request('/hello');
    assert.equal(over.status, 503);
    assert.equal(over.headers.get('retry-after'), '1');
    assert.deepEqual(await over.json(), { error: 'overloaded', retryAfter: 1 });
    setPressure(0);
    assert.equal(await (await app.request('/hello')).text(), 'hono ok');
    assert.equal(reached.count, 1);
  });

  it('fetch() - serve({ fetch: shed.fetch(app.fetch) }) on @hono/node-server', async () => {
    const { shed, setPressure, reached } = controlledShed();
    const app = new Hono();
    app.get('/hello', (c) => {
      reached.count++;
      return c.text('fetch ok');
    });
    const server = serve({ fetch: shed.fetch(app.fetch), hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await scenario(base, setPressure, reached, 'fetch ok');
    } finally {
      await closeServer(server);
    }
  });
});
