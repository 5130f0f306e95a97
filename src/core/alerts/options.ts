import { systemClock, type Clock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { describeNonSource, isStatsSource } from '../../internal/stats-sources.js';

/** The three things an {@link AlertMonitor} watches. */
export type AlertRule = 'queue_depth' | 'drop_rate' | 'blocked_time';
export const alertRules: readonly AlertRule[] = ['queue_depth', 'drop_rate', 'blocked_time'];

/** Anything with a `stats()` snapshot: every Sluice component qualifies. */
export interface StatsSource {
  stats(): object;
}

/** How full a queue may get: a fraction of its capacity, or a count of items. */
export type QueueDepthThreshold = { utilization: number } | { items: number };

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
   * `threshold × resolveRatio`, so a value hovering at the threshold does not
   * flap. In (0, 1]; 1 resolves as soon as the value is under the threshold.
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
    throw new InvalidOptionError('thresholds', t, 'an object with queueDepth, dropRate and/or blockedTime');
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
  if (queueDepth === undefined && dropRate === undefined && blockedTime === undefined) {
    throw new InvalidOptionError('thresholds', t, 'at least one of queueDepth, dropRate, blockedTime');
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
  return { names, sources, queueDepth, dropRate, blockedTime, intervalMs, windowMs, forMs, resolveRatio, resolveForMs, log, clock };
}
