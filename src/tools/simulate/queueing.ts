// Closed forms for the M/M/1/K queue: Poisson arrivals at rate λ, one server
// with exponential service at rate μ, room for K items in the system (the one
// in service included). ρ = λ / μ. Used by `sluice plan` to size buffers and
// by the tests to check the simulator against theory.
//
// For ρ > 1 the textbook forms overflow (ρ^K); they are rewritten in r = 1/ρ.

const NEAR_ONE = 1e-9;

/**
 * Probability that an arrival finds the system full and is lost:
 * (1 − ρ)ρ^K / (1 − ρ^(K+1)), and 1 / (K + 1) at ρ = 1.
 */
export function mm1kLoss(rho: number, k: number): number {
  if (!(rho >= 0) || !(k >= 0)) return NaN;
  if (rho === 0) return 0;
  if (Math.abs(rho - 1) < NEAR_ONE) return 1 / (k + 1);
  if (rho < 1) return ((1 - rho) * rho ** k) / (1 - rho ** (k + 1));
  const r = 1 / rho;
  return (1 - r) / (1 - r ** (k + 1));
}

/** Mean number of items in the system (queued plus in service). */
export function mm1kMeanInSystem(rho: number, k: number): number {
  if (rho === 0) return 0;
  if (Math.abs(rho - 1) < NEAR_ONE) return k / 2;
  if (rho < 1) return rho / (1 - rho) - ((k + 1) * rho ** (k + 1)) / (1 - rho ** (k + 1));
  const r = 1 / rho;
  return rho / (1 - rho) + (k + 1) / (1 - r ** (k + 1));
}

export interface Mm1kFigures {
  rho: number;
  /** Fraction of arrivals lost. */
  loss: number;
  /** Items per second that get through: λ(1 − loss). */
  throughput: number;
  /** Mean items in the system, L. */
  meanInSystem: number;
  /** Mean time in the system for an admitted item, W = L / throughput (Little's law), ms. */
  meanSojournMs: number;
  /** Mean wait before service, Wq = W − 1/μ, ms. */
  meanWaitMs: number;
}

/** M/M/1/K figures for arrival rate λ (/s), mean service time (ms) and system capacity K. */
export function mm1k(arrivalRate: number, serviceTimeMs: number, k: number): Mm1kFigures {
  const rho = (arrivalRate * serviceTimeMs) / 1000;
  const loss = mm1kLoss(rho, k);
  const throughput = arrivalRate * (1 - loss);
  const meanInSystem = mm1kMeanInSystem(rho, k);
  const meanSojournMs = throughput > 0 ? (meanInSystem / throughput) * 1000 : 0;
  return { rho, loss, throughput, meanInSystem, meanSojournMs, meanWaitMs: Math.max(0, meanSojournMs - serviceTimeMs) };
}

/**
 * Smallest system capacity K ≥ 1 whose loss is at most `budget`, or undefined
 * when no K reaches it (ρ ≥ 1 loses at least 1 − 1/ρ however large the buffer)
 * or it would exceed `maxK`.
 */
export function smallestKForLoss(rho: number, budget: number, maxK = 2 ** 40): number | undefined {
  if (mm1kLoss(rho, maxK) > budget) return undefined;
  let lo = 1;
  let hi = maxK;
  if (mm1kLoss(rho, lo) <= budget) return lo;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mm1kLoss(rho, mid) <= budget) hi = mid;
    else lo = mid;
  }
  return hi;
}
