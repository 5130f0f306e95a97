// Plain-text output helpers for the CLI: aligned tables and a progress line.

/** Left-aligned columns separated by two spaces; the first row is the header. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress is shown only then, or with --progress). */
  stderrIsTTY: boolean;
}

/** How often a non-terminal progress log gets a line even between 10 % steps, ms of wall time. */
export const PROGRESS_LOG_EVERY_MS = 5000;
/** Least time between two rewrites of the terminal progress line, ms. */
const PROGRESS_REDRAW_MS = 100;

/**
 * Progress on stderr: a `\r`-rewritten percentage with one decimal on a
 * terminal (so a long run visibly moves), one line per 10 % otherwise (so CI
 * logs stay readable) plus one every {@link PROGRESS_LOG_EVERY_MS} while it advances.
 * `now` is the wall clock, for tests.
 */
export function progressReporter(io: CliIo, label: string, now: () => number = () => performance.now()): { update: (fraction: number) => void; done: () => void } {
  let lastText = '';
  let lastStep = -1;
  let lastAt = -Infinity;
  let shown = false;
  return {
    update(fraction) {
      const permille = Math.floor(Math.min(1, Math.max(0, fraction)) * 1000);
      const text = `${(permille / 10).toFixed(1)}%`;
      if (text === lastText) return;
      const t = now();
      if (io.stderrIsTTY) {
        if (permille < 1000 && permille > 0 && t - lastAt < PROGRESS_REDRAW_MS) return;
        io.stderr(`\r${label} ${text}`);
      } else {
        const step = Math.floor(permille / 100) * 10;
        if (step > lastStep) io.stderr(`${label} ${step}%\n`);
        else if (t - lastAt >= PROGRESS_LOG_EVERY_MS) io.stderr(`${label} ${text}\n`);
        else return;
        lastStep = Math.max(lastStep, step);
      }
      lastText = text;
      lastAt = t;
      shown = true;
    },
    done() {
      if (io.stderrIsTTY && shown) io.stderr('\n');
    },
  };
}

/** `{ a: 1, b: 'x' }` → `a=1 b=x`. */
export function settings(options: Record<string, unknown>): string {
  return Object.entries(options)
    .filter(([key]) => key !== 'name')
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
}
