import type { DashboardComponentView, DashboardSnapshot } from '../dashboard/index.js';

/** The component that limits the system, and why, in one line. */
export interface BottleneckVerdict {
  /** Component name. */
  component: string;
  /** 'limit': in flight at its concurrency limit; 'full': buffer at or above its high watermark; 'growing': buffer or backlog growing. */
  cause: 'limit' | 'full' | 'growing';
  /** One line, e.g. `sqlite-writer: full at 5,000/5,000 (high watermark 80%) for 12 s while its input fills at 180,000 items/s (fleet)`. */
  reason: string;
  /** Ms the component has been saturated without a break, when known (live view only). */
  forMs?: number;
  /** Items per second piling up before it (the nearest upstream component that grows and is not full), when any. */
  inputFillRatePerSec?: number;
  /** Components after it in the order used (none of them pinned). */
  after: string[];
}

/** How a component reads at one snapshot. */
export interface Pressure {
  pinned: 'limit' | 'full' | undefined;
  /** Items per second by which its queue grows (> 0), else 0. */
  growth: number;
  saturated: boolean;
}

/** High watermark assumed when a component reports none (the Channel default). */
export const DEFAULT_HIGH_WATERMARK = 0.8;

function gauge(view: DashboardComponentView, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const n = view.gauges?.[key];
    if (typeof n === 'number' && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** In-flight count and limit of a component, when it has both. */
export function limitOf(view: DashboardComponentView): { inflight: number; limit: number } | undefined {
  const limit = gauge(view, 'limit', 'window');
  const inflight = gauge(view, 'inflight', 'inFlight');
  return limit !== undefined && inflight !== undefined && limit > 0 ? { inflight, limit } : undefined;
}

/**
 * Growth of a component's queue in items per second: the buffer's fill rate
 * when it reports one (only while it is not full yet or time to full is known),
 * else in-rate minus out-rate for a component with a size (a backlog such as a
 * log fleet or a broker), counted only above 5 % of the in-rate so rounding
 * between two readings is not called growth.
 */
export function growthOf(view: DashboardComponentView): number {
  if (view.fillRatePerSec !== undefined) return view.fillRatePerSec > 0 && view.timeToFullMs !== undefined ? view.fillRatePerSec : 0;
  if (view.size !== undefined && view.size > 0 && view.inRate !== undefined && view.outRate !== undefined) {
    const d = view.inRate - view.outRate;
    return d > Math.max(1, 0.05 * view.inRate) ? d : 0;
  }
  return 0;
}

/** Pinned (at its limit, or its buffer at or over the high watermark) or growing. */
export function pressureOf(view: DashboardComponentView): Pressure {
  let pinned: Pressure['pinned'];
  const l = limitOf(view);
  if (l && l.inflight >= l.limit - Math.max(0.5, 0.05 * l.limit)) pinned = 'limit';
  else if (view.utilization !== undefined && view.utilization >= (view.highWatermark ?? DEFAULT_HIGH_WATERMARK)) pinned = 'full';
  const growth = growthOf(view);
  return { pinned, growth, saturated: pinned !== undefined || growth > 0 };
}

/**
 * Orders the components for the search: names in `order` first, in that
 * order, then the rest as the snapshot lists them (the order the service
 * registered them with the dashboard, upstream first by convention).
 */
export function orderComponents(components: readonly DashboardComponentView[], order: readonly string[] = []): DashboardComponentView[] {
  const rank = new Map(order.map((name, i) => [name, i]));
  return components
    .map((c, i) => ({ c, key: rank.get(c.name) ?? order.length + i }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.c);
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `12 s`, `2.5 s`, `3 min`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** What a {@link SaturationTracker} holds for one component. */
export interface HeldSaturation {
  /** Ms since the component became saturated, this episode. */
  forMs: number;
  /** The last saturated reading: used while a short dip (a batch just flushed) lasts less than the grace period. */
  pressure: Pressure;
}

/**
 * Remembers since when each component has been saturated, across the
 * snapshots of a live view, for "for 12 s" in the reason. A component that
 * stops being saturated for less than `graceMs` (a writer whose buffer drops
 * for a moment when a batch leaves) keeps its episode and its last saturated
 * reading, so the verdict does not flicker between it and its upstream.
 */
export class SaturationTracker {
  private readonly episodes = new Map<string, { since: number; lastAt: number; pressure: Pressure }>();

  constructor(private readonly graceMs = 2000) {}

  /** Records one snapshot taken at `nowMs` (ms, any origin, not decreasing). */
  update(components: readonly DashboardComponentView[], nowMs: number): Map<string, HeldSaturation> {
    const out = new Map<string, HeldSaturation>();
    for (const c of components) {
      const p = pressureOf(c);
      const e = this.episodes.get(c.name);
      if (p.saturated) {
        const since = e && nowMs - e.lastAt <= this.graceMs ? e.since : nowMs;
        this.episodes.set(c.name, { since, lastAt: nowMs, pressure: p });
        out.set(c.name, { forMs: nowMs - since, pressure: p });
      } else if (e && nowMs - e.lastAt <= this.graceMs) {
        out.set(c.name, { forMs: nowMs - e.since, pressure: e.pressure });
      } else {
        this.episodes.delete(c.name);
      }
    }
    return out;
  }
}

/**
 * Names the bottleneck of a snapshot: the last component in pipeline order
 * that is pinned (in flight at its limit, or its buffer at or over its high
 * watermark), else the last one whose queue grows. A full buffer upstream of
 * a pinned one is its victim, not its cause: it fills because the component
 * after it takes no more. A growing queue after it (no bound, so never
 * pinned) is taken for a side branch, not the cause. Returns undefined when
 * nothing is pinned or growing.
 *
 * Order: `order` names first, then the snapshot's own order (see
 * {@link orderComponents}). `held` (from a {@link SaturationTracker}) adds
 * "for N s" and bridges short dips.
 */
export function findBottleneck(
  snapshot: Pick<DashboardSnapshot, 'components'>,
  options: { order?: readonly string[]; held?: ReadonlyMap<string, HeldSaturation> } = {},
): BottleneckVerdict | undefined {
  const ordered = orderComponents(snapshot.components, options.order).filter((c) => c.error === undefined);
  const pressures = ordered.map((c) => {
    const p = pressureOf(c);
    return p.saturated ? p : (options.held?.get(c.name)?.pressure ?? p);
  });
  // Pinned first: a component at its limit or over its high watermark is at
  // capacity, while a growing queue without one may be a victim upstream or a
  // side branch. Within a rank, the one furthest downstream.
  let at = -1;
  for (let i = ordered.length - 1; i >= 0 && at < 0; i--) if (pressures[i]!.pinned) at = i;
  for (let i = ordered.length - 1; i >= 0 && at < 0; i--) if (pressures[i]!.growth > 0) at = i;
  if (at < 0) return undefined;
  const view = ordered[at]!;
  const p = pressures[at]!;
  const cause: BottleneckVerdict['cause'] = p.pinned ?? 'growing';
  let what: string;
  if (cause === 'limit') {
    const l = limitOf(view)!;
    what = `pinned at ${int(l.inflight)}/${int(l.limit)} in flight`;
  } else if (cause === 'full') {
    const hw = Math.round((view.highWatermark ?? DEFAULT_HIGH_WATERMARK) * 100);
    what =
      view.size !== undefined && view.capacity !== undefined
        ? `${view.size >= view.capacity ? 'full' : 'filling'} at ${int(view.size)}/${int(view.capacity)} (high watermark ${hw}%)`
        : `at ${Math.round((view.utilization ?? 0) * 100)}% (high watermark ${hw}%)`;
  } else {
    what = `queue grows at ${int(p.growth)} items/s${view.timeToFullMs !== undefined ? `, full in ${formatDuration(view.timeToFullMs)}` : ''}`;
  }
  const forMs = options.held?.get(view.name)?.forMs;
  if (forMs !== undefined && forMs >= 1000) what += ` for ${formatDuration(forMs)}`;
  // What piles up before it: the nearest upstream component that grows and still has room.
  let input: { name: string; rate: number } | undefined;
  for (let i = at - 1; i >= 0; i--) {
    const u = ordered[i]!;
    if (pressures[i]!.growth > 0 && !(u.utilization !== undefined && u.utilization >= 1)) {
      input = { name: u.name, rate: pressures[i]!.growth };
      break;
    }
  }
  let tail = '';
  if (input) tail = ` while its input fills at ${int(input.rate)} items/s (${input.name})`;
  else if (cause !== 'growing' && view.inRate !== undefined && view.inRate > 0) tail = ` taking ${int(view.inRate)} items/s`;
  const verdict: BottleneckVerdict = { component: view.name, cause, reason: `${view.name}: ${what}${tail}`, after: ordered.slice(at + 1).map((c) => c.name) };
  if (forMs !== undefined) verdict.forMs = forMs;
  if (input) verdict.inputFillRatePerSec = Math.round(input.rate * 100) / 100;
  return verdict;
}
