import { InvalidOptionError } from '../core/errors/index.js';

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

/** Every key of every member of a union (`keyof (A | B)` gives only the shared ones). */
type AllKeys<T> = T extends unknown ? keyof T : never;

/**
 * The option names a component accepts, as an object literal so the type
 * checker keeps the list complete: `{ capacity: true, overflow: true, … }`.
 */
export type KnownKeys<T> = { readonly [K in AllKeys<T> & string]-?: true };

/**
 * An options argument must be an object (or omitted) with only the keys
 * `known` lists: plain-JavaScript callers would otherwise get a silent default
 * for a typo (`{ capcity: 10 }`). `known === null` is for arguments whose keys
 * are data (e.g. level names); the caller checks those itself.
 */
export function optionsObject<T extends object>(value: T | undefined, component: string, known: KnownKeys<T> | null): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError(`${component} options`, value, 'an object');
  }
  if (known !== null) {
    const error = unknownKey(value, component, known);
    if (error !== undefined) throw error;
  }
  return value;
}

/** The error for the first own key of `value` that `known` does not list. */
function unknownKey(value: object, where: string, known: object): InvalidOptionError | undefined {
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(known, key)) return unknownOptionError(where, key, (value as Record<string, unknown>)[key], Object.keys(known));
  }
  return undefined;
}

export function unknownOptionError(where: string, key: string, value: unknown, allowed: readonly string[]): InvalidOptionError {
  const guess = nearest(key, allowed);
  const list = allowed.length === 0 ? 'none' : allowed.join(', ');
  const shown = key.length > 40 ? `${key.slice(0, 39)}…` : key;
  return new InvalidOptionError(
    key,
    value,
    `one of ${list}`,
    undefined,
    `Unknown option "${shown}" for ${where}${guess === undefined ? '' : `: did you mean "${guess}"?`} (allowed: ${list})`,
  );
}

/**
 * The candidate closest to `word` by edit distance (insertions, deletions,
 * substitutions and swaps of neighbours; case ignored), or undefined when none
 * is close enough to be a plausible typo: at most 1 edit for words of up to 4
 * characters, 2 up to 8, 3 beyond. Ties go to the earlier candidate.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(w, candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal-string-alignment distance; stops early once it cannot be below `cap`. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin >= cap) return cap;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/** What a per-call option must be. */
export type CallOptionKind = 'signal' | 'ms' | 'maxMs' | 'boolean';

/** `{ signal: 'signal', timeoutMs: 'ms' }`: each key a per-call options object may have, and its kind. */
export type CallOptionSpec<T> = { readonly [K in AllKeys<T> & string]-?: CallOptionKind };

function isSignal(value: unknown): value is AbortSignal {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

const callKindText: Record<CallOptionKind, string> = {
  signal: 'an AbortSignal',
  ms: 'a finite number >= 0 (milliseconds)',
  maxMs: 'a number >= 0 (milliseconds; Infinity for no limit)',
  boolean: 'true or false',
};

/**
 * Checks a per-call options object (of `send()`, `acquire()`, …) and returns
 * the error instead of throwing, so an async method can reject with it before
 * doing anything. Keys with the value `undefined` are allowed, as in
 * constructors. Only for the slow path: it walks the object's keys.
 */
export function callOptionsError<T extends object>(value: T | undefined, where: string, spec: CallOptionSpec<T>): InvalidOptionError | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') return new InvalidOptionError(`${where} options`, value, 'an object');
  // for-in over an options literal walks V8's enum cache: no key array per call.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const kind = Object.hasOwn(spec, key) ? (spec as Record<string, CallOptionKind>)[key] : undefined;
    const given = (value as Record<string, unknown>)[key];
    if (kind === undefined) return unknownOptionError(where, key, given, Object.keys(spec));
    if (given === undefined) continue;
    const ok =
      kind === 'signal'
        ? isSignal(given)
        : kind === 'boolean'
          ? typeof given === 'boolean'
          : typeof given === 'number' && given >= 0 && (kind === 'maxMs' || given !== Infinity); // NaN fails >= 0
    if (!ok) return new InvalidOptionError(key, given, callKindText[kind], `in ${where}`);
  }
  return undefined;
}

export { InvalidOptionError };
