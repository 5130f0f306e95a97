// Main-thread side of the unbounded contrast: starts the worker, relays its
// reports to the dashboard, and turns its figures into the projection of what
// the queue would have done without the cap.
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { systemClock, type TimerHandle } from '../../core/clock/index.js';
import type { FleetShape } from './fleet.js';

export interface UnboundedWorkerData extends FleetShape {
  sinkRowsPerSecond: number;
  heapCapMb: number;
}

/** What the worker reports, every 250 ms and once at the end. */
export interface UnboundedReport {
  elapsedMs: number;
  phase: string;
  generated: number;
  offered: number;
  written: number;
  queued: number;
  /** Lines that arrived after the cap stopped the intake. */
  refused: number;
  peakQueued: number;
  capped: boolean;
  cappedAtMs: number | undefined;
  queuedAtCap: number;
  queuedAtSpike: number;
  baselineHeapMb: number;
  heapUsedMb: number;
  heapAtCapMb: number;
  peakHeapMb: number;
  /** Over the last two seconds. */
  latencyMs: { p50: number; p90: number; p99: number; count: number } | undefined;
  overallLatencyMs: { p50: number; p90: number; p99: number; count: number };
}

/** The contrast's outcome and what it projects. */
export interface UnboundedSummary extends Omit<UnboundedReport, 'latencyMs' | 'phase' | 'elapsedMs'> {
  heapCapMb: number;
  /** The worker itself ran out of heap (the guard above the cap was hit). */
  crashed: boolean;
  /** Measured growth of the queue during the spike, lines/s. */
  growthPerSecond: number;
  /** Heap per queued line, bytes. */
  bytesPerLine: number;
  /** Where the queue would have been at the end of the run without the cap (0 growth when the run ended before the spike). */
  wouldHaveGrownTo: { lines: number; mb: number };
  /** From the start of the spike, minutes until the queue alone fills a 4 GB heap. */
  minutesToOomAt4GbHeap: number;
  /** Lines in the queue at that moment: what the crash takes with it. */
  linesLostAtOom: number;
}

const OOM_HEAP_MB = 4096;

export function projectUnbounded(r: UnboundedReport, durationMs: number, spikeAtMs: number, heapCapMb: number, crashed: boolean): UnboundedSummary {
  const measuredUntil = r.capped && r.cappedAtMs !== undefined ? r.cappedAtMs : r.elapsedMs;
  const queuedThen = r.capped ? r.queuedAtCap : r.queued;
  const heapThen = r.capped ? r.heapAtCapMb : r.heapUsedMb;
  // A run stopped before (or just at) the spike has no spike growth to project.
  const spikeSeconds = (measuredUntil - spikeAtMs) / 1000;
  const growthPerSecond = spikeSeconds > 0.1 ? Math.max(0, (queuedThen - r.queuedAtSpike) / spikeSeconds) : 0;
  const bytesPerLine = queuedThen > 0 ? (Math.max(0, heapThen - r.baselineHeapMb) * 1024 * 1024) / queuedThen : 0;
  const lines = Math.round(queuedThen + (growthPerSecond * Math.max(0, durationMs - measuredUntil)) / 1000);
  const bytesPerSecond = growthPerSecond * bytesPerLine;
  const freeBytes = Math.max(0, OOM_HEAP_MB - r.baselineHeapMb) * 1024 * 1024;
  const { latencyMs: _window, phase: _phase, elapsedMs: _elapsed, ...rest } = r;
  return {
    ...rest,
    heapCapMb,
    crashed,
    growthPerSecond,
    bytesPerLine,
    wouldHaveGrownTo: { lines, mb: (lines * bytesPerLine) / (1024 * 1024) },
    minutesToOomAt4GbHeap: bytesPerSecond > 0 ? freeBytes / bytesPerSecond / 60 : Infinity,
    linesLostAtOom: bytesPerLine > 0 ? Math.round(freeBytes / bytesPerLine) : 0,
  };
}

export class UnboundedContrast {
  private readonly worker: Worker;
  private latest: UnboundedReport | undefined;
  private crashed = false;
  private stopping: Promise<UnboundedReport | undefined> | undefined;
  private databaseDir: string | undefined;
  private readonly ready: Promise<void>;
  private readonly finished: Promise<UnboundedReport | undefined>;

  constructor(data: UnboundedWorkerData) {
    this.source.description = `The design that ran out of memory, beside it in a worker thread: the same fleet into an array queue with no bound, same sink. Intake stops at ${data.heapCapMb} MB of heap so it cannot take the machine down.`;
    const options = { workerData: data, resourceLimits: { maxOldGenerationSizeMb: Math.round(data.heapCapMb * 2 + 128) } };
    if (import.meta.url.endsWith('.ts')) {
      // Running from source under tsx (npm start, tests): the loader flags a
      // worker inherits do not take effect in it, so the worker starts without
      // them and registers tsx itself before importing the TypeScript file.
      const tsx = import.meta.resolve('tsx/esm/api');
      const entry = new URL('./unbounded-worker.ts', import.meta.url).href;
      const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
      this.worker = new Worker(code, { ...options, eval: true, execArgv: [] });
    } else {
      this.worker = new Worker(new URL('./unbounded-worker.js', import.meta.url), options);
    }
    let onReady!: () => void;
    this.ready = new Promise<void>((resolve) => (onReady = resolve));
    this.finished = new Promise<UnboundedReport | undefined>((resolve) => {
      this.worker.on('message', (m: { type: string; report?: UnboundedReport; databaseDir?: string }) => {
        if (m.type === 'ready') {
          this.databaseDir = m.databaseDir;
          onReady();
        }
        else if (m.type === 'stats') this.latest = m.report;
        else if (m.type === 'done') {
          this.latest = m.report;
          resolve(m.report);
        }
      });
      this.worker.on('error', () => {
        this.crashed = true; // ERR_WORKER_OUT_OF_MEMORY: the meltdown, contained in its thread
        onReady();
        resolve(this.latest);
      });
      this.worker.on('exit', () => {
        onReady();
        resolve(this.latest);
      });
    });
  }

  /** Resolves once the worker has booted and waits for `start()`. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  start(): void {
    this.worker.postMessage({ type: 'start' });
  }

  /**
   * Stops the intake and the sink; resolves with the final report (undefined
   * if the worker died before any). Idempotent. The queue is not drained:
   * at the sink's rate that would take minutes, which is the point.
   *
   * Abort safety: takes no signal; {@link terminate} bounds the wait.
   */
  stop(): Promise<UnboundedReport | undefined> {
    this.stopping ??= (async () => {
      this.worker.postMessage({ type: 'stop' });
      const report = await this.finished;
      await this.terminate();
      return report;
    })();
    return this.stopping;
  }

  /**
   * Stops the worker, waiting at most `graceMs` for it to close its database, then kills it.
   *
   * Abort safety: takes no signal; it settles within `graceMs` plus the worker's termination.
   */
  async terminate(graceMs = 3000): Promise<void> {
    if (!this.stopping) {
      this.worker.postMessage({ type: 'stop' });
      let timer: TimerHandle | undefined;
      await Promise.race([this.finished, new Promise<void>((resolve) => (timer = systemClock.schedule(graceMs, resolve, { unref: true })))]);
      if (timer !== undefined) systemClock.cancel(timer);
    }
    await this.worker.terminate();
    // A worker killed mid-run (out of memory, or past the grace period) leaves its database behind.
    if (this.databaseDir) rmSync(this.databaseDir, { recursive: true, force: true });
  }

  get hasCrashed(): boolean {
    return this.crashed;
  }

  /** The contrast as a dashboard component. */
  readonly source: { description: string; stats(): Record<string, unknown> } = {
    description: '',
    stats: () => {
      const r = this.latest;
      const stats: Record<string, unknown> = {
        kind: 'unbounded array',
        phase: this.crashed ? 'crashed' : (r?.phase ?? 'starting'),
        size: r?.queued ?? 0,
        offered: r?.offered ?? 0,
        delivered: r?.written ?? 0,
        droppedBy: { 'refused at cap': r?.refused ?? 0 },
        gauges: { 'heap MB': Math.round(r?.heapUsedMb ?? 0) },
      };
      if (r?.latencyMs) stats.latencyMs = r.latencyMs;
      return stats;
    },
  };

}
