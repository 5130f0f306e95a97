import type { OverflowStrategy } from '../../core/channel/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import type { Burst } from '../../internal/config-units.js';
import * as v from '../../internal/validate.js';
import { mm1k, mm1kLoss, smallestKForLoss, type Mm1kFigures } from './queueing.js';

/** The strategies of the decision matrix (seed "Quick Reference"). */
export type PlanStrategy = 'block' | 'drop-oldest' | 'sample' | 'adaptive' | 'credit';

export interface PlanInput {
  /**
   * Mean arrival rate, items/s (Poisson).
   * @default none (required)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8 })
   */
  arrivalRate: number;
  /**
   * Mean time the consumer spends per item, ms (exponential).
   * @default none (required)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8 })
   */
  serviceTimeMs: number;
  /**
   * Longest acceptable wait in the buffer. Caps the capacity at 80 % of the
   * items the consumer gets through in that time (seed rule: 80 % safety), and
   * makes the workload latency sensitive.
   * @default undefined (no cap)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, latencyBudgetMs: 500 })
   */
  latencyBudgetMs?: number;
  /**
   * Acceptable fraction of items lost. Above 0 it makes the workload lossy and
   * sizes the buffer so the M/M/1/K loss stays within it.
   * @default undefined (nothing may be lost)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, lossBudget: 0.001 })
   */
  lossBudget?: number;
  /**
   * A burst to absorb without pushing back: `factor ×` the arrival rate for `durationMs`.
   * @default undefined (no bursts)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, burst: { factor: 100, durationMs: 20_000 } })
   */
  burst?: Burst;
  /**
   * Average size of one item in memory, bytes.
   * @default 1024
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, itemBytes: 512 })
   */
  itemBytes?: number;
  /**
   * Most memory the buffer may take; caps the capacity at `memoryBudgetBytes / itemBytes`.
   * @default undefined (no cap)
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, memoryBudgetBytes: 64 * 2 ** 20 })
   */
  memoryBudgetBytes?: number;
  /**
   * Whether items may be dropped at all.
   * @default lossBudget > 0
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, canLose: true })
   */
  canLose?: boolean;
  /**
   * For lossy workloads: `'low'` keeps the newest items (drop-oldest), `'high'`
   * keeps a representative sample under pressure (sample).
   * @default 'low'
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, lossBudget: 0.01, criticality: 'high' })
   */
  criticality?: 'low' | 'high';
  /**
   * For lossless workloads: whether producers may not simply wait.
   * @default latencyBudgetMs !== undefined
   * @example planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, latencySensitive: true })
   */
  latencySensitive?: boolean;
}

export interface CapacityPlan {
  strategy: PlanStrategy;
  /** The Channel's overflow strategy (adaptive and credit pair a `'block'` Channel with a limiter upstream). */
  overflow: OverflowStrategy;
  /** Channel capacity: items buffered, not counting the one in service. */
  capacity: number;
  /** K of the M/M/1/K model: capacity + 1. */
  systemCapacity: number;
  highWatermark: number;
  lowWatermark: number;
  /** The path taken through the decision matrix, one line per question. */
  decision: string[];
  /** System capacities each constraint asks for (needs) or allows (caps); undefined where it does not apply. */
  sizing: { byLoss?: number; byBlocking?: number; byBurst?: number; byLatency?: number; byMemory?: number; fallback?: number };
  figures: Mm1kFigures & {
    serviceRate: number;
    /** ρ during the burst. */
    peakRho: number;
    itemBytes: number;
    memoryBytes: number;
    /** Mean wait of an item that finds the buffer full: capacity × service time, ms. */
    fullBufferWaitMs: number;
    /** How long a full-strength burst can run before the buffer is full, ms (Infinity if the consumer keeps up). */
    burstAbsorbMs?: number;
    /** Items a burst adds faster than the consumer serves them: (burst rate − service rate) × duration. */
    burstExcess?: number;
    /** Time to drain from the high to the low watermark with the spare service rate, ms (Infinity if none). */
    highToLowDrainMs: number;
  };
  /** Components to put upstream of the Channel for `'adaptive'` and `'credit'`. */
  upstream?: { kind: 'AdaptiveRate'; targetLatencyMs: number; minRate: number; maxRate: number } | { kind: 'Credits'; initial: number; max: number };
  /** Budgets the plan cannot meet. Non-empty means `ok` is false. */
  issues: string[];
  /** Things worth knowing that break no budget. */
  warnings: string[];
  ok: boolean;
}

/** Under a lossless strategy, size the buffer so producers find it full on at most this fraction of arrivals. */
export const BLOCKING_TARGET = 0.01;
const HIGH = 0.8;
const LOW = 0.6;
const LATENCY_SAFETY = 0.8;

/**
 * Recommends a strategy, a capacity and watermarks for one queue, and shows
 * why: ρ, the M/M/1/K loss and Little's law at that size, the memory it takes,
 * and how long a burst can be absorbed.
 *
 * Capacity is the largest the constraints need (loss budget, burst, or a 1 %
 * chance of blocking for lossless strategies) within what the latency and
 * memory budgets allow. When the two conflict the caps win and the unmet
 * budget is listed in `issues`.
 *
 * @example
 * const plan = planCapacity({ arrivalRate: 1000, serviceTimeMs: 0.8, latencyBudgetMs: 500, lossBudget: 0.001 });
 * // plan.strategy === 'drop-oldest', plan.capacity === 23 (K = 24), plan.figures.loss ≈ 0.00095
 */
export function planCapacity(input: PlanInput): CapacityPlan {
  const o = v.optionsObject(input, 'planCapacity', {
    arrivalRate: true, serviceTimeMs: true, latencyBudgetMs: true, lossBudget: true, burst: true, itemBytes: true,
    memoryBudgetBytes: true, canLose: true, criticality: true, latencySensitive: true,
  });
  const lambda = v.requiredNumber('arrivalRate', o.arrivalRate, { min: 0, minExclusive: true });
  const serviceMs = v.requiredNumber('serviceTimeMs', o.serviceTimeMs, { min: 0, minExclusive: true });
  const latencyBudget = v.optionalNumber('latencyBudgetMs', o.latencyBudgetMs, { min: 0, minExclusive: true });
  const lossBudget = v.optionalNumber('lossBudget', o.lossBudget, { min: 0, max: 1 });
  const itemBytes = v.number('itemBytes', o.itemBytes, 1024, { min: 0, minExclusive: true });
  const memoryBudget = v.optionalNumber('memoryBudgetBytes', o.memoryBudgetBytes, { min: 0, minExclusive: true });
  const canLose = v.boolean('canLose', o.canLose, (lossBudget ?? 0) > 0);
  const criticality = v.oneOf('criticality', o.criticality, ['low', 'high'] as const, 'low');
  const latencySensitive = v.boolean('latencySensitive', o.latencySensitive, latencyBudget !== undefined);
  const burst = o.burst;
  if (burst !== undefined) {
    v.requiredNumber('burst.factor', burst.factor, { min: 1, minExclusive: true });
    v.requiredNumber('burst.durationMs', burst.durationMs, { min: 0, minExclusive: true });
  }
  if (canLose && lossBudget === 0) throw new InvalidOptionError('lossBudget', 0, 'a fraction > 0 when canLose is true');
  if (memoryBudget !== undefined && memoryBudget < itemBytes) {
    throw new InvalidOptionError('memoryBudgetBytes', memoryBudget, `at least itemBytes (${itemBytes}): the budget must hold one item`);
  }

  const mu = 1000 / serviceMs;
  const rho = lambda / mu;
  const burstRate = burst ? lambda * burst.factor : lambda;
  const peakRho = burstRate / mu;
  const issues: string[] = [];
  const warnings: string[] = [];

  // Decision matrix, seed "Quick Reference".
  const decision: string[] = [];
  decision.push(
    peakRho >= 1
      ? `Producer faster than consumer? yes: ρ = ${f(rho)}${burst ? `, ${f(peakRho)} during bursts` : ''}`
      : `Producer faster than consumer? no: peak ρ = ${f(peakRho)} < 1, so backpressure should rarely engage; the bounded buffer below is a safety net`,
  );
  let strategy: PlanStrategy;
  if (canLose) {
    decision.push(`Can lose messages? yes${lossBudget !== undefined ? ` (loss budget ${pct(lossBudget)})` : ''}`);
    strategy = criticality === 'low' ? 'drop-oldest' : 'sample';
    decision.push(
      criticality === 'low'
        ? 'Criticality? low → drop-oldest: under pressure the oldest items go, the freshest are kept'
        : 'Criticality? high → sample: above the high watermark one in sampleEvery items is kept, so every kind of item still gets through',
    );
  } else {
    decision.push('Can lose messages? no');
    if (!latencySensitive) {
      strategy = 'block';
      decision.push('Latency sensitive? no → block: producers wait for room, nothing is lost');
    } else {
      decision.push(`Latency sensitive? yes${latencyBudget !== undefined ? ` (budget ${ms(latencyBudget)})` : ''}`);
      strategy = burst ? 'adaptive' : 'credit';
      decision.push(
        burst
          ? 'Burst traffic? yes → adaptive: an AdaptiveRate paces producers from observed latency, in front of a block Channel'
          : 'Burst traffic? no → credit: the consumer grants credits as it frees room (Credits), in front of a block Channel',
      );
    }
  }

  // Sizing, in system capacity K (buffer + the item in service).
  const sizing: CapacityPlan['sizing'] = {};
  if (canLose && lossBudget !== undefined) {
    sizing.byLoss = smallestKForLoss(rho, lossBudget);
    if (sizing.byLoss === undefined) {
      issues.push(`Loss budget ${pct(lossBudget)} cannot be met at ρ = ${f(rho)}: any buffer loses at least 1 − 1/ρ = ${pct(1 - 1 / rho)}. Add consumers or lower the arrival rate.`);
    }
  } else if (!canLose) {
    sizing.byBlocking = smallestKForLoss(rho, BLOCKING_TARGET);
    if (sizing.byBlocking === undefined) {
      warnings.push(`ρ = ${f(rho)} ≥ 1: the consumer cannot keep up; producers will be held back to ${f(mu)}/s for good.`);
    }
  }
  if (burst && burstRate > mu) sizing.byBurst = Math.ceil(((burstRate - mu) * burst.durationMs) / 1000) + 1;
  if (latencyBudget !== undefined) {
    sizing.byLatency = Math.floor((LATENCY_SAFETY * latencyBudget) / serviceMs);
    if (sizing.byLatency < 2) {
      issues.push(`Latency budget ${ms(latencyBudget)} is shorter than ${1 / LATENCY_SAFETY} × 2 service times (${ms(serviceMs)} each): no buffer fits in it.`);
      sizing.byLatency = 2;
    }
  }
  if (memoryBudget !== undefined) sizing.byMemory = Math.max(2, Math.floor(memoryBudget / itemBytes) + 1);
  const needs = [sizing.byLoss, sizing.byBlocking, sizing.byBurst].filter((k): k is number => k !== undefined);
  if (needs.length === 0) sizing.fallback = Math.max(2, Math.ceil(mu)); // nothing to size by: one second of consumer work
  const needed = Math.max(2, ...needs, sizing.fallback ?? 0);
  const cap = Math.min(sizing.byLatency ?? Infinity, sizing.byMemory ?? Infinity);
  const k = Math.min(needed, cap);
  if (needed > cap) {
    const capBy = (sizing.byLatency ?? Infinity) <= (sizing.byMemory ?? Infinity) ? `the latency budget (${LATENCY_SAFETY} × ${ms(latencyBudget!)} / ${ms(serviceMs)})` : `the memory budget`;
    const neededBy = needed === sizing.byLoss ? 'the loss budget' : needed === sizing.byBurst ? 'absorbing the burst' : 'keeping blocking under 1 %';
    const text = `${neededBy} needs ${needed - 1} items but ${capBy} allows ${k - 1}`;
    if (needed === sizing.byLoss) issues.push(`${cap1(text)}: loss at that size is ${pct(mm1kLoss(rho, k))}, above the ${pct(lossBudget!)} budget.`);
    // A memory budget is a hard limit the user set: a plan that does not fit in it
    // is a budget not met. A latency cap only trades blocking for latency.
    else if (capBy === 'the memory budget') issues.push(`${cap1(text)} (${bytes((needed - 1) * itemBytes)} needed, ${bytes(memoryBudget!)} allowed).`);
    else warnings.push(`${cap1(text)}.`);
  }
  if (burst && sizing.byBurst !== undefined && k < sizing.byBurst) {
    const absorbed = ((k - 1) / (burstRate - mu)) * 1000;
    warnings.push(
      `A ${burst.factor}x burst fills the buffer after ${ms(absorbed)} of its ${ms(burst.durationMs)}; for the rest ${strategy === 'drop-oldest' || strategy === 'sample' ? 'items are dropped' : 'producers are held back'}.`,
    );
  }

  const capacity = k - 1;
  const figures = mm1k(lambda, serviceMs, k);
  const plan: CapacityPlan = {
    strategy,
    overflow: strategy === 'drop-oldest' || strategy === 'sample' ? strategy : 'block',
    capacity,
    systemCapacity: k,
    highWatermark: HIGH,
    lowWatermark: LOW,
    decision,
    sizing,
    figures: {
      ...figures,
      serviceRate: mu,
      peakRho,
      itemBytes,
      memoryBytes: capacity * itemBytes,
      fullBufferWaitMs: capacity * serviceMs,
      ...(burst ? { burstAbsorbMs: burstRate > mu ? (capacity / (burstRate - mu)) * 1000 : Infinity, burstExcess: Math.max(0, ((burstRate - mu) * burst.durationMs) / 1000) } : {}),
      highToLowDrainMs: mu > lambda ? (((HIGH - LOW) * capacity) / (mu - lambda)) * 1000 : Infinity,
    },
    issues,
    warnings,
    ok: issues.length === 0,
  };
  if (strategy === 'adaptive') {
    plan.upstream = { kind: 'AdaptiveRate', targetLatencyMs: (latencyBudget ?? capacity * serviceMs) / 2, minRate: Math.max(1, round(mu / 10)), maxRate: round(mu) };
  } else if (strategy === 'credit') {
    plan.upstream = { kind: 'Credits', initial: capacity, max: capacity };
  }
  return plan;
}

function f(x: number): string {
  return String(Number(x.toPrecision(4)));
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

function ms(x: number): string {
  return x >= 1000 ? `${Number((x / 1000).toPrecision(4))}s` : `${Number(x.toPrecision(4))}ms`;
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}

function cap1(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

function bytes(x: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${Number(x.toPrecision(4))} ${units[i]}`;
}
