import { InvalidOptionError } from '../errors/index.js';

// Option validation lives here so every component reports bad input the same
// way: before any work starts, naming the field, the value and what is allowed.

export type Bounds = { min?: number; max?: number; minExclusive?: boolean };

function rangeText(kind: string, b: Bounds): string {
  const lo = b.min === undefined ? '' : `${b.minExclusive ? '>' : '>='} ${b.min}`;
  const hi = b.max === undefined ? '' : `<= ${b.max}`;
  return [kind, lo, hi && lo ? `and ${hi}` : hi].filter(Boolean).join(' ');
}

function inRange(v: number, b: Bounds): boolean {
  if (b.min !== undefined && (b.minExclusive ? v <= b.min : v < b.min)) return false;
  if (b.max !== undefined && v > b.max) return false;
  return true;
}

/** A finite number within bounds; `undefined` yields the default. */
export function number(field: string, value: unknown, fallback: number, b: Bounds = {}): number {
  if (value === undefined) return fallback;
  return requiredNumber(field, value, b);
}

export function requiredNumber(field: string, value: unknown, b: Bounds = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !inRange(value, b)) {
    throw new InvalidOptionError(field, value, rangeText('a finite number', b));
  }
  return value;
}

/** A safe integer within bounds; `undefined` yields the default. */
export function integer(field: string, value: unknown, fallback: number, b: Bounds = {}): number {
  if (value === undefined) return fallback;
  return requiredInteger(field, value, b);
}

export function requiredInteger(field: string, value: unknown, b: Bounds = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || !inRange(value, b)) {
    throw new InvalidOptionError(field, value, rangeText('an integer', b));
  }
  return value;
}

/** An optional finite number: `undefined` stays `undefined`. */
export function optionalNumber(field: string, value: unknown, b: Bounds = {}): number | undefined {
  return value === undefined ? undefined : requiredNumber(field, value, b);
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(field, value, `one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function requiredFunction<F extends (...args: any[]) => unknown>(field: string, value: unknown): F {
  if (typeof value !== 'function') throw new InvalidOptionError(field, value, 'a function');
  return value as F;
}

export function optionalFunction<F extends (...args: any[]) => unknown>(field: string, value: unknown): F | undefined {
  return value === undefined ? undefined : requiredFunction<F>(field, value);
}

export function boolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(field, value, 'true or false');
  return value;
}

/** An options argument must be an object (or omitted). */
export function optionsObject<T extends object>(value: T | undefined, component: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError(`${component} options`, value, 'an object');
  }
  return value;
}

export { InvalidOptionError };
