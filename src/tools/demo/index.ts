/**
 * `sluice demo`: the design notes' "Log Processing Meltdown", live. A thousand
 * simulated servers send logs to an aggregator; an outage multiplies their
 * volume by 100 and it stays up. Through Sluice (a bounded Channel, a
 * pipeline stage, a BatchWriter into SQLite) memory stays flat and every
 * line is accounted for; the same fleet into an unbounded array queue, in a
 * worker beside it, grows until its cap, with the projection of its crash.
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertMonitor, type AlertEvent } from '../../core/alerts/index.js';
import type { TimerHandle } from '../../core/clock/index.js';
import type { HistogramSnapshot } from '../../core/metrics/index.js';
import { ConfigError, watchConfig, type ConfigReloadResult, type ConfigWatcher } from '../config/index.js';
import { dashboardHandler, histogramPercentile, type DashboardAlertSource, type DashboardHandler } from '../dashboard/index.js';
import { BoundedSide } from './bounded.js';
import { DEFAULT_WRITER, INGEST, INTAKE, loadDemoConfig, WRITER, type DemoConfig, type WriterSettings } from './config.js';
import { resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './options.js';
import { alertText, compact, formatSummary, ms, scenarioLines, type DemoAlert, type DemoSummary } from './report.js';
import { calculateBackpressureRoi, defaultRoiInputs } from './roi.js';
import { projectUnbounded, UnboundedContrast } from './unbounded.js';

export type { DemoOptions } from './options.js';
export type { DemoAlert, DemoLatency, DemoSummary } from './report.js';
export type { UnboundedSummary } from './unbounded.js';
export { calculateBackpressureRoi } from './roi.js';
export { describeDemoFailure } from './failure.js';
// The CLI's `sluice demo` command (src/tools/cli loads this entry only when the demo runs).
export { demoCommand, EXIT_INTERRUPTED } from './command.js';
export type { DemoFlags } from './command.js';
export type { RoiInputs, RoiResult } from './roi.js';

const MB = 1024 * 1024;

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`));
  });
}

/** Both alert monitors as one source for the dashboard. */
function mergeAlerts(monitors: AlertMonitor[]): DashboardAlertSource {
  return {
    onAlert: (listener) => {
      const offs = monitors.map((m) => m.onAlert(listener));
      return () => offs.forEach((off) => off());
    },
  };
}

/**
 * Runs the demo: starts the dashboard (unless `dashboard: false`) and the
 * unbounded contrast's worker, then the fleet; prints a progress line every
 * second; after `durationMs` (or when `endSignal` fires) stops the servers,
 * drains the Sluice pipeline into SQLite, stops the contrast, prints the
 * summary (a table, or one JSON object with `json: true`) and resolves with
 * it. Temp databases are deleted and every timer, worker and socket is
 * released, whether the run completes, is aborted or fails, so the process can
 * exit by itself. With `keepOpen`, the dashboard stays up after the summary
 * until SIGINT (Ctrl-C) or `signal`, then the promise resolves.
 *
 * Abort safety: if `signal` fires during the run or the drain, everything is
 * torn down (servers stopped, worker terminated, databases deleted, dashboard
 * closed) and the promise rejects with `signal.reason`; no summary is printed.
 * If it fires while `keepOpen` holds the dashboard, the run is complete: the
 * dashboard closes and the promise resolves with the summary. `endSignal`
 * instead ends the run early with its summary.
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming a bad option.
 * @throws (rejects) the `listen` error (code `EADDRINUSE`) when `port` is taken,
 *   before any database is created; {@link describeDemoFailure} words it in one line.
 * @example
 * const summary = await runDemo({ durationMs: 10_000, strategy: 'drop-oldest', dashboard: false });
 * console.log(summary.written, summary.droppedBy);
 */
export async function runDemo(options?: DemoOptions): Promise<DemoSummary> {
  const resolved = resolveDemoOptions(options);
  resolved.signal?.throwIfAborted();
  // A bad file fails here, before the dashboard, the databases or the worker exist.
  const file = resolved.configFile === undefined ? undefined : await loadDemoConfig(resolved.configFile, resolved.given, resolved.maxBlockMs);
  const ingest = file?.ingest;
  const o: ResolvedDemoOptions = ingest ? { ...resolved, strategy: ingest.strategy, capacity: ingest.capacity, maxBlockMs: ingest.maxBlockMs ?? resolved.maxBlockMs } : resolved;
  const writer = file?.writer ?? { ...DEFAULT_WRITER };
  const print = o.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  // With json, print carries the JSON object alone so that stdout parses.
  const info = o.json ? (o.log ?? ((line: string) => void process.stderr.write(`${line}\n`))) : print;
  const clock = o.clock;

  let peakHeap = 0;
  let peakRss = 0;
  const sampleMemory = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
    return m;
  };
  const aggregator = {
    description: 'This process: the heap holds the Sluice side only (the contrast has its own heap); RSS counts both.',
    stats: () => {
      const m = sampleMemory();
      return { kind: 'process', gauges: { 'heap MB': Math.round(m.heapUsed / MB), 'rss MB (both sides)': Math.round(m.rss / MB) } };
    },
  };

  let side: BoundedSide | undefined;
  let contrast: UnboundedContrast | undefined;
  const monitors: AlertMonitor[] = [];
  let dashboard: DashboardHandler | undefined;
  let server: Server | undefined;
  let url: string | undefined;
  let memoryTimer: TimerHandle | undefined;
  let progressTimer: TimerHandle | undefined;
  let runTimer: TimerHandle | undefined;
  let watcher: ConfigWatcher | undefined;
  let onAbort: (() => void) | undefined;
  let onEnd: (() => void) | undefined;
  try {
    if (o.dashboard) {
      // Listen first: a taken port fails before any database or worker exists.
      server = createServer();
      url = await listen(server, o.port);
    }
    side = new BoundedSide({
      ...o,
      clock,
      writer,
      ...(ingest ? { highWatermark: ingest.highWatermark, lowWatermark: ingest.lowWatermark, sampleEvery: ingest.sampleEvery } : {}),
      ...(file?.intake ? { intake: file.intake } : {}),
    });
    contrast = o.unboundedContrast
      ? new UnboundedContrast({
          servers: o.servers,
          linesPerServerPerSecond: o.linesPerServerPerSecond,
          spikeMultiplier: o.spikeMultiplier,
          spikeAtMs: o.spikeAtMs,
          sinkRowsPerSecond: o.sinkRowsPerSecond,
          heapCapMb: o.unboundedHeapCapMb,
        })
      : undefined;
    monitors.push(
      new AlertMonitor({
        components: { ingest: side.channel, 'sqlite-writer': side.writer },
        thresholds: { queueDepth: { utilization: 0.9 }, dropRate: 0.01, blockedTime: 1000 },
        intervalMs: 500,
        windowMs: 5000,
        log: false,
        clock,
      }),
    );
    if (contrast) {
      monitors.push(new AlertMonitor({ components: { unbounded: contrast.source }, thresholds: { queueDepth: { items: 100_000 } }, intervalMs: 500, log: false, clock }));
    }
    const startedAt = clock.now();
    const alerts: DemoAlert[] = [];
    const onAlert = (e: AlertEvent) => {
      if (alerts.length < 50) alerts.push({ component: e.component, rule: e.rule, state: e.state, atMs: Math.round(e.at - startedAt), value: e.value, threshold: e.threshold, unit: e.unit });
      info(`      alert: ${alertText(e)}`);
    };
    for (const m of monitors) m.onAlert(onAlert);

    if (server) {
      dashboard = dashboardHandler(
        {
          fleet: side.fleetSource,
          ...(side.intakeSource ? { [INTAKE]: side.intakeSource } : {}),
          ingest: side.ingestSource,
          'sqlite-writer': side.writerSource,
          ...(contrast ? { 'unbounded queue (contrast)': contrast.source } : {}),
          aggregator,
        },
        {
          title: 'Sluice demo: the log processing meltdown',
          subtitle: `${compact(o.servers)} servers × ${o.linesPerServerPerSecond} lines/s · ${o.spikeMultiplier}x spike at ${o.spikeAtMs / 1000} s · SQLite sink ~${compact(o.sinkRowsPerSecond)} rows/s · strategy '${o.strategy}'${file ? ` · config ${file.file}` : ''}`,
          alerts: mergeAlerts(monitors),
          latency: side.latency,
          clock,
        },
      );
      server.on('request', dashboard);
    }
    await contrast?.whenReady();
    o.signal?.throwIfAborted();
    info('Sluice demo: the log processing meltdown');
    for (const line of scenarioLines(scenario(o, writer), o.strategy)) info(line);
    if (file) info(configLine(file, o.configPollMs));
    if (url) info(`Dashboard: ${url}`);
    o.onReady?.({ url });

    const memoryTick = () => {
      sampleMemory();
      memoryTimer = clock.schedule(100, memoryTick, { unref: true });
    };
    memoryTick();
    for (const m of monitors) m.start();
    side.start();
    contrast?.start();
    if (file) {
      const live = side;
      watcher = watchConfig(file.file, { [INGEST]: live.channel, [WRITER]: live.writer, ...(live.intake ? { [INTAKE]: live.intake } : {}) }, {
        initial: file.config,
        pollIntervalMs: o.configPollMs,
        clock,
        onReload: (result) => {
          if (result.applied.length > 0) info(`      config: reloaded ${file.file}: ${appliedText(result)}`);
        },
        onError: (error) => info(`      config: ${refusalText(error, file.file)}`),
      });
    }
    const running = side;
    let second = 0;
    const progressTick = () => {
      second++;
      info(progressLine(second, running, contrast));
      progressTimer = clock.schedule(1000, progressTick, { unref: true });
    };
    progressTimer = clock.schedule(1000, progressTick, { unref: true });

    let interrupted = false;
    await new Promise<void>((resolve, reject) => {
      runTimer = clock.schedule(o.durationMs, resolve);
      onAbort = () => reject(o.signal!.reason);
      onEnd = () => {
        interrupted = true;
        resolve();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      if (o.endSignal?.aborted) onEnd();
      else o.endSignal?.addEventListener('abort', onEnd, { once: true });
    });
    if (progressTimer !== undefined) clock.cancel(progressTimer);
    watcher?.close();
    side.stop();
    const ranMs = side.elapsedMs();
    const bufferedAtStop = side.bufferedNow();
    if (interrupted) info(`Stopped early at ${ms(ranMs)}; draining the ${compact(bufferedAtStop)} lines the pipeline holds.`);
    const drainStartedAt = clock.now();
    const [report] = await unlessAborted(Promise.all([contrast?.stop(), side.drain()]), o.signal);
    const drainMs = clock.now() - drainStartedAt;
    for (const m of monitors) m.stop();
    sampleMemory();

    const summary = summarize(o, side, writer, { ranMs, interrupted, bufferedAtStop, drainMs, peakHeap, peakRss, alerts, url });
    if (contrast && report) summary.unbounded = projectUnbounded(report, ranMs, o.spikeAtMs, o.unboundedHeapCapMb, contrast.hasCrashed);
    if (o.json) print(JSON.stringify(summary));
    else for (const line of formatSummary(summary)) print(line);

    if (o.keepOpen && dashboard && !interrupted && !o.signal?.aborted) {
      info(`Dashboard stays up at ${url}; press Ctrl-C to exit.`);
      await new Promise<void>((resolve) => {
        const done = () => {
          process.off('SIGINT', done);
          o.signal?.removeEventListener('abort', done);
          resolve();
        };
        process.once('SIGINT', done);
        o.signal?.addEventListener('abort', done, { once: true });
      });
    }
    return summary;
  } finally {
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
    if (onEnd) o.endSignal?.removeEventListener('abort', onEnd);
    for (const t of [memoryTimer, progressTimer, runTimer]) if (t !== undefined) clock.cancel(t);
    watcher?.close();
    for (const m of monitors) m.stop();
    dashboard?.close();
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    await contrast?.terminate();
    side?.close();
  }
}

/**
 * `work`, or a rejection with `signal.reason` as soon as the signal fires; the
 * caller's teardown then ends `work`, whose own rejection is expected and ignored.
 */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The banner line of a run with a config file: what it took from the file, what it ignores, that it is watched. */
function configLine(file: DemoConfig, pollMs: number): string {
  const used = [file.ingest ? `queues.${INGEST}` : undefined, file.config.writers[WRITER] ? `writers.${WRITER}` : undefined, file.intake ? `rate_limits.${INTAKE}` : undefined].filter((x) => x !== undefined);
  const intake = file.intake ? `; intake limited to ${compact(file.intake.ratePerSecond)} lines/s` : '';
  const ignored = file.ignored.length ? `; ignored: ${file.ignored.join(', ')}` : '';
  return `Config: ${file.file} (${used.length ? used.join(', ') : `none of queues.${INGEST}, writers.${WRITER}, rate_limits.${INTAKE}`})${intake}${ignored}; watched every ${ms(pollMs)} for reloads.`;
}

/** `ingest high_watermark 0.8 -> 0.5, intake rate 2000 -> 500`: what a reload applied. */
function appliedText(result: ConfigReloadResult): string {
  return result.applied.map((c) => c.changes.map((x) => `${c.name} ${x.setting} ${String(x.previous)} -> ${String(x.value)}`).join(', ')).join(', ');
}

/** One line for what the watcher refused: the whole file (nothing changed) or some components (the rest applied). */
function refusalText(error: Error, path: string): string {
  const detail = error instanceof ConfigError ? error.issues.map((i) => i.message).join('; ') : error.message.split('\n', 1)[0]!;
  // Refused components come as a ConfigError whose source is "<file> (reload: ...)"; anything else refuses the whole file.
  const whole = !(error instanceof ConfigError) || error.source === path;
  return whole ? `refused ${path}, nothing changed: ${detail}` : `reload of ${path} refused in part: ${detail}`;
}

function scenario(o: ResolvedDemoOptions, writer: WriterSettings): DemoSummary['scenario'] {
  const base = o.servers * o.linesPerServerPerSecond;
  return {
    servers: o.servers,
    linesPerServerPerSecond: o.linesPerServerPerSecond,
    baseLinesPerSecond: base,
    spikeMultiplier: o.spikeMultiplier,
    spikeLinesPerSecond: base * o.spikeMultiplier,
    spikeAtMs: o.spikeAtMs,
    durationMs: o.durationMs,
    sinkRowsPerSecond: o.sinkRowsPerSecond,
    capacity: o.capacity,
    writerCapacity: writer.capacity,
    batchSize: writer.batchSize,
    maxHeld: o.capacity + writer.capacity + writer.batchSize,
    maxBlockMs: o.strategy === 'block' ? o.maxBlockMs : undefined,
  };
}

function progressLine(second: number, side: BoundedSide, contrast: UnboundedContrast | undefined): string {
  const c = side.channel.stats();
  const phase = side.fleet.phaseAt(side.elapsedMs());
  const heap = process.memoryUsage().heapUsed / MB;
  let line =
    `${String(second).padStart(4)}s ${phase.padEnd(8)} offered ${compact(c.offered).padStart(6)}  written ${compact(side.sink.rows).padStart(6)}` +
    `  dropped ${compact(c.dropped).padStart(6)}  buffered ${compact(side.bufferedNow()).padStart(6)}  on servers ${compact(side.generated() - side.shippedTotal()).padStart(6)}` +
    `  heap ${Math.round(heap)} MB`;
  if (contrast) {
    const u = contrast.source.stats() as { size: number; phase: string; gauges: { 'heap MB': number } };
    line += `  | unbounded: queue ${compact(u.size).padStart(6)}, heap ${u.gauges['heap MB']} MB${u.phase === 'capped' ? ' (capped)' : ''}`;
  }
  return line;
}

function summarize(
  o: ResolvedDemoOptions,
  side: BoundedSide,
  writer: WriterSettings,
  run: { ranMs: number; interrupted: boolean; bufferedAtStop: number; drainMs: number; peakHeap: number; peakRss: number; alerts: DemoAlert[]; url: string | undefined },
): DemoSummary {
  const c = side.channel.stats();
  const w = side.writer.stats();
  const droppedBy: Record<string, number> = {};
  for (const by of [c.droppedBy, w.droppedBy] as Record<string, number>[]) {
    for (const [reason, n] of Object.entries(by)) if (n > 0) droppedBy[reason] = (droppedBy[reason] ?? 0) + n;
  }
  const percentiles = (h: HistogramSnapshot) => {
    const p = (q: number) => Math.round(histogramPercentile(h, q) ?? 0);
    return { p50: p(0.5), p90: p(0.9), p99: p(0.99), count: h.count };
  };
  const generated = side.generated();
  const dropped = c.dropped + w.dropped;
  const ranMs = Math.round(run.ranMs);
  return {
    scenario: scenario(o, writer),
    strategy: o.strategy,
    ranMs,
    interrupted: run.interrupted,
    generated,
    heldAtSources: generated - side.shippedTotal(),
    offered: c.offered,
    written: side.sink.countRows(),
    dropped,
    droppedBy,
    buffered: c.size + w.buffered,
    inFlight: w.inFlight,
    bufferedAtStop: run.bufferedAtStop,
    drainMs: Math.round(run.drainMs),
    peakQueued: side.peakQueued,
    peakHeapMb: Math.round((run.peakHeap / MB) * 10) / 10,
    peakRssMb: Math.round((run.peakRss / MB) * 10) / 10,
    latencyMs: percentiles(side.latency.histogram('sqlite-writer').snapshot()),
    aggregatorLatencyMs: percentiles(side.inAggregator.snapshot()),
    alerts: run.alerts,
    unbounded: undefined,
    // What this run did, extended to a day: its rate and the share Sluice dropped.
    roi: calculateBackpressureRoi({
      ...defaultRoiInputs,
      ...o.roi,
      messagesPerSecond: generated / (Math.max(1, ranMs) / 1000),
      dropRateWithBp: generated > 0 ? dropped / generated : 0,
    }),
    dashboardUrl: run.url,
  };
}
