import { defineScenario, type Check, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * Circuit-breaker overhead per call (issue 13 part 5): one caller awaits
 * `n` calls in a row through a closed breaker, each to an async no-op that
 * returns an already settled promise, so what is timed is the breaker's
 * bookkeeping plus one promise hop. `bare` is the same loop without a breaker.
 *
 * The breakers are configured alike: open at a 50% failure rate, 30 s open,
 * nothing slow-tracked and no per-call timeout (opossum's default 10 s
 * timeout arms a timer per call; it is turned off with `timeout: false`,
 * since the other two have none). Windows: `sluice-run` and
 * `cockatiel-count` keep the last 20 calls; `sluice-run-time`, `opossum-fire`
 * and `cockatiel-sampling` the last 10 s (opossum: 10 buckets of 1 s;
 * cockatiel: its SamplingBreaker). `sluice-try` is the synchronous
 * `tryAcquire()` + `record()` pair around the same call, for callers that
 * cannot hand over a function. Every run checks the call count against the
 * function's own count and the breaker's.
 */

const SETTLED: Promise<number> = Promise.resolve(1);
const sluice = () => import('../../src/index.js');

const check = (what: string, expected: number, actual: number): Check => ({ what, expected, actual });

/** `setup` runs once per worker (imports); the function it returns builds a fresh breaker for each run. */
function loop(setup: () => Promise<() => { call: (fn: () => Promise<number>) => Promise<number>; counted: () => number }>): Contender {
  let make: Awaited<ReturnType<typeof setup>> | undefined;
  const prepare = async (): Promise<void> => {
    make ??= await setup();
  };
  return Object.assign(
    async ({ n }: { n: number }): Promise<RunOutcome> => {
      await prepare();
      const subject = make!();
      let ran = 0;
      const fn = (): Promise<number> => {
        ran++;
        return SETTLED;
      };
      let sum = 0;
      const started = performance.now();
      for (let i = 0; i < n; i++) sum += await subject.call(fn);
      const elapsed = performance.now() - started;
      return {
        items: n,
        checks: [check('calls run', n, ran), check('sum of results', n, sum), check("calls the breaker counted", n, subject.counted())],
        metrics: { nsPerOp: (elapsed * 1e6) / n },
      };
    },
    { prepare },
  );
}

const bare = loop(async () => () => {
  let calls = 0;
  return {
    call: (fn) => {
      calls++;
      return fn();
    },
    counted: () => calls,
  };
});

const sluiceRun = (window: 'count' | 'time') =>
  loop(async () => {
    const { CircuitBreaker } = await sluice();
    return () => {
      const breaker =
        window === 'count'
          ? new CircuitBreaker({ failureRateThreshold: 0.5, windowSize: 20, resetAfterMs: 30_000 })
          : new CircuitBreaker({ failureRateThreshold: 0.5, window: 'time', windowMs: 10_000, windowBuckets: 10, resetAfterMs: 30_000 });
      return { call: (fn) => breaker.run(fn), counted: () => breaker.stats().successes };
    };
  });

const sluiceTry = loop(async () => {
  const { CircuitBreaker } = await sluice();
  return () => {
    const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, windowSize: 20, resetAfterMs: 30_000 });
    return {
      call: async (fn) => {
        if (!breaker.tryAcquire()) throw new Error('refused');
        try {
          const value = await fn();
          breaker.record('success');
          return value;
        } catch (error) {
          breaker.record('failure');
          throw error;
        }
      },
      counted: () => breaker.stats().successes,
    };
  };
});

const opossum = loop(async () => {
  const { default: Opossum } = await import('opossum');
  return () => {
    let action: () => Promise<number> = () => SETTLED;
    const breaker = new Opossum(() => action(), {
      timeout: false,
      errorThresholdPercentage: 50,
      resetTimeout: 30_000,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
    });
    return {
      call: (fn) => {
        action = fn;
        return breaker.fire();
      },
      counted: () => {
        const count = breaker.stats.successes;
        breaker.shutdown(); // its rolling-window interval would keep the worker alive
        return count;
      },
    };
  };
});

const cockatiel = (kind: 'sampling' | 'count') =>
  loop(async () => {
    const { circuitBreaker, handleAll, SamplingBreaker, CountBreaker } = await import('cockatiel');
    return () => {
      const breaker =
        kind === 'sampling'
          ? new SamplingBreaker({ threshold: 0.5, duration: 10_000 })
          : new CountBreaker({ threshold: 0.5, size: 20, minimumNumberOfCalls: 10 });
      const policy = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker });
      let succeeded = 0;
      policy.onSuccess(() => succeeded++);
      return { call: (fn) => policy.execute(fn), counted: () => succeeded };
    };
  });

export default defineScenario({
  name: 'breaker',
  description: 'circuit-breaker overhead per call: n awaited calls to an async no-op through a closed breaker (issue 13 part 5)',
  baseline: 'opossum-fire',
  compareTo: ['cockatiel-sampling'],
  defaultN: 2_000_000,
  quickN: 200_000,
  nLabel: 'calls per run',
  metricColumns: { nsPerOp: 'ns/call' },
  expectations: [
    { contender: 'sluice-run', reference: 'opossum-fire', atLeast: 2 },
    { contender: 'sluice-run', reference: 'cockatiel-sampling', atLeast: 2 },
    { contender: 'sluice-run', reference: 'cockatiel-count', atLeast: 2 },
    { contender: 'sluice-run-time', reference: 'opossum-fire', atLeast: 2 },
  ],
  notes: {
    bare: 'the same loop with no breaker: await fn()',
    'sluice-run': 'CircuitBreaker.run(fn), count window of 20 calls',
    'sluice-run-time': "CircuitBreaker.run(fn), window: 'time', 10 s in 10 buckets (clock read per call)",
    'sluice-try': 'tryAcquire() + await fn() + record(), count window of 20 calls',
    'opossum-fire': 'opossum fire(), timeout: false, 10 s rolling window in 10 buckets',
    'cockatiel-sampling': 'cockatiel circuitBreaker(handleAll, SamplingBreaker 10 s).execute(fn)',
    'cockatiel-count': 'cockatiel circuitBreaker(handleAll, CountBreaker size 20).execute(fn)',
  },
  contenders: {
    bare,
    'sluice-run': sluiceRun('count'),
    'sluice-run-time': sluiceRun('time'),
    'sluice-try': sluiceTry,
    'opossum-fire': opossum,
    'cockatiel-sampling': cockatiel('sampling'),
    'cockatiel-count': cockatiel('count'),
  },
});
