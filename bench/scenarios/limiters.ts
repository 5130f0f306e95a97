import { defineScenario, type Check, type Contender, type RunOutcome } from '../lib/types.js';

/**
 * Limiter overhead: acquire + release pairs per second through Sluice's
 * TokenBucket, ConcurrencyLimiter and Credits, side by side with p-limit,
 * Bottleneck and the `limiter` package.
 *
 * Uncontended (no suffix): one caller in a loop, limits set so nothing ever
 * waits (rate 1e12/s with a burst of 1e12, concurrency 1,000,000, credits
 * granted back after each acquire). `-try` rows are the synchronous
 * `tryAcquire()` path, the idiomatic fast path when nothing waits.
 *
 * Contended (`-x100`): 100 callers each looping acquire → one microtask of
 * "work" (`await` of a settled promise; for p-limit and Bottleneck, which run
 * functions rather than hand out permits, the job) → release, against 10 permits
 * (ConcurrencyLimiter, p-limit, Bottleneck) or 10 credits granted back on
 * release, so 90 callers are queued at any time. Token buckets have no release
 * and no cap on calls in flight: their contended run is the same 100 callers
 * against one bucket of burst 10 refilling at 1e12 tokens/s. At that rate the
 * bucket refills between any two calls, so the rate never binds and the run
 * measures the bucket's cost under 100 interleaved callers, not waiting.
 *
 * A run stops after `n` pairs (n / 10 contended) or after 2 s (0.5 s with
 * --quick), whichever comes first: Bottleneck starts every job on a
 * `setTimeout`, so one caller gets a few hundred jobs/s and a fixed n would
 * take hours. Every run checks its count against the limiter's own counters;
 * contended concurrency runs also check the peak of callers in flight.
 * Libraries are imported inside the contenders, so each worker loads only its own.
 */

const RATE = 1e12;
const UNBOUNDED = 1_000_000;
const CALLERS = 100;
const LIMIT = 10;
const CONTENDED_SHARE = 10;
const RUN_MS = 2000;
const QUICK_RUN_MS = 500;
// The deadline is read once per chunk, so the clock costs nothing per pair.
const CHUNK = 1024;
const SETTLED: Promise<void> = Promise.resolve();

const sluice = () => import('../../src/index.js');
const pLimitModule = () => import('p-limit');
const bottleneckModule = () => import('bottleneck');
const limiterModule = () => import('limiter');

const check = (what: string, expected: number, actual: number): Check => ({ what, expected, actual });
const deadlineOf = (quick: boolean): number => performance.now() + (quick ? QUICK_RUN_MS : RUN_MS);

/** `setup` runs once per worker, before the warm-up (imports); the function it returns builds fresh limiters for each run. */
function lazy<T>(setup: () => Promise<() => T>, run: (subject: T, n: number, quick: boolean) => Promise<RunOutcome>): Contender {
  let make: (() => T) | undefined;
  const prepare = async (): Promise<void> => {
    make ??= await setup();
  };
  const contender: Contender = async ({ n, quick }) => {
    await prepare();
    return run(make!(), n, quick);
  };
  return Object.assign(contender, { prepare });
}

// ---- uncontended: one caller ------------------------------------------------

interface Loop {
  /** Does `count` acquire + release pairs back to back. */
  chunk(count: number): void | Promise<void>;
  checks(items: number): Check[];
}

function uncontended(setup: () => Promise<() => Loop>): Contender {
  return lazy(setup, async (loop, n, quick) => {
    const deadline = deadlineOf(quick);
    let items = 0;
    while (items < n) {
      const count = Math.min(CHUNK, n - items);
      await loop.chunk(count);
      items += count;
      if (performance.now() > deadline) break;
    }
    return { items, checks: loop.checks(items) };
  });
}

const sluiceBucket = (sync: boolean) =>
  uncontended(async () => {
    const { TokenBucket } = await sluice();
    return () => {
      const bucket = new TokenBucket({ ratePerSecond: RATE, burst: RATE });
      return {
        chunk: sync
          ? (count) => { for (let i = 0; i < count; i++) bucket.tryAcquire(); }
          : async (count) => { for (let i = 0; i < count; i++) await bucket.acquire(); },
        checks: (items) => [check('tokens acquired', items, bucket.stats().acquired), check('tryAcquire() refusals', 0, bucket.stats().rejected)],
      };
    };
  });

const sluiceLimiter = (sync: boolean) =>
  uncontended(async () => {
    const { ConcurrencyLimiter } = await sluice();
    return () => {
      const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: UNBOUNDED, maxLimit: UNBOUNDED });
      return {
        chunk: sync
          ? (count) => { for (let i = 0; i < count; i++) limiter.tryAcquire()?.success(); }
          : async (count) => { for (let i = 0; i < count; i++) (await limiter.acquire()).success(); },
        checks: (items) => [check('permits released with success()', items, limiter.stats().successes), check('permits still held', 0, limiter.inflight)],
      };
    };
  });

const sluiceCredits = (sync: boolean) =>
  uncontended(async () => {
    const { Credits } = await sluice();
    return () => {
      const credits = new Credits({ initial: UNBOUNDED });
      return {
        chunk: sync
          ? (count) => { for (let i = 0; i < count; i++) { credits.tryAcquire(); credits.grant(1); } }
          : async (count) => { for (let i = 0; i < count; i++) { await credits.acquire(); credits.grant(1); } },
        checks: (items) => {
          const stats = credits.stats();
          return [check('credits acquired', items, stats.acquired), check('credits granted back', items, stats.granted), check('acquisitions that waited', 0, stats.starvationEvents)];
        },
      };
    };
  });

/** The task-running peers (p-limit, Bottleneck): `await run(noop)`, counting the no-ops they really ran. */
const taskRunner = (setup: () => Promise<() => { run(job: () => Promise<void>): Promise<unknown>; idle(): boolean }>) =>
  uncontended(async () => {
    const make = await setup();
    return () => {
      const runner = make();
      let ran = 0;
      const job = (): Promise<void> => {
        ran++;
        return SETTLED;
      };
      return {
        chunk: async (count) => { for (let i = 0; i < count; i++) await runner.run(job); },
        checks: (items) => [check('jobs run', items, ran), check('runner idle at the end (1 = yes)', 1, Number(runner.idle()))],
      };
    };
  });

const pLimitUncontended = taskRunner(async () => {
  const { default: pLimit } = await pLimitModule();
  return () => {
    const limit = pLimit(UNBOUNDED);
    return { run: (job) => limit(job), idle: () => limit.activeCount === 0 && limit.pendingCount === 0 };
  };
});

const bottleneckIdle = (c: { RECEIVED: number; QUEUED: number; RUNNING: number; EXECUTING: number }): boolean => c.RECEIVED + c.QUEUED + c.RUNNING + c.EXECUTING === 0;

const bottleneckUncontended = taskRunner(async () => {
  const { default: Bottleneck } = await bottleneckModule();
  return () => {
    const limiter = new Bottleneck({ maxConcurrent: null, minTime: 0 });
    return { run: (job) => limiter.schedule(job), idle: () => bottleneckIdle(limiter.counts()) };
  };
});

type LimiterModule = Awaited<ReturnType<typeof limiterModule>>;

// removeTokens() resolves with the tokens left, or -1 when it refused (fireImmediately only): `>= 0` counts grants.
const limiterPackage = (make: (m: LimiterModule) => InstanceType<LimiterModule['RateLimiter']> | InstanceType<LimiterModule['TokenBucket']>, sync = false) =>
  uncontended(async () => {
    const module = await limiterModule();
    return () => {
      const limiter = make(module);
      let granted = 0;
      return {
        chunk: sync
          ? (count) => { for (let i = 0; i < count; i++) if (limiter.tryRemoveTokens(1)) granted++; }
          : async (count) => { for (let i = 0; i < count; i++) if ((await limiter.removeTokens(1)) >= 0) granted++; },
        checks: (items) => [check('tokens granted', items, granted)],
      };
    };
  });

/** limiter's TokenBucket starts empty; filled, its first call does not wait on a 1 ms timer. */
const fullBucket = (m: LimiterModule, bucketSize: number) => Object.assign(new m.TokenBucket({ bucketSize, tokensPerInterval: RATE, interval: 'second' }), { content: bucketSize });
const rateLimiter = (m: LimiterModule) => new m.RateLimiter({ tokensPerInterval: RATE, interval: 'second' });

// ---- contended: 100 callers ------------------------------------------------

/** The shared state of one contended run: hands out pairs to the callers and watches how many are in flight. */
class Crowd {
  claimed = 0;
  completed = 0;
  inflight = 0;
  maxInflight = 0;

  constructor(private remaining: number, private readonly deadline: number) {}

  /** Claims the next pair; false once the run's share is used up or its time is over. */
  claim(): boolean {
    if (this.remaining === 0) return false;
    this.remaining--;
    this.claimed++;
    if (this.claimed % CHUNK === 0 && performance.now() > this.deadline) this.remaining = 0;
    return true;
  }

  /** Acquired: the caller counts as in flight until {@link leave}. */
  enter(): void {
    if (++this.inflight > this.maxInflight) this.maxInflight = this.inflight;
  }

  leave(): void {
    this.inflight--;
    this.completed++;
  }

  /** The same work as a job, for the peers that run a function under the limit instead of handing out permits. */
  readonly job = async (): Promise<void> => {
    this.enter();
    await SETTLED;
    this.leave();
  };
}

interface Herd {
  /** One caller: `while (crowd.claim())` acquire → `crowd.enter(); await SETTLED; crowd.leave()` → release. */
  caller(crowd: Crowd): Promise<void>;
  checks(crowd: Crowd): Check[];
}

function contended(setup: () => Promise<() => Herd>): Contender {
  return lazy(setup, async (herd, n, quick) => {
    const crowd = new Crowd(Math.max(CALLERS, Math.round(n / CONTENDED_SHARE)), deadlineOf(quick));
    await Promise.all(Array.from({ length: CALLERS }, () => herd.caller(crowd)));
    return {
      items: crowd.completed,
      metrics: { peakInflight: crowd.maxInflight },
      checks: [check('pairs completed', crowd.claimed, crowd.completed), check('callers still in work', 0, crowd.inflight), ...herd.checks(crowd)],
    };
  });
}

/** Never more than `LIMIT` callers in flight; `reached` also demands the peak hit it, i.e. the other 90 really queued. */
const peakChecks = (crowd: Crowd, reached = true): Check[] => [
  check(`callers in flight beyond the limit of ${LIMIT}`, 0, Math.max(0, crowd.maxInflight - LIMIT)),
  ...(reached ? [check('peak callers in flight', LIMIT, crowd.maxInflight)] : []),
];

const sluiceBucketContended = (fast: boolean) =>
  contended(async () => {
    const { TokenBucket } = await sluice();
    return () => {
      const bucket = new TokenBucket({ ratePerSecond: RATE, burst: LIMIT });
      return {
        caller: async (crowd) => {
          while (crowd.claim()) {
            if (!fast || !bucket.tryAcquire()) await bucket.acquire();
            crowd.enter();
            await SETTLED;
            crowd.leave();
          }
        },
        checks: (crowd) => [check('tokens acquired', crowd.completed, bucket.stats().acquired)],
      };
    };
  });

const sluiceLimiterContended = (fast: boolean) =>
  contended(async () => {
    const { ConcurrencyLimiter } = await sluice();
    return () => {
      const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: LIMIT });
      return {
        caller: async (crowd) => {
          while (crowd.claim()) {
            const permit = (fast ? limiter.tryAcquire() : undefined) ?? (await limiter.acquire());
            crowd.enter();
            await SETTLED;
            crowd.leave();
            permit.success();
          }
        },
        checks: (crowd) => [...peakChecks(crowd), check('permits released with success()', crowd.completed, limiter.stats().successes), check('permits still held', 0, limiter.inflight)],
      };
    };
  });

const sluiceCreditsContended = (fast: boolean) =>
  contended(async () => {
    const { Credits } = await sluice();
    return () => {
      const credits = new Credits({ initial: LIMIT, max: LIMIT });
      return {
        caller: async (crowd) => {
          while (crowd.claim()) {
            if (!fast || !credits.tryAcquire()) await credits.acquire();
            crowd.enter();
            await SETTLED;
            crowd.leave();
            credits.grant(1);
          }
        },
        checks: (crowd) => {
          const stats = credits.stats();
          return [...peakChecks(crowd), check('credits acquired', crowd.completed, stats.acquired), check('credits granted back', crowd.completed, stats.granted), check('credits back in the balance', LIMIT, stats.available)];
        },
      };
    };
  });

const pLimitContended = contended(async () => {
  const { default: pLimit } = await pLimitModule();
  return () => {
    const limit = pLimit(LIMIT);
    return {
      caller: async (crowd) => {
        while (crowd.claim()) await limit(crowd.job);
      },
      checks: (crowd) => [...peakChecks(crowd), check('jobs still active', 0, limit.activeCount), check('jobs still queued', 0, limit.pendingCount)],
    };
  };
});

const bottleneckContended = contended(async () => {
  const { default: Bottleneck } = await bottleneckModule();
  return () => {
    const limiter = new Bottleneck({ maxConcurrent: LIMIT, minTime: 0 });
    return {
      caller: async (crowd) => {
        while (crowd.claim()) await limiter.schedule(crowd.job);
      },
      // Each job starts on its own timer and a microtask of work ends before the next timer fires: the peak is 1, not 10.
      checks: (crowd) => [...peakChecks(crowd, false), check('Bottleneck idle at the end (1 = yes)', 1, Number(bottleneckIdle(limiter.counts())))],
    };
  };
});

/** 100 callers of limiter's `removeTokens(1)`, each followed by a microtask of work. */
const limiterContended = (make: (m: LimiterModule) => { removeTokens(count: number): Promise<number> }) =>
  contended(async () => {
    const module = await limiterModule();
    return () => {
      const limiter = make(module);
      let granted = 0;
      return {
        caller: async (crowd) => {
          while (crowd.claim()) {
            if ((await limiter.removeTokens(1)) >= 0) granted++;
            crowd.enter();
            await SETTLED;
            crowd.leave();
          }
        },
        checks: (crowd) => [check('removeTokens(1) granted', crowd.completed, granted)],
      };
    };
  });

// ---- scenario ---------------------------------------------------------------

/** The fastest peer on the uncontended path (awaited, as measured); the target is TARGET times it. */
const BASELINE = 'limiter-ratelimiter';
const TARGET = 2;
const e12 = RATE.toExponential();

/** Contender name, contender, and the note that says what one pair is. */
const table: [string, Contender, string][] = [
  ['sluice-bucket', sluiceBucket(false), `await bucket.acquire() (a token bucket has no release), rate ${e12}/s, burst ${e12}`],
  ['sluice-bucket-try', sluiceBucket(true), 'bucket.tryAcquire(), synchronous'],
  ['sluice-limiter', sluiceLimiter(false), `const permit = await limiter.acquire(); permit.success(), fixed limit ${UNBOUNDED}`],
  ['sluice-limiter-try', sluiceLimiter(true), 'limiter.tryAcquire()?.success(), synchronous'],
  ['sluice-credits', sluiceCredits(false), 'await credits.acquire(); credits.grant(1)'],
  ['sluice-credits-try', sluiceCredits(true), 'credits.tryAcquire(); credits.grant(1), synchronous'],
  ['p-limit', pLimitUncontended, `await pLimit(${UNBOUNDED})(noop)`],
  ['bottleneck', bottleneckUncontended, 'await new Bottleneck({ maxConcurrent: null, minTime: 0 }).schedule(noop); every job starts on a setTimeout'],
  ['limiter-ratelimiter', limiterPackage(rateLimiter), `await new RateLimiter({ tokensPerInterval: ${e12}, interval: 'second' }).removeTokens(1)`],
  ['limiter-bucket', limiterPackage((m) => fullBucket(m, RATE)), `await new TokenBucket({ bucketSize: ${e12}, tokensPerInterval: ${e12}, interval: 'second' }).removeTokens(1), started full`],
  ['limiter-bucket-try', limiterPackage((m) => fullBucket(m, RATE), true), 'TokenBucket.tryRemoveTokens(1), synchronous: the sync reference for the -try rows'],
  ['sluice-bucket-x100', sluiceBucketContended(false), `await bucket.acquire(), burst ${LIMIT}: the rate never binds, so nobody waits for tokens`],
  ['sluice-bucket-try-x100', sluiceBucketContended(true), 'tryAcquire() || await acquire()'],
  ['sluice-limiter-x100', sluiceLimiterContended(false), `await limiter.acquire() … permit.success(), fixed limit ${LIMIT}`],
  ['sluice-limiter-try-x100', sluiceLimiterContended(true), 'tryAcquire() ?? await acquire() … permit.success()'],
  ['sluice-credits-x100', sluiceCreditsContended(false), `await credits.acquire() … credits.grant(1), initial ${LIMIT}`],
  ['sluice-credits-try-x100', sluiceCreditsContended(true), 'tryAcquire() || await acquire() … credits.grant(1)'],
  ['p-limit-x100', pLimitContended, `await pLimit(${LIMIT})(work)`],
  ['bottleneck-x100', bottleneckContended, `await schedule(work), maxConcurrent ${LIMIT}: jobs start on timers, so microtask-long jobs never overlap`],
  ['limiter-ratelimiter-x100', limiterContended(rateLimiter), `await removeTokens(1) … work; no burst option (bucket size = ${e12}); calls are chained one after another, so peak 1`],
  ['limiter-bucket-x100', limiterContended((m) => fullBucket(m, LIMIT)), `await removeTokens(1) … work, bucketSize ${LIMIT}, started full; calls are chained one after another, so peak 1`],
];

export default defineScenario({
  name: 'limiters',
  description: `limiter overhead, acquire + release pairs/s: one caller, limits that never bind; -x${CALLERS}: ${CALLERS} callers against ${LIMIT} permits/credits, or a burst-${LIMIT} bucket at ${e12} tokens/s`,
  baseline: BASELINE,
  compareTo: ['limiter-bucket-try', 'p-limit-x100'],
  defaultN: 2_000_000,
  quickN: 200_000,
  nLabel: `pairs per run with one caller, n / ${CONTENDED_SHARE} with ${CALLERS}; a run also ends after ${RUN_MS / 1000} s, ${QUICK_RUN_MS / 1000} s with --quick`,
  metricColumns: { peakInflight: 'peak in flight' },
  expectations: [
    ...['sluice-bucket', 'sluice-limiter', 'sluice-credits'].flatMap((c) => [
      { contender: c, reference: BASELINE, atLeast: TARGET },
      { contender: `${c}-try`, reference: BASELINE, atLeast: TARGET },
    ]),
  ],
  notes: Object.fromEntries(table.map(([name, , note]) => [name, note])),
  contenders: Object.fromEntries(table.map(([name, contender]) => [name, contender])),
});
