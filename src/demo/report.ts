// Terminal output of the demo: the per-second progress line and the summary table.
import type { OverflowStrategy } from '../channel/index.js';
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
    capacity: number;
    maxBlockMs: number | undefined;
  };
  strategy: OverflowStrategy;
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
  /** Most lines held in the pipeline at once (channel, writer buffer, in flight). */
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

export function scenarioLines(s: DemoSummary['scenario'], strategy: OverflowStrategy): string[] {
  return [
    `${int(s.servers)} servers × ${s.linesPerServerPerSecond} lines/s = ${int(s.baseLinesPerSecond)} lines/s; at ${ms(s.spikeAtMs)} an outage multiplies it by ${s.spikeMultiplier} → ${int(s.spikeLinesPerSecond)} lines/s, until the end (${ms(s.durationMs)}).`,
    `Sink: SQLite (better-sqlite3, temp file) with a write cost that sustains ~${int(s.sinkRowsPerSecond)} rows/s. Ingest Channel: capacity ${int(s.capacity)}, strategy '${strategy}'${s.maxBlockMs !== undefined ? `, servers wait at most ${ms(s.maxBlockMs)} per line` : ''}.`,
  ];
}

export function formatSummary(d: DemoSummary): string[] {
  const u = d.unbounded;
  const lat = (l: { p50: number; p90: number; p99: number } | undefined) => (l ? `${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)}` : '–');
  const rows: string[][] = [
    ['', `Sluice (Channel '${d.strategy}')`, u ? 'Unbounded array queue' : ''],
    ['lines written by the servers', int(d.generated), u ? int(u.generated) : ''],
    ['taken in by the aggregator', int(d.offered), u ? `${int(u.offered)}${u.capped ? ' (intake capped)' : ''}` : ''],
    ['written to SQLite', int(d.written), u ? int(u.written) : ''],
    ['dropped', `${int(d.dropped)} (${reasons(d.droppedBy)})`, u ? `${int(u.refused)} refused after the cap` : ''],
    ['still buffered at the end', `${int(d.buffered + d.inFlight)} (${int(d.bufferedAtStop)} at stop, drained in ${ms(d.drainMs)})`, u ? `${int(u.queued)} (never written)` : ''],
    ['left on the servers (pushed back)', int(d.heldAtSources), u ? '0 (everything pushed in)' : ''],
    ['peak queue', int(d.peakQueued), u ? int(u.peakQueued) : ''],
    ['peak heap', mb(d.peakHeapMb), u ? `${mb(u.peakHeapMb)} (cap ${mb(u.heapCapMb)} above ${mb(u.baselineHeapMb)})${u.crashed ? ', OUT OF MEMORY' : ''}` : ''],
    ['latency p50 / p90 / p99, end to end', lat(d.latencyMs), u ? `${lat(u.overallLatencyMs)} (rows written)` : ''],
    ['  of which in the aggregator', lat(d.aggregatorLatencyMs), u ? 'all of it' : ''],
  ];
  const out = ['', `Summary: ${ms(d.scenario.durationMs)} of logs, strategy '${d.strategy}'`, ...table(rows.map((r) => (u ? r : r.slice(0, 2))))];
  out.push(`  check: offered ${int(d.offered)} = written ${int(d.written)} + dropped ${int(d.dropped)} + buffered ${int(d.buffered)} + in flight ${int(d.inFlight)}`);
  out.push(`  peak RSS of the process (both sides): ${mb(d.peakRssMb)}`);
  if (d.alerts.length) {
    const firing = d.alerts.filter((a) => a.state === 'firing').map((a) => `${a.component} ${a.rule} at ${ms(a.atMs)}`);
    out.push(`  alerts fired: ${firing.slice(0, 6).join('; ')}${firing.length > 6 ? `; +${firing.length - 6} more` : ''}`);
  }
  if (u) {
    out.push('');
    out.push(
      `Unbounded: the queue grew ${int(u.growthPerSecond)} lines/s during the spike at ~${Math.round(u.bytesPerLine)} B of heap per line.`,
      `  Without the cap it would have grown to ${int(u.wouldHaveGrownTo.lines)} lines / ${mb(u.wouldHaveGrownTo.mb)} by the end of this run;`,
      `  at this rate it fills a 4 GB heap ${u.minutesToOomAt4GbHeap.toFixed(1)} minutes into the spike, and the crash takes the ${compact(u.linesLostAtOom)} lines queued then with it`,
      `  (the seed's aggregator lost 6 hours of logs this way). Sluice's peak: ${int(d.peakQueued)} lines, whatever the spike.`,
    );
  }
  const r = d.roi;
  const i = r.inputs;
  out.push(
    '',
    "ROI estimate (seed 001 calculate_backpressure_roi, the seed's formula and assumptions):",
    `  inputs: messages_per_second ${int(i.messagesPerSecond)} (this fleet's base rate), message_value $${i.messageValue}, infra_cost_per_hour $${i.infraCostPerHour},`,
    `          drop_rate_without_bp ${i.dropRateWithoutBp}, crash_rate_without_bp ${i.crashRatePerHourWithoutBp}/h (1 hour of messages lost per crash)`,
    `  daily benefit $${r.dailyBenefit.toLocaleString('en-US', { maximumFractionDigits: 2 })}, annual $${Math.round(r.annualBenefit).toLocaleString('en-US')}, ROI ${r.roiPercentage.toFixed(1)}%` +
      ` (benefit / 10 % overhead), drops prevented ${compact(r.droppedPrevention)}/day, crashes prevented ${r.crashPrevention.toFixed(3)}/day`,
  );
  return out;
}
