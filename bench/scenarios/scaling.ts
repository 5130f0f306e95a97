import { defineScenario, type Contender, type Expectation } from '../lib/types.js';
import type { ScalingFixture } from '../contenders/scaling.js';

/**
 * Costs that must not grow with the work (issue 18): one operation measured
 * at growing sizes, each size in its own worker. The fixture is built once in
 * `prepare` (untimed); each run repeats the operation for `n` ms and reports
 * ns per operation. Flat means the ns/op column stays about the same down a
 * family; the targets compare each size with the family's smallest.
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
      const { ops, perOp } = await fixture!.run(n);
      return { items: ops, metrics: { nsPerOp: perOp * 1e6 } };
    },
    { prepare },
  );
}

const label = (size: number): string => (size >= 1e6 ? `${size / 1e6}M` : size >= 1e3 ? `${size / 1e3}k` : String(size));

const families = {
  // Waiters: producers blocked in send(), callers waiting in acquire().
  'channel-stats': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.channelStats(size)) },
  'token-bucket-stats': { sizes: [10, 10_000, 1_000_000], make: (size: number) => measured((m) => m.tokenBucketStats(size)) },
  // Components (Channel-shaped stats), each with a latency histogram, plus as many histograms of their own; ns per component.
  // At 1M a run is one tick of several seconds, after ~20 s of untimed setup; peak RSS ~3.5 GB, within the default heap limit.
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

export default defineScenario({
  name: 'scaling',
  description: 'cost of one operation at 10 … 1M waiters / components / leases held (issue 18): stats(), dashboard tick, SQLite lease+ack',
  baseline: 'channel-stats-10',
  defaultN: 100,
  quickN: 50,
  nLabel: 'ms of repeated operations per run; sizes are in the contender names',
  metricColumns: { nsPerOp: 'ns/op' },
  expectations,
  notes: {
    'channel-stats-10': 'Channel#stats() with this many producers blocked in send() on a full channel',
    'token-bucket-stats-10': 'TokenBucket#stats() with this many callers waiting in acquire()',
    'dashboard-sample-10': 'one dashboard sample(): this many components (stats shaped like a Channel\'s) with a latency histogram each, plus as many histogram-only cards; ns per component',
    'sqlite-lease-ack-10': "SqliteStore (node:sqlite, fsync 'batch') lease(100) + ack with this many leases held ahead of a 200k backlog; ns per item",
  },
  contenders,
});
