import { systemClock, type Clock } from '../../core/clock/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import type { HistogramSnapshot } from '../../core/metrics/index.js';

/**
 * What the dashboard shows: anything with a `stats()` snapshot. A `Channel`
 * also carries its watermarks, which are drawn on the buffer chart; for other
 * components (a `BatchWriter`, your own) wrap them to add the lines:
 * `{ stats: () => writer.stats(), highWatermark: 0.8, lowWatermark: 0.2 }`.
 */
export interface DashboardSource {
  stats(): object;
  /** Fraction of capacity at which the component is pressured; drawn as a horizontal line. */
  readonly highWatermark?: number;
  /** Fraction of capacity at which pressure turns off; drawn as a horizontal line. */
  readonly lowWatermark?: number;
  /** One line of plain text under the card's title: what this component is. */
  readonly description?: string;
  /**
   * Runtime setting changes ("knob events": `setRate()`, `setLimit()`,
   * `resize()`, …). Components with runtime setters have it; the dashboard
   * subscribes at construction, records each event (time, component, setting,
   * previous → value) and unsubscribes on `close()`. A wrapper can forward
   * it: `{ stats: () => writer.stats(), onReconfigure: (l) => writer.onReconfigure(l) }`.
   */
  onReconfigure?(listener: (event: DashboardReconfigureEvent) => void): () => void;
}

/** The fields of a component's `onReconfigure` event the dashboard reads. */
export interface DashboardReconfigureEvent {
  setting: string;
  previous: unknown;
  value: unknown;
}

/** Components to show, by the name that titles their card. */
export type DashboardSources = Readonly<Record<string, DashboardSource>>;

/** The fields of an alert event the dashboard reads (an `AlertMonitor`'s `AlertEvent` has them). */
export interface DashboardAlertEvent {
  component: string;
  rule: string;
  state: 'firing' | 'resolved';
  value: number;
  threshold: number;
  unit?: string;
}

/** Where alerts come from: an `AlertMonitor`, or anything with the same `onAlert`. */
export interface DashboardAlertSource {
  onAlert(listener: (event: DashboardAlertEvent) => void): () => void;
  /** Alerts already firing when the dashboard starts. */
  active?(): readonly { component: string; rule: string; value: number; threshold: number }[];
}

/** Latency histograms by component name: a `LatencyRecorder` from `sluice` qualifies. */
export interface DashboardLatencySource {
  entries(): Iterable<[string, { snapshot(): HistogramSnapshot }]>;
}

export interface DashboardOptions {
  /**
   * URL path the dashboard lives under. The page is at `basePath` (a request for
   * it without the trailing slash is redirected), the event stream at
   * `basePath + 'events'`, assets under `basePath + 'assets/'`. Matched against
   * `req.originalUrl` when present (Express), so mount the middleware where this points.
   * @default '/'
   * @example dashboardHandler({ jobs }, { basePath: '/_sluice/' })
   */
  basePath?: string;
  /**
   * Time between snapshots. Every `intervalMs` each component's `stats()` is
   * read once; rates are the counter differences between two snapshots, and
   * the snapshot is sent to every connected page at that moment.
   * @default 500
   * @example dashboardHandler({ jobs }, { intervalMs: 1000 })
   */
  intervalMs?: number;
  /**
   * Alerts to show as badges. The dashboard subscribes at construction and
   * unsubscribes on `close()`; an event is shown from the next snapshot on.
   * @default undefined (no alert badges)
   * @example dashboardHandler({ jobs }, { alerts: new AlertMonitor({ components: { jobs }, thresholds }) })
   */
  alerts?: DashboardAlertSource;
  /**
   * Latency histograms to chart as p50/p90/p99, one per component name found in
   * it. Percentiles cover the observations of the last `latencyWindowMs`,
   * interpolated within histogram buckets.
   * @default undefined (latency only from components whose stats() have `latencyMs: { p50, p90, p99 }`)
   * @example dashboardHandler({ writer }, { latency: recorder })
   */
  latency?: DashboardLatencySource;
  /**
   * Span of observations the latency percentiles cover.
   * @default 5000
   * @example dashboardHandler({ writer }, { latency, latencyWindowMs: 10_000 })
   */
  latencyWindowMs?: number;
  /**
   * Snapshots kept on the server and sent to a page when it connects, so it
   * starts with a filled chart; the page keeps the same number of points.
   * @default 240 (two minutes at 500 ms)
   * @example dashboardHandler({ jobs }, { historySize: 600 })
   */
  historySize?: number;
  /**
   * Most pages streaming at once. Bounds the server's per-client state. A new
   * page always gets a slot: when all are taken, the stalest stream is ended
   * (one whose connection stopped accepting data first, else the one with
   * the most unsent bytes, else the oldest), so idle clients cannot lock viewers out.
   * @default 32
   * @example dashboardHandler({ jobs }, { maxClients: 4 })
   */
  maxClients?: number;
  /**
   * A page whose connection accepts nothing for this long (its send buffer
   * stays full: the client does not read) is disconnected, freeing its slot
   * and its buffered bytes. Checked at every snapshot.
   * @default 15000
   * @example dashboardHandler({ jobs }, { clientStallTimeoutMs: 5000 })
   */
  clientStallTimeoutMs?: number;
  /**
   * Knob events (a component's runtime setting changes, from its
   * `onReconfigure`) kept, newest last: every snapshot carries them as
   * `knobEvents`, so `/snapshot.json` and a page that connects late show the
   * recent ones. Older ones are forgotten. 0 turns the recording off.
   * @default 20
   * @example dashboardHandler({ jobs, limiter }, { knobEventsKept: 100 })
   */
  knobEventsKept?: number;
  /**
   * Title of the page.
   * @default 'Sluice'
   * @example dashboardHandler({ jobs }, { title: 'Ingest — production' })
   */
  title?: string;
  /**
   * One line under the title, plain text.
   * @default ''
   * @example dashboardHandler({ jobs }, { subtitle: 'orders pipeline, eu-west-1' })
   */
  subtitle?: string;
  /**
   * Time source for the snapshot timer, rates and the latency window.
   * @default systemClock
   * @example dashboardHandler({ jobs }, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ResolvedDashboardOptions {
  basePath: string;
  intervalMs: number;
  alerts: DashboardAlertSource | undefined;
  latency: DashboardLatencySource | undefined;
  latencyWindowMs: number;
  historySize: number;
  maxClients: number;
  clientStallTimeoutMs: number;
  knobEventsKept: number;
  title: string;
  subtitle: string;
  clock: Clock;
}

export function resolveDashboardOptions(options: DashboardOptions | undefined): ResolvedDashboardOptions {
  const o = v.optionsObject(options, 'dashboardHandler', {
    basePath: true, intervalMs: true, alerts: true, latency: true, latencyWindowMs: true, historySize: true,
    maxClients: true, clientStallTimeoutMs: true, knobEventsKept: true, title: true, subtitle: true, clock: true,
  });
  let basePath = o.basePath ?? '/';
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s]/.test(basePath)) {
    throw new InvalidOptionError('basePath', basePath, "a URL path starting with '/', without query, fragment or spaces");
  }
  if (!basePath.endsWith('/')) basePath += '/';
  const intervalMs = v.number('intervalMs', o.intervalMs, 500, { min: 10 });
  const alerts = o.alerts;
  if (alerts !== undefined && (alerts === null || typeof alerts.onAlert !== 'function')) {
    throw new InvalidOptionError('alerts', alerts, 'an AlertMonitor or an object with onAlert(listener)');
  }
  const latency = o.latency;
  if (latency !== undefined && (latency === null || typeof latency.entries !== 'function')) {
    throw new InvalidOptionError('latency', latency, 'a LatencyRecorder or an object with entries()');
  }
  const latencyWindowMs = v.number('latencyWindowMs', o.latencyWindowMs, 5000, { min: intervalMs });
  const historySize = v.integer('historySize', o.historySize, 240, { min: 2, max: 100_000 });
  const maxClients = v.integer('maxClients', o.maxClients, 32, { min: 1 });
  const clientStallTimeoutMs = v.number('clientStallTimeoutMs', o.clientStallTimeoutMs, 15_000, { min: 0, minExclusive: true });
  const knobEventsKept = v.integer('knobEventsKept', o.knobEventsKept, 20, { min: 0, max: 10_000 });
  const title = o.title ?? 'Sluice';
  if (typeof title !== 'string') throw new InvalidOptionError('title', title, 'a string');
  const subtitle = o.subtitle ?? '';
  if (typeof subtitle !== 'string') throw new InvalidOptionError('subtitle', subtitle, 'a string');
  const clock = resolveClock('clock', o.clock, systemClock);
  return { basePath, intervalMs, alerts, latency, latencyWindowMs, historySize, maxClients, clientStallTimeoutMs, knobEventsKept, title, subtitle, clock };
}
