/**
 * BatchWriter: batches items into a slow sink with backpressure, retries,
 * a circuit breaker and a drain; `shutdownOn` drains writers on SIGTERM/SIGINT.
 * @module
 */
export { BatchWriter } from './writer.js';
export { shutdownOn } from './shutdown.js';
export type { ShutdownOptions, ShutdownSignal, ShutdownTarget, ShutdownTargetStats } from './shutdown.js';
export type { BatchWriterBreakerOptions, BatchWriterBreakerState } from './breaker.js';
export type { BatchWriterRetryJitter, BatchWriterRetryOptions } from './retry.js';
export type {
  BatchWriterBreakerStats,
  BatchWriterDropReason,
  BatchWriterOptions,
  BatchWriterStats,
  BatchWriterReconfigureEvent,
  BatchDeadLetterFunction,
  BatchDeadLetterInfo,
  BatchWriterDrainOptions,
  BatchWriterDrainReport,
  BatchFailedItem,
  BatchFlushContext,
  BatchFlushFunction,
  BatchFlushResult,
  BatchWriterWriteOptions,
} from './options.js';
