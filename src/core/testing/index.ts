/**
 * Test helpers: `sluice/testing`.
 * @module
 */
export { VirtualClock, flushMicrotasks } from './virtual-clock.js';
