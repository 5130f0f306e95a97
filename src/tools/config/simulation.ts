import type { OverflowStrategy } from '../../core/channel/index.js';
import type { SimulatedAlerts, SimulatedQueue } from '../simulate/index.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { SluiceConfig } from './types.js';

/** Values that win over the file's `simulation` section, e.g. from CLI flags. */
export interface SimulationOverrides {
  /** @default the file's simulation.arrival_rate @example toSimulation(config, { arrivalRate: 2000 }) */
  arrivalRate?: number;
  /** @default the file's simulation.service_time @example toSimulation(config, { serviceTimeMs: 0.5 }) */
  serviceTimeMs?: number;
  /** @default the file's simulation.service_distribution, else 'exponential' @example toSimulation(config, { serviceDistribution: 'fixed' }) */
  serviceDistribution?: 'exponential' | 'fixed';
  /** @default the file's simulation.consumers, else 1 @example toSimulation(config, { consumers: 4 }) */
  consumers?: number;
  /** @default the file's simulation.seed, else 1 @example toSimulation(config, { seed: 42 }) */
  seed?: number;
  /** @default the file's simulation.duration, else one hour @example toSimulation(config, { durationMs: 600_000 }) */
  durationMs?: number;
}

export interface SimulationPlan {
  queues: SimulatedQueue[];
  seed: number;
  durationMs: number;
  /** From `monitoring`, when it has thresholds. */
  alerts: SimulatedAlerts | undefined;
}

/**
 * The queues of a configuration with their workload, ready for `simulate()`
 * from `sluice/simulate`. Workload precedence: `overrides`, then
 * `simulation.queues.<name>`, then the `simulation` defaults.
 * @throws ConfigError when a queue ends up without an arrival rate or a service time, or there are no queues.
 * @example
 * const plan = toSimulation(await loadConfig('sluice.yaml'), { seed: 7, durationMs: 600_000 }); // 10 simulated minutes
 * const result = simulate({ ...plan, scenario: 'burst' });
 */
export function toSimulation(config: SluiceConfig, overrides: SimulationOverrides = {}): SimulationPlan {
  const s = config.simulation;
  const issues: ConfigIssue[] = [];
  const queues: SimulatedQueue[] = [];
  if (Object.keys(config.queues).length === 0) issues.push({ path: 'queues', message: 'queues: missing; expected at least one queue to simulate' });
  for (const [name, q] of Object.entries(config.queues)) {
    if (q.priorities || q.fairness) {
      const key = q.priorities ? 'priorities' : 'fairness';
      issues.push({ path: `queues.${name}.${key}`, message: `queues.${name}.${key}: not simulated; sluice simulate models plain channels only (remove ${key} to simulate this queue as a Channel)` });
      continue;
    }
    const own = s?.queues[name];
    const arrivalRate = overrides.arrivalRate ?? own?.arrivalRate ?? s?.arrivalRate;
    const serviceTimeMs = overrides.serviceTimeMs ?? own?.serviceTimeMs ?? s?.serviceTimeMs;
    if (arrivalRate === undefined) {
      issues.push({ path: 'simulation.arrival_rate', message: `simulation.arrival_rate: missing for queue ${name}; expected a rate such as 1000/s (or simulation.queues.${name}.arrival_rate)` });
    }
    if (serviceTimeMs === undefined) {
      issues.push({ path: 'simulation.service_time', message: `simulation.service_time: missing for queue ${name}; expected a duration such as 0.8ms (or simulation.queues.${name}.service_time)` });
    }
    if (arrivalRate === undefined || serviceTimeMs === undefined) continue;
    queues.push({
      name,
      capacity: q.capacity,
      strategy: q.strategy as OverflowStrategy, // priorities and fairness (the other strategies) are refused above
      highWatermark: q.highWatermark,
      lowWatermark: q.lowWatermark,
      sampleEvery: q.sampleEvery,
      ...(q.maxBlockMs !== undefined ? { maxBlockMs: q.maxBlockMs } : {}),
      arrivalRate,
      serviceTimeMs,
      serviceDistribution: overrides.serviceDistribution ?? own?.serviceDistribution ?? s?.serviceDistribution ?? 'exponential',
      consumers: overrides.consumers ?? own?.consumers ?? s?.consumers ?? 1,
    });
  }
  if (issues.length) throw new ConfigError(issues);
  const m = config.monitoring;
  const alerts: SimulatedAlerts | undefined =
    m && Object.keys(m.thresholds).length > 0
      ? {
          thresholds: m.thresholds,
          ...(m.intervalMs !== undefined ? { intervalMs: m.intervalMs } : {}),
          ...(m.windowMs !== undefined ? { windowMs: m.windowMs } : {}),
          ...(m.forMs !== undefined ? { forMs: m.forMs } : {}),
          ...(m.resolveRatio !== undefined ? { resolveRatio: m.resolveRatio } : {}),
        }
      : undefined;
  return { queues, seed: overrides.seed ?? s?.seed ?? 1, durationMs: overrides.durationMs ?? s?.durationMs ?? 3_600_000, alerts };
}
