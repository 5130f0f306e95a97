import { overflowStrategies, type OverflowStrategy } from '../../core/channel/index.js';
import { systemClock, type Clock } from '../../core/clock/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import type { RoiInputs } from './roi.js';

/** The ROI inputs the demo takes as given; it measures the rest. */
export type DemoRoiAssumptions = Omit<RoiInputs, 'messagesPerSecond' | 'dropRateWithBp'>;

export interface DemoOptions {
  /**
   * How long the fleet writes logs. When it has passed, the servers stop, the
   * pipeline drains what it holds into SQLite, and the summary is printed.
   * @default 20000
   * @example runDemo({ durationMs: 60_000 })
   */
  durationMs?: number;
  /**
   * What the ingest Channel does with a line while it is full. `'block'` (the
   * default) makes the servers wait, at most `maxBlockMs` per line, so the
   * excess stays in their own log files; `'drop-oldest'` keeps the newest
   * lines and drops the oldest, counted by reason. Every Channel strategy is accepted.
   * @default 'block'
   * @example runDemo({ strategy: 'drop-oldest' })
   */
  strategy?: OverflowStrategy;
  /**
   * Port of the dashboard on 127.0.0.1; 0 picks a free one (the URL is printed).
   * @default 0
   * @example runDemo({ port: 8080 })
   */
  port?: number;
  /**
   * Serve the live dashboard while the demo runs.
   * @default true
   * @example runDemo({ dashboard: false })
   */
  dashboard?: boolean;
  /**
   * Print one JSON object (the {@link DemoSummary}) through `print` at the end
   * instead of the table, and nothing else: the banner, the per-second
   * progress lines and the alerts then go to `log`, so stdout parses as JSON.
   * @default false
   * @example runDemo({ json: true })
   */
  json?: boolean;
  /**
   * Run the same fleet into an unbounded array queue in a worker thread beside
   * the Sluice pipeline, for contrast. Its intake stops at `unboundedHeapCapMb`
   * so it cannot take the machine down; the summary projects the rest.
   * @default true
   * @example runDemo({ unboundedContrast: false })
   */
  unboundedContrast?: boolean;
  /**
   * Heap the unbounded contrast may use before its intake stops. The worker's
   * V8 heap is limited to twice this (plus 128 MB) as a second guard.
   * @default 256
   * @example runDemo({ unboundedHeapCapMb: 512 })
   */
  unboundedHeapCapMb?: number;
  /**
   * After the summary, keep the dashboard up until Ctrl-C (SIGINT) or `signal`
   * fires. Ignored when `dashboard` is false.
   * @default false
   * @example runDemo({ keepOpen: true })
   */
  keepOpen?: boolean;
  /**
   * Servers in the fleet.
   * @default 1000
   * @example runDemo({ servers: 200 })
   */
  servers?: number;
  /**
   * Log lines each server writes per second before the spike.
   * @default 2
   * @example runDemo({ linesPerServerPerSecond: 5 })
   */
  linesPerServerPerSecond?: number;
  /**
   * How many times the base rate the servers write during the outage.
   * @default 100
   * @example runDemo({ spikeMultiplier: 20 })
   */
  spikeMultiplier?: number;
  /**
   * When the spike begins, in ms from the start; it lasts until the end.
   * @default 20 % of durationMs
   * @example runDemo({ durationMs: 30_000, spikeAtMs: 5_000 })
   */
  spikeAtMs?: number;
  /**
   * Rows per second the SQLite sink sustains with full batches (the added write cost is sized for it).
   * @default 20000
   * @example runDemo({ sinkRowsPerSecond: 5_000 })
   */
  sinkRowsPerSecond?: number;
  /**
   * Lines the ingest Channel buffers.
   * @default 10000
   * @example runDemo({ capacity: 50_000 })
   */
  capacity?: number;
  /**
   * Under `'block'`: longest a server waits to hand over one line before it
   * gives up on it (dropped, reason `'timeout'`).
   * @default 2000
   * @example runDemo({ strategy: 'block', maxBlockMs: 500 })
   */
  maxBlockMs?: number;
  /**
   * Inputs of the ROI estimate that the demo does not measure (it measures
   * the message rate and the share of lines Sluice dropped).
   * @default { messageValue: 0.001, infraCostPerHour: 500, dropRateWithoutBp: 0.05, crashRatePerHourWithoutBp: 0.001 }
   * @example runDemo({ roi: { messageValue: 0.0001 } })
   */
  roi?: Partial<DemoRoiAssumptions>;
  /**
   * A configuration file (YAML or JSON, the `sluice validate` format) for the
   * Sluice side. The demo reads three entries of it, each optional:
   * `queues.ingest` (the ingest Channel: capacity, strategy, watermarks,
   * timeout; then `strategy`, `capacity` and `maxBlockMs` may not be given
   * here), `writers.sqlite-writer` (the BatchWriter: capacity, batch size,
   * flush interval...) and `rate_limits.intake` (a TokenBucket on the
   * fleet's intake: servers hand over at most that many lines per second;
   * without it, as many as the channel takes). Other entries are listed as
   * ignored. While the demo runs the file is watched (`watchConfig`): each
   * applied or refused reload prints one line, and a broken file changes nothing.
   * @default undefined (the built-in settings, no watch)
   * @example runDemo({ configFile: 'examples/demo.yaml' })
   */
  configFile?: string;
  /**
   * With `configFile`: how often the file is read for changes, in ms.
   * @default 1000
   * @example runDemo({ configFile: 'demo.yaml', configPollMs: 250 })
   */
  configPollMs?: number;
  /**
   * Where the output goes: the banner, the progress lines and the summary
   * table; with `json`, only the JSON object.
   * @default a line on stdout
   * @example runDemo({ print: () => {} }) // silent
   */
  print?: (line: string) => void;
  /**
   * With `json`: where the banner, the progress lines and the alerts go
   * instead of `print`. Unused without `json`.
   * @default a line on stderr
   * @example runDemo({ json: true, log: () => {} }) // only the JSON
   */
  log?: (line: string) => void;
  /**
   * Called once the dashboard listens (or at once when it is off), before the fleet starts.
   * @default undefined
   * @example runDemo({ onReady: ({ url }) => open(url) })
   */
  onReady?: (info: { url: string | undefined }) => void;
  /**
   * Ends the run early and tears everything down without a summary; the
   * promise rejects. See {@link runDemo} for what happens.
   * @default undefined
   * @example runDemo({ signal: AbortSignal.timeout(5_000) })
   */
  signal?: AbortSignal;
  /**
   * Ends the run early as if `durationMs` had passed: the servers stop, the
   * pipeline drains, and the summary of the run so far is printed, with
   * `interrupted: true`. The CLI fires it on the first Ctrl-C (and `signal`
   * on the second).
   * @default undefined
   * @example runDemo({ endSignal: AbortSignal.timeout(5_000) }) // a 5 s run with the 20 s schedule
   */
  endSignal?: AbortSignal;
  /**
   * Time source of the Sluice side (fleet schedule, channel waits, writer, sink cost, dashboard).
   * The worker of the unbounded contrast always runs on the system clock.
   * @default systemClock
   */
  clock?: Clock;
}

export interface ResolvedDemoOptions {
  durationMs: number;
  strategy: OverflowStrategy;
  port: number;
  dashboard: boolean;
  json: boolean;
  unboundedContrast: boolean;
  unboundedHeapCapMb: number;
  keepOpen: boolean;
  servers: number;
  linesPerServerPerSecond: number;
  spikeMultiplier: number;
  spikeAtMs: number;
  sinkRowsPerSecond: number;
  capacity: number;
  maxBlockMs: number;
  roi: Partial<DemoRoiAssumptions>;
  configFile: string | undefined;
  configPollMs: number;
  /** The options given explicitly, which a config file's `queues.ingest` may not also set. */
  given: { strategy: boolean; capacity: boolean; maxBlockMs: boolean };
  print: ((line: string) => void) | undefined;
  log: ((line: string) => void) | undefined;
  onReady: ((info: { url: string | undefined }) => void) | undefined;
  signal: AbortSignal | undefined;
  endSignal: AbortSignal | undefined;
  clock: Clock;
}

export function resolveDemoOptions(options: DemoOptions | undefined): ResolvedDemoOptions {
  const o = v.optionsObject(options, 'runDemo', {
    durationMs: true, strategy: true, port: true, dashboard: true, json: true, unboundedContrast: true,
    unboundedHeapCapMb: true, keepOpen: true, servers: true, linesPerServerPerSecond: true, spikeMultiplier: true,
    spikeAtMs: true, sinkRowsPerSecond: true, capacity: true, maxBlockMs: true, roi: true, configFile: true, configPollMs: true, print: true, log: true, onReady: true,
    signal: true, endSignal: true, clock: true,
  });
  const durationMs = v.number('durationMs', o.durationMs, 20_000, { min: 100, max: 24 * 3600_000 });
  const strategy = v.oneOf('strategy', o.strategy, overflowStrategies, 'block');
  const port = v.integer('port', o.port, 0, { min: 0, max: 65_535 });
  const spikeAtMs = v.number('spikeAtMs', o.spikeAtMs, Math.round(durationMs * 0.2), { min: 0, max: durationMs });
  const maxBlockMs = v.number('maxBlockMs', o.maxBlockMs, 2000, { min: 0 });
  if (o.maxBlockMs !== undefined && strategy !== 'block') {
    throw new InvalidOptionError('maxBlockMs', o.maxBlockMs, "no value unless strategy is 'block'", `strategy is '${strategy}'`);
  }
  const roi = o.roi ?? {};
  if (typeof roi !== 'object' || roi === null) throw new InvalidOptionError('roi', roi, 'an object of ROI inputs');
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  const configFile = o.configFile;
  if (configFile !== undefined && (typeof configFile !== 'string' || configFile.length === 0)) throw new InvalidOptionError('configFile', configFile, 'a non-empty path');
  const endSignal = o.endSignal;
  if (endSignal !== undefined && !(endSignal instanceof AbortSignal)) throw new InvalidOptionError('endSignal', endSignal, 'an AbortSignal');
  return {
    durationMs,
    strategy,
    port,
    dashboard: v.boolean('dashboard', o.dashboard, true),
    json: v.boolean('json', o.json, false),
    unboundedContrast: v.boolean('unboundedContrast', o.unboundedContrast, true),
    unboundedHeapCapMb: v.number('unboundedHeapCapMb', o.unboundedHeapCapMb, 256, { min: 16, max: 8192 }),
    keepOpen: v.boolean('keepOpen', o.keepOpen, false),
    servers: v.integer('servers', o.servers, 1000, { min: 1, max: 100_000 }),
    linesPerServerPerSecond: v.number('linesPerServerPerSecond', o.linesPerServerPerSecond, 2, { min: 0, minExclusive: true, max: 10_000 }),
    spikeMultiplier: v.number('spikeMultiplier', o.spikeMultiplier, 100, { min: 1, max: 10_000 }),
    spikeAtMs,
    sinkRowsPerSecond: v.number('sinkRowsPerSecond', o.sinkRowsPerSecond, 20_000, { min: 1, max: 10_000_000 }),
    capacity: v.integer('capacity', o.capacity, 10_000, { min: 1 }),
    maxBlockMs,
    roi,
    configFile,
    configPollMs: v.number('configPollMs', o.configPollMs, 1000, { min: 10, max: 3600_000 }),
    given: { strategy: o.strategy !== undefined, capacity: o.capacity !== undefined, maxBlockMs: o.maxBlockMs !== undefined },
    print: v.optionalFunction<(line: string) => void>('print', o.print),
    log: v.optionalFunction<(line: string) => void>('log', o.log),
    onReady: v.optionalFunction<(info: { url: string | undefined }) => void>('onReady', o.onReady),
    signal,
    endSignal,
    clock: resolveClock('clock', o.clock, systemClock),
  };
}
