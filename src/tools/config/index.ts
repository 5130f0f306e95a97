/**
 * Configuration files (`sluice/config`): YAML or JSON in the shape of the seed
 * template, validated before anything starts, then built into named
 * components. Not part of the zero-dependency core: it uses `yaml` and `zod`,
 * bundled into the package at build time (users install neither).
 * @module
 */
export { parseConfig, loadConfig } from './load.js';
export type { ParseConfigOptions } from './load.js';
export { fromConfig, componentSpecs } from './build.js';
export type { AlertSpec, BuildOptions, BuiltComponents, Component, ComponentKind, ComponentSpec } from './build.js';
export { ConfigError } from './errors.js';
export type { ConfigIssue } from './errors.js';
export { configJsonSchema } from './json-schema.js';
export { planReload } from './reload.js';
export type { ComponentReload, ReloadChange, ReloadPlan } from './reload.js';
export { watchConfig } from './watch.js';
export type { ConfigReloadResult, ConfigWatcher, ConfigWatcherStats, WatchConfigOptions, WatchedComponents } from './watch.js';
export { toSimulation } from './simulation.js';
export type { SimulationOverrides, SimulationPlan } from './simulation.js';
export type {
  AdaptiveConfig,
  BreakerConfig,
  BulkheadConfig,
  ConcurrencyConfig,
  CreditsConfig,
  FairnessConfig,
  FlowControlConfig,
  MonitoringConfig,
  PrioritiesConfig,
  QueueConfig,
  QueueStrategy,
  RateLimitConfig,
  SimulationConfig,
  SluiceConfig,
  WorkloadConfig,
  WriterConfig,
} from './types.js';
