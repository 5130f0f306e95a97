import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, parseConfig, toSimulation } from '../config/index.js';
import { readConfigFile } from '../config/internal/index.js';
import { formatDuration, formatPercent, type Burst } from '../../internal/config-units.js';
import { renderReport, scenarioPhases, simulate, type ScenarioName, type SimulatedQueue } from '../simulate/index.js';
import { progressReporter, table, type CliIo } from './format.js';

export interface SimulateFlags {
  config: string;
  scenario: ScenarioName;
  seed?: number;
  duration?: number;
  report?: string;
  /** `true`: print the JSON result on stdout; a string: write it to that file. */
  json?: string | boolean;
  arrivalRate?: number;
  serviceTime?: number;
  service?: 'exponential' | 'fixed';
  consumers?: number;
  burst?: Burst;
  overloadFactor?: number;
  progress?: boolean;
  failOnAlert?: boolean;
  maxLoss?: number;
  /** Refuse to run when more arrivals than this are expected. */
  maxEvents?: number;
}

/**
 * Default bound of `--max-events`: expected arrivals over all queues. The
 * engine handles a few million arrivals per second of wall time, so this is
 * well under a minute; a typo such as `--duration 100000h` is refused at once
 * instead of running for days.
 */
export const DEFAULT_MAX_EVENTS = 50_000_000;

/**
 * Expected arrivals of a run (the bulk of the engine's events): each queue's
 * arrival rate over each phase of the scenario, summed. Costs nothing to
 * compute, so the CLI can refuse an absurd run before starting it.
 */
export function estimateArrivals(queues: readonly SimulatedQueue[], o: { scenario: ScenarioName; durationMs: number; burst?: Burst; overloadFactor?: number }): number {
  let total = 0;
  for (const q of queues) {
    const serviceRate = ((q.consumers ?? 1) * 1000) / q.serviceTimeMs;
    const phases = scenarioPhases(o.scenario, {
      durationMs: o.durationMs,
      arrivalRate: q.arrivalRate,
      serviceRate,
      ...(o.burst ? { burst: o.burst } : {}),
      ...(o.overloadFactor !== undefined ? { overloadFactor: o.overloadFactor } : {}),
    });
    for (const p of phases) total += (p.arrivalRate * (p.to - p.from)) / 1000;
  }
  return total;
}

/** 1234 → "1,234"; 3.6e9 → "3.6 billion". */
export function formatCount(n: number): string {
  if (n >= 1e15) return n.toExponential(2);
  if (n >= 1e12) return `${Number((n / 1e12).toPrecision(3))} trillion`;
  if (n >= 1e9) return `${Number((n / 1e9).toPrecision(3))} billion`;
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))} million`;
  return Math.round(n).toLocaleString('en-US');
}

/**
 * `sluice simulate`: the configured queues against a scenario in virtual time.
 * Exit 0 ok; 1 when --max-loss or --fail-on-alert is breached; 2 for a bad config.
 */
export async function simulateCommand(flags: SimulateFlags, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await readConfigFile(flags.config);
  } catch (error) {
    io.stderr(error instanceof ConfigError ? `${error.message}\n` : `${flags.config}: cannot read: ${(error as Error).message}\n`);
    return 2;
  }
  let plan: ReturnType<typeof toSimulation>;
  try {
    plan = toSimulation(parseConfig(text, { source: flags.config }), {
      ...(flags.arrivalRate !== undefined ? { arrivalRate: flags.arrivalRate } : {}),
      ...(flags.serviceTime !== undefined ? { serviceTimeMs: flags.serviceTime } : {}),
      ...(flags.service !== undefined ? { serviceDistribution: flags.service } : {}),
      ...(flags.consumers !== undefined ? { consumers: flags.consumers } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const hint = error.issues.some((i) => i.path === 'simulation.arrival_rate' || i.path === 'simulation.service_time') ? '\n(or pass --arrival-rate and --service-time)' : '';
    io.stderr(`${error.source ? '' : `${flags.config}: `}${error.message}${hint}\n`);
    return 2;
  }

  const expected = estimateArrivals(plan.queues, {
    scenario: flags.scenario,
    durationMs: plan.durationMs,
    ...(flags.burst ? { burst: flags.burst } : {}),
    ...(flags.overloadFactor !== undefined ? { overloadFactor: flags.overloadFactor } : {}),
  });
  const maxEvents = flags.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (!(expected <= maxEvents)) {
    io.stderr(
      `error: this run would simulate about ${formatCount(expected)} events (arrivals over ${formatDuration(plan.durationMs)} of ${flags.scenario}, summed over ${plan.queues.length} ${plan.queues.length === 1 ? 'queue' : 'queues'}), ` +
        `more than --max-events ${formatCount(maxEvents)}; shorten --duration, lower the arrival rate, or raise --max-events\n`,
    );
    return 2;
  }
  const showProgress = flags.progress ?? io.stderrIsTTY;
  const progress = showProgress ? progressReporter(io, `simulating ${flags.scenario} (~${formatCount(expected)} events)`) : undefined;
  progress?.update(0);
  const started = performance.now();
  const result = simulate({
    ...plan,
    scenario: flags.scenario,
    ...(flags.burst ? { burst: flags.burst } : {}),
    ...(flags.overloadFactor !== undefined ? { overloadFactor: flags.overloadFactor } : {}),
    ...(progress ? { onProgress: progress.update } : {}),
  });
  progress?.done();
  const wallMs = performance.now() - started;

  if (flags.report) {
    await mkdir(dirname(flags.report), { recursive: true });
    await writeFile(flags.report, renderReport(result, { source: flags.config }));
  }
  const json = JSON.stringify(result);
  if (typeof flags.json === 'string') {
    await mkdir(dirname(flags.json), { recursive: true });
    await writeFile(flags.json, `${json}\n`);
  }

  const failures: string[] = [];
  for (const q of result.queues) {
    if (flags.maxLoss !== undefined && q.totals.lossFraction > flags.maxLoss) {
      failures.push(`${q.queue.name}: lost ${formatPercent(q.totals.lossFraction)}, above --max-loss ${formatPercent(flags.maxLoss)}`);
    }
    if (flags.failOnAlert && q.alerts.some((a) => a.state === 'firing')) {
      failures.push(`${q.queue.name}: ${q.alerts.filter((a) => a.state === 'firing').length} alert(s) fired (--fail-on-alert)`);
    }
  }

  if (flags.json === true) {
    io.stdout(`${json}\n`);
  } else {
    const lines = [
      `sluice simulate: ${flags.scenario}, ${formatDuration(result.durationMs)} of virtual time in ${formatDuration(Math.round(wallMs))}, seed ${result.seed}`,
      '',
      table([
        ['QUEUE', 'STRATEGY', 'CAPACITY', 'ρ', 'ARRIVALS', 'DELIVERED', 'DROPPED', 'MEAN/PEAK UTIL', 'P99 WAIT', 'ALERTS'],
        ...result.queues.map((q) => [
          q.queue.name,
          q.queue.strategy,
          String(q.queue.capacity),
          q.theory.rho.toFixed(2),
          String(q.totals.arrivals),
          String(q.totals.delivered),
          `${q.totals.dropped} (${formatPercent(q.totals.lossFraction)})`,
          `${formatPercent(q.totals.meanUtilization)} / ${formatPercent(q.totals.peakUtilization)}`,
          formatDuration(q.latency.p99Ms),
          String(q.alerts.filter((a) => a.state === 'firing').length),
        ]),
      ]),
    ];
    for (const q of result.queues) {
      if (q.totals.peakUpstreamBacklog > 0) {
        lines.push(`  ${q.queue.name}: producer blocked ${formatDuration(q.totals.blockedMs)}, upstream backlog peak ${q.totals.peakUpstreamBacklog}, ${q.totals.upstreamBacklog} still waiting at the end`);
      }
    }
    if (flags.report) lines.push('', `report: ${flags.report}`);
    if (typeof flags.json === 'string') lines.push(`json: ${flags.json}`);
    io.stdout(`${lines.join('\n')}\n`);
  }
  if (failures.length) {
    io.stderr(`${failures.map((f) => `check failed: ${f}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}
