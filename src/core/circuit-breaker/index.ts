/**
 * CircuitBreaker: closed / open / half-open over a sliding window of failure
 * and slow-call rates (count or time based), with no timer.
 * @module
 */
export { CircuitBreaker } from './breaker.js';
export type { CircuitBreakerRunOptions, CircuitBreakerStats } from './breaker.js';
export type { CircuitBreakerOptions, CircuitBreakerOutcome, CircuitBreakerState, CircuitBreakerWindow } from './options.js';
