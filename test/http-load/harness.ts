// Shared by the load test: starts the server of server.ts in a child process and
// loads it with autocannon, timing served (2xx) responses separately from shed ones.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { ServerConfig, ServerReport } from './server.js';

export interface RunningServer {
  url: string;
  /** Closes the server and returns its loadShed counters. */
  stop(): Promise<ServerReport>;
  /** Last resort if a test fails half way. */
  kill(): void;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [JSON.stringify(config)], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}`)));
    child.once('message', (message) => resolve((message as { port: number }).port));
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<ServerReport>((resolve) => {
        child.on('message', (message) => {
          const report = (message as { report?: ServerReport }).report;
          if (report) resolve(report);
        });
        child.send('close');
      }),
    kill: () => {
      if (child.exitCode === null) child.kill();
    },
  };
}

export interface LoadResult {
  connections: number;
  durationS: number;
  /** 2xx responses within the `durationS` counted. */
  served: number;
  /** 503 responses. */
  shed: number;
  /** Other statuses (after the warm-up, to the end of the run), connection errors and timeouts (the whole run). */
  failed: number;
  /** Latency of served responses only, in ms. */
  p50: number;
  p99: number;
  max: number;
}

export interface LoadOptions {
  /** Headers sent with every request of the run (e.g. `x-priority`). */
  headers?: Record<string, string>;
  /**
   * Requests per second over all connections (autocannon's `overallRate`). Each
   * connection sends its share back to back at the start of every second, then
   * pauses: stagger several runs to spread the load over the second.
   */
  overallRate?: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * One bounded autocannon run: `connections` closed-loop clients for `warmupS + durationS`
 * seconds. Only the responses that arrive within `durationS` after the first
 * `warmupS` are counted. Not the warm-up: every run opens its connections at once
 * and starts on cold code paths, and that transient is not the steady state being
 * measured. Not after `durationS` either: autocannon stops only on its next
 * one-second tick, so a run of 4.5 s goes on for 5, and counting to the end made
 * a rate computed as `served / durationS` 12.5% too high (a 10-slot, 20 ms
 * downstream - at most 500 req/s - read 540).
 */
export async function load(url: string, connections: number, durationS: number, warmupS = 0.5, options: LoadOptions = {}): Promise<LoadResult> {
  const servedMs: number[] = [];
  let shed = 0;
  let failed = 0;
  const countFrom = performance.now() + warmupS * 1000;
  const countTo = countFrom + durationS * 1000;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: warmupS + durationS,
        timeout: 10,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      const now = performance.now();
      if (now < countFrom) return;
      const ok = statusCode >= 200 && statusCode < 300;
      // A failure counts whenever it comes after the warm-up: `failed` says whether anything went wrong, not a rate.
      if (!ok && statusCode !== 503) failed++;
      else if (now >= countTo) return;
      else if (ok) servedMs.push(responseTimeMs);
      else shed++;
    });
  });
  servedMs.sort((a, b) => a - b);
  return {
    connections,
    durationS,
    served: servedMs.length,
    shed,
    failed: failed + result.errors, // errors include timeouts
    p50: percentile(servedMs, 50),
    p99: percentile(servedMs, 99),
    max: percentile(servedMs, 100),
  };
}
