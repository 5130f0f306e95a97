import { InvalidOptionError } from '../core/errors/index.js';
import type { Pressure } from '../core/pressure/index.js';

/**
 * Turns an option value into a {@link Pressure}, reporting bad input under `field`.
 * Shared by the pressure levels, the HTTP load shedder and the broker consumers,
 * so it lives here rather than behind `sluice`'s public pressure entry.
 */
export function resolvePressure(field: string, value: unknown): Pressure {
  // What fromFunction(value) returns, without importing the pressure entry at run time.
  if (typeof value === 'function') return { name: 'function', read: value as () => number };
  if (value !== null && typeof value === 'object' && typeof (value as Pressure).read === 'function') return value as Pressure;
  throw new InvalidOptionError(field, value, 'a Pressure (an object with read()) or a function returning a number');
}
