// Units shared by the configuration file, the simulator and the CLI flags:
// durations (`250ms`, `5s`, `1h30m`), rates (`1000/s`, `60/min`), sizes
// (`512`, `64KiB`), fractions (`0.1%`, `0.001`) and bursts (`100x:20s`).
// Every parser returns undefined for text it does not understand, so callers
// can word the error for their own context (a config path, a CLI flag).

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|min|s|m|h|d)/y;

/** Pattern a duration string must match (also used in the JSON Schema). */
export const DURATION_PATTERN = '^\\s*((\\d+(\\.\\d+)?|\\.\\d+)\\s*(ms|min|s|m|h|d)\\s*)+$|^\\s*0\\s*$';
export const DURATION_HINT = 'a duration such as 250ms, 5s, 2m, 1h or 1h30m';

/** `250ms`, `5s`, `2m`/`2min`, `1h`, `1d`, compounds like `1h30m`, or `0`. Milliseconds. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s.length === 0) return undefined;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = DURATION_PART.lastIndex;
    while (s[at] === ' ') at++;
  }
  return Number.isFinite(total) ? total : undefined;
}

const RATE_PER: Record<string, number> = { ms: 1000, s: 1, sec: 1, second: 1, m: 1 / 60, min: 1 / 60, minute: 1 / 60, h: 1 / 3600, hour: 1 / 3600 };
const MAGNITUDE: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6 };
const RATE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKM]?)\s*(?:\/\s*(ms|sec|second|s|minute|min|m|hour|h))?\s*$/;

export const RATE_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*[kKM]?\\s*(/\\s*(ms|sec|second|s|minute|min|m|hour|h))?\\s*$';
export const RATE_HINT = 'a rate such as 1000/s, 1.5k/s, 60/min or 3600/h';

/** `1000/s`, `1.5k/s`, `60/min`, `3600/h`, or a bare number (per second). Items per second. */
export function parseRate(text: string): number | undefined {
  const m = RATE.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * MAGNITUDE[m[2]!]! * RATE_PER[m[3] ?? 's']!;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;
export const SIZE_HINT = 'a size such as 512, 512B, 64KiB, 1.5MB or 2GiB';
/**
 * Pattern a size string must match (also used in the JSON Schema): what
 * {@link parseSize} reads, units in any case.
 */
export const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*([bB]|[kKmMgG][iI]?[bB])?\\s*$';
/**
 * What the SI and binary units mean, for hints: the SI prefixes are powers of
 * 1000 as in `ls --si`, disk and network sizes and Kubernetes quantities (`M`
 * vs `Mi`); give `MiB` for 2^20.
 */
export const SIZE_UNITS_HINT = 'KB, MB, GB are 1000, 1000^2, 1000^3 bytes; KiB, MiB, GiB are 1024, 1024^2, 1024^3';

/** `512`, `512B`, `64KB` (1000s), `64KiB` (1024s), `MB`, `MiB`, `GB`, `GiB`. Bytes. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

const FRACTION = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/;
export const FRACTION_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*%\\s*$';
export const FRACTION_HINT = 'a fraction between 0 and 1 such as 0.001, or a percentage such as 0.1%';

/** `0.1%` or `0.001` (both 0.001). Only values within [0, 1]. */
export function parseFraction(text: string): number | undefined {
  const m = FRACTION.exec(text);
  if (!m) return undefined;
  const value = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  return value >= 0 && value <= 1 ? value : undefined;
}

export interface Burst {
  /** Arrival rate during the burst, as a multiple of the normal rate. */
  factor: number;
  durationMs: number;
}
const BURST = /^\s*(\d+(?:\.\d+)?)\s*x\s*:\s*(.+)$/i;
export const BURST_HINT = 'a burst such as 100x:20s (100 times the arrival rate for 20 seconds)';

/** `100x:20s`: a hundred times the normal arrival rate for 20 seconds. The factor must exceed 1. */
export function parseBurst(text: string): Burst | undefined {
  const m = BURST.exec(text);
  if (!m) return undefined;
  const factor = Number(m[1]);
  const durationMs = parseDuration(m[2]!);
  if (!(factor > 1) || durationMs === undefined || durationMs <= 0) return undefined;
  return { factor, durationMs };
}

/** `1500` → `1.5s`, `90000` → `1m30s`, `0.25` → `0.25ms`: the shortest exact-ish reading. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? 'forever' : String(ms);
  if (ms < 1000) return `${round(ms, 3)}ms`;
  if (ms < 60_000) return `${round(ms / 1000, 3)}s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = round((ms - m * 60_000) / 1000, 1);
    return s ? `${m}m${s}s` : `${m}m`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms - h * 3_600_000) / 60_000);
  return m ? `${h}h${m}m` : `${h}h`;
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${round(value, i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatRate(perSecond: number): string {
  return `${round(perSecond, 3)}/s`;
}

/** `0.0123` → `1.23%`, with enough digits that small losses stay visible. */
export function formatPercent(fraction: number): string {
  if (fraction === 0) return '0%';
  const pct = fraction * 100;
  const digits = pct >= 10 ? 1 : pct >= 1 ? 2 : Math.min(8, 2 - Math.floor(Math.log10(pct)));
  return `${round(pct, digits)}%`;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
