// Costs that must not grow with the number of waiters (issue 18, items 1, 2, 6):
// the time one stats() call takes with 10, 10,000 and 1,000,000 callers
// waiting (Channel blocked send, TokenBucket, Credits, CongestionWindow,
// ConcurrencyLimiter), and the retained heap per waiter against the floor of
// a bare pending Promise with its resolve and reject held.
//
//   npx tsx bench/scaling-waiters.ts                 # both tables
//   npx tsx bench/scaling-waiters.ts stats           # stats() cost only
//   npx tsx bench/scaling-waiters.ts memory          # bytes per waiter only
//   npx tsx bench/scaling-waiters.ts stats 10,10000  # other sizes
//
// Standalone, beside the `scaling` bench scenario (bench/scenarios/scaling.ts),
// which measures Channel and TokenBucket stats() too (and with a timeout on
// every wait: Channel send() and Credits acquire()), on a virtual clock after
// the waiters have waited, with their heap per waiter on that clock; this
// script adds CongestionWindow and ConcurrencyLimiter, the floor, and the
// bytes per waiter on the real clock (whose timers are Node's).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Channel } from '../src/core/channel/index.js';
import { TokenBucket } from '../src/core/token-bucket/index.js';
import { Credits } from '../src/core/credits/index.js';
import { CongestionWindow } from '../src/core/congestion-window/index.js';
import { ConcurrencyLimiter } from '../src/core/concurrency-limiter/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Something with waiters queued and a stats() to read; `close()` settles them. */
interface Subject {
  stats(): unknown;
  close(): void;
  settled: Promise<unknown>[];
}

type Build = (n: number) => Subject;

function keep(promises: Promise<unknown>[], p: Promise<unknown>, i: number): void {
  // No handler yet: a .catch() here would add its own promise and reaction to
  // every waiter's bill. `settle()` attaches them before close() rejects.
  promises[i] = p;
}

/** Closes `s` and waits for every waiter to settle; close() rejects them, which is expected here. */
async function settle(s: { close(): void; settled: Promise<unknown>[] }): Promise<void> {
  for (const p of s.settled) p.catch(() => {});
  s.close();
  await Promise.allSettled(s.settled);
}

const subjects: Record<string, Build> = {
  'Channel send()': (n) => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(0);
    const settled = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) keep(settled, ch.send(i), i);
    return { stats: () => ch.stats(), close: () => ch.close(), settled };
  },
  'TokenBucket acquire()': (n) => {
    const bucket = new TokenBucket({ ratePerSecond: 0.001, burst: 1 });
    bucket.tryAcquire();
    const settled = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) keep(settled, bucket.acquire(), i);
    return { stats: () => bucket.stats(), close: () => bucket.close(), settled };
  },
  'Credits acquire()': (n) => {
    const credits = new Credits({ initial: 0 });
    const settled = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) keep(settled, credits.acquire(), i);
    return { stats: () => credits.stats(), close: () => credits.close(), settled };
  },
  'CongestionWindow acquire()': (n) => {
    const cw = new CongestionWindow({ initialWindow: 1 });
    void cw.acquire();
    const settled = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) keep(settled, cw.acquire(), i);
    return { stats: () => cw.stats(), close: () => cw.close(), settled };
  },
  'ConcurrencyLimiter acquire()': (n) => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1 });
    limiter.tryAcquire();
    const settled = new Array<Promise<unknown>>(n);
    for (let i = 0; i < n; i++) keep(settled, limiter.acquire(), i);
    return { stats: () => limiter.stats(), close: () => limiter.close(), settled };
  },
};

/** Median µs per stats() call: batches of calls sized to take about 20 ms, 7 batches. */
function statsCost(s: Subject): number {
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) s.stats();
    const ms = performance.now() - t0;
    if (ms > 20 || batch >= 1 << 22) break;
    batch *= 2;
  }
  const samples: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) s.stats();
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[3]!;
}

function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`;
}

async function statsTable(sizes: number[]): Promise<void> {
  console.log(`stats() cost with n callers waiting (median of 7 batches, µs per call)`);
  console.log(['subject'.padEnd(30), ...sizes.map((n) => `n=${n.toLocaleString('en')}`.padStart(14))].join(''));
  for (const [name, build] of Object.entries(subjects)) {
    const cells: string[] = [];
    for (const n of sizes) {
      const s = build(n);
      cells.push(fmtUs(statsCost(s)).padStart(14));
      await settle(s);
    }
    console.log(name.padEnd(30) + cells.join(''));
  }
}

async function memoryTable(n: number): Promise<void> {
  console.log(`\nretained heap per waiter (heapUsed delta / ${n.toLocaleString('en')}, after full GC)`);
  const measure = async (build: () => { close(): void; settled: Promise<unknown>[] }): Promise<number> => {
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const s = build();
    gc();
    gc();
    const after = process.memoryUsage().heapUsed;
    // The array holding the promises is the harness's, not the waiters': subtract it.
    const perWaiter = (after - before) / n - 8;
    await settle(s);
    return perWaiter;
  };
  const rows: [string, () => { close(): void; settled: Promise<unknown>[] }][] = [
    [
      'floor: pending promise + resolve/reject',
      () => {
        const held = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          // The promise is kept alive by its resolve function, as a waiter's is.
          let held2: { resolve: () => void; reject: (e: unknown) => void } | undefined;
          void new Promise<void>((resolve, reject) => {
            held2 = { resolve, reject };
          });
          held[i] = held2;
        }
        return { close: () => held.fill(undefined), settled: [] };
      },
    ],
    ...Object.entries(subjects).map(([name, build]) => [name, () => build(n)] as [string, () => Subject]),
    [
      'Channel send() with timeoutMs',
      () => {
        const ch = new Channel<number>({ capacity: 1 });
        ch.trySend(0);
        const settled = new Array<Promise<unknown>>(n);
        for (let i = 0; i < n; i++) keep(settled, ch.send(i, { timeoutMs: 3_600_000 }), i);
        return { close: () => ch.close(), settled };
      },
    ],
    [
      'Credits acquire() with acquireTimeoutMs',
      () => {
        const credits = new Credits({ initial: 0, acquireTimeoutMs: 3_600_000 });
        const settled = new Array<Promise<unknown>>(n);
        for (let i = 0; i < n; i++) keep(settled, credits.acquire(), i);
        return { close: () => credits.close(), settled };
      },
    ],
  ];
  for (const [name, build] of rows) {
    // Warm the code path first so the figures are of optimized, settled shapes.
    await settle(build());
    const bytes = await measure(build);
    console.log(`${name.padEnd(42)}${bytes.toFixed(0).padStart(6)} B`);
  }
}

const [what = 'all', sizesArg] = process.argv.slice(2);
const sizes = sizesArg ? sizesArg.split(',').map(Number) : [10, 10_000, 1_000_000];
console.log(`Node ${process.version}`);
if (what === 'all' || what === 'stats') await statsTable(sizes);
if (what === 'all' || what === 'memory') await memoryTable(100_000);
