import type { Burst } from '../../internal/config-units.js';

/**
 * What the simulated world does to a queue:
 * - `'normal'`: the configured arrival rate for the whole run.
 * - `'burst'`: four bursts, one in the middle of each quarter of the run, at
 *   `burst.factor ×` the arrival rate for `burst.durationMs` (at most an eighth of the run each).
 * - `'sustained-overload'`: from 1/6 to 5/6 of the run, arrivals at `overloadFactor ×`
 *   the consumers' capacity (or the configured rate, if higher); normal before and after, so recovery shows.
 * - `'consumer-failure'`: from 1/3 to 1/2 of the run the consumers take nothing new
 *   (an item already in service finishes); arrivals go on.
 */
export type ScenarioName = 'normal' | 'burst' | 'sustained-overload' | 'consumer-failure';
export const scenarioNames: readonly ScenarioName[] = ['normal', 'burst', 'sustained-overload', 'consumer-failure'];

/** A stretch of the run with constant conditions. */
export interface Phase {
  /** Start, ms of virtual time. */
  from: number;
  /** End (exclusive), ms. */
  to: number;
  /** Poisson arrival rate during the phase, items/s. */
  arrivalRate: number;
  /** Whether the consumers take items. */
  consumersUp: boolean;
  label: 'normal' | 'burst' | 'overload' | 'consumers down';
}

export interface ScenarioParameters {
  durationMs: number;
  /** Normal arrival rate, items/s. */
  arrivalRate: number;
  /** Items/s all consumers together can serve (consumers / mean service time). */
  serviceRate: number;
  /** @default { factor: 10, durationMs: 20_000 } */
  burst?: Burst;
  /** @default 1.5 */
  overloadFactor?: number;
}

export const DEFAULT_BURST: Burst = { factor: 10, durationMs: 20_000 };
export const DEFAULT_OVERLOAD_FACTOR = 1.5;

/** The phases of a scenario, covering [0, durationMs) without gaps. */
export function scenarioPhases(name: ScenarioName, p: ScenarioParameters): Phase[] {
  const d = p.durationMs;
  const normal = (from: number, to: number): Phase => ({ from, to, arrivalRate: p.arrivalRate, consumersUp: true, label: 'normal' });
  switch (name) {
    case 'normal':
      return [normal(0, d)];
    case 'burst': {
      const burst = p.burst ?? DEFAULT_BURST;
      const quarter = d / 4;
      const length = Math.min(burst.durationMs, d / 8);
      const phases: Phase[] = [];
      for (let k = 0; k < 4; k++) {
        const start = k * quarter + quarter / 2;
        phases.push(normal(k * quarter, start));
        phases.push({ from: start, to: start + length, arrivalRate: p.arrivalRate * burst.factor, consumersUp: true, label: 'burst' });
        phases.push(normal(start + length, (k + 1) * quarter));
      }
      return phases;
    }
    case 'sustained-overload': {
      const rate = Math.max(p.arrivalRate, (p.overloadFactor ?? DEFAULT_OVERLOAD_FACTOR) * p.serviceRate);
      return [normal(0, d / 6), { from: d / 6, to: (5 * d) / 6, arrivalRate: rate, consumersUp: true, label: 'overload' }, normal((5 * d) / 6, d)];
    }
    case 'consumer-failure':
      return [normal(0, d / 3), { from: d / 3, to: d / 2, arrivalRate: p.arrivalRate, consumersUp: false, label: 'consumers down' }, normal(d / 2, d)];
  }
}
