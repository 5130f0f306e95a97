import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { load, startServer, type LoadResult, type RunningServer } from './harness.js';

// A node:http server whose handler burns 5 ms of CPU synchronously can serve at
// most ~200 req/s. 50 closed-loop connections keep ~50 requests queued at all
// times, several times its capacity. Without shedding every request waits behind
// the whole queue; with loadShed on eventLoopStall, each event-loop turn serves
// requests only until it has run 10 ms and answers the rest 503 at once, so
// served requests wait at most about two turns.
const WORK_MS = 5;
const HEAVY_CONNECTIONS = 50;
const HEAVY_SECONDS = 3;

function describeRun(label: string, r: LoadResult): string {
  const rate = (n: number) => Math.round(n / r.durationS);
  return `${label}: ${rate(r.served)} served/s, ${rate(r.shed)} shed/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (served only), failed ${r.failed}`;
}

async function withServer<T>(start: Promise<RunningServer>, body: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await start;
  try {
    return await body(server);
  } finally {
    server.kill();
  }
}

describe('loadShed() under real load', () => {
  it('loadShed() - keeps served p99 under 10x the unloaded p99 while shedding; without it p99 grows with load', { timeout: 60_000 }, async (t) => {
    const baseline = await withServer(startServer({ pressure: 'none', workMs: WORK_MS, threshold: 0 }), async (server) => {
      const unloaded = await load(server.url, 1, 2);
      const overloaded = await load(server.url, HEAVY_CONNECTIONS, HEAVY_SECONDS);
      await server.stop();
      return { unloaded, overloaded };
    });
    const shedding = await withServer(startServer({ pressure: 'stall', workMs: WORK_MS, threshold: 10 }), async (server) => {
      const result = await load(server.url, HEAVY_CONNECTIONS, HEAVY_SECONDS);
      const report = await server.stop();
      return { result, report };
    });

    const { unloaded, overloaded } = baseline;
    const withShed = shedding.result;
    t.diagnostic(describeRun('unloaded, 1 connection', unloaded));
    t.diagnostic(describeRun(`no shedding, ${HEAVY_CONNECTIONS} connections`, overloaded));
    t.diagnostic(describeRun(`loadShed(eventLoopStall 10 ms), ${HEAVY_CONNECTIONS} connections`, withShed));

    assert.equal(unloaded.failed + overloaded.failed + withShed.failed, 0, 'no errors, timeouts or unexpected statuses');
    assert.ok(unloaded.served > 50 && overloaded.served > 50 && withShed.served > 50, 'every run served requests');
    assert.ok(withShed.shed > 0, 'some requests were shed with 503');
    assert.equal(overloaded.shed, 0);
    // the server also counts requests still in flight when autocannon stopped timing
    assert.ok(shedding.report.shed >= withShed.shed, 'the server counted every 503 the client saw');
    assert.ok(
      withShed.p99 < 10 * unloaded.p99,
      `served p99 with loadShed ${withShed.p99.toFixed(1)} ms should stay under 10x the unloaded p99 ${unloaded.p99.toFixed(1)} ms`,
    );
    assert.ok(
      overloaded.p99 > withShed.p99,
      `p99 without shedding ${overloaded.p99.toFixed(1)} ms should exceed p99 with it ${withShed.p99.toFixed(1)} ms`,
    );
  });
});
