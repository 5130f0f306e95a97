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

/**
 * Progress on stderr: a `\r`-rewritten percentage on a terminal, one line per
 * 10 % otherwise (so CI logs stay readable).
 */
export function progressReporter(io: CliIo, label: string): { update: (fraction: number) => void; done: () => void } {
  let lastShown = -1;
  return {
    update(fraction) {
      const pct = Math.floor(fraction * 100);
      if (io.stderrIsTTY) {
        if (pct !== lastShown) io.stderr(`\r${label} ${pct}%`);
        lastShown = pct;
      } else {
        const step = Math.floor(pct / 10) * 10;
        if (step > lastShown) io.stderr(`${label} ${step}%\n`);
        lastShown = Math.max(lastShown, step);
      }
    },
    done() {
      if (io.stderrIsTTY && lastShown >= 0) io.stderr('\n');
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
