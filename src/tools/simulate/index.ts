/**
 * Simulation and capacity planning: runs real Channels against scenarios in
 * virtual time (deterministic, an hour in seconds), renders an HTML report,
 * and sizes buffers from queueing theory. Zero runtime dependencies.
 * @module
 */
export { simulate } from './run.js';
export type { SimulationOptions, SimulationResult } from './run.js';
export type { LatencySummary, QueueResult, QueueSeries, QueueTotals, SimulatedAlerts, SimulatedQueue } from './engine.js';
export { scenarioNames, scenarioPhases, DEFAULT_BURST, DEFAULT_OVERLOAD_FACTOR } from './scenario.js';
export type { Phase, ScenarioName, ScenarioParameters } from './scenario.js';
export { renderReport } from './report.js';
export type { ReportOptions } from './report.js';
export { planCapacity, BLOCKING_TARGET } from './plan.js';
export type { CapacityPlan, PlanInput, PlanStrategy } from './plan.js';
export { mm1k, mm1kLoss, mm1kMeanInSystem, smallestKForLoss } from './queueing.js';
export type { Mm1kFigures } from './queueing.js';
export { Random } from './prng.js';
