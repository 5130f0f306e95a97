/**
 * Stream policies: one backpressure configuration (`'Buffer'`, `'Throttle'`,
 * `'Drop'`, watermarks in percent) applied to every streaming handler of an
 * application, with buffer usage, backpressure events and dropped items per
 * stream and per policy.
 * @module
 */
export { StreamPolicy, StreamPolicies, streamPolicy, policyRegistry } from './policy.js';
export type { StreamPolicyStats } from './policy.js';
export type { ApplyOptions, GovernedStream, GovernedStreamState, GovernedStreamStats } from './governed.js';
export type { StreamPolicyOptions, StreamStrategy, StreamStrategyName } from './options.js';
