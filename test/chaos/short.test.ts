// The short chaos run (#17): the reference pipeline under seeded random faults,
// checked for "every acked id is in PostgreSQL", clean exits, balanced
// accounting and bounded memory. Private redis-server, PostgreSQL and
// nats-server instances only (never the shared services). On Node 24 it runs
// two fixed seeds for 55 s each (seeds 1 and 38: together every fault kind); on Node 22 (npm test runs both
// lines) one seed for 20 s, so the suite does not pay the full run twice.
// A failure prints the seed and the schedule: `npm run chaos -- --seed N --minutes M` replays it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChaosRun, formatTable, runChaos, type ChaosReport } from './harness.js';

const full = Number(process.versions.node.split('.')[0]) >= 24;
const plan: Array<{ seed: number; durationMs: number }> = full
  ? [{ seed: 1, durationMs: 55_000 }, { seed: 38, durationMs: 55_000 }]
  : [{ seed: 25, durationMs: 20_000 }];
const runs: ChaosRun[] = [];
const reports: ChaosReport[] = [];

after(async () => {
  for (const run of runs) await run.cleanup();
  if (reports.length > 0) console.log(formatTable(reports));
});

const label = full ? 'Node 24: full short run, 2 seeds x 55 s' : `Node ${process.versions.node}: smoke, 1 seed x 20 s`;
describe(`chaos short run (${label})`, { timeout: 300_000 }, () => {
  for (const { seed, durationMs } of plan) {
    it(`runChaos() - seed ${seed}, ${durationMs / 1000} s of faults: no acked id lost, no unexpected exit, accounting balances, RSS bounded`, { timeout: durationMs + 120_000 }, async () => {
      const run = new ChaosRun();
      runs.push(run);
      const report = await runChaos({ seed, durationMs, log: (line) => console.log(`  ${line}`) }, run);
      reports.push(report);
      const faults = Object.values(report.injected).reduce((a, b) => a + b, 0);
      console.log(`  seed ${seed}: ${faults} faults, acked ${report.acked}, lost ${report.lost.length}, duplicates ${report.duplicates}, p99 ${report.p99Ms.toFixed(0)} ms, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${report.generations} pipeline generations`);
      const why = `\n${report.problems.join('\n')}\n\n${report.scheduleText}\nreplay: npm run chaos -- --seed ${seed} --minutes ${durationMs / 60_000}`;
      assert.ok(faults >= 3, `only ${faults} faults were injected${why}`);
      assert.ok(report.acked > 0, `nothing acked${why}`);
      assert.deepEqual(report.lost, [], `acked ids missing from PostgreSQL${why}`);
      assert.deepEqual(report.problems, [], `promises broken${why}`);
    });
  }
});
