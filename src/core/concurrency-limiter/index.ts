/**
 * Concurrency limiter with a fixed or adaptive (AIMD, Vegas, Gradient2) limit.
 * @module
 */
export { ConcurrencyLimiter, Permit } from './limiter.js';
export type { ConcurrencyLimiterAcquireOptions, ConcurrencyLimiterTryAcquireOptions, ConcurrencyLimiterPartitionStats, ConcurrencyLimiterStats, ConcurrencyLimiterReconfigureEvent } from './limiter.js';
export { limitAlgorithms } from './options.js';
export { bulkhead } from './bulkhead.js';
export type { BulkheadOptions } from './bulkhead.js';
export type {
  AimdLimiterOptions,
  ConcurrencyLimiterBaseOptions,
  ConcurrencyLimiterOptions,
  FixedLimiterOptions,
  Gradient2LimiterOptions,
  LimitAlgorithmName,
  VegasLimiterOptions,
  ConcurrencyWhenFull,
} from './options.js';
