/**
 * Stream policies: one backpressure configuration (`'block'`, `'drop-newest'`,
 * `'throttle'`, watermarks as fractions, as a Channel's; the seed's `'Buffer'`,
 * `'Drop'`, `'Throttle'` and percent watermarks are accepted aliases) applied to every streaming handler of an
 * application, with buffer usage, backpressure events and dropped items per
 * stream and per policy.
 * @module
 */
export { StreamPolicy, StreamPolicies, streamPolicy, policyRegistry } from './policy.js';
export type { StreamPolicyStats } from './policy.js';
export type { ApplyOptions, GovernedStream, GovernedStreamState, GovernedStreamStats } from './governed.js';
export type { StreamPolicyOptions, StreamStrategy, StreamStrategyName } from './options.js';
