// The dashboard's page script, served as assets/dashboard.js. Browser code:
// type-checked against the DOM (tsconfig.json in this folder), bundled for the
// browser by esbuild (scripts/build-client.mjs) at build time, or on request
// when tsx runs the sources. No framework; uPlot, loaded by its own <script>
// tag, draws the charts. What it reads from a snapshot is in wire.ts.
/// <reference types="uplot" />
import type { PageConfig } from '../page.js';
import type { WireComponentView, WireFiringAlert, WireKnobEvent, WireSnapshot } from './wire.js';

interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  width: number;
  dash?: number[];
  fill?: string;
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  range?: [number, number];
  /** The values can be negative (a draining buffer, a falling trend): the y axis goes below 0 when they do. */
  signed?: boolean;
  /** Text shown over the chart while it has nothing to draw. */
  empty?: string;
  series: SeriesSpec[];
}

type Column = (number | null)[];

/** One component's card, its history and its charts. */
interface Comp {
  name: string;
  kind: string;
  t: number[];
  cols: Record<string, Column>;
  states: (string | null)[];
  reasons: string[];
  gauges: string[];
  timings: string[];
  charts: Record<string, uPlot>;
  sigs: Record<string, string>;
  boxes: Record<string, HTMLElement>;
  view?: WireComponentView;
  card: HTMLElement;
  stateEl: HTMLElement;
  breakerEl: HTMLElement;
  badgesEl: HTMLElement;
  kpisEl: HTMLElement;
  /** Per-level, per-partition or per-key table (#13); empty for other kinds. */
  breakdownEl: HTMLElement;
  bandWrap: HTMLElement;
  bandEl: HTMLCanvasElement;
  bandLegendEl: HTMLElement;
  chartsEl: HTMLElement;
  errorEl: HTMLElement;
}

/** What the page exposes for tests and the console. */
interface SluiceDashboardHandle {
  snapshots(): number;
  charts(): uPlot[];
  components(): string[];
}

declare global {
  interface Window {
    sluiceDashboard: SluiceDashboardHandle;
  }
}

function byId(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`sluice dashboard: the page has no #${id}`);
  return found;
}

const config = JSON.parse(byId('sluice-config').textContent ?? '{}') as PageConfig;
const MAX = config.historySize;
const cardsEl = byId('cards');
const alertsEl = byId('alerts');
const logEl = byId('alert-log');
const knobLogEl = byId('knob-log');
const clockEl = byId('clock');
const connEl = byId('conn');
const comps = new Map<string, Comp>();
const chartOfBox = new WeakMap<Element, uPlot>();
let lastSeq = 0;
let received = 0;
let logged = 0;
/** The newest knob event drawn, so the list is rebuilt only when it changed. */
let knobsDrawn = '';

const STATE_COLORS: Record<string, string> = {
  normal: '#3ddc97', elevated: '#ffd166', critical: '#ff9f43', blocked: '#ff4d6d', draining: '#4aa3ff', closed: '#5c677d',
  open: '#ff4d6d', 'half-open': '#ff9f43', baseline: '#3ddc97', spike: '#ff4d6d', growing: '#ff9f43', capped: '#ff4d6d',
  stopped: '#5c677d', idle: '#5c677d', active: '#3ddc97', ready: '#3ddc97', 'not-ready': '#ff4d6d',
};
const DROP_COLORS: Record<string, string> = {
  'drop-oldest': '#ff9f43', 'drop-newest': '#ffd166', sample: '#22d3ee', rejected: '#ff4d6d', timeout: '#f472b6',
  aborted: '#94a3b8', closed: '#64748b', 'flush-failed': '#ef4444', 'dead-letter-failed': '#b91c1c', shed: '#ff4d6d',
};
const PALETTE = ['#4aa3ff', '#3ddc97', '#ffd166', '#f472b6', '#22d3ee', '#ff9f43', '#a78bfa', '#94a3b8'];
const LABELS: Record<string, string> = {
  inflight: 'in flight', inFlight: 'in flight', ratePerSecond: 'rate/s', lastFlushLatencyMs: 'flush latency',
  flushIntervalMs: 'flush interval', averageLatencyMs: 'avg latency', available: 'credits available',
  desiredRate: 'heading for /s', current: 'reading now', predicted: 'reading ahead',
};
/** A lag source's figures, by meaning (as the server names them). */
const LAG_KINDS = ['undelivered', 'unacked'] as const;
const LIMITER_KINDS = new Set(['concurrency-limiter', 'token-bucket', 'credits', 'adaptive-rate', 'congestion-window']);

function hashColor(s: string, list: readonly string[]): string {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return list[Math.abs(h) % list.length]!;
}
function stateColor(s: string): string {
  return STATE_COLORS[s] ?? hashColor(s, PALETTE);
}
function label(key: string): string {
  return LABELS[key] ?? key;
}

function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined || !isFinite(n)) return '\u2013';
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 1 : 2) + 'M';
  if (a >= 1e5) return (n / 1e3).toFixed(0) + 'k';
  if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  if (a >= 1e3) return (n / 1e3).toFixed(2) + 'k';
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(a >= 10 ? 1 : 2);
}
function fmtMs(ms: number): string {
  return ms >= 1000 ? fmt(ms / 1000) + ' s' : fmt(ms) + ' ms';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setConn(state: string, text: string): void {
  connEl.className = 'pill conn ' + state;
  connEl.textContent = text;
}

// ---- per-component store -------------------------------------------------
function getComp(view: WireComponentView): Comp {
  const existing = comps.get(view.name);
  if (existing) return existing;
  const card = el('article', 'card');
  card.dataset.component = view.name;
  const head = el('div', 'card-head');
  head.appendChild(el('h2', '', view.name));
  head.appendChild(el('span', 'kind', view.kind));
  const stateEl = el('span', 'pill');
  head.appendChild(stateEl);
  const breakerEl = el('span', 'pill');
  breakerEl.hidden = true;
  head.appendChild(breakerEl);
  const badgesEl = el('div', 'badges');
  head.appendChild(badgesEl);
  card.appendChild(head);
  if (view.description) card.appendChild(el('p', 'description', view.description));
  const kpisEl = el('div', 'kpis');
  card.appendChild(kpisEl);
  const breakdownEl = el('div', 'breakdown');
  card.appendChild(breakdownEl);
  const bandWrap = el('div', 'band-wrap');
  const bandEl = el('canvas');
  bandEl.setAttribute('aria-label', 'state timeline');
  bandWrap.appendChild(bandEl);
  const bandLegendEl = el('div', 'band-legend');
  bandWrap.appendChild(bandLegendEl);
  bandWrap.hidden = true;
  card.appendChild(bandWrap);
  const chartsEl = el('div', 'charts');
  card.appendChild(chartsEl);
  const errorEl = el('div', 'error');
  card.appendChild(errorEl);
  cardsEl.appendChild(card);
  const c: Comp = {
    name: view.name, kind: view.kind, t: [], cols: {}, states: [], reasons: [], gauges: [], timings: [], charts: {}, sigs: {}, boxes: {},
    card, stateEl, breakerEl, badgesEl, kpisEl, breakdownEl, bandWrap, bandEl, bandLegendEl, chartsEl, errorEl,
  };
  comps.set(view.name, c);
  return c;
}

function ingest(c: Comp, view: WireComponentView, t: number): void {
  const v: Record<string, number> = {};
  if (view.utilization !== undefined) {
    v.util = view.utilization * 100;
    if (view.highWatermark !== undefined) v.high = view.highWatermark * 100;
    if (view.lowWatermark !== undefined) v.low = view.lowWatermark * 100;
  } else if (view.size !== undefined) v.size = view.size;
  if (view.inRate !== undefined) v['in'] = view.inRate;
  if (view.outRate !== undefined) v.out = view.outRate;
  if (view.dropRateBy) {
    let total = 0;
    for (const [reason, rate] of Object.entries(view.dropRateBy)) {
      total += rate;
      v['drop:' + reason] = rate;
      if ((view.droppedBy?.[reason] ?? 0) > 0 && c.reasons.indexOf(reason) < 0) c.reasons.push(reason);
    }
    v.drops = total;
  }
  if (view.latency) {
    v['lat:p50'] = view.latency.p50;
    v['lat:p90'] = view.latency.p90;
    v['lat:p99'] = view.latency.p99;
  }
  for (const [k, value] of Object.entries(view.gauges ?? {})) {
    v['g:' + k] = value;
    if (c.gauges.indexOf(k) < 0) c.gauges.push(k);
  }
  for (const [k, value] of Object.entries(view.timings ?? {})) {
    v['tm:' + k] = value;
    if (c.timings.indexOf(k) < 0) c.timings.push(k);
  }
  if (view.fillRatePerSec !== undefined) v.fill = view.fillRatePerSec;
  for (const kind of LAG_KINDS) {
    const n = view.lag?.[kind];
    if (n !== undefined) v['lag:' + kind] = n;
  }
  if (view.slope !== undefined) v.slope = view.slope;
  if (view.failureRate !== undefined) v.fail = view.failureRate * 100;
  if (view.slowCallRate !== undefined) v.slow = view.slowCallRate * 100;
  const n = c.t.length;
  c.t.push(t);
  // A series that appears later is padded with nulls so every column lines up with t.
  for (const k of Object.keys(v)) c.cols[k] ??= new Array<number | null>(n).fill(null);
  for (const [k, col] of Object.entries(c.cols)) col.push(v[k] ?? null);
  c.states.push(view.state || null);
  if (c.t.length > MAX) {
    c.t.shift();
    c.states.shift();
    for (const col of Object.values(c.cols)) col.shift();
  }
  c.view = view;
}

// ---- charts -----------------------------------------------------------------
function specs(c: Comp): ChartSpec[] {
  const out: ChartSpec[] = [];
  const has = (k: string): boolean => !!c.cols[k];
  if (has('util')) {
    const s: SeriesSpec[] = [{ key: 'util', label: 'utilization %', color: '#a78bfa', fill: 'rgba(167,139,250,0.16)', width: 2 }];
    if (has('high')) s.push({ key: 'high', label: 'high watermark', color: '#ff9f43', dash: [6, 4], width: 1.3 });
    if (has('low')) s.push({ key: 'low', label: 'low watermark', color: '#2ec4b6', dash: [6, 4], width: 1.3 });
    out.push({ id: 'buffer', title: 'Buffer utilization', unit: '%', range: [0, 105], series: s });
  } else if (has('size')) {
    out.push({ id: 'buffer', title: 'Queue size (items)', unit: '', series: [{ key: 'size', label: 'queued', color: '#a78bfa', fill: 'rgba(167,139,250,0.16)', width: 2 }] });
  }
  if (has('fill')) out.push({ id: 'fill', title: 'Fill rate (below 0: draining)', unit: '/s', signed: true, series: [{ key: 'fill', label: 'items /s', color: '#ffd166', width: 1.8 }] });
  const lag = LAG_KINDS.filter((kind) => has('lag:' + kind));
  if (lag.length) {
    out.push({
      id: 'lag', title: 'Broker lag (messages)', unit: '',
      series: lag.map((kind, i) => ({ key: 'lag:' + kind, label: kind, color: i === 0 ? '#a78bfa' : '#ff9f43', fill: i === 0 ? 'rgba(167,139,250,0.12)' : undefined, width: 1.8 })),
    });
  }
  if (has('fail')) {
    const s: SeriesSpec[] = [{ key: 'fail', label: 'failure rate %', color: '#ff4d6d', fill: 'rgba(255,77,109,0.12)', width: 1.8 }];
    if (has('slow')) s.push({ key: 'slow', label: 'slow calls %', color: '#ffd166', width: 1.6 });
    out.push({ id: 'breaker', title: 'Breaker window', unit: '%', range: [0, 105], series: s });
  }
  if (has('slope')) out.push({ id: 'slope', title: 'Trend slope (per second)', unit: '/s', signed: true, series: [{ key: 'slope', label: 'change /s', color: '#22d3ee', width: 1.8 }] });
  const r: SeriesSpec[] = [];
  if (has('in')) r.push({ key: 'in', label: 'in /s', color: '#4aa3ff', width: 1.8 });
  if (has('out')) r.push({ key: 'out', label: 'out /s', color: '#3ddc97', width: 1.8 });
  if (has('drops')) r.push({ key: 'drops', label: 'dropped /s', color: '#ff4d6d', width: 1.4 });
  if (r.length) out.push({ id: 'rates', title: 'Throughput', unit: '/s', series: r });
  if (has('drops')) {
    out.push({
      id: 'drops', title: 'Drops by reason', unit: '/s', empty: c.reasons.length === 0 ? 'No drops so far' : '',
      series: c.reasons.map((reason) => ({ key: 'drop:' + reason, label: reason, color: DROP_COLORS[reason] ?? hashColor(reason, PALETTE), width: 1.6 })),
    });
  }
  const l: SeriesSpec[] = [];
  if (has('lat:p50')) {
    l.push({ key: 'lat:p50', label: 'p50', color: '#7dd3fc', width: 1.6 });
    l.push({ key: 'lat:p90', label: 'p90', color: '#fbbf24', width: 1.6 });
    l.push({ key: 'lat:p99', label: 'p99', color: '#f87171', width: 1.6 });
  }
  c.timings.forEach((k, i) => l.push({ key: 'tm:' + k, label: label(k), color: PALETTE[(i + 5) % PALETTE.length]!, width: 1.3, dash: [3, 3] }));
  if (l.length) out.push({ id: 'latency', title: 'Latency', unit: 'ms', series: l });
  if (c.gauges.length) {
    out.push({
      id: 'gauges', title: LIMITER_KINDS.has(c.kind) ? 'Limits & credits' : 'Levels', unit: '',
      series: c.gauges.map((k, i) => ({ key: 'g:' + k, label: label(k), color: PALETTE[i % PALETTE.length]!, width: 1.6 })),
    });
  }
  return out;
}

function axisValues(unit: string): uPlot.Axis.DynamicValues {
  return (_u, vals) => vals.map((v) => (unit === '%' ? v + '%' : unit === 'ms' ? fmtMs(v) : fmt(v)));
}

function plotWidth(box: HTMLElement): number {
  return Math.max(220, box.clientWidth - 16);
}

function makeChart(c: Comp, spec: ChartSpec, box: HTMLElement): uPlot {
  const opts: uPlot.Options = {
    width: plotWidth(box),
    height: 150,
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { size: 5 } },
    scales: {
      x: { time: false },
      y: { range: spec.range ? spec.range : (_u, min, max) => [spec.signed && min < 0 ? min * 1.12 : 0, max > 0 ? max * 1.12 : 1] },
    },
    axes: [
      {
        stroke: '#8b95a8', font: '11px system-ui, sans-serif', size: 26, grid: { stroke: 'rgba(255,255,255,0.05)', width: 1 }, ticks: { show: false },
        values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? v : +v.toFixed(1)) + 's'),
      },
      {
        stroke: '#8b95a8', font: '11px system-ui, sans-serif', size: 50, grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { show: false },
        values: axisValues(spec.unit),
      },
    ],
    series: [
      {},
      ...spec.series.map((s) => {
        const o: uPlot.Series = { label: s.label, stroke: s.color, width: s.width || 1.5, points: { show: false } };
        if (s.dash) o.dash = s.dash;
        if (s.fill) o.fill = s.fill;
        return o;
      }),
    ],
  };
  return new uPlot(opts, chartData(c, spec), box.querySelector<HTMLElement>('.plot')!);
}

function chartData(c: Comp, spec: ChartSpec): uPlot.AlignedData {
  return [c.t, ...spec.series.map((s) => c.cols[s.key] ?? [])];
}

function drawCharts(c: Comp): void {
  for (const spec of specs(c)) {
    let box = c.boxes[spec.id];
    if (!box) {
      box = el('div', 'chart');
      box.dataset.chart = spec.id;
      box.appendChild(el('h3', '', spec.title));
      box.appendChild(el('div', 'plot'));
      box.appendChild(el('div', 'empty'));
      c.chartsEl.appendChild(box);
      c.boxes[spec.id] = box;
    }
    box.querySelector('.empty')!.textContent = spec.empty || '';
    const sig = spec.series.map((s) => s.key).join('|');
    const existing = c.charts[spec.id];
    if (existing && c.sigs[spec.id] !== sig) {
      // The series changed (a new drop reason, a new gauge): uPlot cannot add series in place.
      existing.destroy();
      delete c.charts[spec.id];
    }
    const chart = c.charts[spec.id];
    if (!chart) {
      const made = makeChart(c, spec, box);
      c.charts[spec.id] = made;
      chartOfBox.set(box, made);
      c.sigs[spec.id] = sig;
      resizeObserver.observe(box);
    } else {
      chart.setData(chartData(c, spec));
    }
  }
}

function drawBand(c: Comp): void {
  const states = c.states;
  const any = states.some((s) => s);
  c.bandWrap.hidden = !any;
  if (!any) return;
  const canvas = c.bandEl;
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio)) canvas.width = Math.round(w * ratio);
  if (canvas.height !== Math.round(h * ratio)) canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const t = c.t;
  const t0 = t[0]!;
  const span = Math.max(t[t.length - 1]! - t0, 1e-9);
  const seen: string[] = [];
  for (let i = 0; i < states.length; i++) {
    const s = states[i];
    if (!s) continue;
    if (seen.indexOf(s) < 0) seen.push(s);
    const x0 = ((t[i]! - t0) / span) * w;
    const x1 = i + 1 < t.length ? ((t[i + 1]! - t0) / span) * w : w;
    ctx.fillStyle = stateColor(s);
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0 + 0.5), h);
  }
  const legend = c.bandLegendEl;
  legend.textContent = '';
  legend.appendChild(el('span', '', 'state over ' + fmt(span) + ' s:'));
  for (const s of seen) {
    const item = el('span');
    const sw = el('i');
    sw.style.background = stateColor(s);
    item.appendChild(sw);
    item.appendChild(document.createTextNode(s));
    legend.appendChild(item);
  }
}

function kpi(parent: HTMLElement, value: string, text: string, bad?: boolean): void {
  const k = el('div', 'kpi' + (bad ? ' bad' : ''));
  k.appendChild(el('div', 'v', value));
  k.appendChild(el('div', 'l', text));
  parent.appendChild(k);
}

function drawHead(c: Comp, v: WireComponentView, firing: WireFiringAlert[]): void {
  c.stateEl.hidden = !v.state;
  if (v.state) {
    c.stateEl.textContent = v.state;
    c.stateEl.style.background = stateColor(v.state) + '22';
    c.stateEl.style.color = stateColor(v.state);
    c.stateEl.style.borderColor = stateColor(v.state) + '66';
  }
  c.breakerEl.hidden = !v.breakerState;
  if (v.breakerState) {
    c.breakerEl.textContent = 'breaker ' + v.breakerState;
    c.breakerEl.style.color = stateColor(v.breakerState === 'closed' ? 'normal' : v.breakerState);
    c.breakerEl.style.borderColor = '#263043';
  }
  const k = c.kpisEl;
  k.textContent = '';
  if (v.size !== undefined) {
    kpi(k, fmt(v.size) + (v.capacity ? ' / ' + fmt(v.capacity) : ''), v.capacity ? 'buffered (' + Math.round((v.utilization || 0) * 100) + '%)' : 'queued');
  }
  if (v.fillRatePerSec !== undefined) {
    kpi(k, (v.fillRatePerSec > 0 ? '+' : '') + fmt(v.fillRatePerSec), 'fill /s');
    // Absent while not filling (the server leaves Infinity out).
    kpi(k, v.timeToFullMs !== undefined ? fmtMs(v.timeToFullMs) : 'not filling', 'until full', v.timeToFullMs !== undefined && v.timeToFullMs < 60_000);
  }
  if (v.lag) {
    for (const kind of LAG_KINDS) {
      const n = v.lag[kind];
      if (n !== undefined) kpi(k, fmt(n), kind);
    }
    if (v.stale) kpi(k, 'stale', 'no recent poll', true);
  }
  if (v.slope !== undefined) {
    kpi(k, (v.slope > 0 ? '+' : '') + fmt(v.slope) + '/s', 'slope');
    kpi(k, v.timeToThresholdMs !== undefined ? fmtMs(v.timeToThresholdMs) : 'not rising', 'to threshold', v.timeToThresholdMs !== undefined && v.timeToThresholdMs < 60_000);
  }
  if (v.inRate !== undefined) kpi(k, fmt(v.inRate), 'in /s');
  if (v.outRate !== undefined) kpi(k, fmt(v.outRate), 'out /s');
  if (v.dropped !== undefined) kpi(k, fmt(v.dropped), 'dropped', v.dropped > 0);
  if (v.blockedMsPerSec !== undefined && v.blockedMsPerSec > 0) kpi(k, fmt(v.blockedMsPerSec / 1000), 'producers blocked');
  if (v.latency) kpi(k, fmtMs(v.latency.p99), 'p99 latency');
  if (v.failureRate !== undefined) kpi(k, pct(v.failureRate), 'failure rate', v.failureRate > 0);
  if (v.slowCallRate !== undefined && v.slowCallRate > 0) kpi(k, pct(v.slowCallRate), 'slow calls');
  if (v.opens !== undefined) kpi(k, fmt(v.opens), 'opens', v.opens > 0);
  if (v.keys !== undefined) kpi(k, fmt(v.keys), 'keys');
  drawBreakdown(c, v);
  for (const [g, value] of Object.entries(v.gauges ?? {}).slice(0, 4)) kpi(k, fmt(value), label(g));
  c.badgesEl.textContent = '';
  for (const a of firing) c.badgesEl.appendChild(el('span', 'alert', a.rule.replace(/_/g, ' ') + ' ' + fmtValue(a.value, a.unit)));
  c.card.classList.toggle('firing', firing.length > 0);
  c.errorEl.textContent = v.error ? 'stats() failed: ' + v.error : '';
}

function pct(x: number): string {
  return (x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0) + '%';
}

/** A small table: a header row, then one row per entry; a cell is text or a bar (value of max). */
type Cell = string | { value: number; max: number; text: string };
function table(parent: HTMLElement, title: string, head: string[], rows: Cell[][]): void {
  const t = el('table');
  t.appendChild(el('caption', '', title));
  const hr = el('tr');
  for (const h of head) hr.appendChild(el('th', '', h));
  t.appendChild(hr);
  for (const row of rows) {
    const tr = el('tr');
    for (const cell of row) {
      if (typeof cell === 'string') {
        tr.appendChild(el('td', '', cell));
        continue;
      }
      const td = el('td', 'bar-cell');
      const bar = el('span', 'bar');
      const fill = el('i');
      fill.style.width = Math.min(100, cell.max > 0 ? (cell.value / cell.max) * 100 : cell.value > 0 ? 100 : 0) + '%';
      if (cell.value > cell.max) fill.classList.add('over');
      bar.appendChild(fill);
      td.appendChild(bar);
      td.appendChild(el('span', '', cell.text));
      tr.appendChild(td);
    }
    t.appendChild(tr);
  }
  parent.appendChild(t);
}

/** Per-level figures of a PriorityChannel, per-partition ones of a limiter, top droppers of a FairChannel. */
function drawBreakdown(c: Comp, v: WireComponentView): void {
  const b = c.breakdownEl;
  b.textContent = '';
  if (v.levels?.length) {
    const most = Math.max(1, ...v.levels.map((l) => l.size));
    table(b, 'Levels (highest first)', ['level', 'buffered', 'offered', 'delivered', 'dropped'], v.levels.map((l) => [
      l.name, { value: l.size, max: v.capacity ?? most, text: fmt(l.size) }, fmt(l.offered), fmt(l.delivered), fmt(l.dropped),
    ]));
  }
  if (v.partitions?.length) {
    table(b, 'Partitions (in flight of guaranteed)', ['partition', 'in flight / limit', 'waiting', 'share'], v.partitions.map((p) => [
      p.name, { value: p.inflight, max: p.limit, text: fmt(p.inflight) + ' / ' + fmt(p.limit) }, fmt(p.waiting), pct(p.share),
    ]));
  }
  if (v.topDroppers) {
    if (v.topDroppers.length) {
      const most = Math.max(1, ...v.topDroppers.map((d) => d.dropped));
      table(b, 'Top droppers', ['key', 'dropped'], v.topDroppers.map((d) => [d.key, { value: d.dropped, max: most, text: fmt(d.dropped) + (d.error ? ' (\u00b1' + fmt(d.error) + ')' : '') }]));
    } else b.appendChild(el('p', 'breakdown-empty', 'No key has dropped items'));
  }
}

function fmtValue(x: number, unit: string | undefined): string {
  if (unit === 'utilization' || unit === 'fraction') return (x * 100).toFixed(x < 0.1 ? 1 : 0) + '%';
  if (unit === 'ms') return fmtMs(x);
  if (unit === 'ms/s') return fmt(x) + ' ms/s';
  if (unit === 'per_second') return fmt(x) + '/s';
  return fmt(x);
}

function drawAlerts(snap: WireSnapshot): void {
  alertsEl.textContent = '';
  if (!snap.alerts.length) {
    alertsEl.appendChild(el('span', 'ok', 'No alerts firing'));
    return;
  }
  for (const a of snap.alerts) {
    const b = el('span', 'alert');
    b.appendChild(el('b', '', a.component));
    b.appendChild(document.createTextNode(' ' + a.rule.replace(/_/g, ' ') + ' ' + fmtValue(a.value, a.unit) + ' \u2265 ' + fmtValue(a.threshold, a.unit)));
    alertsEl.appendChild(b);
  }
}

function logEvents(snap: WireSnapshot): void {
  for (const e of snap.alertEvents) {
    if (logged === 0) logEl.textContent = '';
    logged++;
    const li = el(
      'li',
      e.state,
      fmt(snap.t) + ' s  ' + e.component + '  ' + e.rule.replace(/_/g, ' ') + '  ' + e.state + '  ' + fmtValue(e.value, e.unit) + ' (threshold ' + fmtValue(e.threshold, e.unit) + ')',
    );
    logEl.insertBefore(li, logEl.firstChild);
    while (logEl.children.length > 50) logEl.removeChild(logEl.lastChild!);
  }
}

function knobText(x: number | string | null): string {
  return typeof x === 'number' ? fmt(x) : x === null ? '\u2013' : x;
}

/** The snapshot carries the last N knob events (not only new ones): the list is redrawn from it, newest first. */
function drawKnobs(snap: WireSnapshot): void {
  const events: WireKnobEvent[] = snap.knobEvents ?? [];
  const last = events[events.length - 1];
  const key = last ? events.length + '|' + last.t + '|' + last.component + '|' + last.setting + '|' + String(last.value) : '';
  if (key === knobsDrawn) return;
  knobsDrawn = key;
  knobLogEl.textContent = '';
  if (!events.length) {
    knobLogEl.appendChild(el('li', 'muted', 'No runtime setting changes yet'));
    return;
  }
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    const li = el('li', 'knob');
    li.appendChild(document.createTextNode(fmt(e.t) + ' s  '));
    li.appendChild(el('b', '', e.component));
    li.appendChild(document.createTextNode('  ' + e.setting + '  ' + knobText(e.previous) + ' \u2192 ' + knobText(e.value)));
    knobLogEl.appendChild(li);
  }
}

// ---- stream ------------------------------------------------------------------
let lastSnap: WireSnapshot | null = null;
function accept(snap: WireSnapshot): boolean {
  if (snap.seq <= lastSeq) return false;
  lastSeq = snap.seq;
  received++;
  for (const view of snap.components) ingest(getComp(view), view, snap.t);
  logEvents(snap);
  lastSnap = snap;
  return true;
}

function render(): void {
  const snap = lastSnap;
  if (!snap) return;
  clockEl.textContent = 't = ' + fmt(snap.t) + ' s';
  drawAlerts(snap);
  drawKnobs(snap);
  comps.forEach((c) => {
    if (!c.view) return;
    drawHead(c, c.view, snap.alerts.filter((a) => a.component === c.name));
    drawBand(c);
    drawCharts(c);
  });
}

function connect(): void {
  const es = new EventSource('events');
  es.addEventListener('history', (e) => {
    const list = JSON.parse((e as MessageEvent<string>).data) as WireSnapshot[];
    if (list.length && list[list.length - 1]!.seq < lastSeq) lastSeq = 0; // the server restarted
    list.forEach(accept);
    render();
  });
  es.onmessage = (e: MessageEvent<string>) => {
    if (accept(JSON.parse(e.data) as WireSnapshot)) render();
  };
  // The server gave this page's slot to a newer viewer: reconnecting would take it back.
  es.addEventListener('evicted', () => {
    es.close();
    setConn('ended', 'replaced by another viewer: reload to reconnect');
  });
  es.onopen = () => setConn('live', 'live');
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) setConn('ended', 'stopped');
    else setConn('reconnecting', 'reconnecting');
  };
}

// Chart boxes change width when the window does and when a card gains a chart.
const resized = new Set<Element>();
const resizeObserver = new ResizeObserver((entries) => {
  for (const e of entries) resized.add(e.target);
  requestAnimationFrame(() => {
    resized.forEach((box) => {
      const chart = chartOfBox.get(box);
      const width = plotWidth(box as HTMLElement);
      if (chart && Math.abs(chart.width - width) > 1) chart.setSize({ width, height: 150 });
    });
    resized.clear();
    comps.forEach(drawBand);
  });
});

window.sluiceDashboard = {
  snapshots: () => received,
  charts: () => {
    const all: uPlot[] = [];
    comps.forEach((c) => all.push(...Object.values(c.charts)));
    return all;
  },
  components: () => Array.from(comps.keys()),
};
connect();
