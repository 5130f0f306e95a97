import { defineScenario, type Contender, type Expectation } from '../lib/types.js';
import type { ScalingFixture } from '../contenders/scaling.js';

/**
 * Costs that must not grow with the work (issue 18): one operation measured
 * at growing sizes, each size in its own worker. The fixture is built once in
 * `prepare` (untimed); each run repeats the operation for `n` ms and reports
 * ns per operation. Flat means the ns/op column stays about the same down a
 * family; the targets compare each size with the family's smallest. CPU
 * ns/op is the process's CPU time (GC threads included) per operation: on a
 * shared machine it moves less than the wall time. Waiter fixtures also
 * report the heap each waiter holds (B/waiter, from 10k up).
 */

const load = () => import('../contenders/scaling.js');
type Fixtures = Awaited<ReturnType<typeof load>>;

function measured(make: (m: Fixtures) => ScalingFixture | Promise<ScalingFixture>): Contender {
  let fixture: ScalingFixture | undefined;
  const prepare = async (): Promise<void> => {
    fixture ??= await make(await load());
  };
  // The worker exits when its runs are done; closing a million waiters would only add time.
  return Object.assign(
    async ({ n }: { n: number }) => {
      await prepare();
      const { ops, perOp, cpuPerOp } = await fixture!.run(n);
      const metrics: Record<string, number> = { nsPerOp: perOp * 1e6 };
      if (cpuPerOp !== undefined) metrics.cpuNsPerOp = cpuPerOp * 1e6;
      if (fixture!.bytesPerWaiter !== undefined) metrics.bytesPerWaiter = fixture!.bytesPerWaiter;
      return { items: ops, metrics };
    },
    { prepare },
  );
}

const label = (size: number): string => (size >= 1e6 ? `${size / 1e6}M` : size >= 1e3 ? `${size / 1e3}k` : String(size));

const families = {
  // Waiters: producers blocked in send(), callers waiting in acquire().
  'channel-stats': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.channelStats(size)) },
  'token-bucket-stats': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.tokenBucketStats(size)) },
  // The same with a timeout on every wait: one clock timer per queue, not one per waiter.
  'channel-stats-timed': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.channelStats(size, 3_600_000)) },
  'credits-stats-timed': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.creditsTimedStats(size)) },
  // Components (Channel-shaped stats), each with a latency histogram, plus as many histograms of their own; ns per component.
  // At 1M a run is one tick of a few seconds, after a few seconds of untimed setup; the heap holds ~2.3 KB per
  // component (fixture ~1.4 KB, of which 1.2 KB the two LatencyHistograms; dashboard ~0.9 KB) and peaks near 4 GB.
  'dashboard-sample': { sizes: [10, 10_000, 100_000, 1_000_000], make: (size: number) => measured((m) => m.dashboardSample(size)) },
  // Leases held at the head of a 200k visible backlog; ns per item leased and acked (batches of 100).
  'sqlite-lease-ack': { sizes: [10, 10_000, 100_000, 1_000_000], make: (size: number) => measured((m) => m.sqliteLeaseAck(size)) },
} as const;

const contenders: Record<string, Contender> = {};
const expectations: Expectation[] = [];
for (const [family, { sizes, make }] of Object.entries(families)) {
  for (const size of sizes) {
    contenders[`${family}-${label(size)}`] = make(size);
    // Items/s at a size against the smallest size of the family. An O(n)
    // operation would read about 1e-3× at 10k and 1e-5× at 1M; a flat one
    // still loses some to cache misses and GC over a heap of a million objects.
    if (size !== sizes[0]) expectations.push({ contender: `${family}-${label(size)}`, reference: `${family}-${label(sizes[0])}`, atLeast: 0.1 });
  }
}

// The default heap limit (~4.2 GB here) leaves the 1M dashboard tick a few hundred MB to spare: V8 then
// collects so often that a tick costs 4-6x as much per component. 6 GB of heap keeps the GC at its usual pace.
const workerFlags = { 'dashboard-sample-1M': ['--max-old-space-size=6144'] };

export default defineScenario({
  name: 'scaling',
  description: 'cost of one operation at 10 … 1M waiters / components / leases held (issue 18): stats(), dashboard tick, SQLite lease+ack; heap per waiter',
  baseline: 'channel-stats-10',
  defaultN: 100,
  quickN: 50,
  nLabel: 'ms of repeated operations per run; sizes are in the contender names',
  metricColumns: { nsPerOp: 'ns/op', cpuNsPerOp: 'CPU ns/op', bytesPerWaiter: 'B/waiter' },
  expectations,
  workerFlags,
  notes: {
    'channel-stats-10': 'Channel#stats() with this many producers blocked in send() on a full channel',
    'token-bucket-stats-10': 'TokenBucket#stats() with this many callers waiting in acquire()',
    'channel-stats-timed-10': 'Channel#stats() with this many producers blocked in send() with timeoutMs (an hour)',
    'credits-stats-timed-10': 'Credits#stats() with this many callers waiting in acquire() with acquireTimeoutMs (an hour)',
    'dashboard-sample-10': 'one dashboard sample(): this many components (stats shaped like a Channel\'s) with a latency histogram each, plus as many histogram-only cards; ns per component',
    'sqlite-lease-ack-10': "SqliteStore (node:sqlite, fsync 'batch') lease(100) + ack with this many leases held ahead of a 200k backlog; ns per item",
  },
  contenders,
});
