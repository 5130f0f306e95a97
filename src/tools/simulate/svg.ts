// Inline SVG charts for the simulation report: no script, no dependency, and
// the file opens anywhere (browsers, CI artifact viewers, mail).

export interface LineSeries {
  name: string;
  values: readonly number[];
  color: string;
  dashed?: boolean;
  /** Fill under the line (lightly). */
  area?: boolean;
}

export interface Band {
  from: number;
  to: number;
  color: string;
  label?: string;
}

export interface LineChartSpec {
  title: string;
  /** X values (seconds), one per point. */
  x: readonly number[];
  series: LineSeries[];
  yLabel: string;
  /** Fixed top of the y axis; default: the data's maximum, rounded up. */
  yMax?: number;
  /** Horizontal reference lines, e.g. watermarks. */
  rules?: { value: number; label: string; color: string }[];
  /** Shaded x ranges, e.g. scenario phases. */
  bands?: Band[];
  width?: number;
  height?: number;
}

const M = { top: 40, right: 16, bottom: 34, left: 56 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round numbers for axis ticks: 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0000001 + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const TIME_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400];

/** Ticks on a time axis (seconds) at round clock steps: 10 s, 5 min, 1 h, ... */
export function timeTicks(maxSeconds: number, count = 8): number[] {
  if (!(maxSeconds > 0)) return [0];
  const step = TIME_STEPS.find((s) => s >= maxSeconds / count) ?? Math.ceil(maxSeconds / count / 86_400) * 86_400;
  const ticks: number[] = [];
  for (let i = 0; i * step <= maxSeconds * 1.0000001; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export function formatClock(seconds: number): string {
  if (seconds < 120) return `${Number(seconds.toPrecision(4))}s`;
  if (seconds < 7200) return seconds % 60 === 0 ? `${seconds / 60}m` : `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`;
}

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 900;
  const height = spec.height ?? 240;
  const w = width - M.left - M.right;
  const h = height - M.top - M.bottom;
  const xMax = spec.x.length ? spec.x[spec.x.length - 1]! : 1;
  let dataMax = 0;
  for (const s of spec.series) for (const v of s.values) if (v > dataMax) dataMax = v;
  for (const r of spec.rules ?? []) if (r.value > dataMax) dataMax = r.value;
  const yTicks = niceTicks(spec.yMax ?? dataMax);
  const yMax = spec.yMax ?? yTicks[yTicks.length - 1]!;
  const sx = (x: number) => M.left + (xMax > 0 ? (x / xMax) * w : 0);
  const sy = (y: number) => M.top + h - (yMax > 0 ? (Math.min(y, yMax) / yMax) * h : 0);
  const parts: string[] = [];
  parts.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`);
  parts.push(`<text x="${M.left}" y="16" class="title">${escapeXml(spec.title)}</text>`);
  for (const b of spec.bands ?? []) {
    parts.push(`<rect x="${sx(b.from).toFixed(1)}" y="${M.top}" width="${Math.max(0.5, sx(b.to) - sx(b.from)).toFixed(1)}" height="${h}" fill="${b.color}"><title>${escapeXml(b.label ?? '')}</title></rect>`);
  }
  for (const t of yTicks) {
    if (t > yMax) continue;
    parts.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" class="tick" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of timeTicks(xMax)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${M.top + h + 16}" class="tick" text-anchor="middle">${formatClock(t)}</text>`);
  }
  parts.push(`<text x="14" y="${M.top + h / 2}" class="tick" transform="rotate(-90 14 ${M.top + h / 2})" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  for (const s of spec.series) {
    const points = s.values.map((v, i) => `${sx(spec.x[i]!).toFixed(1)},${sy(v).toFixed(1)}`);
    if (points.length === 0) continue;
    if (s.area) {
      parts.push(`<polygon points="${sx(spec.x[0]!).toFixed(1)},${sy(0)} ${points.join(' ')} ${sx(xMax).toFixed(1)},${sy(0)}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
    }
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}><title>${escapeXml(s.name)}</title></polyline>`);
  }
  for (const r of spec.rules ?? []) {
    const y = sy(r.value).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-dasharray="6 4" stroke-width="1.2"/>`);
    parts.push(`<text x="${M.left + w - 4}" y="${Number(y) - 4}" class="tick" text-anchor="end" fill="${r.color}">${escapeXml(r.label)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" class="frame"/>`);
  let lx = M.left;
  for (const s of spec.series) {
    parts.push(`<rect x="${lx}" y="25" width="12" height="4" fill="${s.color}"/><text x="${lx + 16}" y="31" class="tick">${escapeXml(s.name)}</text>`);
    lx += 24 + s.name.length * 7;
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface TimelineRow {
  label: string;
  /** Consecutive segments; x in seconds. */
  segments: Band[];
}

/** Horizontal strips of coloured segments: channel state, alerts. */
export function timeline(title: string, xMax: number, rows: TimelineRow[], legend: { label: string; color: string }[], width = 900): string {
  const rowH = 18;
  const height = M.top + rows.length * (rowH + 6) + 42;
  const w = width - M.left - M.right - 60;
  const left = M.left + 60;
  const sx = (x: number) => left + (xMax > 0 ? (x / xMax) * w : 0);
  const parts: string[] = [];
  parts.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`);
  parts.push(`<text x="${M.left}" y="16" class="title">${escapeXml(title)}</text>`);
  rows.forEach((row, i) => {
    const y = M.top + i * (rowH + 6);
    parts.push(`<text x="${left - 6}" y="${y + 13}" class="tick" text-anchor="end">${escapeXml(row.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${w}" height="${rowH}" class="lane"/>`);
    for (const s of row.segments) {
      parts.push(`<rect x="${sx(s.from).toFixed(1)}" y="${y}" width="${Math.max(0.5, sx(s.to) - sx(s.from)).toFixed(1)}" height="${rowH}" fill="${s.color}"><title>${escapeXml(`${s.label ?? ''} ${formatClock(s.from)}–${formatClock(s.to)}`)}</title></rect>`);
    }
  });
  const axisY = M.top + rows.length * (rowH + 6) + 10;
  for (const t of timeTicks(xMax)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${axisY}" class="tick" text-anchor="middle">${formatClock(t)}</text>`);
  }
  let lx = left;
  for (const l of legend) {
    parts.push(`<rect x="${lx}" y="${axisY + 8}" width="10" height="10" fill="${l.color}"/><text x="${lx + 14}" y="${axisY + 17}" class="tick">${escapeXml(l.label)}</text>`);
    lx += 30 + l.label.length * 7;
  }
  parts.push('</svg>');
  return parts.join('');
}
