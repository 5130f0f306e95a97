// The contrast: the same fleet into an unbounded array queue in front of the
// same kind of sink, as the seed's log aggregator was built. It runs in a
// worker thread so its heap is its own: the Sluice side's memory figures are
// not polluted, and a real out-of-memory kills only this thread. Its intake
// stops at `heapCapMb` (the lines that arrive after are counted as refused).
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../core/clock/index.js';
import { histogramPercentile } from '../dashboard/index.js';
import { LatencyHistogram, type HistogramSnapshot } from '../../core/metrics/index.js';
import { endToEndBucketsMs } from './bounded.js';
import { Fleet, type LogLine } from './fleet.js';
import { SqliteLogSink } from './sink.js';
import type { UnboundedReport, UnboundedWorkerData } from './unbounded.js';

const data = workerData as UnboundedWorkerData;
const port = parentPort!;
const clock = systemClock;
const TICK_MS = 10;
const BATCH_SIZE = 1000;
const MB = 1024 * 1024;
const heapUsed = () => getHeapStatistics().used_heap_size;

const histogram = new LatencyHistogram({ bucketsMs: endToEndBucketsMs });
const sink = new SqliteLogSink({
  rowsPerSecond: data.sinkRowsPerSecond,
  batchSize: BATCH_SIZE,
  clock,
  onCommitted: (rows, at) => {
    for (const row of rows) histogram.record(Math.max(0, at - row.emittedAt));
  },
});

// The unbounded queue: an array with a head index (no O(n) shift per item).
let items: (LogLine | undefined)[] = [];
let head = 0;
const queued = () => items.length - head;

let fleet: Fleet | undefined;
let shipped: Float64Array;
let offered = 0;
let refused = 0;
let peakQueued = 0;
let baselineHeap = 0;
let peakHeap = 0;
let capped = false;
let cappedAtMs: number | undefined;
let queuedAtCap = 0;
let heapAtCap = 0;
let queuedAtSpike: number | undefined;
let stopped = false;
let stoppedAtMs = 0;
let timer: ReturnType<typeof clock.schedule> | undefined;
const latencyWindow: HistogramSnapshot[] = [];

function elapsed(): number {
  return stopped ? stoppedAtMs : clock.now() - fleet!.startAt;
}

function tick(): void {
  timer = undefined;
  if (stopped) return;
  const f = fleet!;
  const now = elapsed();
  const shippedAt = clock.now();
  if (queuedAtSpike === undefined && f.phaseAt(now) === 'spike') queuedAtSpike = queued();
  for (let i = 0; i < f.servers; i++) {
    const due = f.due(i, now);
    if (capped) {
      refused += due - shipped[i]!;
      shipped[i] = due;
      continue;
    }
    // No backpressure: every line the servers write goes into the queue at once.
    for (let k = shipped[i]!; k < due; k++) items.push(f.line(i, k, shippedAt));
    offered += due - shipped[i]!;
    shipped[i] = due;
  }
  peakQueued = Math.max(peakQueued, queued());
  const used = heapUsed();
  peakHeap = Math.max(peakHeap, used);
  if (!capped && used - baselineHeap >= data.heapCapMb * MB) {
    capped = true;
    cappedAtMs = now;
    queuedAtCap = queued();
    heapAtCap = used;
  }
  timer = clock.schedule(TICK_MS, tick);
}

async function consume(): Promise<void> {
  while (!stopped) {
    const n = Math.min(BATCH_SIZE, queued());
    if (n === 0) {
      await new Promise<void>((resolve) => clock.schedule(TICK_MS, resolve));
      continue;
    }
    const batch = items.slice(head, head + n) as LogLine[];
    items.fill(undefined, head, head + n);
    head += n;
    if (head > 65_536 && head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
    await sink.write(batch);
  }
}

function latency(): UnboundedReport['latencyMs'] {
  const now = histogram.snapshot();
  latencyWindow.push(now);
  if (latencyWindow.length > 8) latencyWindow.shift();
  const since = latencyWindow[0]!;
  const window = since === now ? now : { ...now, count: now.count - since.count, cumulativeCounts: now.cumulativeCounts.map((c, i) => c - since.cumulativeCounts[i]!) };
  const p50 = histogramPercentile(window, 0.5);
  if (p50 === undefined) return undefined;
  return { p50, p90: histogramPercentile(window, 0.9)!, p99: histogramPercentile(window, 0.99)!, count: window.count };
}

function report(): UnboundedReport {
  const all = histogram.snapshot();
  const p = (q: number) => histogramPercentile(all, q) ?? 0;
  return {
    elapsedMs: elapsed(),
    phase: stopped ? 'stopped' : capped ? 'capped' : fleet ? fleet.phaseAt(elapsed()) : 'baseline',
    generated: fleet ? fleet.total(elapsed()) : 0,
    offered,
    written: sink.rows,
    queued: queued(),
    refused,
    peakQueued,
    capped,
    cappedAtMs,
    queuedAtCap,
    queuedAtSpike: queuedAtSpike ?? 0,
    baselineHeapMb: baselineHeap / MB,
    heapUsedMb: heapUsed() / MB,
    heapAtCapMb: heapAtCap / MB,
    peakHeapMb: peakHeap / MB,
    latencyMs: latency(),
    overallLatencyMs: { p50: p(0.5), p90: p(0.9), p99: p(0.99), count: all.count },
  };
}

let stopHandler: (() => Promise<void>) | undefined;

function start(): void {
  baselineHeap = heapUsed();
  fleet = new Fleet(data, clock.now());
  shipped = new Float64Array(data.servers);
  tick();
  const consuming = consume();
  const reporter = setInterval(() => port.postMessage({ type: 'stats', report: report() }), 250);
  stopHandler = async () => {
    tick(); // take in what the servers wrote since the last tick, so the counts meet at the stop
    stoppedAtMs = elapsed();
    stopped = true;
    if (timer !== undefined) clock.cancel(timer);
    clearInterval(reporter);
    await consuming;
    const final = report();
    sink.close();
    items = [];
    port.postMessage({ type: 'done', report: final });
  };
}

port.on('message', (message: { type: 'start' | 'stop' }) => {
  if (message.type === 'start' && !fleet) {
    start();
  } else if (message.type === 'stop') {
    const stop = stopHandler;
    stopHandler = undefined;
    if (stop) void stop();
    else {
      sink.close();
      port.postMessage({ type: 'done', report: report() });
    }
  }
});
port.postMessage({ type: 'ready', databaseDir: sink.directory });
