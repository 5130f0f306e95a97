import type { Clock, TimerHandle } from '../clock/index.js';
import { resolveAlertOptions, type AlertMonitorOptions, type AlertRule, type LagThreshold, type QueueDepthThreshold, type StatsSource } from './options.js';
import { InvalidArgumentError } from '../errors/index.js';
import { describe } from '../../internal/describe.js';

/** One transition of one rule on one component. */
export interface AlertEvent {
  /** The component's name, as given in `components`. */
  component: string;
  rule: AlertRule;
  /**
   * `'firing'` when the value crossed the threshold (for `forMs`), `'resolved'` when it fell back below
   * `threshold × resolveRatio` (for `resolveForMs`). `time_to_full` fires at or below its threshold and
   * resolves above `threshold / resolveRatio`.
   */
  state: 'firing' | 'resolved';
  /** The value at the evaluation that caused the transition. */
  value: number;
  threshold: number;
  /**
   * What `value` and `threshold` measure: `'pressure'` is a reading divided by
   * its threshold (`lag` given as `{ pressure }`), `'per_second'` a trend's
   * change per second (`slope`), `'ms'` a time (`blocked_time`, `time_to_full`).
   */
  unit: 'utilization' | 'items' | 'fraction' | 'ms' | 'pressure' | 'per_second';
  /** Clock time of the evaluation. */
  at: number;
}

/** An alert that is firing now. */
export interface ActiveAlert {
  component: string;
  rule: AlertRule;
  /** Value at the latest evaluation. */
  value: number;
  threshold: number;
  /** Clock time at which it fired. */
  since: number;
}

export interface AlertMonitorStats {
  /** Evaluations run so far (timer-driven and manual). */
  evaluations: number;
  /** Alerts firing now. */
  firing: number;
  /** Transitions to firing so far. */
  fired: number;
  /** Transitions to resolved so far. */
  resolved: number;
  running: boolean;
}

interface Readings {
  utilization: number | undefined;
  items: number | undefined;
  offered: number | undefined;
  dropped: number | undefined;
  longestBlockedMs: number | undefined;
  lagItems: number | undefined;
  lagPressure: number | undefined;
  slope: number | undefined;
  timeToFullMs: number | undefined;
}

const RULE_COUNT = 6;
const QUEUE_DEPTH = 0;
const DROP_RATE = 1;
const BLOCKED_TIME = 2;
const LAG = 3;
const SLOPE = 4;
const TIME_TO_FULL = 5;
const RULE_NAMES: readonly AlertRule[] = ['queue_depth', 'drop_rate', 'blocked_time', 'lag', 'slope', 'time_to_full'];
// Bounds the history kept for the rate windows when windowMs / intervalMs is large.
const MAX_HISTORY = 10_000;

/**
 * Watches components' `stats()` on a timer and raises alerts when queue depth,
 * drop rate, blocked time, a broker's lag or a trend's slope cross their
 * thresholds, or a buffer will be full within `timeToFull` at its fill rate,
 * then resolves them when the value falls back, with hysteresis so a value
 * hovering at the threshold does not flap.
 *
 * When: nothing happens until {@link start}; then every `intervalMs` each
 * component's stats are read once and every rule is evaluated. A transition
 * calls the `onAlert` listeners synchronously, then logs one line.
 *
 * @example
 * const monitor = new AlertMonitor({
 *   components: { jobs: channel },
 *   thresholds: { queueDepth: { utilization: 0.9 }, dropRate: 0.01, blockedTime: 5000, timeToFull: 30_000 },
 *   forMs: 30_000,
 * });
 * monitor.onAlert((e) => pager.notify(`${e.component} ${e.rule} ${e.state}`));
 * monitor.start();
 */
export class AlertMonitor {
  readonly intervalMs: number;
  private readonly names: string[];
  private readonly sources: StatsSource[];
  private readonly thresholds: (number | undefined)[];
  private readonly depthInItems: boolean;
  private readonly lagInItems: boolean;
  /** What each rule's value measures, by rule index. */
  private readonly units: readonly AlertEvent['unit'][];
  private readonly windowMs: number;
  private readonly forMs: number;
  private readonly resolveRatio: number;
  private readonly resolveForMs: number;
  private readonly log: ((line: string) => void) | undefined;
  private readonly clock: Clock;
  // Per component × rule: firing or not, and since when the pending transition's condition holds (NaN: not pending).
  private readonly firing: boolean[];
  private readonly firedAt: number[];
  private readonly pendingSince: number[];
  private readonly lastValue: number[];
  // Per component: a ring of past samples for the rate windows.
  private readonly historySize: number;
  private readonly histAt: Float64Array;
  private readonly histOffered: Float64Array;
  private readonly histDropped: Float64Array;
  private histCount = 0;
  private histNext = 0;
  private listeners: ((event: AlertEvent) => void)[] = [];
  private timer: TimerHandle | undefined;
  private readonly tick = (): void => {
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
    this.evaluate();
  };
  private evaluations = 0;
  private firedCount = 0;
  private resolvedCount = 0;

  constructor(options: AlertMonitorOptions) {
    const o = resolveAlertOptions(options);
    this.names = o.names;
    this.sources = o.sources;
    this.depthInItems = o.queueDepth !== undefined && 'items' in o.queueDepth;
    this.lagInItems = o.lag !== undefined && 'items' in o.lag;
    this.units = [this.depthInItems ? 'items' : 'utilization', 'fraction', 'ms', this.lagInItems ? 'items' : 'pressure', 'per_second', 'ms'];
    this.thresholds = [depthThreshold(o.queueDepth), o.dropRate, o.blockedTime, lagThreshold(o.lag), o.slope, o.timeToFull];
    this.intervalMs = o.intervalMs;
    this.windowMs = o.windowMs;
    this.forMs = o.forMs;
    this.resolveRatio = o.resolveRatio;
    this.resolveForMs = o.resolveForMs;
    this.log = o.log;
    this.clock = o.clock;
    const slots = this.names.length * RULE_COUNT;
    this.firing = new Array<boolean>(slots).fill(false);
    this.firedAt = new Array<number>(slots).fill(NaN);
    this.pendingSince = new Array<number>(slots).fill(NaN);
    this.lastValue = new Array<number>(slots).fill(NaN);
    this.historySize = Math.min(MAX_HISTORY, Math.ceil(this.windowMs / this.intervalMs) + 1);
    const n = this.historySize * this.names.length;
    this.histAt = new Float64Array(this.historySize);
    this.histOffered = new Float64Array(n);
    this.histDropped = new Float64Array(n);
  }

  /** Component names, in the order given. */
  get components(): readonly string[] {
    return this.names;
  }

  /**
   * Takes a baseline sample now and evaluates every `intervalMs` from then on.
   * The timer is unref'd: it does not keep the process alive. Calling it while running does nothing.
   */
  start(): void {
    if (this.timer !== undefined) return;
    if (this.histCount === 0) this.sample(this.clock.now());
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  }

  /** Stops the timer. Firing alerts stay firing (no event); `start()` resumes. Idempotent. */
  stop(): void {
    if (this.timer === undefined) return;
    this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /** Calls `listener(event)` on every transition. Returns an unsubscribe function. */
  onAlert(listener: (event: AlertEvent) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`onAlert(listener): listener must be a function, got ${describe(listener)}`);
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Reads every component's stats and evaluates every rule now. The timer calls
   * it; call it yourself to evaluate at a moment of your choosing (without `start()`,
   * the rate windows begin at the first call).
   * @returns the transitions this evaluation caused, also delivered to the listeners.
   */
  evaluate(): AlertEvent[] {
    const now = this.clock.now();
    this.evaluations++;
    const events: AlertEvent[] = [];
    const base = this.baseline(now);
    for (let c = 0; c < this.names.length; c++) {
      const r = readings(this.sources[c]!.stats() as Record<string, unknown>);
      const depth = this.depthInItems ? r.items : r.utilization;
      this.check(c, QUEUE_DEPTH, depth, now, events);
      let dropRate: number | undefined;
      if (base >= 0) {
        const k = base * this.names.length + c;
        if (r.offered !== undefined && r.dropped !== undefined) {
          const offered = r.offered - this.histOffered[k]!;
          dropRate = offered > 0 ? (r.dropped - this.histDropped[k]!) / offered : 0;
        }
      }
      this.check(c, DROP_RATE, dropRate, now, events);
      // A current value, not a window: one producer stuck for 20 s is what a
      // `blockedTime: 5000` reader means, however short the other waits were.
      this.check(c, BLOCKED_TIME, r.longestBlockedMs, now, events);
      this.check(c, LAG, this.lagInItems ? r.lagItems : r.lagPressure, now, events);
      this.check(c, SLOPE, r.slope, now, events);
      this.check(c, TIME_TO_FULL, r.timeToFullMs, now, events);
      this.record(c, r);
    }
    this.commitSample(now);
    for (const event of events) this.emit(event);
    return events;
  }

  /** The alerts firing now. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (let i = 0; i < this.firing.length; i++) {
      if (!this.firing[i]) continue;
      const c = Math.floor(i / RULE_COUNT);
      const rule = i % RULE_COUNT;
      out.push({ component: this.names[c]!, rule: RULE_NAMES[rule]!, value: this.lastValue[i]!, threshold: this.thresholds[rule]!, since: this.firedAt[i]! });
    }
    return out;
  }

  stats(): AlertMonitorStats {
    let firing = 0;
    for (const f of this.firing) if (f) firing++;
    return { evaluations: this.evaluations, firing, fired: this.firedCount, resolved: this.resolvedCount, running: this.timer !== undefined };
  }

  private check(c: number, rule: number, value: number | undefined, now: number, events: AlertEvent[]): void {
    const threshold = this.thresholds[rule];
    if (threshold === undefined || value === undefined || Number.isNaN(value)) return;
    const i = c * RULE_COUNT + rule;
    this.lastValue[i] = value;
    const firing = this.firing[i]!;
    // Pending means: the condition for the opposite state holds, since pendingSince.
    // time_to_full is the other way round: the lower, the worse.
    const wantsChange =
      rule === TIME_TO_FULL ? (firing ? value > threshold / this.resolveRatio : value <= threshold)
      : firing ? value < threshold * this.resolveRatio : value >= threshold;
    if (!wantsChange) {
      this.pendingSince[i] = NaN;
      return;
    }
    if (Number.isNaN(this.pendingSince[i]!)) this.pendingSince[i] = now;
    if (now - this.pendingSince[i]! < (firing ? this.resolveForMs : this.forMs)) return;
    this.pendingSince[i] = NaN;
    this.firing[i] = !firing;
    if (firing) {
      this.resolvedCount++;
    } else {
      this.firedCount++;
      this.firedAt[i] = now;
    }
    const unit = this.units[rule]!;
    events.push({ component: this.names[c]!, rule: RULE_NAMES[rule]!, state: firing ? 'resolved' : 'firing', value, threshold, unit, at: now });
  }

  private emit(event: AlertEvent): void {
    for (const listener of this.listeners) call(() => listener(event));
    if (this.log) this.log(formatAlert(event, this.resolveRatio));
  }

  /** Index of the oldest sample no older than the window (the newest if all are older), -1 when there is none. */
  private baseline(now: number): number {
    if (this.histCount === 0) return -1;
    const size = this.historySize;
    const oldest = (this.histNext - this.histCount + size) % size;
    for (let k = 0; k < this.histCount; k++) {
      const idx = (oldest + k) % size;
      if (now - this.histAt[idx]! <= this.windowMs) return idx;
    }
    return (this.histNext - 1 + size) % size;
  }

  private sample(now: number): void {
    for (let c = 0; c < this.names.length; c++) this.record(c, readings(this.sources[c]!.stats() as Record<string, unknown>));
    this.commitSample(now);
  }

  private record(c: number, r: Readings): void {
    const k = this.histNext * this.names.length + c;
    this.histOffered[k] = r.offered ?? 0;
    this.histDropped[k] = r.dropped ?? 0;
  }

  private commitSample(now: number): void {
    this.histAt[this.histNext] = now;
    this.histNext = (this.histNext + 1) % this.historySize;
    if (this.histCount < this.historySize) this.histCount++;
  }
}

function lagThreshold(l: LagThreshold | undefined): number | undefined {
  if (l === undefined) return undefined;
  return 'items' in l ? l.items : l.pressure;
}

function depthThreshold(q: QueueDepthThreshold | undefined): number | undefined {
  if (q === undefined) return undefined;
  return 'items' in q ? q.items : q.utilization;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && !Number.isNaN(value) ? value : undefined;
}

/** Maps the stats of any Sluice component onto the signals the rules need. */
function readings(s: Record<string, unknown>): Readings {
  const size = num(s.size);
  const capacity = num(s.capacity);
  const utilization = num(s.utilization) ?? (size !== undefined && capacity ? size / capacity : undefined);
  let offered = num(s.offered);
  let dropped = num(s.dropped);
  if (offered === undefined || dropped === undefined) {
    const acquired = num(s.acquired);
    const rejected = num(s.rejected);
    if (acquired !== undefined && rejected !== undefined) {
      offered = acquired + rejected;
      dropped = rejected;
    } else {
      offered = dropped = undefined;
    }
  }
  // A lag source of sluice/redis, sluice/amqp or sluice/nats (see their LagPollStats).
  const lagSource = num(s.backlog) !== undefined && num(s.pollErrors) !== undefined;
  return {
    utilization,
    items: size,
    offered,
    dropped,
    longestBlockedMs: num(s.longestBlockedMs),
    lagItems: lagSource ? num(s.backlog) : undefined,
    lagPressure: lagSource ? num(s.pressure) : undefined,
    slope: num(s.slope),
    timeToFullMs: num(s.timeToFullMs) ?? num(s.timeToThresholdMs),
  };
}

/**
 * The log line for one transition, e.g. `sluice alert FIRING queue_depth on jobs: utilization 0.95 >= 0.9 at 12.5s`
 * or `sluice alert FIRING time_to_full on jobs: ms 4000 <= 5000 at 6s`.
 */
export function formatAlert(e: AlertEvent, resolveRatio = 0.9): string {
  const value = show(e.value, e.unit);
  const below = e.rule === 'time_to_full';
  if (e.state === 'firing') {
    return `sluice alert FIRING ${e.rule} on ${e.component}: ${e.unit} ${value} ${below ? '<=' : '>='} ${show(e.threshold, e.unit)} at ${seconds(e.at)}`;
  }
  const level = below ? e.threshold / resolveRatio : e.threshold * resolveRatio;
  return `sluice alert RESOLVED ${e.rule} on ${e.component}: ${e.unit} ${value} ${below ? '>' : '<'} ${show(level, e.unit)} at ${seconds(e.at)}`;
}

function show(value: number, unit: AlertEvent['unit']): string {
  if (unit === 'items') return String(Math.round(value));
  if (unit === 'ms') return String(Math.round(value));
  return String(Math.round(value * 10_000) / 10_000);
}

function seconds(ms: number): string {
  return `${Math.round(ms) / 1000}s`;
}

// A throwing listener must not stop the others or the evaluation; its error
// surfaces on a fresh stack like any uncaught exception.
function call(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
