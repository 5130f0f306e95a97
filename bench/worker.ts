/**
 * Child-process side of the harness: runs ONE contender of ONE scenario,
 * warm-up first, then the measured runs, and prints a single result line
 * (`RESULT_MARKER` + JSON) on stdout. A fresh process per contender keeps JIT
 * state, heap growth and peak RSS of one contender from leaking into the next.
 *
 * Usage: node --expose-gc --import tsx bench/worker.ts <scenario> <contender> --runs N --warmup N --n N [--quick]
 */
import { parseArgs } from 'node:util';
import { loadScenario, RESULT_MARKER } from './lib/registry.js';
import type { Check, RunSample, WorkerReport } from './lib/types.js';

/** The warm-up ends early once it has taken this long (at least one run is made). */
const WARMUP_BUDGET_MS = 2000;

class CheckFailedError extends Error {
  override readonly name = 'CheckFailedError';
}

function verify(checks: readonly Check[] | undefined, label: string): number {
  if (!checks) return 0;
  for (const c of checks) {
    if (c.actual !== c.expected) {
      throw new CheckFailedError(`CHECK FAILED in ${label}: ${c.what} expected ${c.expected}, got ${c.actual}`);
    }
  }
  return checks.length;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string' },
      warmup: { type: 'string' },
      n: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const [scenarioName, contenderName] = positionals;
  if (scenarioName === undefined || contenderName === undefined) throw new Error('usage: worker.ts <scenario> <contender> [--runs N] [--warmup N] [--n N] [--quick]');
  const scenario = await loadScenario(scenarioName);
  const contender = scenario.contenders[contenderName];
  if (!contender) throw new Error(`scenario '${scenarioName}' has no contender '${contenderName}'`);
  const quick = values.quick ?? false;
  const runs = Number(values.runs ?? 5);
  const warmup = Number(values.warmup ?? 1);
  const n = values.n === undefined ? (quick ? scenario.quickN : scenario.defaultN) : Number(values.n);
  const collectGarbage = (globalThis as { gc?: (options?: { type: 'minor' }) => void }).gc;

  await contender.prepare?.();
  let checksPassed = 0;
  const samples: RunSample[] = [];
  collectGarbage?.();
  // Warm-up: up to `warmup` runs, ending early once it has taken WARMUP_BUDGET_MS.
  // JIT tiering takes a few runs of a fast contender; a slow one is warm after one.
  const warmupStarted = performance.now();
  let warmupRuns = 0;
  while (warmupRuns < warmup && (warmupRuns === 0 || performance.now() - warmupStarted < WARMUP_BUDGET_MS)) {
    warmupRuns++;
    await timedRun(`${scenarioName}/${contenderName} warm-up ${warmupRuns}`);
  }
  for (let run = 1; run <= runs; run++) samples.push(await timedRun(`${scenarioName}/${contenderName} run ${run}`));

  async function timedRun(label: string): Promise<RunSample> {
    // A minor GC clears the previous run's young garbage so it is not billed to
    // this run. Not a full one (unless the scenario measures memory): a full GC
    // also drops the hidden-class transitions of objects no longer alive, which
    // throws away the code the warm-up optimized, so every run would start cold.
    // (`gc()` without options is the full collection; Node 20's `{ type: 'major' }` collects nothing.)
    if (scenario.fullGcBetweenRuns === true) collectGarbage?.();
    else collectGarbage?.({ type: 'minor' });
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const outcome = await contender!({ n, quick });
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    checksPassed += verify(outcome.checks, label);
    return { items: outcome.items, elapsedMs, cpuMs, itemsPerSecond: (outcome.items / elapsedMs) * 1000, metrics: outcome.metrics ?? {} };
  }
  const report: WorkerReport = {
    scenario: scenarioName,
    contender: contenderName,
    n,
    warmup: warmupRuns,
    samples,
    checksPassed,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(report)}\n`);
}

// Exit explicitly: a contender that leaves a timer or stream behind must not
// hang the harness. Writes to a pipe are synchronous on Linux, so nothing is cut off.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
