import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter, type ConcurrencyLimiterOptions, type ConcurrencyLimiterStats } from './index.js';
import { SimulatedServer, startClosedLoop, Trace, type SimulatedServerStats, type TraceSummary } from '../../../test/fixtures/simulated-server.js';
import { VirtualClock } from '../testing/index.js';

// The downstream: 10 slots of 10 ms each (capacity 1,000 calls/s), FIFO queue
// beyond that, callers give up after 100 ms (a drop; the server still does the
// work). The load: 200 closed-loop workers, each doing
// `limiter.run(() => server.call())` back to back under whenFull 'wait', i.e.
// 20 times the concurrency the server can take. All in virtual time.

const CAPACITY_PER_SEC = 1000;
const WORKERS = 200;
const PHASE_MS = 30_000;
const WINDOW_MS = 10_000;

interface Run {
  /** Last 10 s before capacity halves (20–30 s). */
  full: TraceSummary;
  /** Share of the full-capacity window the limit spent in [8, 40]. */
  fullShareInBand: number;
  /** Longest stretch of the full-capacity window the limit spent outside [8, 40], in ms. */
  fullLongestOutside: number;
  /** Last 10 s after capacity halved (50–60 s); undefined when it did not. */
  half: TraceSummary | undefined;
  limiter: ConcurrencyLimiterStats;
  server: SimulatedServerStats;
}

async function simulate(options: ConcurrencyLimiterOptions, { halve = true, jitter = 0, phaseMs = PHASE_MS } = {}): Promise<Run> {
  const clock = new VirtualClock();
  const server = new SimulatedServer({ clock, slots: 10, serviceMs: 10, clientTimeoutMs: 100, jitter });
  const limiter = new ConcurrencyLimiter({ ...options, clock });
  const load = startClosedLoop(WORKERS, () => limiter.run(() => server.call()));
  const trace = new Trace(clock, () => limiter.limit, server, 10);
  await clock.advanceAsync(phaseMs);
  if (halve) {
    server.slots = 5;
    await clock.advanceAsync(phaseMs);
  }
  load.stop();
  trace.stop();
  await clock.advanceAsync(1000); // let the last calls settle
  return {
    full: trace.summary(phaseMs - WINDOW_MS, phaseMs),
    fullShareInBand: trace.shareWithin(phaseMs - WINDOW_MS, phaseMs, 8, 40),
    fullLongestOutside: trace.longestOutside(phaseMs - WINDOW_MS, phaseMs, 8, 40),
    half: halve ? trace.summary(2 * phaseMs - WINDOW_MS, 2 * phaseMs) : undefined,
    limiter: limiter.stats(),
    server: server.stats(),
  };
}

function describeRun(r: Run): string {
  const f = (s: TraceSummary) =>
    `limit mean ${s.meanLimit.toFixed(1)} [${s.lowestLimit}, ${s.highestLimit}], ${s.throughputPerSec.toFixed(0)} calls/s`;
  const half = r.half ? `; 5 slots: ${f(r.half)}` : '';
  const band = `${(r.fullShareInBand * 100).toFixed(1)}% of the time in [8, 40], longest excursion ${r.fullLongestOutside} ms`;
  return `10 slots: ${f(r.full)}, ${band}${half}; timeouts ${r.server.timedOut}`;
}

const algorithms: [string, ConcurrencyLimiterOptions][] = [
  ['aimd', { algorithm: 'aimd', timeoutMs: 30 }],
  ['vegas', { algorithm: 'vegas' }],
  ['gradient2', { algorithm: 'gradient2' }],
];

for (const [name, options] of algorithms) {
  describe(`ConcurrencyLimiter simulation: ${name} against a 10-slot server`, () => {
    let run: Run;
    before(async () => {
      run = await simulate(options);
    });

    it(`run() - ${name}: within 30 s the limit settles in [8, 40], leaving it only for brief probe dips`, (t) => {
      t.diagnostic(describeRun(run));
      assert.ok(run.full.highestLimit <= 40, `highest ${run.full.highestLimit}`);
      assert.ok(run.full.meanLimit >= 8 && run.full.meanLimit <= 40, `mean ${run.full.meanLimit}`);
      // Vegas and Gradient2 lower the limit for about a round trip to re-measure the no-load RTT.
      assert.ok(run.fullShareInBand >= 0.95, `in band ${run.fullShareInBand}`);
      assert.ok(run.fullLongestOutside <= 50, `longest excursion ${run.fullLongestOutside} ms`);
    });

    it(`run() - ${name}: throughput over the last 10 s is at least 90% of capacity`, () => {
      assert.ok(run.full.throughputPerSec >= 0.9 * CAPACITY_PER_SEC, `${run.full.throughputPerSec}/s`);
    });

    it(`run() - ${name}: when capacity halves, the limit follows it down and throughput stays at 90% of the new capacity`, () => {
      assert.ok(run.half);
      assert.ok(run.half.meanLimit < run.full.meanLimit, `${run.half.meanLimit} vs ${run.full.meanLimit}`);
      assert.ok(run.half.meanLimit >= 4 && run.half.highestLimit <= 40, `mean ${run.half.meanLimit}, highest ${run.half.highestLimit}`);
      assert.ok(run.half.throughputPerSec >= 0.9 * (CAPACITY_PER_SEC / 2), `${run.half.throughputPerSec}/s`);
    });

    it(`run() - ${name}: every call settled and every permit came back`, () => {
      const s = run.limiter;
      assert.equal(s.inflight, 0);
      assert.equal(s.waiting, 0);
      assert.equal(s.acquired, s.successes + s.drops + s.ignored);
      assert.equal(s.drops, run.server.timedOut, 'each drop is a client timeout');
    });
  });
}

describe('ConcurrencyLimiter simulation: robustness', () => {
  it('run() - without an adaptive limit the same load collapses the server (goodput under 10% of capacity)', async (t) => {
    const clock = new VirtualClock();
    const server = new SimulatedServer({ clock, slots: 10, serviceMs: 10, clientTimeoutMs: 100 });
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: WORKERS, maxLimit: WORKERS, clock });
    const load = startClosedLoop(WORKERS, () => limiter.run(() => server.call()));
    const trace = new Trace(clock, () => limiter.limit, server, 10);
    await clock.advanceAsync(3000);
    load.stop();
    trace.stop();
    const summary = trace.summary(1000, 3000);
    t.diagnostic(`fixed limit ${WORKERS}: ${summary.throughputPerSec.toFixed(0)} calls/s in time, ${server.stats().timedOut} timeouts`);
    assert.ok(summary.throughputPerSec < 0.1 * CAPACITY_PER_SEC);
  });

  for (const [name, options] of algorithms) {
    it(`run() - ${name}: with service times jittered ±50% the limit still settles in [8, 40] at 90% of capacity`, async (t) => {
      const run = await simulate(options, { halve: false, jitter: 0.5, phaseMs: 20_000 });
      t.diagnostic(describeRun(run));
      assert.ok(run.full.meanLimit >= 8 && run.full.meanLimit <= 40, `mean ${run.full.meanLimit}`);
      assert.ok(run.full.highestLimit <= 40, `highest ${run.full.highestLimit}`);
      assert.ok(run.full.throughputPerSec >= 0.9 * CAPACITY_PER_SEC, `${run.full.throughputPerSec}/s`);
    });

    it(`run() - ${name}: under whenFull 'reject' with open-loop arrivals at twice capacity, throughput stays at 90% of capacity`, async (t) => {
      const clock = new VirtualClock();
      const server = new SimulatedServer({ clock, slots: 10, serviceMs: 10, clientTimeoutMs: 100 });
      const limiter = new ConcurrencyLimiter({ ...options, whenFull: 'reject', clock });
      const trace = new Trace(clock, () => limiter.limit, server, 10);
      let arriving = true;
      let refused = 0;
      const arrive = () => {
        if (!arriving) return;
        for (let i = 0; i < 2; i++) {
          limiter.run(() => server.call()).catch((e: { code?: string }) => (refused += e.code === 'ERR_SLUICE_LIMIT_EXCEEDED' ? 1 : 0));
        }
        clock.schedule(1, arrive);
      };
      arrive();
      await clock.advanceAsync(15_000);
      arriving = false;
      trace.stop();
      await clock.advanceAsync(1000);
      const summary = trace.summary(5_000, 15_000);
      t.diagnostic(`mean ${summary.meanLimit.toFixed(1)} [${summary.lowestLimit}, ${summary.highestLimit}], ${summary.throughputPerSec.toFixed(0)} calls/s, ${refused} refused`);
      assert.ok(summary.meanLimit >= 8 && summary.meanLimit <= 40, `mean ${summary.meanLimit}`);
      assert.ok(summary.throughputPerSec >= 0.9 * CAPACITY_PER_SEC, `${summary.throughputPerSec}/s`);
      assert.equal(limiter.stats().rejected, refused);
      assert.equal(limiter.inflight, 0);
    });
  }

  it('run() - gradient2: when every call times out the limit falls to minLimit and never rises', async () => {
    const clock = new VirtualClock();
    const server = new SimulatedServer({ clock, slots: 10, serviceMs: 500, clientTimeoutMs: 100 });
    const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', initialLimit: 50, minLimit: 2, clock });
    const load = startClosedLoop(WORKERS, () => limiter.run(() => server.call()));
    await clock.advanceAsync(10_000);
    load.stop();
    const s = limiter.stats();
    assert.equal(s.successes, 0);
    assert.ok(s.drops > 0);
    assert.equal(s.limit, 2);
    assert.equal(s.highestLimit, 50);
  });
});
