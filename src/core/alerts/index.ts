/**
 * Alerts: thresholds on queue depth, drop rate, blocked time, broker lag, a
 * trend's slope and the time until a buffer is full, evaluated on
 * components' `stats()` with the clock, raised and resolved as events.
 * Zero runtime dependencies.
 * @module
 */
export { AlertMonitor, formatAlert } from './monitor.js';
export type { ActiveAlert, AlertEvent, AlertMonitorStats } from './monitor.js';
export { alertRules } from './options.js';
export type { AlertMonitorOptions, AlertRule, AlertThresholds, LagThreshold, QueueDepthThreshold, StatsSource } from './options.js';
