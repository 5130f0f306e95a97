import type { DashboardComponentView, DashboardSnapshot } from '../dashboard/index.js';
import { formatDuration, limitOf, type BottleneckVerdict } from './bottleneck.js';

/** Terminal the frame is drawn for. */
export interface Screen {
  columns: number;
  rows: number;
  /** Bold header and a red bottleneck row (ANSI SGR); off for NO_COLOR or when not a terminal. */
  color: boolean;
}

/** 1234 -> "1.2k", 2_500_000 -> "2.5M". */
export function compactNumber(n: number): string {
  const a = Math.abs(n);
  const unit = (d: number, u: string): string => `${(n / d).toFixed(a >= d * 10 ? 0 : 1).replace(/\.0$/, '')}${u}`;
  if (a >= 1e9) return unit(1e9, 'G');
  if (a >= 1e6) return unit(1e6, 'M');
  if (a >= 1e4) return unit(1e3, 'k');
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(a >= 100 ? 0 : 1);
}

/** Cuts `text` to `width` characters, ending in '…' when cut. */
export function elide(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : width === 1 ? '…' : `${text.slice(0, width - 1).trimEnd()}…`;
}

/** Word-wraps `text` to `width`, at most `maxLines` lines (the last elided); continuation lines indented by two. */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > 0 && lines.length < maxLines) {
    const room = lines.length === 0 ? width : width - 2;
    const indent = lines.length === 0 ? '' : '  ';
    if (rest.length <= room || lines.length === maxLines - 1) {
      lines.push(indent + elide(rest, room));
      break;
    }
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room;
    lines.push(indent + rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  return lines;
}

interface Column {
  header: string;
  /** Lower drops first when the terminal is narrow. */
  priority: number;
  right: boolean;
  cell: (c: DashboardComponentView) => string;
}

const dash = '-';
const sumValues = (r: Record<string, number> | undefined): number | undefined => (r ? Object.values(r).reduce((a, b) => a + b, 0) : undefined);

const COLUMNS: Column[] = [
  { header: 'UTIL', priority: 9, right: true, cell: (c) => (c.utilization === undefined ? dash : `${Math.round(c.utilization * 100)}%`) },
  {
    header: 'SIZE/CAP',
    priority: 7,
    right: true,
    cell: (c) => (c.size === undefined ? dash : c.capacity === undefined ? compactNumber(c.size) : `${compactNumber(c.size)}/${compactNumber(c.capacity)}`),
  },
  { header: 'IN/s', priority: 8, right: true, cell: (c) => (c.inRate === undefined ? dash : compactNumber(c.inRate)) },
  { header: 'OUT/s', priority: 8, right: true, cell: (c) => (c.outRate === undefined ? dash : compactNumber(c.outRate)) },
  {
    header: 'DROP/s',
    priority: 6,
    right: true,
    cell: (c) => {
      const r = sumValues(c.dropRateBy);
      return r === undefined ? (c.dropped === undefined ? dash : `(${compactNumber(c.dropped)})`) : compactNumber(r);
    },
  },
  {
    header: 'INFL/LIM',
    priority: 5,
    right: true,
    cell: (c) => {
      const l = limitOf(c);
      if (l) return `${compactNumber(l.inflight)}/${compactNumber(l.limit)}`;
      const inflight = c.gauges?.inflight ?? c.gauges?.inFlight;
      return inflight === undefined ? dash : compactNumber(inflight);
    },
  },
  { header: 'LAG', priority: 3, right: true, cell: (c) => (c.lag ? compactNumber(sumValues(c.lag) ?? 0) + (c.stale ? '?' : '') : dash) },
  {
    header: 'FULL IN',
    priority: 4,
    right: true,
    cell: (c) => (c.timeToFullMs === undefined ? dash : c.timeToFullMs === 0 ? 'full' : formatDuration(c.timeToFullMs).replace(' ', '')),
  },
  { header: 'STATE', priority: 2, right: false, cell: (c) => c.state ?? c.breakerState ?? dash },
];

const NAME_MIN = 8;
const SEP = '  ';

/**
 * One frame as lines, each at most `screen.columns` characters (before
 * colour codes) and at most `screen.rows` lines: a title, the verdict, a
 * header and one row per component. Columns of least use go first when the
 * terminal is narrow (STATE, LAG, FULL IN, …); names are elided; components
 * beyond the last row are summarised as "… N more".
 */
export function renderFrame(snapshot: DashboardSnapshot, verdict: BottleneckVerdict | undefined, screen: Screen, source: string): string[] {
  const width = Math.max(20, screen.columns);
  const rowsAvail = Math.max(4, screen.rows);
  const components = snapshot.components;
  const cells = COLUMNS.map((col) => components.map((c) => col.cell(c)));
  const widths = COLUMNS.map((col, i) => Math.max(col.header.length, ...cells[i]!.map((s) => s.length)));
  const nameWidth = Math.max(4, ...components.map((c) => c.name.length)) + 2; // "> " marker
  const shown = COLUMNS.map(() => true);
  const byPriority = COLUMNS.map((c, i) => ({ p: c.priority, i })).sort((a, b) => a.p - b.p || b.i - a.i);
  for (const { i } of byPriority) {
    if (Math.min(nameWidth, NAME_MIN + 2) + widths.reduce((a, w, j) => a + (shown[j] ? SEP.length + w : 0), 0) <= width) break;
    shown[i] = false;
  }
  const colsWidth = widths.reduce((a, w, i) => a + (shown[i] ? SEP.length + w : 0), 0);
  const nameCol = Math.max(Math.min(nameWidth, width - colsWidth), Math.min(NAME_MIN + 2, width));
  const bold = (s: string): string => (screen.color ? `\x1b[1m${s}\x1b[0m` : s);
  const red = (s: string): string => (screen.color ? `\x1b[1;31m${s}\x1b[0m` : s);
  const fit = (s: string): string => elide(s, width);

  const lines: string[] = [];
  lines.push(bold(fit(`sluice top · ${source} · t=${snapshot.t.toFixed(1)} s · #${snapshot.seq}`)));
  if (verdict) for (const l of wrap(`bottleneck: ${verdict.reason}`, width, 2)) lines.push(red(l));
  else lines.push(fit('bottleneck: none (nothing pinned at a limit or watermark, no queue growing)'));
  const row = (name: string, values: string[]): string =>
    fit(
      name.padEnd(nameCol).slice(0, nameCol) +
        COLUMNS.map((col, i) => (shown[i] ? SEP + (col.right ? values[i]!.padStart(widths[i]!) : values[i]!.padEnd(widths[i]!)) : '')).join(''),
    ).trimEnd();
  lines.push(bold(row('  NAME', COLUMNS.map((c) => c.header))));
  const room = rowsAvail - lines.length;
  const fitsAll = components.length <= room;
  const count = fitsAll ? components.length : Math.max(0, room - 1);
  for (let k = 0; k < count; k++) {
    const c = components[k]!;
    const mark = verdict?.component === c.name ? '> ' : '  ';
    const text = row(mark + elide(c.name, nameCol - 2), COLUMNS.map((_, i) => cells[i]![k]!));
    lines.push(mark === '> ' ? red(text) : text);
  }
  if (!fitsAll) lines.push(fit(`  … ${components.length - count} more (enlarge the terminal)`));
  return lines;
}

/** Cursor home, each line followed by erase-to-end-of-line, then erase below: redraws in place without flicker. */
export function paint(lines: readonly string[]): string {
  return `\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`;
}
