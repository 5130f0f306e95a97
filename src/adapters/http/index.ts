/**
 * `sluice/http`: load shedding, readiness and liveness endpoints for Node HTTP
 * servers (node:http, Express/Connect, Fastify, Hono and other fetch-style
 * handlers). No framework is imported at runtime; the adapters work with their
 * request and response shapes.
 * @module
 */
export { loadShed, LoadShedder } from './load-shed.js';
export type { LoadShedOptions, LoadShedStats, LoadShedLevelStats, ShedMode, NodeResponseLike, FastifyReplyLike, FetchHandler } from './load-shed.js';
export { readiness, Readiness, liveness, Liveness, HealthEndpoint } from './readiness.js';
export type { ReadinessOptions, ReadinessStats, ReadinessState, LivenessOptions, LivenessStats, HealthAnswer, MethodLike, DelaySource } from './readiness.js';
