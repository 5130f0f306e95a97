/**
 * Sluice core: bounded channels, flow control and the clock. Zero runtime dependencies.
 * @module
 */
export * from './core/channel/index.js';
export * from './core/clock/index.js';
export * from './core/errors/index.js';
export * from './core/token-bucket/index.js';
export * from './core/credits/index.js';
export * from './core/adaptive-rate/index.js';
export * from './core/congestion-window/index.js';
export * from './core/poll-sizer/index.js';
export * from './core/reactive/index.js';
export * from './core/pressure/index.js';
export * from './core/concurrency-limiter/index.js';
export * from './core/metrics/index.js';
export * from './core/circuit-breaker/index.js';
export * from './core/batch-writer/index.js';
export * from './core/alerts/index.js';
export * from './core/pipeline/index.js';
export * from './core/stream-policy/index.js';
export * from './core/durable-channel/index.js';
export * from './core/priority-channel/index.js';
export * from './core/fair-channel/index.js';
