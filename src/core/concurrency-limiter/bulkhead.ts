import type { Clock } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import { ConcurrencyLimiter } from './limiter.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /**
   * Calls that may run at once.
   * @default none (required)
   * @example bulkhead({ concurrency: 10, maxWaiting: 20 })
   */
  concurrency: number;
  /**
   * Calls that may wait for a slot at once; one more is rejected at once with
   * `LimitExceededError` (`ERR_SLUICE_LIMIT_EXCEEDED`). `0` waits for nobody.
   * @default none (required: an unbounded queue is what a bulkhead exists to prevent)
   * @example bulkhead({ concurrency: 10, maxWaiting: 0 }) // reject as soon as all 10 are busy
   */
  maxWaiting: number;
  /**
   * Name shown in stats and metrics.
   * @default 'bulkhead'
   * @example bulkhead({ concurrency: 4, maxWaiting: 8, name: 'payments' })
   */
  name?: string;
  /**
   * Time source for the round-trip times in stats.
   * @default systemClock
   * @example bulkhead({ concurrency: 4, maxWaiting: 8, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

/**
 * The bulkhead pattern: a fixed number of calls run at once, a bounded number
 * wait, and the rest are refused at once, so one slow dependency can hold at
 * most `concurrency + maxWaiting` callers instead of every request of the
 * service. It is a `ConcurrencyLimiter` with `algorithm: 'fixed'`,
 * `whenFull: 'wait'` and `maxWaiting`; use that directly for an adaptive
 * limit or partitions.
 * @throws InvalidOptionError naming the field, for a missing or invalid option.
 * @example
 * const payments = bulkhead({ concurrency: 10, maxWaiting: 20, name: 'payments' });
 * const charge = async (cents: number) => ({ charged: cents }); // your call to the payment provider
 * const receipt = await payments.run(() => charge(1299)); // LimitExceededError when 30 calls are already in
 * console.log(receipt.charged, payments.stats().rejected);
 */
export function bulkhead(options: BulkheadOptions): ConcurrencyLimiter {
  const o = v.optionsObject(options, 'bulkhead', { concurrency: true, maxWaiting: true, name: true, clock: true }) as Record<string, unknown>;
  const concurrency = v.requiredInteger('concurrency', o.concurrency, { min: 1 });
  const maxWaiting = v.requiredInteger('maxWaiting', o.maxWaiting, { min: 0 });
  return new ConcurrencyLimiter({
    algorithm: 'fixed',
    initialLimit: concurrency,
    maxLimit: Math.max(1000, concurrency),
    whenFull: 'wait',
    maxWaiting,
    name: (o.name as string | undefined) ?? 'bulkhead',
    ...(o.clock === undefined ? {} : { clock: o.clock as Clock }),
  });
}
