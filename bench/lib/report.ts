import { cpus } from 'node:os';
import type { BenchResult, Expectation, Scenario } from './types.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface SystemInfo {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
}

export function systemInfo(): SystemInfo {
  const list = cpus();
  return {
    node: process.version,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** 33,700,000 → "33.7M", 850,000 → "850k", 998 → "998". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(perSecond >= 1e8 ? 0 : 2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(0)}k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(2)}k`;
  return perSecond.toFixed(0);
}

export function formatBytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '–' : `${ratio.toFixed(2)}×`;
}

function formatCount(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
}

/** A copy-pasteable markdown table of one scenario's results, in run order. */
export function formatTable(scenario: Scenario, rows: readonly BenchResult[]): string {
  const extraRatios = scenario.compareTo ?? [];
  const metricColumns = Object.entries(scenario.metricColumns ?? {});
  const header = [
    'Contender',
    'items/s (median)',
    'min–max',
    `×${scenario.baseline}`,
    ...extraRatios.map((c) => `×${c}`),
    'peak RSS',
    ...metricColumns.map(([, title]) => title),
  ];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const row of rows) {
    const cells = [
      row.contender,
      formatRate(row.itemsPerSecond),
      `${formatRate(row.min)}–${formatRate(row.max)}`,
      formatRatio(row.ratio),
      ...extraRatios.map((c) => formatRatio(row.ratioTo[c] ?? null)),
      formatBytes(row.peakRssBytes),
      ...metricColumns.map(([key]) => formatCount(row[key])),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** One line per expectation whose two contenders both ran: met or missed, with the ratio. */
export function formatExpectations(expectations: readonly Expectation[], rows: readonly BenchResult[]): string[] {
  const byName = new Map(rows.map((r) => [r.contender, r]));
  const out: string[] = [];
  for (const e of expectations) {
    const subject = byName.get(e.contender);
    const reference = byName.get(e.reference);
    if (!subject || !reference) continue;
    const ratio = subject.itemsPerSecond / reference.itemsPerSecond;
    const verdict = ratio >= e.atLeast ? 'met   ' : 'MISSED';
    out.push(`- ${verdict} ${e.contender} >= ${e.atLeast}× ${e.reference}: ${ratio.toFixed(2)}×`);
  }
  return out;
}
