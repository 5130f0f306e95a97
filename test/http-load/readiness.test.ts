import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { load, startServer, type LoadResult } from './harness.js';

// One server, one pressure, two thresholds. The handler waits ASYNC_MS (a call to a
// downstream service), so with autocannon's closed-loop connections the number of
// requests in the handler is about the number of connections: the pressure
// inflight / LIMIT rises with the load, step by step, and does not depend on how
// fast this machine is. loadShed sheds above 1 (LIMIT in flight); readiness turns
// 503 above READY_THRESHOLD and 200 again below 0.8 × READY_THRESHOLD.
// The load rises in layers of connections that all stop together at END_S:
//   0 s: 10 connections (pressure ~0.25)   2 s: 16 (~0.4)   4 s: 26 (~0.65)   6 s: 50 (~1.25, shedding)
// A prober checks /readyz and /livez every PROBE_EVERY_MS, as a load balancer would.
const LIMIT = 40;
const READY_THRESHOLD = 0.5;
const ASYNC_MS = 20;
const LAYERS = [
  { startS: 0, connections: 10 },
  { startS: 2, connections: 6 },
  { startS: 4, connections: 10 },
  { startS: 6, connections: 24 },
] as const;
const END_S = 9;
const PROBE_EVERY_MS = 50;
/** How long after the load stops the check must be ready again. */
const RECOVER_WITHIN_MS = 1000;

interface Probe {
  /** Date.now() when the check was sent. */
  at: number;
  ready: number;
  live: number;
}

async function probeOnce(url: string): Promise<Probe> {
  const at = Date.now();
  const [ready, live] = await Promise.all([fetch(`${url}readyz`), fetch(`${url}livez`)]);
  await Promise.all([ready.arrayBuffer(), live.arrayBuffer()]);
  return { at, ready: ready.status, live: live.status };
}

describe('readiness() under real load', () => {
  it('readiness() - under a rising load turns 503 before loadShed sheds, is 200 again after the load stops, and changes state at most a few times', { timeout: 60_000 }, async (t) => {
    const server = await startServer({
      pressure: 'inflight-avg',
      workMs: 0,
      asyncWorkMs: ASYNC_MS,
      threshold: LIMIT,
      readiness: { threshold: READY_THRESHOLD },
    });
    try {
      const probes: Probe[] = [];
      const t0 = Date.now();
      const endAt = t0 + END_S * 1000;
      const runs: Promise<LoadResult>[] = LAYERS.map(({ startS, connections }) =>
        sleep(startS * 1000).then(() => load(server.url, connections, END_S - startS, 0)),
      );
      const loaded = Promise.all(runs);
      let recoveredAt: number | undefined;
      // Probe through the ramp, then until the check is ready again (or the time is up).
      while (Date.now() < endAt + RECOVER_WITHIN_MS + 1000) {
        const probe = await probeOnce(server.url);
        probes.push(probe);
        if (probe.at > endAt && probe.ready === 200) {
          recoveredAt = probe.at;
          break;
        }
        await sleep(PROBE_EVERY_MS);
      }
      const results = await loaded;
      // A few more checks after the load is gone: it stays ready.
      for (let i = 0; i < 5; i++) {
        probes.push(await probeOnce(server.url));
        await sleep(PROBE_EVERY_MS);
      }
      const report = await server.stop();
      const readinessReport = report.readiness;
      assert.ok(readinessReport, 'the server reports its readiness');
      const { changes, stats } = readinessReport;

      const rel = (at: number | undefined) => (at === undefined ? 'never' : `${((at - t0) / 1000).toFixed(2)} s`);
      const served = results.reduce((n, r) => n + r.served, 0);
      const shedSeen = results.reduce((n, r) => n + r.shed, 0);
      const failed = results.reduce((n, r) => n + r.failed, 0);
      const notReadyProbes = probes.filter((p) => p.ready === 503).length;
      t.diagnostic(`load: ${served} served, ${shedSeen} shed (503 from loadShed), ${failed} failed; server: ${report.shed} shed in ${report.shedEvents} shedding episodes`);
      t.diagnostic(`readiness changes (server side): ${changes.map((c) => `${c.state} at ${rel(c.at)} (reading ${c.reading?.toFixed(3)}, ${c.shedBefore} shed before)`).join('; ')}`);
      t.diagnostic(`loadShed first shed at ${rel(report.firstShedAt)}; layers at 0/2/4/6 s, load stopped at ${END_S} s, ready again (prober) at ${rel(recoveredAt)}`);
      t.diagnostic(`prober: ${probes.length} checks, ${notReadyProbes} answered 503; liveness ${probes.filter((p) => p.live === 200).length}/${probes.length} answered 200; transitions ${stats.transitions}`);

      // Turned not ready, and before loadShed had shed anything.
      const firstNotReady = changes.find((c) => c.state === 'not-ready');
      assert.ok(firstNotReady, 'readiness turned 503 under load');
      assert.equal(firstNotReady.shedBefore, 0, 'no request was shed before readiness turned 503');
      assert.ok(report.firstShedAt !== undefined && report.shed > 0 && shedSeen > 0, 'the top layer of load made loadShed shed');
      assert.ok(report.firstShedAt > firstNotReady.at, `readiness 503 at ${rel(firstNotReady.at)} comes before the first shed at ${rel(report.firstShedAt)}`);
      // Not under the light layers (pressure <= 0.4): ready until the third layer started.
      const lightEnd = t0 + LAYERS[2].startS * 1000;
      assert.ok(firstNotReady.at >= lightEnd - 100, `not ready only once the load passed the threshold (at ${rel(firstNotReady.at)})`);
      assert.ok(probes.filter((p) => p.at < lightEnd - 100).every((p) => p.ready === 200), 'every check under the light layers answered 200');
      // Ready again after the load stopped, and it stayed so.
      assert.ok(recoveredAt !== undefined && recoveredAt - endAt <= RECOVER_WITHIN_MS, `200 again within ${RECOVER_WITHIN_MS} ms of the load stopping (at ${rel(recoveredAt)})`);
      assert.equal(changes.at(-1)?.state, 'ready');
      assert.ok(probes.slice(-5).every((p) => p.ready === 200), 'still 200 after the load');
      assert.equal(stats.state, 'ready');
      // One episode: not ready once, ready once, with room for one extra round trip.
      assert.ok(stats.transitions >= 2 && stats.transitions <= 4, `${stats.transitions} state changes in one episode`);
      // Liveness never failed, whatever the pressure.
      assert.ok(probes.every((p) => p.live === 200), 'liveness answered 200 to every check');
      assert.equal(failed, 0, 'no errors, timeouts or unexpected statuses');
    } finally {
      server.kill();
    }
  });
});
