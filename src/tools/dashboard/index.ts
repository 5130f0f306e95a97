/**
 * `sluice/dashboard`: a live web page for Sluice components, served by your
 * own HTTP server (node:http, Express/Connect, Fastify, Hono or any
 * fetch-style runtime) and updated over Server-Sent Events. Per component:
 * buffer utilization with its watermarks, rates in and out, drops by reason,
 * latency percentiles, limits and credits, a state timeline and alert badges.
 * No framework; charts by uPlot, served from the package.
 * @module
 */
export { dashboardHandler, DashboardServer } from './handler.js';
export type { DashboardHandler, DashboardStats, DashboardFastifyReply, DashboardFastifyRequest, DashboardHonoContext } from './handler.js';
export type {
  DashboardAlertEvent,
  DashboardAlertSource,
  DashboardLatencySource,
  DashboardOptions,
  DashboardReconfigureEvent,
  DashboardSource,
  DashboardSources,
} from './options.js';
export { componentKind } from './snapshot.js';
export type { DashboardComponentView, DashboardFiringAlert, DashboardKnobEvent, DashboardSnapshot, LatencyPercentiles } from './snapshot.js';
export { histogramPercentile } from './percentiles.js';
