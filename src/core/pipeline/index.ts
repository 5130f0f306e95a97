/**
 * `pipeline()`: source → stages → sink with backpressure end to end. Stages
 * (`map`, `filter`, `tap`, `batch`, `buffer`, `throttle`, `limit`,
 * `transform`), sources (iterables, Node and web streams, Channels,
 * Publishers), sinks (functions, Node and web streams, batch writers,
 * Channels), and adapters back to Node and web streams.
 * @module
 */
export { pipeline } from './pipeline.js';
export type { PipelineOptions, PipelineResult } from './pipeline.js';
export { map, filter, tap, limit, transform } from './stages.js';
export type { ConcurrencyLimiterLike, LimitOptions, MapOptions, MapStage, MapStageStats, LimitPermit, StepContext } from './stages.js';
export { batch, buffer, throttle } from './flow.js';
export type { BatchOptions, BatchStage, BatchStageStats, BufferStage, ThrottleOptions, ThrottleStage } from './flow.js';
export type { Stage, StageCallOptions } from './stage.js';
export type { PipelineSource } from './sources.js';
export type { BatchWriterLike, PipelineSink } from './sinks.js';
export { toNodeReadable, toReadableStream } from './interop.js';
export type { StreamAdapterOptions } from './interop.js';
