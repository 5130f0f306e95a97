// The chaos harness's /readyz prober and the checker's readiness contract,
// against real node:http servers serving Sluice's readiness() and loadShed()
// (a few seconds of real clock; every wait is bounded and every server closed in finally).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadShed, readiness } from '../../src/adapters/http/index.js';
import { probeProblem } from './checker.js';
import { ReadinessProber, type ReadinessReport } from './prober.js';

async function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Polls the prober's summary until `done` holds; fails after 10 s instead of hanging. */
async function until(prober: ReadinessProber, done: (r: ReadinessReport) => boolean): Promise<ReadinessReport> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = prober.summary();
    if (done(r)) return r;
    assert.ok(Date.now() < deadline, `condition not reached in 10 s: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ready = (pressure: number) => JSON.stringify({ status: 'ready', name: 'x', pressure, threshold: 0.7, resumeBelow: 0.5 });
const notReady = (pressure: number) => JSON.stringify({ status: 'not-ready', name: 'x', pressure, threshold: 0.7, resumeBelow: 0.5, retryAfter: 1 });

describe('chaos /readyz contract', () => {
  it('probeProblem() - accepts readiness answers whose state agrees with the reading and the hysteresis', () => {
    assert.equal(probeProblem({ statusCode: 200, retryAfter: undefined, body: ready(0.7) }), undefined);
    assert.equal(probeProblem({ statusCode: 503, retryAfter: '1', body: notReady(0.5) }), undefined);
    assert.equal(probeProblem({ statusCode: 503, retryAfter: '1', body: notReady(1.4) }), undefined);
  });

  it('probeProblem() - rejects a 500, a shed probe, a non-JSON body and an unread pressure', () => {
    assert.match(probeProblem({ statusCode: 500, retryAfter: undefined, body: 'boom' })!, /not 200 or 503/);
    assert.match(probeProblem({ statusCode: 503, retryAfter: '1', body: '{"error":"overloaded","retryAfter":1}' })!, /a shed probe/);
    assert.match(probeProblem({ statusCode: 200, retryAfter: undefined, body: 'ok' })!, /not JSON/);
    assert.match(probeProblem({ statusCode: 200, retryAfter: undefined, body: JSON.stringify({ status: 'ready', pressure: null, readError: true, threshold: 0.7, resumeBelow: 0.5 }) })!, /not read/);
  });

  it('probeProblem() - rejects ready above the threshold, not ready below resumeBelow, and a Retry-After that does not match', () => {
    assert.match(probeProblem({ statusCode: 200, retryAfter: undefined, body: ready(0.71) })!, /ready above the threshold/);
    assert.match(probeProblem({ statusCode: 503, retryAfter: '1', body: notReady(0.49) })!, /not ready below resumeBelow/);
    assert.match(probeProblem({ statusCode: 503, retryAfter: undefined, body: notReady(0.9) })!, /Retry-After/);
  });
});

describe('ReadinessProber', () => {
  it('ReadinessProber - counts readiness() 200s and 503s, and a loadShed 503 after a 503 probe as warned first', async () => {
    let pressure = 0.2;
    const check = readiness({ pressure: () => pressure, threshold: 0.7, resumeBelow: 0.5 });
    const shed = loadShed({ pressure: () => pressure });
    const { server, port } = await listen((req, res) => (req.url === '/readyz' ? check.node(req, res) : shed.node((_q, s) => s.end('ok'))(req, res)));
    const prober = new ReadinessProber(port, () => 1, 10, 1000);
    try {
      prober.start();
      await until(prober, (r) => r.ready >= 2);
      pressure = 1.2; // above readiness's 0.7 and loadShed's 1
      await until(prober, (r) => r.notReady >= 1);
      prober.noteShed();
      const r = await until(prober, (s) => s.notReady >= 2);
      assert.equal(r.violations, 0, r.violationExamples.join('\n'));
      assert.equal(r.turnedNotReady, 1);
      assert.equal(r.shed, 1);
      assert.equal(r.shedEpisodes, 1);
      assert.equal(r.shedEpisodesWarned, 1);
      assert.equal(r.shedWhileLastProbeReady, 0);
    } finally {
      await prober.stop();
      await close(server);
    }
  });

  it('probeProblem() - a draining 503 (readiness().drain()) is valid at any pressure; draining on a 200 or other than true is not', () => {
    const draining = (pressure: number) => JSON.stringify({ status: 'not-ready', name: 'x', pressure, threshold: 0.7, resumeBelow: 0.5, draining: true, retryAfter: 1 });
    assert.equal(probeProblem({ statusCode: 503, retryAfter: '1', body: draining(0.1) }), undefined);
    assert.match(probeProblem({ statusCode: 200, retryAfter: undefined, body: JSON.stringify({ status: 'ready', pressure: 0.1, threshold: 0.7, resumeBelow: 0.5, draining: true }) })!, /draining is only ever true, on a 503/);
    assert.match(probeProblem({ statusCode: 503, retryAfter: '1', body: draining(0.1).replace('"draining":true', '"draining":1') })!, /draining is only ever true/);
  });

  it('ReadinessProber - answers after drain() count as draining, not as not ready by pressure, and break nothing', async () => {
    const check = readiness({ pressure: () => 0.1, threshold: 0.7, resumeBelow: 0.5 });
    const { server, port } = await listen((req, res) => check.node(req, res));
    const prober = new ReadinessProber(port, () => 1, 10, 1000);
    try {
      prober.start();
      await until(prober, (r) => r.ready >= 1);
      check.drain();
      const r = await until(prober, (s) => s.draining >= 2);
      assert.equal(r.violations, 0, r.violationExamples.join('\n'));
      assert.equal(r.notReady, 0);
    } finally {
      await prober.stop();
      await close(server);
    }
  });

  it('ReadinessProber - a shed right after a ready answer counts as shed while ready, and the later 503 probe as told late', async () => {
    let pressure = 0.2;
    const check = readiness({ pressure: () => pressure, threshold: 0.7, resumeBelow: 0.5 });
    const { server, port } = await listen((req, res) => check.node(req, res));
    // A long episode gap, so a slow machine cannot end the episode before the 503 probe arrives.
    const prober = new ReadinessProber(port, () => 1, 10, 1000, 60_000);
    try {
      prober.start();
      await until(prober, (r) => r.ready >= 1);
      prober.noteShed(); // a step of load: shed before any probe saw it
      pressure = 1.2;
      const r = await until(prober, (s) => s.notReady >= 1);
      assert.equal(r.shedWhileLastProbeReady, 1);
      assert.equal(r.shedEpisodesWarned, 0);
      assert.equal(r.shedEpisodesFlaggedLate, 1);
      assert.ok(r.medianLateMs >= 0 && r.medianLateMs < 5000, `medianLateMs ${r.medianLateMs}`);
    } finally {
      await prober.stop();
      await close(server);
    }
  });

  it('ReadinessProber - a probe left unanswered past its timeout while the pipeline is up is a violation', async () => {
    const { server, port } = await listen(() => {}); // accepts, never answers
    const prober = new ReadinessProber(port, () => 1, 10, 100);
    try {
      prober.start();
      const r = await until(prober, (s) => s.violations >= 1);
      assert.match(r.violationExamples[0]!, /no answer within 100 ms while the pipeline was up/);
      assert.equal(r.ready + r.notReady, 0);
    } finally {
      await prober.stop();
      await close(server);
    }
  });

  it('ReadinessProber - a probe a loadShed answers (the probe was shed) is a violation while up', async () => {
    const shed = loadShed({ pressure: () => 2 });
    const { server, port } = await listen(shed.node((_q, s) => s.end('ok')));
    const prober = new ReadinessProber(port, () => 1, 10, 1000);
    try {
      prober.start();
      const r = await until(prober, (s) => s.violations >= 1);
      assert.match(r.violationExamples[0]!, /a shed probe/);
    } finally {
      await prober.stop();
      await close(server);
    }
  });

  it('ReadinessProber - no answer while the pipeline is down is counted as down, not as a violation', async () => {
    const { server, port } = await listen(() => {});
    await close(server); // nothing listens on the port any more: connection refused
    const prober = new ReadinessProber(port, () => undefined, 10, 1000);
    try {
      prober.start();
      const r = await until(prober, (s) => s.noAnswerDown >= 3);
      assert.equal(r.violations, 0);
    } finally {
      await prober.stop();
    }
  });
});
