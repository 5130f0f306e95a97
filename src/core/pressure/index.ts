/**
 * Pressure: numbers that say how loaded something is, where 1 means "at threshold".
 * Sources for channels and limiters, probes for the event loop and memory, and
 * {@link pressureLevels} to combine them. Zero runtime dependencies.
 * @module
 */
export { fromFunction, channelPressure, limiterPressure } from './sources.js';
export type { Pressure, PressureLike, UtilizationSource, InflightSource } from './sources.js';
export { eventLoopDelay, eventLoopUtilization, heapUsed, rss } from './probes.js';
export type {
  PressureProbe,
  ProbeStats,
  ProbeOptions,
  DelayStatistic,
  EventLoopDelayOptions,
  EventLoopUtilizationOptions,
  MemoryProbeOptions,
} from './probes.js';
export { eventLoopStall } from './stall.js';
export type { EventLoopStallOptions } from './stall.js';
export { pressureLevels, PressureLevels, throttleFactor } from './levels.js';
export type {
  PressureLevel,
  PressureLevelsOptions,
  PressureLevelsSettings,
  PressureCheck,
  PressureLevelStats,
  PressureLevelsStats,
} from './levels.js';
export { trend, Trend } from './trend.js';
export type { TrendOptions, TrendStats } from './trend.js';
export { cpuUsage } from './cpu.js';
export type { CpuUsageOptions, CpuUsageStats, CpuUsageProbe } from './cpu.js';
export { governor, Governor } from './governor.js';
export type { GovernorOptions, GovernorStats, GovernedLimiter, RateSettable, RateCappable } from './governor.js';
