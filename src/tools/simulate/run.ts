import { overflowStrategies } from '../../core/channel/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import type { Burst } from '../../internal/config-units.js';
import * as v from '../../internal/validate.js';
import { runQueue, type QueueResult, type SimulatedAlerts, type SimulatedQueue } from './engine.js';
import { scenarioNames, scenarioPhases, type Phase, type ScenarioName } from './scenario.js';

export interface SimulationOptions {
  /**
   * The queues to simulate. Each runs on its own, with its own arrivals and
   * consumers (queues are not chained into a pipeline).
   * @default none (required, at least one)
   * @example simulate({ queues: [{ name: 'jobs', capacity: 100, strategy: 'drop-newest', arrivalRate: 800, serviceTimeMs: 1 }], scenario: 'burst' })
   */
  queues: SimulatedQueue[];
  /**
   * What happens to the load during the run; see {@link ScenarioName}.
   * @default 'normal'
   * @example simulate({ queues, scenario: 'consumer-failure' })
   */
  scenario?: ScenarioName;
  /**
   * Virtual time to simulate, ms. Real time is roughly proportional to the number of events.
   * @default 3_600_000 (one hour)
   * @example simulate({ queues, durationMs: 10 * 60_000 })
   */
  durationMs?: number;
  /**
   * Seed of the random arrivals and service times. The same seed and options give the same result, bit for bit.
   * @default 1
   * @example simulate({ queues, seed: 42 })
   */
  seed?: number;
  /**
   * Points per chart series (one sample of the Channel every `durationMs / samplePoints`).
   * @default 600
   * @example simulate({ queues, samplePoints: 1200 })
   */
  samplePoints?: number;
  /**
   * Under `'burst'`: how hard and how long each burst is.
   * @default { factor: 10, durationMs: 20_000 }
   * @example simulate({ queues, scenario: 'burst', burst: { factor: 100, durationMs: 5000 } })
   */
  burst?: Burst;
  /**
   * Under `'sustained-overload'`: arrival rate as a multiple of what the consumers can serve.
   * @default 1.5
   * @example simulate({ queues, scenario: 'sustained-overload', overloadFactor: 2 })
   */
  overloadFactor?: number;
  /**
   * Alert thresholds evaluated on each queue in virtual time; the transitions
   * appear in the result and the report.
   * @default undefined (no alerts)
   * @example simulate({ queues, alerts: { thresholds: { queueDepth: { utilization: 0.9 } }, intervalMs: 10_000 } })
   */
  alerts?: SimulatedAlerts;
  /**
   * Called with the fraction of the whole run done (all queues), often enough for a progress bar.
   * @default undefined
   * @example simulate({ queues, onProgress: (f) => process.stderr.write(`\r${Math.round(f * 100)}%`) })
   */
  onProgress?: (fraction: number) => void;
}

export interface SimulationResult {
  /** Format version of this object. */
  version: 1;
  scenario: ScenarioName;
  seed: number;
  durationMs: number;
  /** Phases per queue name. */
  phases: Record<string, Phase[]>;
  queues: QueueResult[];
}

/**
 * Runs the queues against a scenario in virtual time and returns what
 * happened: totals, latency, time in each state, chart series and alerts.
 * Synchronous and deterministic: same options and seed, same result.
 *
 * @example
 * const result = simulate({
 *   queues: [{ name: 'jobs', capacity: 1000, strategy: 'drop-oldest', arrivalRate: 900, serviceTimeMs: 1 }],
 *   scenario: 'burst',
 *   durationMs: 600_000, // 10 simulated minutes
 * });
 * console.log(result.queues[0]?.totals.lossFraction);
 */
export function simulate(options: SimulationOptions): SimulationResult {
  const o = v.optionsObject(options, 'simulate', {
    queues: true, scenario: true, durationMs: true, seed: true, samplePoints: true, burst: true, overloadFactor: true,
    alerts: true, onProgress: true,
  });
  const scenario = v.oneOf('scenario', o.scenario, scenarioNames, 'normal');
  const durationMs = v.number('durationMs', o.durationMs, 3_600_000, { min: 0, minExclusive: true });
  const seed = v.integer('seed', o.seed, 1, { min: 0, max: 2 ** 32 - 1 });
  const samplePoints = v.integer('samplePoints', o.samplePoints, 600, { min: 1, max: 100_000 });
  const overloadFactor = v.number('overloadFactor', o.overloadFactor, 1.5, { min: 1, minExclusive: true });
  const burst = o.burst;
  if (burst !== undefined) {
    v.requiredNumber('burst.factor', burst.factor, { min: 1, minExclusive: true });
    v.requiredNumber('burst.durationMs', burst.durationMs, { min: 0, minExclusive: true });
  }
  if (!Array.isArray(o.queues) || o.queues.length === 0) throw new InvalidOptionError('queues', o.queues, 'a non-empty array of queues');
  const names = new Set<string>();
  o.queues.forEach((q, i) => {
    checkQueue(q, `queues[${i}].`);
    if (names.has(q.name)) throw new InvalidOptionError(`queues[${i}].name`, q.name, 'a name no other queue has');
    names.add(q.name);
  });

  const phases: Record<string, Phase[]> = {};
  const results: QueueResult[] = [];
  o.queues.forEach((q, i) => {
    const consumers = q.consumers ?? 1;
    const p = scenarioPhases(scenario, { durationMs, arrivalRate: q.arrivalRate, serviceRate: (consumers * 1000) / q.serviceTimeMs, burst, overloadFactor });
    phases[q.name] = p;
    const share = 1 / o.queues!.length;
    results.push(
      runQueue(q, p, {
        durationMs,
        seed,
        samplePoints,
        alerts: o.alerts,
        onProgress: o.onProgress && ((f) => o.onProgress!((i + f) * share)),
      }),
    );
  });
  return { version: 1, scenario, seed, durationMs, phases, queues: results };
}

function checkQueue(q: SimulatedQueue, p: string): void {
  if (q === null || typeof q !== 'object') throw new InvalidOptionError(p.slice(0, -1), q, 'a queue object');
  if (typeof q.name !== 'string' || q.name.length === 0) throw new InvalidOptionError(`${p}name`, q.name, 'a non-empty string');
  v.requiredInteger(`${p}capacity`, q.capacity, { min: 1 });
  v.oneOf(`${p}strategy`, q.strategy, overflowStrategies, 'block');
  v.requiredNumber(`${p}arrivalRate`, q.arrivalRate, { min: 0 });
  v.requiredNumber(`${p}serviceTimeMs`, q.serviceTimeMs, { min: 0, minExclusive: true });
  v.oneOf(`${p}serviceDistribution`, q.serviceDistribution, ['exponential', 'fixed'] as const, 'exponential');
  v.integer(`${p}consumers`, q.consumers, 1, { min: 1, max: 10_000 });
  const maxBlockMs = v.optionalNumber(`${p}maxBlockMs`, q.maxBlockMs, { min: 0, minExclusive: true });
  if (maxBlockMs !== undefined && q.strategy !== 'block') {
    throw new InvalidOptionError(`${p}maxBlockMs`, maxBlockMs, `no value unless strategy is 'block'`);
  }
  const high = v.number(`${p}highWatermark`, q.highWatermark, 0.8, { min: 0, max: 1 });
  const low = v.number(`${p}lowWatermark`, q.lowWatermark, Math.min(0.2, high), { min: 0, max: 1 });
  if (low > high) throw new InvalidOptionError(`${p}lowWatermark`, low, `a fraction <= highWatermark (${high})`);
  v.integer(`${p}sampleEvery`, q.sampleEvery, 10, { min: 1 });
}
