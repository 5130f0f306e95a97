/**
 * Sluice core: bounded channels, flow control and the clock. Zero runtime dependencies.
 * @module
 */
export * from './channel/index.js';
export * from './clock/index.js';
export * from './errors/index.js';
export * from './token-bucket/index.js';
export * from './credits/index.js';
export * from './adaptive-rate/index.js';
export * from './congestion-window/index.js';
export * from './poll-sizer/index.js';
export * from './reactive/index.js';
export * from './pressure/index.js';
export * from './concurrency-limiter/index.js';
export * from './metrics/index.js';
export * from './batch-writer/index.js';
export * from './alerts/index.js';
export * from './pipeline/index.js';
export * from './stream-policy/index.js';
export * from './durable-channel/index.js';
