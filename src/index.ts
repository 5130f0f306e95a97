/**
 * Sluice core: bounded channels, flow control and the clock. Zero runtime dependencies.
 * @module
 */
export * from './channel/index.js';
export * from './clock/index.js';
export * from './errors/index.js';
