/**
 * `npx tsx bench/byte-budget.ts [--seeds N]`: the log-ingest figure of #16.
 *
 * Log lines of 100 B to 1 MB (log-uniform: mostly short, a long tail of
 * stack traces and payload dumps) are offered to a Channel while its consumer
 * is stalled (a downstream outage), under 'drop-oldest' so the channel keeps
 * the newest lines and rolls for the whole outage. Two bounds of the same
 * nominal budget, 64 MB:
 * - bytes: `maxBytes: 64 MB` (capacity 100,000, so the bytes bind);
 * - items: `capacity` = 64 MB / the mean line size (the item-count bound a
 *   user would size from the average).
 * Two streams: `random` (every line drawn from the distribution) and `burst`
 * (the same, ending with 1,000 lines of 1 MB, e.g. a storm of stack traces).
 * Each (bound, stream, seed) runs in a fresh process with --expose-gc; the
 * retained heap (heapUsed after a full GC, minus the same before the channel
 * existed) is sampled every 100 offers and at the end. Prints the peak per run.
 */
import { execFileSync } from 'node:child_process';
import { Channel } from '../src/index.js';
import { mulberry32 } from '../src/core/testing/prng.test-helpers.js';

const MB = 1024 * 1024;
const BUDGET = 64 * MB;
const MIN = 100;
const MAX = 1_000_000;
const MEAN = (MAX - MIN) / Math.log(MAX / MIN);
const OFFERS = 4000;
const BURST = 1000;

interface Result {
  bound: string;
  stream: string;
  seed: number;
  peakHeapMB: number;
  peakHeldMB: number;
  heldItemsAtPeak: number;
}

function child(bound: 'bytes' | 'items', stream: 'random' | 'burst', seed: number): Result {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const rng = mulberry32(seed);
  const size = () => Math.round(Math.exp(Math.log(MIN) + rng() * Math.log(MAX / MIN)));
  // A flat one-byte string of n characters: n bytes of heap, n UTF-8 bytes for the default sizeOf.
  const line = (n: number) => Buffer.alloc(n, 97).toString('latin1');
  gc();
  const base = process.memoryUsage().heapUsed;
  const ch =
    bound === 'bytes'
      ? new Channel<string>({ capacity: 100_000, maxBytes: BUDGET, overflow: 'drop-oldest' })
      : new Channel<string>({ capacity: Math.round(BUDGET / MEAN), overflow: 'drop-oldest' });
  let held = 0; // our own sum of the lengths held, to report beside the heap
  const lengths: number[] = [];
  let peak = { heap: 0, held: 0, items: 0 };
  for (let i = 0; i < OFFERS; i++) {
    const n = stream === 'burst' && i >= OFFERS - BURST ? MAX : size();
    const before = ch.stats().droppedBy['drop-oldest'];
    ch.trySend(line(n));
    for (let k = ch.stats().droppedBy['drop-oldest'] - before; k > 0; k--) held -= lengths.shift()!;
    lengths.push(n);
    held += n;
    if (i % 100 === 99 || i === OFFERS - 1) {
      gc();
      const heap = process.memoryUsage().heapUsed - base;
      if (heap > peak.heap) peak = { heap, held, items: ch.size };
    }
  }
  ch.close();
  return { bound, stream, seed, peakHeapMB: peak.heap / MB, peakHeldMB: peak.held / MB, heldItemsAtPeak: peak.items };
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  console.log(JSON.stringify(child(args[1] as 'bytes' | 'items', args[2] as 'random' | 'burst', Number(args[3]))));
} else {
  const seedsAt = args.indexOf('--seeds');
  const seeds = seedsAt === -1 ? 3 : Number(args[seedsAt + 1]);
  const results: Result[] = [];
  for (const stream of ['random', 'burst'] as const) {
    for (let seed = 1; seed <= seeds; seed++) {
      for (const bound of ['bytes', 'items'] as const) {
        const out = execFileSync(process.execPath, [...process.execArgv, '--expose-gc', import.meta.filename, '--child', bound, stream, String(seed)], { encoding: 'utf8' });
        results.push(JSON.parse(out.trim().split('\n').pop()!) as Result);
      }
    }
  }
  console.log(`node ${process.version} · lines ${MIN} B to ${MAX / 1e6} MB log-uniform (mean ${(MEAN / 1024).toFixed(1)} KB) · budget 64 MB · ${OFFERS} offers, consumer stalled, drop-oldest`);
  console.log(`items bound: capacity ${Math.round(BUDGET / MEAN)} (64 MB / mean line)\n`);
  console.log('| stream | seed | bound | peak retained heap | lines held at that peak | bytes held at that peak | heap over 64 MB |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.stream} | ${r.seed} | ${r.bound === 'bytes' ? 'maxBytes 64 MB' : 'capacity (items)'} | ${r.peakHeapMB.toFixed(1)} MB | ${r.heldItemsAtPeak} | ${r.peakHeldMB.toFixed(1)} MB | ${(r.peakHeapMB - 64).toFixed(1)} MB |`,
    );
  }
}
