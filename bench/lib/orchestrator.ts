import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchArgs } from './args.js';
import { UsageError } from './args.js';
import { benchDir, listScenarios, loadScenario, RESULT_MARKER } from './registry.js';
import { formatExpectations, formatTable, median, systemInfo, type SystemInfo } from './report.js';
import type { BenchFailure, BenchResult, Scenario, WorkerReport } from './types.js';

export interface BenchOutput extends SystemInfo {
  date: string;
  passes: number;
  runs: number;
  warmup: number;
  results: BenchResult[];
  failures: BenchFailure[];
}

interface Plan {
  scenario: Scenario;
  contenders: string[];
}

/** Resolves the `--scenario` / `--contender` filters; unknown names are usage errors. */
export async function planBench(args: BenchArgs): Promise<Plan[]> {
  const available = listScenarios();
  for (const name of args.scenarios) {
    if (!available.includes(name)) throw new UsageError(`--scenario: unknown scenario '${name}' (available: ${available.join(', ')})`);
  }
  const names = args.scenarios.length > 0 ? args.scenarios : available;
  const scenarios = await Promise.all(names.map((name) => loadScenario(name)));
  const known = new Set(scenarios.flatMap((s) => Object.keys(s.contenders)));
  for (const c of args.contenders) {
    if (!known.has(c)) throw new UsageError(`--contender: unknown contender '${c}' (available in ${names.join(', ')}: ${[...known].join(', ')})`);
  }
  const plans: Plan[] = [];
  for (const scenario of scenarios) {
    const all = Object.keys(scenario.contenders);
    const contenders = args.contenders.length > 0 ? all.filter((c) => args.contenders.includes(c)) : all;
    if (contenders.length > 0) plans.push({ scenario, contenders });
  }
  return plans;
}

/**
 * Runs every planned (scenario, contender) pair in its own child process, one
 * after another (concurrent children would measure each other), and prints a
 * table per scenario through `log`.
 */
export async function runBench(args: BenchArgs, log: (line: string) => void = console.log): Promise<BenchOutput> {
  const plans = await planBench(args);
  const system = systemInfo();
  const output: BenchOutput = { ...system, date: new Date().toISOString(), passes: args.passes, runs: args.runs, warmup: args.warmup, results: [], failures: [] };
  log(`node ${system.node} · ${system.cpu} · ${system.cores} cores · ${system.platform}`);
  for (const { scenario, contenders } of plans) {
    const n = args.n ?? (args.quick ? scenario.quickN : scenario.defaultN);
    log('');
    log(`### ${scenario.name}: ${scenario.description}`);
    const passes = args.passes > 1 ? ` × ${args.passes} passes` : '';
    log(`n = ${n.toLocaleString('en-US')} (${scenario.nLabel ?? 'items per run'}) · up to ${args.warmup} warm-up run(s) (2 s budget) + ${args.runs} measured runs per contender${passes}, each in a fresh process`);
    const reports = new Map<string, WorkerReport>();
    const failed = new Set<string>();
    // Passes go round-robin over the contenders, so load from other processes
    // that comes and goes is spread over all of them instead of hitting one.
    for (let pass = 1; pass <= args.passes; pass++) {
      for (const contender of contenders) {
        if (failed.has(contender)) continue;
        const label = args.passes > 1 ? ` (pass ${pass}/${args.passes})` : '';
        process.stderr.write(`  running ${scenario.name}/${contender}${label} ...`);
        try {
          const report = await runWorker(scenario.name, contender, { runs: args.runs, warmup: args.warmup, n, quick: args.quick, flags: scenario.workerFlags?.[contender] ?? [] });
          reports.set(contender, mergeReports(reports.get(contender), report));
          process.stderr.write(` ${Math.round(median(report.samples.map((s) => s.itemsPerSecond))).toLocaleString('en-US')} items/s\n`);
        } catch (error) {
          const message = (error as Error).message;
          process.stderr.write(` FAILED\n${message}\n`);
          output.failures.push({ scenario: scenario.name, contender, error: message });
          failed.add(contender);
          reports.delete(contender);
        }
      }
    }
    const rows = summarize(scenario, [...reports.values()]);
    output.results.push(...rows);
    log('');
    log(formatTable(scenario, rows));
    const verdicts = formatExpectations(scenario.expectations ?? [], rows);
    if (verdicts.length > 0) {
      log('');
      log('Targets (medians, this run):');
      verdicts.forEach((line) => log(line));
    }
    for (const failure of output.failures.filter((f) => f.scenario === scenario.name)) {
      log(`\n**FAILED** ${failure.contender}: ${failure.error.split('\n')[0]}`);
    }
  }
  return output;
}

/** Pools the samples of several passes of one contender; peak RSS is the highest of them. */
function mergeReports(previous: WorkerReport | undefined, next: WorkerReport): WorkerReport {
  if (!previous) return next;
  return {
    ...previous,
    samples: [...previous.samples, ...next.samples],
    checksPassed: previous.checksPassed + next.checksPassed,
    peakRssBytes: Math.max(previous.peakRssBytes, next.peakRssBytes),
  };
}

/** Median, min and max per contender, plus ratios against the baseline and the `compareTo` contenders. */
export function summarize(scenario: Scenario, reports: readonly WorkerReport[]): BenchResult[] {
  const medians = new Map(reports.map((r) => [r.contender, median(r.samples.map((s) => s.itemsPerSecond))]));
  const ratioTo = (value: number, reference: string): number | null => {
    const ref = medians.get(reference);
    return ref === undefined || !(ref > 0) ? null : Math.round((value / ref) * 1000) / 1000;
  };
  return reports.map((r) => {
    // Whole items/s: the digits after the point are noise, and they bloat the committed JSON.
    const rates = r.samples.map((s) => Math.round(s.itemsPerSecond));
    const itemsPerSecond = Math.round(medians.get(r.contender)!);
    const metrics: Record<string, number> = {};
    for (const key of new Set(r.samples.flatMap((s) => Object.keys(s.metrics)))) {
      metrics[key] = median(r.samples.map((s) => s.metrics[key] ?? Number.NaN));
    }
    const row: BenchResult = {
      scenario: r.scenario,
      contender: r.contender,
      itemsPerSecond,
      min: Math.min(...rates),
      max: Math.max(...rates),
      peakRssBytes: r.peakRssBytes,
      runs: rates,
      itemsPerCpuSecond: Math.round(median(r.samples.map((s) => (s.items / s.cpuMs) * 1000))),
      n: r.n,
      ratio: ratioTo(itemsPerSecond, scenario.baseline),
      ratioTo: Object.fromEntries((scenario.compareTo ?? []).map((c) => [c, ratioTo(itemsPerSecond, c)])),
      checksPassed: r.checksPassed,
      ...metrics,
    };
    const note = scenario.notes?.[r.contender];
    if (note !== undefined) row.notes = note;
    return row;
  });
}

interface WorkerOptions {
  runs: number;
  warmup: number;
  n: number;
  quick: boolean;
  /** Extra Node flags (the scenario's `workerFlags` for this contender). */
  flags: readonly string[];
}

/** Spawns `bench/worker.ts` in a fresh Node process and parses its result line; rejects with its stderr tail on failure. */
function runWorker(scenario: string, contender: string, o: WorkerOptions): Promise<WorkerReport> {
  const argv = [
    '--expose-gc',
    ...o.flags,
    '--import',
    'tsx',
    join(benchDir, 'worker.ts'),
    scenario,
    contender,
    '--runs',
    String(o.runs),
    '--warmup',
    String(o.warmup),
    '--n',
    String(o.n),
    ...(o.quick ? ['--quick'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: join(benchDir, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 16_384) stderr = stderr.slice(-8_192);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code !== 0 || line === undefined) {
        const how = signal ? `killed by ${signal}` : `exit code ${String(code)}`;
        reject(new Error(`${scenario}/${contender} failed (${how}):\n${stderr.trim() || stdout.trim() || '(no output)'}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as WorkerReport);
    });
  });
}
