// The one seeded PRNG of the tests and benchmarks (not part of sluice/testing:
// the simulator has its own, sluice/simulate's Random). Shared so a noisy
// signal, a chaos schedule or a benchmark's random sizes replay from a seed
// with one implementation, not a copy in each file.

/**
 * mulberry32 (Tommy Ettinger): a small 32-bit seeded generator, uniform in
 * [0, 1). Fine for test noise and workloads; not for anything statistical.
 * @example const random = mulberry32(12); const noisy = () => 0.6 * (1 + 0.4 * (random() - 0.5));
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
