import type { HistogramSnapshot } from '../../core/metrics/index.js';
import type { DashboardAlertEvent, DashboardSource, ResolvedDashboardOptions } from './options.js';
import { histogramDelta, histogramPercentile } from './percentiles.js';

/** Latency percentiles of one component, in ms. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  /** Observations the percentiles are computed from. */
  count: number;
}

/**
 * One component as a page draws it, derived from one `stats()` call. Fields
 * the component's stats do not have are absent. Rates are per second over
 * the time since the previous snapshot.
 */
export interface DashboardComponentView {
  name: string;
  /** Recognised from the shape of the stats: 'channel', 'batch-writer', 'concurrency-limiter', … or 'custom'. */
  kind: string;
  /** The source's `description`. */
  description?: string;
  state?: string;
  /** State of a circuit breaker, if the component has one. */
  breakerState?: string;
  size?: number;
  capacity?: number;
  /** Fill level, 0..1. */
  utilization?: number;
  highWatermark?: number;
  lowWatermark?: number;
  inTotal?: number;
  outTotal?: number;
  inRate?: number;
  outRate?: number;
  dropped?: number;
  /** Drops so far by reason. */
  droppedBy?: Record<string, number>;
  /** Drops per second by reason. */
  dropRateBy?: Record<string, number>;
  /** Producers' summed waiting time per second (1000 = one producer blocked all the time). */
  blockedMsPerSec?: number;
  /** Levels: limits, in-flight counts, credits, rates, waiting callers, custom `gauges`. */
  gauges?: Record<string, number>;
  /** Durations in ms: flush latency, flush interval, average latency. */
  timings?: Record<string, number>;
  latency?: LatencyPercentiles;
  /** Set when `stats()` threw; the message. */
  error?: string;
}

/** An alert firing at the time of a snapshot. */
export interface DashboardFiringAlert {
  component: string;
  rule: string;
  value: number;
  threshold: number;
  unit?: string;
  /** Snapshot time (s) at which it fired, as seen by the dashboard. */
  since: number;
}

/** What the page receives every `intervalMs`. */
export interface DashboardSnapshot {
  /** Counts snapshots from 1. */
  seq: number;
  /** Seconds since the dashboard started. */
  t: number;
  components: DashboardComponentView[];
  alerts: DashboardFiringAlert[];
  /** Alert transitions since the previous snapshot. */
  alertEvents: DashboardAlertEvent[];
}

type Stats = Readonly<Record<string, unknown>>;

const COUNT_GAUGES = ['limit', 'inflight', 'inFlight', 'available', 'max', 'waiting', 'window', 'ssthresh', 'rate', 'ratePerSecond', 'pressure'] as const;
const TIMING_GAUGES = ['lastFlushLatencyMs', 'flushIntervalMs', 'averageLatencyMs'] as const;
const BLOCKED_COUNTERS = ['blockedMs', 'waitedMs', 'starvationMs'] as const;
/** Alert events kept between two snapshots; a storm beyond it is summarised by the firing list. */
const MAX_EVENTS_PER_SNAPSHOT = 50;

function num(stats: Stats, key: string): number | undefined {
  const value = stats[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function sum(...values: (number | undefined)[]): number | undefined {
  let total: number | undefined;
  for (const value of values) if (value !== undefined) total = (total ?? 0) + value;
  return total;
}

/**
 * Components are recognised by the fields of their stats, so wrappers and
 * future components work too; a string `kind` field in the stats names it outright.
 */
export function componentKind(stats: Stats): string {
  if (typeof stats.kind === 'string' && stats.kind.length > 0) return stats.kind;
  const has = (key: string) => stats[key] !== undefined;
  if (has('written') && has('flushed')) return 'batch-writer';
  if (has('offered') && has('delivered') && has('acked')) return 'durable-channel';
  if (has('offered') && has('delivered')) return 'channel';
  if (has('algorithm') && has('limit')) return 'concurrency-limiter';
  if (has('served') && has('shed')) return 'load-shedder';
  if (has('ratePerSecond') && has('burst')) return 'token-bucket';
  if (has('granted') && has('max')) return 'credits';
  if (has('adjustmentsUp')) return 'adaptive-rate';
  if (has('ssthresh')) return 'congestion-window';
  if (has('pressure') && has('samples')) return 'pressure';
  return 'custom';
}

function counters(kind: string, s: Stats): { inTotal: number | undefined; outTotal: number | undefined } {
  switch (kind) {
    case 'batch-writer':
      return { inTotal: num(s, 'written'), outTotal: num(s, 'flushed') };
    case 'concurrency-limiter':
      return { inTotal: num(s, 'acquired'), outTotal: sum(num(s, 'successes'), num(s, 'drops'), num(s, 'ignored')) };
    case 'load-shedder':
      return { inTotal: sum(num(s, 'served'), num(s, 'shed')), outTotal: num(s, 'served') };
    default:
      return {
        inTotal: num(s, 'offered') ?? num(s, 'written') ?? num(s, 'acquired'),
        outTotal: num(s, 'delivered') ?? num(s, 'flushed'),
      };
  }
}

function drops(s: Stats): Record<string, number> | undefined {
  const by = s.droppedBy;
  if (typeof by === 'object' && by !== null) {
    const out: Record<string, number> = {};
    for (const [reason, n] of Object.entries(by)) if (typeof n === 'number' && Number.isFinite(n)) out[reason] = n;
    return out;
  }
  const out: Record<string, number> = {};
  let any = false;
  for (const key of ['dropped', 'rejected', 'shed']) {
    const n = num(s, key);
    if (n !== undefined) {
      out[key] = n;
      any = true;
    }
  }
  return any ? out : undefined;
}

function pick(s: Stats, keys: readonly string[], extra?: unknown): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  let any = false;
  for (const key of keys) {
    const n = num(s, key);
    if (n !== undefined) {
      out[key] = n;
      any = true;
    }
  }
  if (typeof extra === 'object' && extra !== null) {
    for (const [key, n] of Object.entries(extra)) {
      if (typeof n === 'number' && Number.isFinite(n)) {
        out[key] = n;
        any = true;
      }
    }
  }
  return any ? out : undefined;
}

function latencyFromStats(s: Stats): LatencyPercentiles | undefined {
  const l = s.latencyMs;
  if (typeof l !== 'object' || l === null) return undefined;
  const r = l as Stats;
  const p50 = num(r, 'p50');
  const p90 = num(r, 'p90');
  const p99 = num(r, 'p99');
  if (p50 === undefined || p90 === undefined || p99 === undefined) return undefined;
  return { p50, p90, p99, count: num(r, 'count') ?? 0 };
}

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

interface Previous {
  at: number;
  inTotal: number | undefined;
  outTotal: number | undefined;
  droppedBy: Record<string, number> | undefined;
  blockedMs: number | undefined;
}

/** Per-second rate of a counter; a counter that went backwards (a reset) reads 0. */
function rate(now: number | undefined, before: number | undefined, seconds: number): number | undefined {
  if (now === undefined) return undefined;
  if (before === undefined || seconds <= 0) return 0;
  return round(Math.max(0, now - before) / seconds);
}

/**
 * Reads the components and turns their stats into {@link DashboardSnapshot}s,
 * remembering what rates and latency windows need between two readings.
 */
export class DashboardSampler {
  private readonly previous = new Map<string, Previous>();
  private readonly latencyHistory = new Map<string, { at: number; snapshot: HistogramSnapshot }[]>();
  private readonly firing = new Map<string, DashboardFiringAlert>();
  private pendingEvents: DashboardAlertEvent[] = [];
  private readonly startedAt: number;
  /** Indexed once so that matching histograms to components keeps a tick linear in the components. */
  private readonly sourceNames: ReadonlySet<string>;
  private seq = 0;

  constructor(
    private readonly sources: readonly [string, DashboardSource][],
    private readonly options: ResolvedDashboardOptions,
  ) {
    this.startedAt = options.clock.now();
    this.sourceNames = new Set(sources.map(([name]) => name));
    const active = options.alerts?.active?.() ?? [];
    for (const a of active) {
      this.firing.set(`${a.component}\u0000${a.rule}`, { component: a.component, rule: a.rule, value: a.value, threshold: a.threshold, since: 0 });
    }
  }

  /** Records an alert transition for the next snapshot. */
  readonly onAlert = (event: DashboardAlertEvent): void => {
    const key = `${event.component}\u0000${event.rule}`;
    if (event.state === 'firing') {
      const alert: DashboardFiringAlert = { component: event.component, rule: event.rule, value: event.value, threshold: event.threshold, since: this.seconds() };
      if (event.unit !== undefined) alert.unit = event.unit;
      this.firing.set(key, alert);
    } else {
      this.firing.delete(key);
    }
    if (this.pendingEvents.length < MAX_EVENTS_PER_SNAPSHOT) this.pendingEvents.push({ ...event });
  };

  private seconds(): number {
    return round((this.options.clock.now() - this.startedAt) / 1000, 3);
  }

  /** Reads every component once and returns the snapshot. */
  sample(): DashboardSnapshot {
    const now = this.options.clock.now();
    const latencies = this.readLatencies(now);
    const components = this.sources.map(([name, source]) => this.view(name, source, now, latencies));
    for (const [name, latency] of latencies) {
      if (!this.sourceNames.has(name)) components.push({ name, kind: 'latency', latency });
    }
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return { seq: ++this.seq, t: this.seconds(), components, alerts: [...this.firing.values()], alertEvents: events };
  }

  private view(name: string, source: DashboardSource, now: number, latencies: Map<string, LatencyPercentiles>): DashboardComponentView {
    let s: Stats;
    try {
      s = source.stats() as Stats;
    } catch (error) {
      return { name, kind: 'custom', error: error instanceof Error ? error.message : String(error) };
    }
    if (typeof s !== 'object' || s === null) return { name, kind: 'custom', error: 'stats() did not return an object' };
    const kind = componentKind(s);
    const view: DashboardComponentView = { name, kind };
    if (typeof source.description === 'string' && source.description) view.description = source.description;
    const state = typeof s.state === 'string' ? s.state : typeof s.phase === 'string' ? s.phase : undefined;
    if (state !== undefined) view.state = state;
    const breaker = s.breaker as Stats | undefined;
    if (typeof breaker === 'object' && breaker !== null && typeof breaker.state === 'string') view.breakerState = breaker.state;

    const capacity = num(s, 'capacity');
    const size = kind === 'batch-writer' ? num(s, 'buffered') : (num(s, 'size') ?? num(s, 'buffered'));
    if (size !== undefined) view.size = size;
    if (capacity !== undefined) view.capacity = capacity;
    const utilization = num(s, 'utilization') ?? (size !== undefined && capacity ? size / capacity : undefined);
    if (utilization !== undefined) {
      view.utilization = round(utilization, 4);
      const high = source.highWatermark;
      const low = source.lowWatermark;
      if (typeof high === 'number' && Number.isFinite(high)) view.highWatermark = high;
      if (typeof low === 'number' && Number.isFinite(low)) view.lowWatermark = low;
    }

    const before = this.previous.get(name);
    const seconds = before ? (now - before.at) / 1000 : 0;
    const { inTotal, outTotal } = counters(kind, s);
    if (inTotal !== undefined) {
      view.inTotal = inTotal;
      view.inRate = rate(inTotal, before?.inTotal, seconds);
    }
    if (outTotal !== undefined) {
      view.outTotal = outTotal;
      view.outRate = rate(outTotal, before?.outTotal, seconds);
    }
    const droppedBy = drops(s);
    if (droppedBy) {
      view.droppedBy = droppedBy;
      view.dropped = num(s, 'dropped') ?? Object.values(droppedBy).reduce((a, b) => a + b, 0);
      const dropRateBy: Record<string, number> = {};
      for (const [reason, total] of Object.entries(droppedBy)) dropRateBy[reason] = rate(total, before?.droppedBy?.[reason], seconds) ?? 0;
      view.dropRateBy = dropRateBy;
    }
    let blockedMs: number | undefined;
    for (const key of BLOCKED_COUNTERS) blockedMs ??= num(s, key);
    if (blockedMs !== undefined) view.blockedMsPerSec = rate(blockedMs, before?.blockedMs, seconds);

    const gauges = pick(s, COUNT_GAUGES, s.gauges);
    if (gauges) view.gauges = gauges;
    const timings = pick(s, TIMING_GAUGES);
    if (timings) view.timings = timings;
    const latency = latencies.get(name) ?? latencyFromStats(s);
    if (latency) view.latency = latency;

    this.previous.set(name, { at: now, inTotal, outTotal, droppedBy, blockedMs });
    return view;
  }

  private readLatencies(now: number): Map<string, LatencyPercentiles> {
    const out = new Map<string, LatencyPercentiles>();
    const source = this.options.latency;
    if (!source) return out;
    for (const [name, histogram] of source.entries()) {
      const snapshot = histogram.snapshot();
      let history = this.latencyHistory.get(name);
      if (!history) this.latencyHistory.set(name, (history = []));
      history.push({ at: now, snapshot });
      // Keep the newest reading at or before the window start as the baseline of the window.
      while (history.length > 2 && history[1]!.at <= now - this.options.latencyWindowMs) history.shift();
      const baseline = history.length > 1 ? history[0]!.snapshot : undefined;
      const window = histogramDelta(snapshot, baseline);
      const p50 = histogramPercentile(window, 0.5);
      if (p50 === undefined) continue;
      out.set(name, {
        p50: round(p50),
        p90: round(histogramPercentile(window, 0.9)!),
        p99: round(histogramPercentile(window, 0.99)!),
        count: window.count,
      });
    }
    return out;
  }
}
