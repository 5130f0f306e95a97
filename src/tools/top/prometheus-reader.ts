import type { DashboardComponentView, DashboardSnapshot } from '../dashboard/index.js';

/** One sample of the text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const labelPair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text); // NaN stays NaN
}

/** Parses the Prometheus text exposition format (version 0.0.4); comments and malformed lines are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelPair.lastIndex = 0;
      let l: RegExpExecArray | null;
      while ((l = labelPair.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    out.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return out;
}

/** Per component: the sluice_* families by name without the prefix, each a list of samples. */
type ByComponent = Map<string, Map<string, PromSample[]>>;

function group(samples: readonly PromSample[], prefix: string): ByComponent {
  const out: ByComponent = new Map();
  for (const s of samples) {
    if (!s.name.startsWith(prefix)) continue;
    const component = s.labels.component;
    if (component === undefined) continue;
    let families = out.get(component);
    if (!families) out.set(component, (families = new Map()));
    const family = s.name.slice(prefix.length);
    let list = families.get(family);
    if (!list) families.set(family, (list = []));
    list.push(s);
  }
  return out;
}

function one(families: Map<string, PromSample[]>, family: string, labels: Record<string, string> = {}): number | undefined {
  const list = families.get(family);
  if (!list) return undefined;
  const s = list.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s === undefined || Number.isNaN(s.value) ? undefined : s.value;
}

function byLabel(families: Map<string, PromSample[]>, family: string, label: string): Record<string, number> | undefined {
  const list = families.get(family);
  if (!list) return undefined;
  const out: Record<string, number> = {};
  for (const s of list) if (s.labels[label] !== undefined && Number.isFinite(s.value)) out[s.labels[label]] = s.value;
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Turns a scrape into dashboard-shaped views: levels from the gauges, rates
 * from the counters' change since `previous` (a scrape `elapsedSec` earlier;
 * no rates without one). Counter resets (a restart) give no rate rather than a negative one.
 */
export function viewsFromScrape(current: readonly PromSample[], previous: readonly PromSample[] | undefined, elapsedSec: number, prefix = 'sluice_'): DashboardComponentView[] {
  const now = group(current, prefix);
  const before = previous ? group(previous, prefix) : undefined;
  const rate = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined && elapsedSec > 0 && a >= b ? round2((a - b) / elapsedSec) : undefined;
  const views: DashboardComponentView[] = [];
  for (const [name, f] of now) {
    const p = before?.get(name);
    const view: DashboardComponentView = { name, kind: 'metrics' };
    const state = f.get('state')?.find((s) => s.value === 1)?.labels.state;
    if (state !== undefined) view.state = state;
    const size = one(f, 'buffer_size');
    const capacity = one(f, 'buffer_capacity');
    const utilization = one(f, 'buffer_utilization_ratio');
    if (size !== undefined) view.size = size;
    if (capacity !== undefined) view.capacity = capacity;
    if (utilization !== undefined) view.utilization = utilization;
    const hw = one(f, 'stat', { stat: 'highWatermark' });
    if (hw !== undefined) view.highWatermark = hw;
    const fill = one(f, 'buffer_fill_rate_per_second');
    if (fill !== undefined) {
      view.fillRatePerSec = round2(fill);
      const ttf = one(f, 'buffer_time_to_full_seconds');
      if (ttf !== undefined && Number.isFinite(ttf)) view.timeToFullMs = Math.round(ttf * 1000);
    }
    const inName = f.has('offered_total') ? 'offered_total' : 'acquired_total';
    const inTotal = one(f, inName);
    const outTotal = one(f, 'delivered_total');
    if (inTotal !== undefined) view.inTotal = inTotal;
    if (outTotal !== undefined) view.outTotal = outTotal;
    const inRate = p ? rate(inTotal, one(p, inName)) : undefined;
    const outRate = p ? rate(outTotal, one(p, 'delivered_total')) : undefined;
    if (inRate !== undefined) view.inRate = inRate;
    if (outRate !== undefined) view.outRate = outRate;
    const droppedBy = byLabel(f, 'dropped_total', 'reason');
    if (droppedBy) {
      view.droppedBy = droppedBy;
      view.dropped = Object.values(droppedBy).reduce((a, b) => a + b, 0);
      const before = p ? byLabel(p, 'dropped_total', 'reason') : undefined;
      if (before) {
        const dropRateBy: Record<string, number> = {};
        for (const [reason, n] of Object.entries(droppedBy)) {
          const r = rate(n, before[reason] ?? 0);
          if (r !== undefined) dropRateBy[reason] = r;
        }
        view.dropRateBy = dropRateBy;
      }
    }
    const gauges: Record<string, number> = {};
    for (const [family, key] of [
      ['inflight', 'inflight'],
      ['concurrency_limit', 'limit'],
      ['waiting', 'waiting'],
      ['rate_limit_per_second', 'rate'],
      ['pressure', 'pressure'],
    ] as const) {
      const n = one(f, family);
      if (n !== undefined && Number.isFinite(n)) gauges[key] = n;
    }
    if (Object.keys(gauges).length > 0) view.gauges = gauges;
    const lag = byLabel(f, 'lag', 'kind');
    if (lag && Object.keys(lag).length > 0) {
      view.lag = lag;
      view.stale = one(f, 'stale') === 1;
    }
    views.push(view);
  }
  return views;
}

/** GETs a `/metrics` endpoint and parses it. */
export async function scrape(url: URL, signal?: AbortSignal): Promise<PromSample[]> {
  const res = await fetch(url, { signal, headers: { accept: 'text/plain;version=0.0.4' } });
  if (!res.ok) throw new Error(`${url.href} answered ${res.status} ${res.statusText}`);
  return parsePrometheusText(await res.text());
}

/**
 * Scrapes `url` every `intervalMs` and calls `onSnapshot` with a
 * dashboard-shaped snapshot from the second scrape on (rates need two).
 * Abort safety: aborting `signal` stops it between or during scrapes and resolves.
 */
export async function followPrometheus(url: URL, intervalMs: number, prefix: string, onSnapshot: (snapshot: DashboardSnapshot) => void, signal: AbortSignal): Promise<void> {
  let previous: { samples: PromSample[]; at: number } | undefined;
  const started = performance.now();
  let seq = 0;
  while (!signal.aborted) {
    let samples: PromSample[];
    try {
      samples = await scrape(url, signal);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    const at = performance.now();
    if (previous) {
      onSnapshot({ seq: ++seq, t: round2((at - started) / 1000), components: viewsFromScrape(samples, previous.samples, (at - previous.at) / 1000, prefix), alerts: [], alertEvents: [] });
    }
    previous = { samples, at };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, intervalMs);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
