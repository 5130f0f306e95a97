// `sluice demo --config FILE`: what the demo takes from a configuration file.
// The demo builds its own components (the writer's sink is the demo's SQLite
// store, the channel is fed by the fleet), so it reads three named entries and
// lays them over its built-in settings; anything else in the file is listed as
// ignored. The same names are then watched (watchConfig) for reloads.
import type { OverflowStrategy } from '../../core/channel/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import { componentSpecs, ConfigError, loadConfig, type SluiceConfig } from '../config/index.js';

/** The names the demo's components have on the dashboard, and in the file. */
export const INGEST = 'ingest';
export const WRITER = 'sqlite-writer';
export const INTAKE = 'intake';

/** The ingest Channel's settings. */
export interface IngestSettings {
  strategy: OverflowStrategy;
  capacity: number;
  /** Under 'block' only. */
  maxBlockMs: number | undefined;
  highWatermark?: number;
  lowWatermark?: number;
  sampleEvery?: number;
}

/** The SQLite BatchWriter's settings (its sink is the demo's store). */
export interface WriterSettings {
  capacity: number;
  batchSize: number;
  overflow: OverflowStrategy;
  minFlushIntervalMs: number;
  targetLatencyMs: number;
  maxFlushIntervalMs?: number;
  highWatermark?: number;
  lowWatermark?: number;
  maxBlockMs?: number;
  sampleEvery?: number;
}

/** The writer of the default run: the README's figures are measured with these. */
export const DEFAULT_WRITER: Readonly<WriterSettings> = { capacity: 5000, batchSize: 1000, overflow: 'block', minFlushIntervalMs: 50, targetLatencyMs: 250 };

export interface DemoConfig {
  file: string;
  /** As loaded: what the watcher compares later versions of the file against. */
  config: SluiceConfig;
  /** From `queues.ingest`, when the file has it. */
  ingest: IngestSettings | undefined;
  writer: WriterSettings;
  /** From `rate_limits.intake`: a TokenBucket on the fleet's intake. */
  intake: { ratePerSecond: number; burst: number | undefined } | undefined;
  /** Entries of the file the demo does not use, by path (e.g. `queues.orders`). */
  ignored: string[];
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Reads and validates `file` and picks the demo's entries out of it.
 * @throws ConfigError when the file is invalid, or `queues.ingest` has
 *   priorities or fairness (the demo's ingest is a plain Channel); the fs error when unreadable;
 *   InvalidOptionError when `given` says an option the file's `queues.ingest` also sets was passed.
 */
export async function loadDemoConfig(file: string, given: { strategy: boolean; capacity: boolean; maxBlockMs: boolean }, defaultMaxBlockMs: number): Promise<DemoConfig> {
  const config = await loadConfig(file);
  const q = config.queues[INGEST];
  let ingest: IngestSettings | undefined;
  if (q) {
    if (q.priorities || q.fairness) {
      const path = `queues.${INGEST}.${q.priorities ? 'priorities' : 'fairness'}`;
      throw new ConfigError([{ path, message: `${path}: not allowed here (the demo's ingest is a plain Channel; use capacity, strategy, watermarks and timeout)` }], file);
    }
    for (const option of ['strategy', 'capacity', 'maxBlockMs'] as const) {
      if (given[option]) throw new InvalidOptionError(option, option, `no value with configFile (${file} sets the ingest channel in queues.${INGEST})`);
    }
    const strategy = q.strategy as OverflowStrategy;
    ingest = defined({
      strategy,
      capacity: q.capacity,
      maxBlockMs: strategy === 'block' ? (q.maxBlockMs ?? defaultMaxBlockMs) : undefined,
      highWatermark: q.highWatermark,
      lowWatermark: q.lowWatermark,
      sampleEvery: strategy === 'sample' ? q.sampleEvery : undefined,
    });
  }
  const w = config.writers[WRITER];
  const capacity = w?.capacity ?? DEFAULT_WRITER.capacity;
  const writer: WriterSettings = defined({
    capacity,
    batchSize: w?.batchSize ?? Math.min(DEFAULT_WRITER.batchSize, capacity),
    overflow: w?.strategy ?? DEFAULT_WRITER.overflow,
    minFlushIntervalMs: w?.flushIntervalMs ?? DEFAULT_WRITER.minFlushIntervalMs,
    targetLatencyMs: w?.targetLatencyMs ?? DEFAULT_WRITER.targetLatencyMs,
    maxFlushIntervalMs: w?.maxFlushIntervalMs,
    highWatermark: w?.highWatermark,
    lowWatermark: w?.lowWatermark,
    maxBlockMs: w?.maxBlockMs,
    sampleEvery: w?.sampleEvery,
  });
  const r = config.rateLimits[INTAKE];
  const used = new Set([`queues.${INGEST}`, `writers.${WRITER}`, `rate_limits.${INTAKE}`]);
  const ignored = componentSpecs(config).components.map((c) => c.path).filter((path) => !used.has(path));
  if (config.monitoring) ignored.push('monitoring');
  return { file, config, ingest, writer, intake: r ? { ratePerSecond: r.ratePerSecond, burst: r.burst } : undefined, ignored };
}
