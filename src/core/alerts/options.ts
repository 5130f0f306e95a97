import { systemClock, type Clock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { describeNonSource, isStatsSource } from '../../internal/stats-sources.js';

/** The things an {@link AlertMonitor} watches, one rule per threshold. */
export type AlertRule = 'queue_depth' | 'drop_rate' | 'blocked_time' | 'lag' | 'slope' | 'time_to_full';
export const alertRules: readonly AlertRule[] = ['queue_depth', 'drop_rate', 'blocked_time', 'lag', 'slope', 'time_to_full'];

/** Anything with a `stats()` snapshot: every Sluice component qualifies. */
export interface StatsSource {
  stats(): object;
}

/** How full a queue may get: a fraction of its capacity, or a count of items. */
export type QueueDepthThreshold = { utilization: number } | { items: number };

/** How far a broker may fall behind: messages in the backlog, or the lag source's pressure (backlog / its threshold). */
export type LagThreshold = { items: number } | { pressure: number };

export interface AlertThresholds {
  /**
   * Fires when a component's fill level is at or above this: `{ utilization: 0.9 }`
   * reads `stats().utilization` (or `size / capacity`), `{ items: 5000 }` reads `stats().size`.
   * Components whose stats have neither are not checked.
   * @default undefined (not checked)
   * @example new AlertMonitor({ components: { jobs }, thresholds: { queueDepth: { utilization: 0.9 } } })
   */
  queueDepth?: QueueDepthThreshold;
  /**
   * Fires when, over the last `windowMs`, dropped items divided by offered items
   * is at or above this fraction. Reads `stats().dropped` / `stats().offered`
   * (Channel), or `rejected` / (`acquired` + `rejected`) for the limiters.
   * A window with nothing offered reads 0.
   * @default undefined (not checked)
   * @example new AlertMonitor({ components: { jobs }, thresholds: { dropRate: 0.01 } }) // 1 %
   */
  dropRate?: number;
  /**
   * Fires when a producer has been blocked for at least this many ms: the
   * value is the longest current block, the age of the oldest producer (or
   * caller) still waiting, read from `stats().longestBlockedMs` (Channel,
   * DurableChannel, TokenBucket, Credits, CongestionWindow). It is 0 when
   * nobody waits, so the alert resolves once the queue moves again. Components
   * without the field are not checked. (Sluice 0.1.0 read blocked ms per
   * second summed over producers, which a single long block never reached.)
   * @default undefined (not checked)
   * @example new AlertMonitor({ components: { jobs }, thresholds: { blockedTime: 5000 } }) // a producer stuck 5 s
   */
  blockedTime?: number;
  /**
   * Fires when a broker's backlog, read by a lag source (`streamLag` of
   * sluice/redis, `queueDepth` of sluice/amqp, `jetStreamLag` of sluice/nats),
   * is at or above this: `{ items: 10_000 }` reads `stats().backlog` (messages
   * not yet delivered plus delivered and not acknowledged), `{ pressure: 1 }`
   * reads `stats().pressure` (the backlog divided by the source's own
   * `threshold`). A source that cannot poll keeps its last reading (see its
   * `stats().stale`). Components that are not lag sources are not checked.
   * @default undefined (not checked)
   * @example new AlertMonitor({ components, thresholds: { lag: { items: 10_000 } } }) // components: { billing: streamLag(redis, { stream, group, threshold }) }
   */
  lag?: LagThreshold;
  /**
   * Fires when a trend's slope, in the units of its reading per second, is at
   * or above this: `stats().slope` of a `trend()` (1 = the source's threshold,
   * so `0.05` is "5 % of the threshold more every second"). Components
   * without a slope are not checked; for a buffer's fill rate use `timeToFull`.
   * @default undefined (not checked)
   * @example new AlertMonitor({ components: { jobs: trend(channelPressure(jobs)) }, thresholds: { slope: 0.05 } })
   */
  slope?: number;
  /**
   * Fires when a buffer will be full within this many ms at its current fill
   * rate, so the alert comes before it is full: reads `stats().timeToFullMs`
   * (Channel, DurableChannel, BatchWriter; 0 when full, `Infinity` while not
   * filling) or a trend's `stats().timeToThresholdMs`. The comparison is the
   * other way round from the other rules: it fires when the value is at or
   * below the threshold, and resolves once it is above `threshold / resolveRatio`
   * (or `Infinity`, the buffer no longer filling). A channel's fill rate is
   * measured between `stats()` readings, which each evaluation takes.
   * @default undefined (not checked)
   * @example new AlertMonitor({ components: { jobs }, thresholds: { timeToFull: 30_000 } }) // full within 30 s
   */
  timeToFull?: number;
}

export interface AlertMonitorOptions {
  /**
   * The components to watch, by name; the name is the `component` of every event.
   * @default none (required)
   * @example new AlertMonitor({ components: { input: channel, api: limiter }, thresholds })
   */
  components: Record<string, StatsSource>;
  /**
   * The rules and their thresholds. Give at least one.
   * @default none (required)
   * @example const thresholds: AlertThresholds = { queueDepth: { utilization: 0.9 }, dropRate: 0.01, blockedTime: 5000 };
   */
  thresholds: AlertThresholds;
  /**
   * Time between evaluations once {@link AlertMonitor.start} was called.
   * Every evaluation reads each component's `stats()` once.
   * @default 1000
   * @example new AlertMonitor({ components, thresholds, intervalMs: 10_000 })
   */
  intervalMs?: number;
  /**
   * Span over which `drop_rate` is computed (`blocked_time` is a current value). Until that much
   * time has passed since `start()`, they cover the time since `start()`.
   * @default 60000
   * @example new AlertMonitor({ components, thresholds, windowMs: 10_000 })
   */
  windowMs?: number;
  /**
   * How long a value must stay at or above its threshold before the alert fires.
   * Measured between evaluations, so it is effectively rounded up to a multiple
   * of `intervalMs`; 0 fires at the first evaluation that sees it.
   * @default 0
   * @example new AlertMonitor({ components, thresholds, forMs: 30_000 })
   */
  forMs?: number;
  /**
   * Hysteresis: a firing alert resolves only once its value is below
   * `threshold × resolveRatio` (for `timeToFull`, above `threshold / resolveRatio`),
   * so a value hovering at the threshold does not flap. In (0, 1]; 1 resolves
   * as soon as the value is back on the right side of the threshold.
   * @default 0.9
   * @example new AlertMonitor({ components, thresholds, resolveRatio: 0.75 })
   */
  resolveRatio?: number;
  /**
   * How long a value must stay below the resolve level before a firing alert resolves.
   * @default forMs
   * @example new AlertMonitor({ components, thresholds, forMs: 30_000, resolveForMs: 60_000 })
   */
  resolveForMs?: number;
  /**
   * Receives one human-readable line per transition (firing or resolved), after
   * the listeners ran. `false` turns logging off.
   * @default console.warn
   * @example new AlertMonitor({ components, thresholds, log: (line) => logger.warn(line) })
   */
  log?: ((line: string) => void) | false;
  /**
   * Time source for evaluations, `forMs` and the rate windows.
   * @default systemClock
   * @example new AlertMonitor({ components, thresholds, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ResolvedAlertOptions {
  names: string[];
  sources: StatsSource[];
  queueDepth: QueueDepthThreshold | undefined;
  dropRate: number | undefined;
  blockedTime: number | undefined;
  lag: LagThreshold | undefined;
  slope: number | undefined;
  timeToFull: number | undefined;
  intervalMs: number;
  windowMs: number;
  forMs: number;
  resolveRatio: number;
  resolveForMs: number;
  log: ((line: string) => void) | undefined;
  clock: Clock;
}

export function resolveAlertOptions(options: AlertMonitorOptions): ResolvedAlertOptions {
  const o = v.optionsObject(options, 'AlertMonitor', {
    components: true, thresholds: true, intervalMs: true, windowMs: true, forMs: true, resolveRatio: true,
    resolveForMs: true, log: true, clock: true,
  });
  const components = o.components;
  if (components === null || typeof components !== 'object') {
    throw new InvalidOptionError('components', components, 'an object of named components, e.g. { jobs: channel }');
  }
  const names: string[] = [];
  const sources: StatsSource[] = [];
  for (const [name, source] of Object.entries(components)) {
    if (!isStatsSource(source)) {
      // The value is described briefly here: the error's own rendering would
      // print a large object whole.
      throw new InvalidOptionError(`components.${name}`, describeNonSource(source), 'an object or function with a stats() method');
    }
    names.push(name);
    sources.push(source);
  }
  if (names.length === 0) throw new InvalidOptionError('components', components, 'at least one named component');

  const t = o.thresholds;
  if (t === null || typeof t !== 'object') {
    throw new InvalidOptionError('thresholds', t, 'an object with queueDepth, dropRate, blockedTime, lag, slope and/or timeToFull');
  }
  let queueDepth: QueueDepthThreshold | undefined;
  if (t.queueDepth !== undefined) {
    const q = t.queueDepth as Partial<{ utilization: unknown; items: unknown }> | null;
    if (q !== null && typeof q === 'object' && 'utilization' in q && !('items' in q)) {
      queueDepth = { utilization: v.requiredNumber('thresholds.queueDepth.utilization', q.utilization, { min: 0, minExclusive: true, max: 1 }) };
    } else if (q !== null && typeof q === 'object' && 'items' in q && !('utilization' in q)) {
      queueDepth = { items: v.requiredInteger('thresholds.queueDepth.items', q.items, { min: 1 }) };
    } else {
      throw new InvalidOptionError('thresholds.queueDepth', q, '{ utilization: fraction in (0, 1] } or { items: integer >= 1 }');
    }
  }
  const dropRate = t.dropRate === undefined ? undefined : v.requiredNumber('thresholds.dropRate', t.dropRate, { min: 0, minExclusive: true, max: 1 });
  const blockedTime = v.optionalNumber('thresholds.blockedTime', t.blockedTime, { min: 0, minExclusive: true });
  let lag: LagThreshold | undefined;
  if (t.lag !== undefined) {
    const l = t.lag as Partial<{ items: unknown; pressure: unknown }> | null;
    if (l !== null && typeof l === 'object' && 'items' in l && !('pressure' in l)) {
      lag = { items: v.requiredInteger('thresholds.lag.items', l.items, { min: 1 }) };
    } else if (l !== null && typeof l === 'object' && 'pressure' in l && !('items' in l)) {
      lag = { pressure: v.requiredNumber('thresholds.lag.pressure', l.pressure, { min: 0, minExclusive: true }) };
    } else {
      throw new InvalidOptionError('thresholds.lag', l, '{ items: integer >= 1 } or { pressure: number > 0 }');
    }
  }
  const slope = v.optionalNumber('thresholds.slope', t.slope, { min: 0, minExclusive: true });
  const timeToFull = v.optionalNumber('thresholds.timeToFull', t.timeToFull, { min: 0, minExclusive: true });
  if (queueDepth === undefined && dropRate === undefined && blockedTime === undefined && lag === undefined && slope === undefined && timeToFull === undefined) {
    throw new InvalidOptionError('thresholds', t, 'at least one of queueDepth, dropRate, blockedTime, lag, slope, timeToFull');
  }

  const intervalMs = v.number('intervalMs', o.intervalMs, 1000, { min: 0, minExclusive: true });
  const windowMs = v.number('windowMs', o.windowMs, 60_000, { min: 0, minExclusive: true });
  const forMs = v.number('forMs', o.forMs, 0, { min: 0 });
  const resolveRatio = v.number('resolveRatio', o.resolveRatio, 0.9, { min: 0, minExclusive: true, max: 1 });
  const resolveForMs = v.number('resolveForMs', o.resolveForMs, forMs, { min: 0 });
  let log: ((line: string) => void) | undefined;
  if (o.log === undefined) log = (line) => console.warn(line);
  else if (o.log !== false) log = v.requiredFunction<(line: string) => void>('log', o.log);
  const clock = resolveClock('clock', o.clock, systemClock);
  return { names, sources, queueDepth, dropRate, blockedTime, lag, slope, timeToFull, intervalMs, windowMs, forMs, resolveRatio, resolveForMs, log, clock };
}
