import { defineScenario, type Check, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * What `trend()` adds to a pressure reading (issue 12): `read()` calls per
 * second on a bare source (a `channelPressure`-shaped reading of a mutable
 * level) against the same source wrapped in a `trend()`, whose `read()` reads
 * the source and adds `slope × horizonMs`. The level moves on every call so
 * neither loop can be folded away; each run checks the sum of the readings.
 * The trend's sampling timer does not fire inside the synchronous loop, so
 * the `read()` rows are the request-path cost alone.
 *
 * The `-sample` rows are the background cost instead: one sample (read the
 * source, store it in the ring, recompute the Theil–Sen slope) per item,
 * driven by a VirtualClock advanced one sample interval at a time, with a
 * full window of 21 samples (10 s / 500 ms, the defaults: 210 slope pairs)
 * and of 1001 samples (10 s / 10 ms: the 32-point cap, 496 pairs). They run
 * n / 1000 samples; their items/s is samples/s (ns/op is per sample).
 */

const sluice = () => import('../../src/index.js');
const testing = () => import('../../src/core/testing/index.js');

const check = (what: string, expected: number, actual: number): Check => ({ what, expected, actual });

/** The level cycles through 0, 1, …, 999 (whole numbers: the sum is exact in floating point). */
function expectedSum(n: number): number {
  const full = Math.floor(n / 1000);
  const rest = n % 1000;
  return full * 499_500 + (rest * (rest - 1)) / 2;
}

function readLoop(wrap: boolean): Contender {
  let make: (() => Promise<{ read: () => number; level: { value: number }; close: () => void }>) | undefined;
  const prepare = async (): Promise<void> => {
    const { trend } = await sluice();
    make ??= async () => {
      const level = { value: 0 };
      const bare = { name: 'level', read: () => level.value };
      if (!wrap) return { read: bare.read, level, close: () => undefined };
      const t = trend(bare, { windowMs: 10_000, sampleEveryMs: 500 });
      return { read: () => t.read(), level, close: () => t.close() };
    };
  };
  return Object.assign(
    async ({ n }: { n: number }): Promise<RunOutcome> => {
      await prepare();
      const { read, level, close } = await make!();
      let sum = 0;
      let step = 0;
      for (let i = 0; i < n; i++) {
        level.value = step;
        if (++step === 1000) step = 0;
        sum += read();
      }
      close();
      return { items: n, checks: [check('sum of readings', expectedSum(n), sum)], metrics: {} };
    },
    { prepare },
  );
}

function sampleLoop(sampleEveryMs: number): Contender {
  let loaded: { trend: Awaited<ReturnType<typeof sluice>>['trend']; VirtualClock: Awaited<ReturnType<typeof testing>>['VirtualClock'] } | undefined;
  const prepare = async (): Promise<void> => {
    loaded ??= { trend: (await sluice()).trend, VirtualClock: (await testing()).VirtualClock };
  };
  return Object.assign(
    async ({ n }: { n: number }): Promise<RunOutcome> => {
      await prepare();
      const { trend, VirtualClock } = loaded!;
      const clock = new VirtualClock();
      let level = 0;
      const t = trend(() => (level += 0.001), { windowMs: 10_000, sampleEveryMs, clock });
      const samples = Math.max(1, Math.floor(n / 1000));
      const started = performance.now();
      for (let i = 0; i < samples; i++) clock.advance(sampleEveryMs);
      const elapsed = performance.now() - started;
      const taken = t.stats().samples - 1; // less the one at creation
      t.close();
      return { items: samples, checks: [check('samples taken', samples, taken)], metrics: { nsPerOp: (elapsed * 1e6) / samples } };
    },
    { prepare },
  );
}

export default defineScenario({
  name: 'trend',
  description: 'what trend() adds to a pressure read(): read() calls/s, bare source vs wrapped; -sample rows: one background sample + Theil–Sen slope per item',
  baseline: 'bare-read',
  defaultN: 20_000_000,
  quickN: 2_000_000,
  nLabel: 'read() calls per run (n / 1000 samples for the -sample rows)',
  metricColumns: { nsPerOp: 'ns/sample' },
  expectations: [{ contender: 'trend-read', reference: 'bare-read', atLeast: 0.25 }],
  notes: {
    'bare-read': 'read() of a source returning a mutable level (what channelPressure does)',
    'trend-read': 'the same source wrapped in trend(): source read + try/catch + slope × horizon',
    'trend-sample-21': 'one sample with a 21-sample window (10 s / 500 ms, the defaults): ring store + Theil–Sen over 210 pairs',
    'trend-sample-1001': 'one sample with a 1001-sample window (10 s / 10 ms): 32 of the points, 496 pairs',
  },
  contenders: {
    'bare-read': readLoop(false),
    'trend-read': readLoop(true),
    'trend-sample-21': sampleLoop(500),
    'trend-sample-1001': sampleLoop(10),
  },
});
