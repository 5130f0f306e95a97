import type { HistogramSnapshot } from '../../core/metrics/index.js';
import type { DashboardAlertEvent, DashboardReconfigureEvent, DashboardSource, ResolvedDashboardOptions } from './options.js';
import { histogramPercentile } from './percentiles.js';

/** Latency percentiles of one component, in ms. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  /** Observations the percentiles are computed from. */
  count: number;
}

/** One level of a PriorityChannel, highest first. */
export interface DashboardLevelView {
  name: string;
  size: number;
  offered: number;
  delivered: number;
  dropped: number;
}

/** One partition of a partitioned ConcurrencyLimiter (the last one, `unpartitioned`, is the remainder). */
export interface DashboardPartitionView {
  name: string;
  /** Permits it holds, borrowed ones included. */
  inflight: number;
  /** Permits guaranteed to it now (`ceil(share × limit)`). */
  limit: number;
  waiting: number;
  /** Its configured fraction of the limit. */
  share: number;
}

/** A FairChannel key among those that dropped the most (`dropped` may overstate by at most `error`). */
export interface DashboardKeyDrops {
  key: string;
  dropped: number;
  error: number;
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
  /** Items per second by which a buffer grows (negative while it drains): a Channel's, DurableChannel's or BatchWriter's `fillRatePerSec`. */
  fillRatePerSec?: number;
  /** Ms until the buffer is full at that rate (0 when full); absent while it is not filling (the stats say `Infinity`). */
  timeToFullMs?: number;
  /** A lag source's figures by meaning, as in `sluice_lag`: `undelivered` (not yet delivered) and `unacked` (delivered, not acknowledged). */
  lag?: Record<string, number>;
  /** True while a lag source's last successful poll is too old (its figures are kept). */
  stale?: boolean;
  /** A trend's change of its reading per second. */
  slope?: number;
  /** Ms until a trend's reading reaches 1 at its slope (0 when there); absent when flat or falling. */
  timeToThresholdMs?: number;
  latency?: LatencyPercentiles;
  /** A PriorityChannel's levels, highest first: size, offered, delivered and dropped of each. */
  levels?: DashboardLevelView[];
  /** A partitioned ConcurrencyLimiter's partitions in the order given, then `unpartitioned`. */
  partitions?: DashboardPartitionView[];
  /** A FairChannel's keys holding items now. */
  keys?: number;
  /** A FairChannel's keys that dropped the most, most first (at most 5). */
  topDroppers?: DashboardKeyDrops[];
  /** A CircuitBreaker's failure rate in its window now, 0..1. */
  failureRate?: number;
  /** A CircuitBreaker's slow-call rate in its window now, 0..1. */
  slowCallRate?: number;
  /** Times a CircuitBreaker opened so far. */
  opens?: number;
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

/**
 * A knob event: a component's runtime setting changed (`setRate()`,
 * `setLimit()`, `resize()`, a config reload…), as its `onReconfigure` told.
 */
export interface DashboardKnobEvent {
  /** Seconds since the dashboard started (the clock of `t`), when the change was reported. */
  t: number;
  /** The component's name on the dashboard. */
  component: string;
  /** The setting that changed, as the component names it (`ratePerSecond`, `limit`, `capacity`, …). */
  setting: string;
  /** Its value before: a number, or for another kind of value its string form (null when absent). */
  previous: number | string | null;
  /** Its value now, likewise. */
  value: number | string | null;
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
  /**
   * The last `knobEventsKept` knob events, oldest first (not only the new
   * ones: a late reader sees them too). Always set by the dashboard; absent
   * from snapshots made elsewhere (`sluice top` builds some from `/metrics`).
   */
  knobEvents?: DashboardKnobEvent[];
}

/** A setting's value as JSON shows it: numbers as they are (non-finite ones as strings), others as their string form. */
function knobValue(value: unknown): number | string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

type Stats = Readonly<Record<string, unknown>>;

const COUNT_GAUGES = ['limit', 'inflight', 'inFlight', 'available', 'max', 'waiting', 'window', 'ssthresh', 'rate', 'ratePerSecond', 'pressure', 'consumers', 'desiredRate'] as const;
/** A trend's reading now and the one it expects `horizonMs` ahead, shown together. */
const TREND_GAUGES = ['current', 'predicted'] as const;
const TIMING_GAUGES = ['lastFlushLatencyMs', 'flushIntervalMs', 'averageLatencyMs'] as const;
const BLOCKED_COUNTERS = ['blockedMs', 'waitedMs', 'starvationMs'] as const;
const DROP_COUNTERS = ['dropped', 'rejected', 'shed'] as const;
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

function has(stats: Stats, key: string): boolean {
  return stats[key] !== undefined;
}

/**
 * Components are recognised by the fields of their stats, so wrappers and
 * future components work too; a string `kind` field in the stats names it outright.
 */
export function componentKind(stats: Stats): string {
  if (typeof stats.kind === 'string' && stats.kind.length > 0) return stats.kind;
  if (has(stats, 'written') && has(stats, 'flushed')) return 'batch-writer';
  if (has(stats, 'offered') && has(stats, 'delivered') && has(stats, 'acked')) return 'durable-channel';
  if (has(stats, 'offered') && has(stats, 'delivered') && typeof stats.levels === 'object' && stats.levels !== null) return 'priority-channel';
  if (has(stats, 'offered') && has(stats, 'delivered') && has(stats, 'perKeyCapacity')) return 'fair-channel';
  if (has(stats, 'offered') && has(stats, 'delivered')) return 'channel';
  if (has(stats, 'algorithm') && has(stats, 'limit')) return 'concurrency-limiter';
  if (has(stats, 'served') && has(stats, 'shed')) return 'load-shedder';
  if (has(stats, 'ratePerSecond') && has(stats, 'burst')) return 'token-bucket';
  if (has(stats, 'granted') && has(stats, 'max')) return 'credits';
  if (has(stats, 'adjustmentsUp')) return 'adaptive-rate';
  if (has(stats, 'ssthresh')) return 'congestion-window';
  if (has(stats, 'backlog') && has(stats, 'pollErrors')) return 'lag-source';
  if (has(stats, 'slope') && has(stats, 'timeToThresholdMs')) return 'trend';
  if (has(stats, 'desiredRate') && has(stats, 'throttleFactor')) return 'governor';
  if (has(stats, 'stateForMs') && has(stats, 'resumeBelow')) return 'readiness';
  if (has(stats, 'failureRate') && has(stats, 'slowCallRate') && has(stats, 'opens')) return 'circuit-breaker';
  if (has(stats, 'pressure') && has(stats, 'samples')) return 'pressure';
  return 'custom';
}

/** The counter of what came in, by kind. Two functions rather than one returning a pair: no object per component and tick. */
function inCounter(kind: string, s: Stats): number | undefined {
  switch (kind) {
    case 'batch-writer':
      return num(s, 'written');
    case 'concurrency-limiter':
      return num(s, 'acquired');
    case 'load-shedder':
      return sum(num(s, 'served'), num(s, 'shed'));
    default:
      return num(s, 'offered') ?? num(s, 'written') ?? num(s, 'acquired');
  }
}

/** The counter of what went out, by kind. */
function outCounter(kind: string, s: Stats): number | undefined {
  switch (kind) {
    case 'batch-writer':
      return num(s, 'flushed');
    case 'concurrency-limiter':
      return sum(num(s, 'successes'), num(s, 'drops'), num(s, 'ignored'));
    case 'load-shedder':
      return num(s, 'served');
    default:
      return num(s, 'delivered') ?? num(s, 'flushed');
  }
}

function drops(s: Stats): Record<string, number> | undefined {
  const by = s.droppedBy;
  if (typeof by === 'object' && by !== null) {
    const out: Record<string, number> = {};
    // for-in over own keys rather than Object.entries(): no array of pairs per component and tick.
    for (const reason in by) {
      if (!Object.hasOwn(by, reason)) continue;
      const n = (by as Stats)[reason];
      if (typeof n === 'number' && Number.isFinite(n)) out[reason] = n;
    }
    return out;
  }
  const out: Record<string, number> = {};
  let any = false;
  for (const key of DROP_COUNTERS) {
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

/** Fill rate and time to full of a buffer; a lag source's figures; a trend's slope (#12). */
function signals(kind: string, s: Stats, view: DashboardComponentView): void {
  const fill = num(s, 'fillRatePerSec');
  if (fill !== undefined) {
    view.fillRatePerSec = round(fill, 2);
    const toFull = num(s, 'timeToFullMs'); // Infinity (not filling) is not a finite number: left out
    if (toFull !== undefined) view.timeToFullMs = Math.round(toFull);
  }
  if (kind === 'lag-source') {
    const lag: Record<string, number> = {};
    // streamLag: undelivered / pending; jetStreamLag: numPending / numAckPending; queueDepth: ready.
    const undelivered = num(s, 'undelivered') ?? num(s, 'numPending') ?? num(s, 'ready');
    const unacked = num(s, 'pending') ?? num(s, 'numAckPending');
    if (undelivered !== undefined) lag.undelivered = undelivered;
    if (unacked !== undefined) lag.unacked = unacked;
    view.lag = lag;
    view.stale = s.stale === true;
  } else if (kind === 'trend') {
    const slope = num(s, 'slope');
    if (slope !== undefined) view.slope = round(slope, 6);
    const toThreshold = num(s, 'timeToThresholdMs');
    if (toThreshold !== undefined) view.timeToThresholdMs = Math.round(toThreshold);
    const levels = pick(s, TREND_GAUGES);
    if (levels) view.gauges = { ...view.gauges, ...levels };
  }
}

/** How many of a FairChannel's top droppers a card lists. */
const TOP_DROPPERS = 5;

/** Per-level, per-partition, per-key and breaker figures (#13). */
function breakdowns(kind: string, s: Stats, view: DashboardComponentView): void {
  if (kind === 'priority-channel') {
    const levels: DashboardLevelView[] = [];
    for (const [name, l] of Object.entries(s.levels as Record<string, unknown>)) {
      if (typeof l !== 'object' || l === null) continue;
      const r = l as Stats;
      levels.push({ name, size: num(r, 'size') ?? 0, offered: num(r, 'offered') ?? 0, delivered: num(r, 'delivered') ?? 0, dropped: num(r, 'dropped') ?? 0 });
    }
    view.levels = levels;
  } else if (kind === 'fair-channel') {
    const keys = num(s, 'keys');
    if (keys !== undefined) view.keys = keys;
    const top: DashboardKeyDrops[] = [];
    if (Array.isArray(s.topDroppedKeys)) {
      for (const k of s.topDroppedKeys as unknown[]) {
        if (typeof k !== 'object' || k === null || typeof (k as Stats).key !== 'string') continue;
        const r = k as Stats;
        top.push({ key: r.key as string, dropped: num(r, 'dropped') ?? 0, error: num(r, 'error') ?? 0 });
      }
    }
    top.sort((a, b) => b.dropped - a.dropped);
    view.topDroppers = top.slice(0, TOP_DROPPERS);
  } else if (kind === 'concurrency-limiter') {
    const parts = s.partitions;
    if (typeof parts !== 'object' || parts === null) return;
    const out: DashboardPartitionView[] = [];
    const add = (name: string, p: unknown) => {
      if (typeof p !== 'object' || p === null) return;
      const r = p as Stats;
      out.push({ name, inflight: num(r, 'inflight') ?? 0, limit: num(r, 'limit') ?? 0, waiting: num(r, 'waiting') ?? 0, share: round(num(r, 'share') ?? 0, 4) });
    };
    for (const [name, p] of Object.entries(parts)) add(name, p);
    add('unpartitioned', s.unpartitioned);
    view.partitions = out;
  } else if (kind === 'circuit-breaker') {
    const failureRate = num(s, 'failureRate');
    const slowCallRate = num(s, 'slowCallRate');
    const opens = num(s, 'opens');
    if (failureRate !== undefined) view.failureRate = round(failureRate, 4);
    if (slowCallRate !== undefined) view.slowCallRate = round(slowCallRate, 4);
    if (opens !== undefined) view.opens = opens;
  }
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

/** Per-second rate of a counter; a counter that went backwards (a reset) reads 0, and so does one without an earlier reading (`before` NaN). */
function rate(now: number, before: number, seconds: number): number {
  if (Number.isNaN(before) || seconds <= 0) return 0;
  return round(Math.max(0, now - before) / seconds);
}

/** Distinct sets of drop reasons kept for sharing between components; past it, a component keeps its own. */
const MAX_SHARED_REASON_SETS = 1024;

/**
 * The readings of one histogram that its latency window still needs, oldest
 * first, in one flat ring of numbers: per reading its time, its count and its
 * cumulative bucket counts (`width` numbers). Only what the percentiles need:
 * no objects per reading, no sum. A reading equal to the newest one held is
 * not stored again (the held one, taken earlier, stands for both: any
 * baseline chosen among equal readings gives the same window), so an idle
 * histogram holds one or two readings, not a window's worth.
 */
class LatencyTrack {
  /** Numbers per reading: time, count, one per bucket. */
  width: number;
  ring: number[];
  /** Slot of the oldest reading. */
  start = 0;
  /** Readings held. */
  length = 0;
  /** Readings taken (held or not) since the track began; the first has no baseline. */
  readings = 0;

  constructor(
    readonly name: string,
    /** Index of the component of the same name, or -1: the histogram gets a card of its own. */
    readonly component: number,
    buckets: number,
  ) {
    this.width = buckets + 2;
    this.ring = newRing(2 * this.width);
  }

  /** Offset in {@link ring} of the `k`th reading held, oldest first. */
  offset(k: number): number {
    const slots = this.ring.length / this.width;
    return ((this.start + k) % slots) * this.width;
  }

  /** Appends a reading taken at `now`. A histogram whose bucket layout changed starts over. */
  push(now: number, snapshot: HistogramSnapshot): void {
    const width = snapshot.bucketsMs.length + 2;
    if (width !== this.width) {
      this.width = width;
      this.ring = newRing(2 * width);
      this.start = this.length = this.readings = 0;
    }
    this.readings++;
    const cumulative = snapshot.cumulativeCounts;
    if (this.length > 0 && this.sameAsNewest(snapshot)) return;
    const slots = this.ring.length / width;
    // Grown by half when full, oldest first from slot 0: a steady tick rate needs a fixed number of slots.
    if (this.length === slots) {
      const grown = newRing((slots + Math.max(1, slots >> 1)) * width);
      for (let k = 0; k < this.length; k++) {
        const from = this.offset(k);
        for (let j = 0; j < width; j++) grown[k * width + j] = this.ring[from + j]!;
      }
      this.ring = grown;
      this.start = 0;
    }
    const ring = this.ring;
    const o = this.offset(this.length++);
    ring[o] = now;
    ring[o + 1] = snapshot.count;
    for (let j = 2; j < width; j++) ring[o + j] = cumulative[j - 2] ?? 0;
  }

  private sameAsNewest(snapshot: HistogramSnapshot): boolean {
    const ring = this.ring;
    const o = this.offset(this.length - 1);
    if (ring[o + 1] !== snapshot.count) return false;
    const cumulative = snapshot.cumulativeCounts;
    for (let j = 2; j < this.width; j++) if (ring[o + j] !== (cumulative[j - 2] ?? 0)) return false;
    return true;
  }

  /**
   * Drops the readings older than the newest one at or before `windowStart`,
   * which stays as the window's baseline. Called before {@link push} (whose
   * reading is newer than `windowStart`), so the ring never holds one reading more than the window needs.
   */
  prune(windowStart: number): void {
    const slots = this.ring.length / this.width;
    while (this.length > 1 && this.ring[this.offset(1)]! <= windowStart) {
      this.start = (this.start + 1) % slots;
      this.length--;
    }
  }
}

function newRing(size: number): number[] {
  // Filled with a double, so the array stores unboxed doubles from the start.
  return new Array<number>(size).fill(0.5);
}

/**
 * Reads the components and turns their stats into {@link DashboardSnapshot}s,
 * remembering what rates and latency windows need between two readings.
 *
 * What it keeps between ticks is small, fixed per component and reused (issue 18):
 * the previous counters in flat arrays indexed by the component's position, and
 * per histogram the readings its window still needs as numbers in one array.
 * A tick allocates the snapshot it returns and little else.
 */
export class DashboardSampler {
  private readonly names: string[];
  private readonly list: DashboardSource[];
  /** Position of each component by name, for matching histograms to components. */
  private readonly indexOf = new Map<string, number>();
  // The previous reading of each component, by position; NaN where there was none.
  private readonly prevAt: Float64Array;
  private readonly prevIn: Float64Array;
  private readonly prevOut: Float64Array;
  private readonly prevBlocked: Float64Array;
  /** The drop reasons of the previous reading (arrays shared between components with the same reasons) … */
  private readonly prevDropReasons: (readonly string[] | undefined)[];
  /** … and their totals, overwritten in place while the reasons stay the same. */
  private readonly prevDropTotals: (number[] | undefined)[];
  private readonly reasonSets = new Map<string, readonly string[]>();
  /** This tick's latency of each component from the latency source, by position; taken by its view. */
  private readonly latencyOf: (LatencyPercentiles | undefined)[];
  private readonly tracks = new Map<string, LatencyTrack>();
  /** The tracks in the order the latency source listed them last tick, so a tick rarely looks one up by name. */
  private readonly trackOrder: LatencyTrack[] = [];
  /** The window of one histogram, rewritten for each: percentiles are read from it at once. */
  private readonly window: HistogramSnapshot = { bucketsMs: [], cumulativeCounts: [], count: 0, sumMs: 0 };
  private readonly firing = new Map<string, DashboardFiringAlert>();
  private pendingEvents: DashboardAlertEvent[] = [];
  private readonly knobEvents: DashboardKnobEvent[] = [];
  private readonly knobUnsubscribes: (() => void)[] = [];
  private readonly startedAt: number;
  private seq = 0;

  constructor(
    sources: readonly [string, DashboardSource][],
    private readonly options: ResolvedDashboardOptions,
  ) {
    this.startedAt = options.clock.now();
    const n = sources.length;
    this.names = new Array<string>(n);
    this.list = new Array<DashboardSource>(n);
    for (let i = 0; i < n; i++) {
      const [name, source] = sources[i]!;
      this.names[i] = name;
      this.list[i] = source;
      if (!this.indexOf.has(name)) this.indexOf.set(name, i);
    }
    this.prevAt = new Float64Array(n).fill(NaN);
    this.prevIn = new Float64Array(n);
    this.prevOut = new Float64Array(n);
    this.prevBlocked = new Float64Array(n);
    this.prevDropReasons = new Array<readonly string[] | undefined>(n).fill(undefined);
    this.prevDropTotals = new Array<number[] | undefined>(n).fill(undefined);
    this.latencyOf = new Array<LatencyPercentiles | undefined>(n).fill(undefined);
    if (options.knobEventsKept > 0) {
      for (let i = 0; i < n; i++) this.watchKnobs(this.names[i]!, this.list[i]!);
    }
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

  /** Subscribes to a component's setting changes, when it reports them. */
  private watchKnobs(name: string, source: DashboardSource): void {
    if (typeof source.onReconfigure !== 'function') return;
    try {
      const off = source.onReconfigure((event) => this.onKnob(name, event));
      if (typeof off === 'function') this.knobUnsubscribes.push(off);
    } catch {
      // A source whose onReconfigure throws only loses its knob events; its card still shows.
    }
  }

  private onKnob(component: string, event: DashboardReconfigureEvent): void {
    if (typeof event !== 'object' || event === null) return;
    const list = this.knobEvents;
    list.push({ t: this.seconds(), component, setting: String(event.setting), previous: knobValue(event.previous), value: knobValue(event.value) });
    // Bounded: a storm of changes (a reload loop) keeps only the newest.
    if (list.length > this.options.knobEventsKept) list.splice(0, list.length - this.options.knobEventsKept);
  }

  /** Unsubscribes from every component's knob events. Idempotent. */
  close(): void {
    for (const off of this.knobUnsubscribes.splice(0)) off();
  }

  private seconds(): number {
    return round((this.options.clock.now() - this.startedAt) / 1000, 3);
  }

  /** Reads every component once and returns the snapshot. */
  sample(): DashboardSnapshot {
    const now = this.options.clock.now();
    const own = this.readLatencies(now);
    const components: DashboardComponentView[] = [];
    for (let i = 0; i < this.names.length; i++) {
      components.push(this.view(i, now));
      this.latencyOf[i] = undefined;
    }
    for (const card of own) components.push(card);
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return { seq: ++this.seq, t: this.seconds(), components, alerts: [...this.firing.values()], alertEvents: events, knobEvents: this.knobEvents.slice() };
  }

  private view(i: number, now: number): DashboardComponentView {
    const name = this.names[i]!;
    const source = this.list[i]!;
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
    if (kind === 'circuit-breaker') {
      if (state !== undefined) view.breakerState = state; // a breaker's own state is its breaker state
    } else {
      if (state !== undefined) view.state = state;
      const breaker = s.breaker as Stats | undefined;
      if (typeof breaker === 'object' && breaker !== null && typeof breaker.state === 'string') view.breakerState = breaker.state;
    }

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

    const before = this.prevAt[i]!;
    const seconds = Number.isNaN(before) ? 0 : (now - before) / 1000;
    const inTotal = inCounter(kind, s);
    if (inTotal !== undefined) {
      view.inTotal = inTotal;
      view.inRate = rate(inTotal, this.prevIn[i]!, seconds);
    }
    const outTotal = outCounter(kind, s);
    if (outTotal !== undefined) {
      view.outTotal = outTotal;
      view.outRate = rate(outTotal, this.prevOut[i]!, seconds);
    }
    const droppedBy = drops(s);
    if (droppedBy) {
      view.droppedBy = droppedBy;
      view.dropped = num(s, 'dropped') ?? Object.values(droppedBy).reduce((a, b) => a + b, 0);
      view.dropRateBy = this.dropRates(i, droppedBy, seconds);
    } else {
      this.prevDropReasons[i] = this.prevDropTotals[i] = undefined;
    }
    let blockedMs: number | undefined;
    for (const key of BLOCKED_COUNTERS) blockedMs ??= num(s, key);
    if (blockedMs !== undefined) view.blockedMsPerSec = rate(blockedMs, this.prevBlocked[i]!, seconds);

    const gauges = pick(s, COUNT_GAUGES, s.gauges);
    if (gauges) view.gauges = gauges;
    const timings = pick(s, TIMING_GAUGES);
    if (timings) view.timings = timings;
    signals(kind, s, view);
    breakdowns(kind, s, view);
    const latency = this.latencyOf[i] ?? latencyFromStats(s);
    if (latency) view.latency = latency;

    this.prevAt[i] = now;
    this.prevIn[i] = inTotal ?? NaN;
    this.prevOut[i] = outTotal ?? NaN;
    this.prevBlocked[i] = blockedMs ?? NaN;
    return view;
  }

  /** Drops per second by reason against the previous reading of component `i`, which then becomes this one. */
  private dropRates(i: number, droppedBy: Record<string, number>, seconds: number): Record<string, number> {
    const reasons = this.prevDropReasons[i];
    const totals = this.prevDropTotals[i];
    const rates: Record<string, number> = {};
    // Usually the same reasons in the same order as last time: compared in step, no lookup.
    let same = reasons !== undefined;
    let k = 0;
    for (const reason in droppedBy) {
      const total = droppedBy[reason]!;
      let previous = NaN;
      if (reasons !== undefined) {
        if (same && reasons[k] === reason) previous = totals![k]!;
        else {
          same = false;
          const at = reasons.indexOf(reason);
          if (at >= 0) previous = totals![at]!;
        }
      }
      rates[reason] = rate(total, previous, seconds);
      k++;
    }
    if (same && k === reasons!.length) {
      k = 0;
      for (const reason in droppedBy) totals![k++] = droppedBy[reason]!;
    } else {
      const keys = Object.keys(droppedBy);
      this.prevDropReasons[i] = this.sharedReasons(keys);
      this.prevDropTotals[i] = keys.map((reason) => droppedBy[reason]!);
    }
    return rates;
  }

  /** One array per distinct list of reasons (every Channel has the same), so components do not each keep a copy. */
  private sharedReasons(keys: string[]): readonly string[] {
    const key = keys.join('\u0000');
    const shared = this.reasonSets.get(key);
    if (shared) return shared;
    if (this.reasonSets.size < MAX_SHARED_REASON_SETS) this.reasonSets.set(key, keys);
    return keys;
  }

  /**
   * Reads every histogram, keeps the reading for later windows, and leaves the
   * percentiles of the window in {@link latencyOf} for the component of the
   * same name. Returns the cards of histograms that name no component.
   */
  private readLatencies(now: number): DashboardComponentView[] {
    const own: DashboardComponentView[] = [];
    const source = this.options.latency;
    if (!source) return own;
    const windowStart = now - this.options.latencyWindowMs;
    const order = this.trackOrder;
    let k = 0;
    for (const [name, histogram] of source.entries()) {
      const snapshot = histogram.snapshot();
      let track = order[k];
      if (track === undefined || track.name !== name) {
        track = this.tracks.get(name);
        if (!track) {
          track = new LatencyTrack(name, this.indexOf.get(name) ?? -1, snapshot.bucketsMs.length);
          this.tracks.set(name, track);
        }
        order[k] = track;
      }
      k++;
      track.prune(windowStart);
      track.push(now, snapshot);
      const window = this.windowOf(track, snapshot);
      const p50 = histogramPercentile(window, 0.5);
      if (p50 === undefined) continue;
      const latency: LatencyPercentiles = {
        p50: round(p50),
        p90: round(histogramPercentile(window, 0.9)!),
        p99: round(histogramPercentile(window, 0.99)!),
        count: window.count,
      };
      if (track.component >= 0) this.latencyOf[track.component] = latency;
      else own.push({ name, kind: 'latency', latency });
    }
    order.length = k;
    return own;
  }

  /**
   * The observations of `snapshot` since the track's oldest reading (the
   * window's baseline); all of them at the track's first reading or when the
   * histogram went backwards (a reset).
   */
  private windowOf(track: LatencyTrack, snapshot: HistogramSnapshot): HistogramSnapshot {
    if (track.readings < 2) return snapshot;
    const ring = track.ring;
    const o = track.offset(0);
    const baseCount = ring[o + 1]!;
    if (baseCount > snapshot.count) return snapshot;
    const window = this.window;
    const buckets = snapshot.bucketsMs.length;
    const counts = window.cumulativeCounts;
    counts.length = buckets;
    const later = snapshot.cumulativeCounts;
    for (let j = 0; j < buckets; j++) counts[j] = (later[j] ?? 0) - ring[o + 2 + j]!;
    window.bucketsMs = snapshot.bucketsMs;
    window.count = snapshot.count - baseCount;
    return window;
  }
}
