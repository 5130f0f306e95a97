import { InvalidArgumentError } from 'commander';
import {
  BURST_HINT,
  DURATION_HINT,
  FRACTION_HINT,
  parseBurst,
  parseDuration,
  parseFraction,
  parseRate,
  parseSize,
  RATE_HINT,
  SIZE_HINT,
  type Burst,
} from '../../internal/config-units.js';

// Commander argument parsers. A throw of InvalidArgumentError makes commander
// print "error: option '--x <v>' argument 'bad' is invalid. <our message>" and
// exit with code 2 (see program.ts).

/** `30s`, `1h`, `250ms`; must be > 0. */
export function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`Expected ${DURATION_HINT}.`);
  return ms;
}

/** `1000/s`, `60/min`, `1.5k/s`; must be > 0. Items per second. */
export function rateArg(value: string): number {
  const rate = parseRate(value);
  if (rate === undefined || rate <= 0) throw new InvalidArgumentError(`Expected ${RATE_HINT}.`);
  return rate;
}

/** `512`, `64KiB`, `1MB`; must be > 0. Bytes. */
export function sizeArg(value: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined || bytes <= 0) throw new InvalidArgumentError(`Expected ${SIZE_HINT}.`);
  return bytes;
}

/** `0.1%` or `0.001`. */
export function fractionArg(value: string): number {
  const f = parseFraction(value);
  if (f === undefined) throw new InvalidArgumentError(`Expected ${FRACTION_HINT}.`);
  return f;
}

/** `100x:20s`. */
export function burstArg(value: string): Burst {
  const burst = parseBurst(value);
  if (burst === undefined) throw new InvalidArgumentError(`Expected ${BURST_HINT}.`);
  return burst;
}

/** A factor > 1, e.g. `1.5`. */
export function factorArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 1) || !Number.isFinite(n)) throw new InvalidArgumentError('Expected a number > 1, such as 1.5.');
  return n;
}

/** An integer within [min, max]. */
export function integerArg(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}
