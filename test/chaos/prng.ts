// mulberry32: a small seeded PRNG, so a chaos run's fault schedule replays from its seed.
export { mulberry32 } from '../../src/core/testing/prng.test-helpers.js';

/** An integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
