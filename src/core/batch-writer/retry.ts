import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';

/** How a retry delay is randomised below its exponential cap. */
export type BatchWriterRetryJitter = 'full' | 'equal' | 'none';
export const retryJitters: readonly BatchWriterRetryJitter[] = ['full', 'equal', 'none'];

export interface BatchWriterRetryOptions {
  /**
   * Retries after the first try; once they are used up the items go to
   * `deadLetter`. 0 means no retry. Every sink call that fails costs the items
   * in it one attempt; time spent waiting for an open breaker costs nothing.
   * @default 3
   * @example new BatchWriter({ flush, retry: { attempts: 5 } })
   */
  attempts?: number;
  /**
   * Cap of the first retry's delay. Retry `n` (from 1) is capped at
   * `min(maxDelayMs, initialDelayMs * 2 ** (n - 1))`.
   * @default 100
   * @example new BatchWriter({ flush, retry: { initialDelayMs: 250 } })
   */
  initialDelayMs?: number;
  /**
   * Largest delay cap, reached after enough doublings. Must be >= `initialDelayMs`.
   * @default 10000
   * @example new BatchWriter({ flush, retry: { maxDelayMs: 60_000 } })
   */
  maxDelayMs?: number;
  /**
   * - `'full'`: the delay is uniform in [0, cap): retries of many writers spread out the most.
   * - `'equal'`: uniform in [cap / 2, cap): spread, but never much sooner than the cap.
   * - `'none'`: exactly the cap.
   * @default 'full'
   * @example new BatchWriter({ flush, retry: { jitter: 'none' } }) // predictable delays
   */
  jitter?: BatchWriterRetryJitter;
  /**
   * Source of randomness for the jitter, returning a number in [0, 1).
   * Inject a seeded one to make delays reproducible.
   * @default Math.random
   * @example new BatchWriter({ flush, retry: { random: () => 0.5 } })
   */
  random?: () => number;
}

export interface ResolvedRetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  jitter: BatchWriterRetryJitter;
  random: () => number;
}

export function resolveRetryOptions(value: BatchWriterRetryOptions | undefined): ResolvedRetryOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('retry', value, 'an object');
  const attempts = v.integer('retry.attempts', value.attempts, 3, { min: 0 });
  const initialDelayMs = v.number('retry.initialDelayMs', value.initialDelayMs, 100, { min: 0 });
  const maxDelayMs = v.number('retry.maxDelayMs', value.maxDelayMs, Math.max(10_000, initialDelayMs), { min: 0 });
  if (maxDelayMs < initialDelayMs) {
    throw new InvalidOptionError('retry.maxDelayMs', maxDelayMs, `a finite number >= retry.initialDelayMs (${initialDelayMs})`);
  }
  const jitter = v.oneOf('retry.jitter', value.jitter, retryJitters, 'full');
  const random = v.optionalFunction<() => number>('retry.random', value.random) ?? Math.random;
  return { attempts, initialDelayMs, maxDelayMs, jitter, random };
}

/** Delay before retry number `retry` (1 for the first retry). */
export function retryDelay(o: ResolvedRetryOptions, retry: number): number {
  // The exponent is clamped so 0 * 2 ** n never meets Infinity (which would give NaN).
  const cap = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.min(retry - 1, 1000));
  if (o.jitter === 'none') return cap;
  const r = o.random();
  // A random() outside [0, 1) must not produce a negative or oversized delay.
  const u = r >= 0 && r < 1 ? r : r >= 1 ? 1 : 0;
  return o.jitter === 'full' ? u * cap : cap / 2 + (u * cap) / 2;
}
