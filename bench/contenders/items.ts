import type { RunOutcome } from '../lib/types.js';

/** The object every channel-scenario contender moves: small, like a parsed event. */
export interface Item {
  id: number;
  value: number;
}

export const CAPACITY = 1024;

export function makeItem(i: number): Item {
  return { id: i, value: i & 1023 };
}

/** Sum of `makeItem(i).value` for i in [0, n), in closed form so the check costs nothing. */
export function expectedSum(n: number): number {
  const fullCycles = Math.floor(n / 1024);
  const rest = n % 1024;
  return fullCycles * ((1023 * 1024) / 2) + (rest * (rest - 1)) / 2;
}

/** The outcome of a channel-scenario run: the consumer's sum and count, checked by the worker. */
export function summed(n: number, sum: number, count: number): RunOutcome {
  return {
    items: count,
    checks: [
      { what: 'items received', expected: n, actual: count },
      { what: 'sum of item.value', expected: expectedSum(n), actual: sum },
    ],
  };
}
