/**
 * Alerts: thresholds on queue depth, drop rate and blocked time, evaluated on
 * components' `stats()` with the clock, raised and resolved as events.
 * Zero runtime dependencies.
 * @module
 */
export { AlertMonitor, formatAlert } from './monitor.js';
export type { ActiveAlert, AlertEvent, AlertMonitorStats } from './monitor.js';
export { alertRules } from './options.js';
export type { AlertMonitorOptions, AlertRule, AlertThresholds, QueueDepthThreshold, StatsSource } from './options.js';
