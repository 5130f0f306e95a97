import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { benchDir } from '../lib/registry.js';
import { defineScenario, type Contender, type RunOutcome } from '../lib/types.js';
import { PEERS, type PeerKind, type SharedLimiter } from '../contenders/shared-rate.js';

/**
 * A rate shared across processes through one Redis (issue 14 part 2):
 * Sluice's `RedisTokenBucket` against rate-limiter-flexible's
 * `RateLimiterRedis` and Bottleneck's Redis clustering (`datastore:
 * 'ioredis'`); how each is configured is in `bench/contenders/shared-rate.ts`.
 *
 * - `<peer>-<callers>`: admissions per second of ONE process with 1, 10 and
 *   100 concurrent callers, at a rate (1,000,000/s) that never binds, so what
 *   is timed is each limiter's own cost per admission. Each run lasts 2 s
 *   (0.5 s with --quick); `n` is ignored. Columns: p50/p99 µs per acquire().
 * - `<peer>-accuracy`: 3 processes (fresh, started by the run) with 10
 *   callers each share a rate of 300/s (well below every peer's throughput).
 *   After a 1 s warm-up, grants are counted over a 5 s window (2 s with
 *   --quick); `accuracy ‰` is admitted / (rate × window) in per mille
 *   (1000 = exact; the target ±2% is 980–1020). Its items/s is admissions
 *   over the whole run including process start-up, so ignore that column.
 *   Burst 1, except `sluice-prefetch-accuracy`: burst 10 (prefetch takes at
 *   most the burst, so with 1 it could hold nothing).
 *
 * Redis: 127.0.0.1, port from SLUICE_BENCH_REDIS_PORT (default 6379). Every
 * run uses its own key names and deletes them afterwards.
 */

const FAST_RATE = 1_000_000;
const SHARED_RATE = 300;
const PROCESSES = 3;
const CALLERS_PER_PROCESS = 10;
const LATENCY_CAP = 1 << 20;
const PREFETCH_BURST = 10;

const contenders = () => import('../contenders/shared-rate.js');

let client: Redis | undefined;
async function redisClient(): Promise<Redis> {
  client ??= await (await contenders()).connect();
  return client;
}

let runs = 0;
const uniqueName = (what: string) => `sluice-bench-sr-${what}-${process.pid}-${runs++}`;

/** `callers` loops of `acquire()` for the run's duration, on a fresh limiter per run. */
function throughput(kind: PeerKind, callers: number): Contender {
  const prepare = async (): Promise<void> => {
    await redisClient();
  };
  const run: Contender = async ({ quick }): Promise<RunOutcome> => {
    const m = await contenders();
    const redis = await redisClient();
    const name = uniqueName(kind);
    const limiter: SharedLimiter = await m.createLimiter(kind, redis, name, FAST_RATE, FAST_RATE);
    const durationMs = quick ? 500 : 2000;
    const latencies = new Float64Array(LATENCY_CAP);
    let items = 0;
    const end = performance.now() + durationMs;
    const loop = async (): Promise<void> => {
      while (performance.now() < end) {
        const started = performance.now();
        await limiter.acquire();
        if (items < LATENCY_CAP) latencies[items] = performance.now() - started;
        items++;
      }
    };
    try {
      await Promise.all(Array.from({ length: callers }, loop));
      limiter.verify(items);
    } finally {
      await limiter.close();
      await m.cleanup(redis, name);
    }
    const sorted = latencies.subarray(0, Math.min(items, LATENCY_CAP)).sort();
    const pick = (q: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000));
    return { items, metrics: { p50Us: pick(0.5), p99Us: pick(0.99) } };
  };
  return Object.assign(run, { prepare });
}

interface ChildResult {
  inWindow: number;
  granted: number;
}

/** Starts one sharing process; resolves with a handle once it printed `ready`. */
function startChild(args: Record<string, unknown>): Promise<{ go: (start: number) => void; result: Promise<ChildResult> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, 'contenders', 'shared-rate-child.ts'), JSON.stringify(args)], {
    cwd: join(benchDir, '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
  let onReady: (() => void) | undefined;
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('ready\n')) onReady?.();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('result '));
      if (code !== 0 || line === undefined) reject(new Error(`shared-rate child exited with ${String(code)}:\n${stderr.trim() || stdout.trim()}`));
      else resolve(JSON.parse(line.slice('result '.length)) as ChildResult);
    });
  });
  return new Promise((resolve, reject) => {
    onReady = () => {
      onReady = undefined;
      resolve({ go: (start) => child.stdin.end(`${start}\n`), result });
    };
    result.catch(reject);
  });
}

function accuracy(kind: PeerKind): Contender {
  const prepare = async (): Promise<void> => {
    await redisClient();
  };
  const run: Contender = async ({ quick }): Promise<RunOutcome> => {
    const m = await contenders();
    const redis = await redisClient();
    const name = uniqueName(`${kind}-acc`);
    const warmupMs = 1000;
    const windowMs = quick ? 2000 : 5000;
    const burst = kind === 'sluice-prefetch' ? PREFETCH_BURST : 1;
    const args = { kind, name, rate: SHARED_RATE, burst, callers: CALLERS_PER_PROCESS, warmupMs, windowMs };
    try {
      const children = await Promise.all(Array.from({ length: PROCESSES }, () => startChild(args)));
      const start = Date.now() + 200;
      children.forEach((c) => c.go(start));
      const results = await Promise.all(children.map((c) => c.result));
      const admitted = results.reduce((sum, r) => sum + r.inWindow, 0);
      const configured = (SHARED_RATE * windowMs) / 1000;
      return {
        items: admitted,
        metrics: {
          accuracyPermille: (admitted / configured) * 1000,
          admitted,
          configured,
          minShare: Math.min(...results.map((r) => r.inWindow)),
          maxShare: Math.max(...results.map((r) => r.inWindow)),
        },
      };
    } finally {
      await m.cleanup(redis, name);
    }
  };
  return Object.assign(run, { prepare });
}

const PEER_LABEL: Record<PeerKind, string> = {
  sluice: 'RedisTokenBucket.acquire() (the calls of one turn share one EVALSHA)',
  'sluice-prefetch': 'RedisTokenBucket.acquire() with prefetch: { tokens: 20 } (tokens held in the process, opt-in)',
  rlf: "rate-limiter-flexible RateLimiterRedis.consume(), points = rate per 1 s window; refused calls sleep msBeforeNext and retry",
  bottleneck: "Bottleneck datastore 'ioredis', minTime = 1000 / rate, schedule(noop)",
};
const CALLER_COUNTS = [1, 10, 100] as const;

const all: Record<string, Contender> = {};
const notes: Record<string, string> = {};
for (const kind of PEERS) {
  for (const callers of CALLER_COUNTS) {
    all[`${kind}-${callers}`] = throughput(kind, callers);
    notes[`${kind}-${callers}`] = `${PEER_LABEL[kind]}, ${callers} concurrent caller(s), rate ${FAST_RATE.toLocaleString('en-US')}/s (never binds)`;
  }
}
for (const kind of PEERS) {
  all[`${kind}-accuracy`] = accuracy(kind);
  notes[`${kind}-accuracy`] =
    `${PEER_LABEL[kind]}; ${PROCESSES} processes x ${CALLERS_PER_PROCESS} callers share ${SHARED_RATE}/s; admitted / configured over 5 s after a 1 s warm-up`;
}

export default defineScenario({
  name: 'shared-rate',
  description:
    `a rate shared through one Redis: admissions/s of one process at 1/10/100 callers (rate never binds), and admitted / configured ` +
    `over ${PROCESSES} processes at ${SHARED_RATE}/s (-accuracy rows: use the accuracy column, not items/s)`,
  baseline: 'rlf-10',
  compareTo: ['bottleneck-10'],
  defaultN: 1,
  quickN: 1,
  nLabel: 'ignored: throughput runs last 2 s (0.5 s with --quick), accuracy runs 1 s + 5 s (1 s + 2 s)',
  metricColumns: { p50Us: 'p50 µs', p99Us: 'p99 µs', accuracyPermille: 'accuracy ‰', minShare: 'min/process', maxShare: 'max/process' },
  expectations: CALLER_COUNTS.flatMap((callers) => [
    { contender: `sluice-${callers}`, reference: `rlf-${callers}`, atLeast: 1.5 },
    { contender: `sluice-${callers}`, reference: `bottleneck-${callers}`, atLeast: 1.5 },
    { contender: `sluice-prefetch-${callers}`, reference: `rlf-${callers}`, atLeast: 1.5 },
    { contender: `sluice-prefetch-${callers}`, reference: `bottleneck-${callers}`, atLeast: 1.5 },
  ]),
  notes,
  contenders: all,
});
