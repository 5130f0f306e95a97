// `sluice top URL`: a terminal view of a running service, from its dashboard's
// event stream or its Prometheus /metrics endpoint, naming the bottleneck.
import type { DashboardSnapshot } from '../dashboard/index.js';
import { findBottleneck, SaturationTracker, type BottleneckVerdict } from './bottleneck.js';
import { dashboardBase, fetchDashboardSnapshot, followDashboard } from './dashboard-reader.js';
import { followPrometheus, scrape, viewsFromScrape } from './prometheus-reader.js';
import { paint, renderFrame } from './render.js';

export { findBottleneck, orderComponents, pressureOf, SaturationTracker, type BottleneckVerdict } from './bottleneck.js';
export { parsePrometheusText, viewsFromScrape } from './prometheus-reader.js';
export { renderFrame } from './render.js';

/** Flags of `sluice top` as commander hands them over. */
export interface TopFlags {
  once?: boolean;
  json?: boolean;
  /** 'auto' (a path ending in /metrics is Prometheus), 'dashboard' or 'prometheus'. */
  source?: 'auto' | 'dashboard' | 'prometheus';
  /** Ms between Prometheus scrapes (the dashboard pushes at its own interval). */
  interval?: number;
  /** Component names upstream first, e.g. ['fleet', 'ingest', 'sqlite-writer']. */
  order?: string[];
  /** Metric name prefix of a Prometheus endpoint. */
  prefix?: string;
}

/** What the command writes to and reads from; process.stdout's unless a test gives its own. */
export interface TopIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  columns: () => number;
  rows: () => number;
  /** Colour allowed: a terminal and NO_COLOR unset. */
  color: boolean;
  /** Ends the live view (Ctrl-C); when absent, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
  /** Subscribes to terminal resizes; returns the unsubscribe. */
  onResize?: (listener: () => void) => () => void;
}

/** The `--once --json` document: the snapshot as the dashboard serves it, plus the verdict. */
export type TopJson = DashboardSnapshot & { bottleneck: BottleneckVerdict | null };

export function processTopIo(): TopIo {
  const out = process.stdout;
  const isTTY = out.isTTY === true;
  return {
    stdout: (text) => void out.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTTY,
    // Not a terminal (a pipe, a file): nothing to fit, so nothing is cut.
    columns: () => (!isTTY ? Number.MAX_SAFE_INTEGER : out.columns > 0 ? out.columns : 80),
    rows: () => (!isTTY ? Number.MAX_SAFE_INTEGER : out.rows > 0 ? out.rows : 24),
    color: isTTY && (process.env.NO_COLOR ?? '') === '' && process.env.TERM !== 'dumb',
    onResize: isTTY
      ? (listener) => {
          out.on('resize', listener);
          return () => void out.off('resize', listener);
        }
      : undefined,
  };
}

/** Checks the URL argument: http(s) only. @returns the URL, or the one-line problem. */
export function parseTopUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text}' is not a URL; expected e.g. http://127.0.0.1:3000/ (a dashboard) or http://127.0.0.1:9464/metrics`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `'${text}' is not an http(s) URL`;
  return url;
}

function sourceOf(url: URL, flag: TopFlags['source']): 'dashboard' | 'prometheus' {
  if (flag === 'dashboard' || flag === 'prometheus') return flag;
  return /\/metrics\/?$/.test(url.pathname) ? 'prometheus' : 'dashboard';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `sluice top`. Resolves with the exit code: 0, 1 when the service
 * cannot be read, 2 for a bad URL.
 */
export async function topCommand(urlText: string, flags: TopFlags, io: TopIo = processTopIo()): Promise<number> {
  const url = parseTopUrl(urlText);
  if (typeof url === 'string') {
    io.stderr(`sluice top: ${url}\n`);
    return 2;
  }
  const source = sourceOf(url, flags.source);
  const intervalMs = flags.interval ?? 1000;
  const prefix = flags.prefix ?? 'sluice_';
  const order = flags.order ?? [];
  const where = source === 'dashboard' ? dashboardBase(url).href : url.href;
  try {
    if (flags.once) {
      let snapshot: DashboardSnapshot;
      if (source === 'dashboard') {
        snapshot = await fetchDashboardSnapshot(dashboardBase(url));
      } else {
        const first = await scrape(url);
        const t0 = performance.now();
        await sleep(intervalMs);
        const second = await scrape(url);
        snapshot = { seq: 1, t: 0, components: viewsFromScrape(second, first, (performance.now() - t0) / 1000, prefix), alerts: [], alertEvents: [] };
      }
      const verdict = findBottleneck(snapshot, { order });
      if (flags.json) io.stdout(`${JSON.stringify({ ...snapshot, bottleneck: verdict ?? null } satisfies TopJson)}\n`);
      else io.stdout(`${renderFrame(snapshot, verdict, { columns: io.columns(), rows: Number.MAX_SAFE_INTEGER, color: io.color }, where).join('\n')}\n`);
      return 0;
    }
    return await live(url, source, where, { intervalMs, prefix, order, json: flags.json === true }, io);
  } catch (error) {
    io.stderr(`sluice top: cannot read ${where}: ${describe(error)}\n`);
    return 1;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return `${error.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return error.message;
}

async function live(
  url: URL,
  source: 'dashboard' | 'prometheus',
  where: string,
  o: { intervalMs: number; prefix: string; order: string[]; json: boolean },
  io: TopIo,
): Promise<number> {
  const controller = new AbortController();
  const signals = io.signal === undefined;
  let restored = false;
  const stop = (): void => {
    controller.abort();
    // Ctrl-C must end the command now. Aborting the stream is not always enough:
    // fetch's keep-alive socket can hold the event loop open after it, and on
    // Node 22 an SSE body being read does not always see the abort. So the
    // screen is restored and the process exits shortly after, whatever is
    // still open (unref'd: a process with nothing left exits on its own first).
    if (signals) {
      setTimeout(() => {
        restore();
        process.exit();
      }, 250).unref();
    }
  };
  if (signals) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } else if (io.signal!.aborted) stop();
  else io.signal!.addEventListener('abort', stop, { once: true });
  const tracker = new SaturationTracker();
  const fullscreen = io.isTTY && !o.json;
  let last: { snapshot: DashboardSnapshot; verdict: BottleneckVerdict | undefined } | undefined;
  const frame = (color: boolean, rows: number): string[] => renderFrame(last!.snapshot, last!.verdict, { columns: io.columns(), rows, color }, where);
  const draw = (): void => {
    if (!last) return;
    if (o.json) io.stdout(`${JSON.stringify({ ...last.snapshot, bottleneck: last.verdict ?? null })}\n`);
    else if (fullscreen) io.stdout(paint(frame(io.color, io.rows())));
    else io.stdout(`${frame(false, Number.MAX_SAFE_INTEGER).join('\n')}\n\n`);
  };
  const onSnapshot = (snapshot: DashboardSnapshot): void => {
    const held = tracker.update(snapshot.components, snapshot.t * 1000);
    last = { snapshot, verdict: findBottleneck(snapshot, { order: o.order, held }) };
    draw();
  };
  const offResize = fullscreen ? io.onResize?.(draw) : undefined;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (fullscreen) {
      io.stdout('\x1b[?25h\x1b[?1049l');
      // The last frame stays on the normal screen, so the verdict outlives the view.
      if (last) io.stdout(`${frame(io.color, Number.MAX_SAFE_INTEGER).join('\n')}\n`);
    }
  };
  // Alternate screen and hidden cursor, like top(1); both undone on the way out.
  if (fullscreen) io.stdout(`\x1b[?1049h\x1b[?25l\x1b[H\x1b[2JConnecting to ${where} …`);
  try {
    if (source === 'dashboard') await followDashboard(dashboardBase(url), onSnapshot, controller.signal);
    else await followPrometheus(url, o.intervalMs, o.prefix, onSnapshot, controller.signal);
    if (!controller.signal.aborted) io.stderr(`sluice top: ${where} ended the stream\n`);
    return 0;
  } finally {
    offResize?.();
    if (signals) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    } else io.signal!.removeEventListener('abort', stop);
    restore();
  }
}
