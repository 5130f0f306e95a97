// Terminal output of the demo: the banner, the alert lines and the summary table.
import type { AlertEvent } from '../../core/alerts/index.js';
import type { OverflowStrategy } from '../../core/channel/index.js';
import type { RoiResult } from './roi.js';
import type { UnboundedSummary } from './unbounded.js';

export interface DemoLatency {
  p50: number;
  p90: number;
  p99: number;
  /** Rows the percentiles are computed from. */
  count: number;
}

/** An alert transition during the run. */
export interface DemoAlert {
  component: string;
  rule: string;
  state: 'firing' | 'resolved';
  /** Time from the start of the run. */
  atMs: number;
  value: number;
  threshold: number;
  /** Unit of `value` and `threshold`; `'ms'` (rule `blocked_time`) is how long the longest-waiting sender has waited. */
  unit: AlertEvent['unit'];
}

/** What {@link runDemo} resolves with (and prints as JSON with `json: true`). */
export interface DemoSummary {
  scenario: {
    servers: number;
    linesPerServerPerSecond: number;
    baseLinesPerSecond: number;
    spikeMultiplier: number;
    spikeLinesPerSecond: number;
    spikeAtMs: number;
    durationMs: number;
    sinkRowsPerSecond: number;
    /** Lines the ingest Channel holds. */
    capacity: number;
    /** Lines the writer buffers behind the channel. */
    writerCapacity: number;
    /** Lines per SQLite write; one batch is in flight at a time, outside the writer's buffer. */
    batchSize: number;
    /** Most lines the Sluice side can hold at once: `capacity + writerCapacity + batchSize`. */
    maxHeld: number;
    maxBlockMs: number | undefined;
  };
  strategy: OverflowStrategy;
  /** How long the servers wrote: `scenario.durationMs`, or less when the run was stopped early. */
  ranMs: number;
  /** The run was stopped early (Ctrl-C, `endSignal`); the figures cover `ranMs`. */
  interrupted: boolean;
  /** Lines the servers wrote during the run. */
  generated: number;
  /** Lines the servers had written but not shipped when they stopped: backpressure left them in the servers' own log files. */
  heldAtSources: number;
  /** Lines handed to the ingest Channel (its `offered`): buffered then, or dropped and counted. */
  offered: number;
  /** Rows committed to SQLite (counted by SQLite). */
  written: number;
  dropped: number;
  /** Nonzero drop reasons only. */
  droppedBy: Record<string, number>;
  /** Lines still in the channel or the writer at the end (0 after a complete drain). */
  buffered: number;
  /** Lines in a SQLite write at the end. */
  inFlight: number;
  /** Lines buffered or in flight when the servers stopped; the drain wrote them. */
  bufferedAtStop: number;
  drainMs: number;
  /** Most lines held in the pipeline at once (channel, writer buffer, in flight); at most `scenario.maxHeld`. */
  peakQueued: number;
  /** Peak V8 heap of the process running the Sluice side (the contrast has its own, in its worker). */
  peakHeapMb: number;
  /** Peak resident memory of the whole process, the contrast's worker included. */
  peakRssMb: number;
  /** From a line being written on its server to its row committed, over every row written (histogram-interpolated). */
  latencyMs: DemoLatency;
  /**
   * From a server handing a line over (its first try) to its row committed: the
   * aggregator's share of `latencyMs`; the rest is time the line waited on its server.
   */
  aggregatorLatencyMs: DemoLatency;
  alerts: DemoAlert[];
  unbounded: UnboundedSummary | undefined;
  roi: RoiResult;
  dashboardUrl: string | undefined;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (n: number) => `${n >= 100 ? Math.round(n) : n.toFixed(1)} MB`;

export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(a >= 1e10 ? 1 : 2)}B`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n));
}

export function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)} s` : `${Math.round(n)} ms`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padEnd(widths[c]!))).join('   ').trimEnd());
}

function reasons(droppedBy: Record<string, number>): string {
  const list = Object.entries(droppedBy).map(([reason, n]) => `${reason} ${int(n)}`);
  return list.length ? list.join(', ') : 'none';
}

const usd = (n: number) => `${n < 0 ? '-' : ''}$${Math.round(Math.abs(n)).toLocaleString('en-US')}`;
const percent = (f: number) => (f === 0 ? '0 %' : f < 0.001 ? '< 0.1 %' : `${Number((f * 100).toPrecision(3))} %`);

export function scenarioLines(s: DemoSummary['scenario'], strategy: OverflowStrategy): string[] {
  return [
    `${int(s.servers)} servers × ${s.linesPerServerPerSecond} lines/s = ${int(s.baseLinesPerSecond)} lines/s; at ${ms(s.spikeAtMs)} an outage multiplies it by ${s.spikeMultiplier} → ${int(s.spikeLinesPerSecond)} lines/s, until the end (${ms(s.durationMs)}).`,
    `Sink: SQLite (a temp file, deleted at the end) with a write cost that sustains ~${int(s.sinkRowsPerSecond)} rows/s.`,
    `Sluice: ingest Channel of ${int(s.capacity)} lines, strategy '${strategy}'${s.maxBlockMs !== undefined ? ` (a server waits at most ${ms(s.maxBlockMs)} per line)` : ''};` +
      ` behind it the writer buffers ${int(s.writerCapacity)} and writes ${int(s.batchSize)} at a time: at most ${int(s.maxHeld)} lines held.`,
  ];
}

const componentNames: Record<string, string> = { ingest: 'ingest channel', unbounded: 'unbounded queue' };
const senders: Record<string, string> = { ingest: 'servers', 'sqlite-writer': 'pipeline stages' };

/** An alert transition in words a user knows, without rule names or ms/s. */
export function alertText(e: Pick<AlertEvent, 'component' | 'rule' | 'state' | 'value' | 'threshold' | 'unit'>): string {
  const name = componentNames[e.component] ?? e.component;
  const firing = e.state === 'firing';
  const show = (n: number) => (e.unit === 'utilization' || e.unit === 'fraction' ? percent(n) : e.unit === 'ms' ? ms(n) : int(n));
  const limit = firing ? ` (alert at ${show(e.threshold)})` : '';
  if (e.rule === 'queue_depth') {
    const level = e.unit === 'items' ? `${show(e.value)} lines` : `${show(e.value)} full`;
    return `${name} ${firing ? (e.unit === 'items' ? 'holds' : 'is') : 'back to'} ${level}${limit}`;
  }
  if (e.rule === 'drop_rate') return `${name} ${firing ? 'drops' : 'back to dropping'} ${show(e.value)} of lines${limit}`;
  // blocked_time: how long the sender that has waited longest has been waiting.
  const who = senders[e.component] ?? 'senders';
  return firing
    ? `${who} waiting for room in the ${name}, the longest for ${show(e.value)}${limit}`
    : `${who} no longer kept waiting by the ${name} (longest wait now ${show(e.value)})`;
}

/** One alert that fired, for the summary's list. */
function alertShort(a: DemoAlert): string {
  const name = componentNames[a.component] ?? a.component;
  const what =
    a.rule === 'queue_depth'
      ? a.unit === 'items'
        ? `${name} over ${int(a.threshold)} lines`
        : `${name} ${percent(a.threshold)} full`
      : a.rule === 'drop_rate'
        ? `${name} dropping over ${percent(a.threshold)}`
        : `${senders[a.component] ?? 'senders'} waiting over ${ms(a.threshold)} on the ${name}`;
  return `${what} at ${ms(a.atMs)}`;
}

export function formatSummary(d: DemoSummary): string[] {
  const u = d.unbounded;
  const s = d.scenario;
  const lat = (l: { p50: number; p90: number; p99: number } | undefined) => (l ? `${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)}` : '–');
  const rows: string[][] = [
    ['', `Sluice (Channel '${d.strategy}')`, u ? 'Unbounded array queue' : ''],
    ['lines written by the servers', int(d.generated), u ? int(u.generated) : ''],
    ['taken in by the aggregator', int(d.offered), u ? `${int(u.offered)}${u.capped ? ' (intake capped)' : ''}` : ''],
    ['written to SQLite', int(d.written), u ? int(u.written) : ''],
    ['dropped', `${int(d.dropped)} (${reasons(d.droppedBy)})`, u ? `${int(u.refused)} refused after the cap` : ''],
    ['still buffered at the end', `${int(d.buffered + d.inFlight)} (${int(d.bufferedAtStop)} at stop, drained in ${ms(d.drainMs)})`, u ? `${int(u.queued)} (never written)` : ''],
    ['left on the servers (pushed back)', int(d.heldAtSources), u ? '0 (everything pushed in)' : ''],
    ['most lines held at once', `${int(d.peakQueued)} (of at most ${int(s.maxHeld)})`, u ? `${int(u.peakQueued)} (no bound)` : ''],
    ['peak heap', mb(d.peakHeapMb), u ? `${mb(u.peakHeapMb)} (cap ${mb(u.heapCapMb)} above ${mb(u.baselineHeapMb)})${u.crashed ? ', OUT OF MEMORY' : ''}` : ''],
    ['latency p50 / p90 / p99, end to end', lat(d.latencyMs), u ? `${lat(u.overallLatencyMs)} (rows written)` : ''],
    ['  of which in the aggregator', lat(d.aggregatorLatencyMs), u ? 'all of it' : ''],
  ];
  const length = d.interrupted ? `${ms(d.ranMs)} of logs (stopped early; ${ms(s.durationMs)} planned)` : `${ms(d.ranMs)} of logs`;
  const out = ['', `Summary: ${length}, strategy '${d.strategy}'`, ...table(rows.map((r) => (u ? r : r.slice(0, 2))))];
  out.push(`  check: offered ${int(d.offered)} = written ${int(d.written)} + dropped ${int(d.dropped)} + buffered ${int(d.buffered)} + in flight ${int(d.inFlight)}`);
  if (u && u.capped && u.refused > 0) {
    out.push(
      `  latency covers rows written only: the unbounded queue's ${int(u.refused)} lines refused after its cap and ${int(u.queued)} never written have none,`,
      `  so its figures are those of the lines that got in first. Sluice's include the wait on the servers; without the cap the unbounded latency keeps growing.`,
    );
  }
  out.push(`  peak RSS of the process (both sides): ${mb(d.peakRssMb)}`);
  if (d.alerts.length) {
    const firing = d.alerts.filter((a) => a.state === 'firing').map(alertShort);
    out.push(`  alerts fired: ${firing.slice(0, 6).join('; ')}${firing.length > 6 ? `; +${firing.length - 6} more` : ''}`);
  }
  if (u) {
    out.push('');
    if (u.growthPerSecond > 0) {
      out.push(
        `Unbounded: the queue grew ${int(u.growthPerSecond)} lines/s during the spike at ~${Math.round(u.bytesPerLine)} B of heap per line.`,
        `  Without the cap it would have grown to ${int(u.wouldHaveGrownTo.lines)} lines / ${mb(u.wouldHaveGrownTo.mb)} by the end of this run;`,
        `  at this rate it fills a 4 GB heap ${u.minutesToOomAt4GbHeap.toFixed(1)} minutes into the spike, and the crash takes the ${compact(u.linesLostAtOom)} lines queued then with it`,
        `  (the aggregator in the design notes lost 6 hours of logs this way). Sluice held at most ${int(d.peakQueued)} lines, whatever the spike.`,
      );
    } else {
      out.push('Unbounded: the run ended before the spike, so its queue had no growth to project.');
    }
  }
  const r = d.roi;
  const i = r.inputs;
  const dropRate = i.dropRateWithBp ?? 0;
  const saved =
    r.droppedPrevention >= 0
      ? `lines saved from dropping ${compact(r.droppedPrevention)}/day`
      : `${compact(-r.droppedPrevention)} more lines dropped per day than assumed without backpressure`;
  out.push(
    '',
    "ROI estimate (the design notes' formula, for a day like this run):",
    `  measured: the servers wrote ${int(i.messagesPerSecond)} lines/s; Sluice ('${d.strategy}') dropped ${percent(dropRate)} of them`,
    `  assumed:  without backpressure ${percent(i.dropRateWithoutBp)} of lines are dropped and the aggregator crashes ${i.crashRatePerHourWithoutBp} times an hour,`,
    `            losing 1 hour of lines each time; a line is worth $${i.messageValue}; infrastructure costs $${i.infraCostPerHour}/h and backpressure adds 10 %`,
    `  daily benefit ${usd(r.dailyBenefit)}, annual ${usd(r.annualBenefit)}, ROI ${Math.round(r.roiPercentage).toLocaleString('en-US')} % (benefit / backpressure's cost);`,
    `  ${saved}; crashes avoided ${r.crashPrevention.toFixed(3)}/day`,
  );
  if (r.dailyBenefit < 0) out.push(`  negative: '${d.strategy}' dropped more of this run than the assumed loss without backpressure.`);
  return out;
}
