// Shared by the governed-producer tests on real brokers (test/redis/governed-lag.test.ts,
// test/amqp/governed-lag.test.ts, test/nats/governed-lag.test.ts): a producer paced by a
// TokenBucket whose rate a governor sets from the broker's lag (read ahead with trend()),
// against Sluice consumers paced at half the producer's unthrottled rate, then sped up.
// Real brokers, real time: every figure is measured, nothing is on a virtual clock.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { TokenBucket } from '../../src/core/token-bucket/index.js';
import { governor, trend, type Pressure } from '../../src/core/pressure/index.js';
import type { LagPollStats } from '../../src/adapters/internal/lag-poller.js';

/** The broker side of a governed run. */
export interface GovernedBroker {
  /** The lag source under test (its threshold is the run's `threshold`), polling on its own timer. The caller closes it. */
  lag: Pressure & { stats(): LagPollStats };
  /** Publishes one message carrying `id` through the adapter's publisher; resolves once the broker confirmed it. */
  publish(id: number): Promise<unknown>;
  /** Starts the adapter's consumer; `handle(id)` resolves when the message may be acked. Resolves once it consumes. */
  consume(handle: (id: number) => Promise<void>): Promise<{ stop(): Promise<void> }>;
}

export interface GovernedRunOptions {
  /** The producer's unthrottled rate: the governor's maxRate, messages/s. */
  maxRate: number;
  /** The governor's minRate. */
  minRate: number;
  /** The lag source's threshold (messages): the backlog that reads 1. */
  threshold: number;
  /** Phase 1: consumers process at maxRate / 2 for this long. */
  throttleMs: number;
  /** Phase 2: consumers process at `catchUpRate` for this long; the producer keeps publishing. */
  catchUpMs: number;
  catchUpRate: number;
  /** The governor's intervalMs. */
  governorIntervalMs: number;
  /** When given, the governor reads trend(lag, this) instead of the lag itself. */
  trend?: { windowMs: number; sampleEveryMs: number; horizonMs: number };
  /** How often the run records the lag, the rates and the counts. @default 100 */
  sampleEveryMs?: number;
  /** After phase 2: how long every published id has to be consumed. @default 5000 */
  drainTimeoutMs?: number;
}

/**
 * The run every broker's governed-lag test makes, so the three stay comparable:
 * a producer at 400/s against consumers at 200/s for 8 s, then at 800/s for 5 s,
 * governed every 250 ms through a trend that reads 1 s ahead. The lag source
 * is built with `threshold` and polls every 100 ms.
 */
export const brokerGovernedRun: Readonly<GovernedRunOptions> = Object.freeze({
  maxRate: 400,
  minRate: 20,
  threshold: 200,
  throttleMs: 8000,
  catchUpMs: 5000,
  catchUpRate: 800,
  governorIntervalMs: 250,
  trend: { windowMs: 2000, sampleEveryMs: 100, horizonMs: 1000 },
});

/** One recording, `t` in ms from the start of the run. */
export interface GovernedSample {
  t: number;
  /** The lag source's backlog (its last poll). */
  backlog: number;
  /** What the governor reads (the trend's prediction when a trend is used). */
  pressure: number;
  governorRate: number;
  bucketRate: number;
  /** Messages published (issued) / confirmed by the broker / handled by a consumer so far. */
  issued: number;
  confirmed: number;
  consumed: number;
}

export interface GovernedResult {
  options: GovernedRunOptions;
  consumeRate: number;
  samples: GovernedSample[];
  /** When each message was issued (ms from the start), in id order. */
  issuedAt: number[];
  /** Times each id was handled by a consumer. */
  seen: Map<number, number>;
  issued: number;
  publishFailures: unknown[];
  /** Governor stats at the end of phase 1 and at the end of the run. */
  governorAtThrottleEnd: ReturnType<ReturnType<typeof governor>['stats']>;
  governorAtEnd: ReturnType<ReturnType<typeof governor>['stats']>;
  bucketRateAtThrottleEnd: number;
  /** ms after phase 2 began until the governor had set maxRate again; undefined when it never did. */
  backToMaxMs: number | undefined;
  /** ms from the end of phase 2 until every issued id was handled. */
  drainMs: number;
  lagPollErrors: number;
}

/**
 * Runs the two phases. The producer takes one token of the governed bucket per
 * message and publishes without waiting for the confirm (the adapter's
 * publisher bounds what is unconfirmed). Each consumer handler takes one token
 * of a second bucket, the consumers' pace: maxRate / 2 in phase 1,
 * `catchUpRate` in phase 2. Then the producer stops and the run waits until
 * every id issued has been handled.
 */
export async function runGoverned(broker: GovernedBroker, o: GovernedRunOptions): Promise<GovernedResult> {
  const sampleEveryMs = o.sampleEveryMs ?? 100;
  const consumeRate = o.maxRate / 2;
  // Small bursts: the rates measured are the buckets' rates, not a start-up burst.
  const bucket = new TokenBucket({ ratePerSecond: o.maxRate, burst: 10 });
  const pace = new TokenBucket({ ratePerSecond: consumeRate, burst: 10 });
  const ahead = o.trend === undefined ? undefined : trend(broker.lag, o.trend);
  const gov = governor({ pressure: ahead ?? broker.lag, target: bucket, minRate: o.minRate, maxRate: o.maxRate, intervalMs: o.governorIntervalMs });
  const seen = new Map<number, number>();
  const issuedAt: number[] = [];
  const publishFailures: unknown[] = [];
  const confirms: Promise<void>[] = [];
  const samples: GovernedSample[] = [];
  let issued = 0;
  let confirmed = 0;
  let consumed = 0;
  let producing = true;
  let consumer: { stop(): Promise<void> } | undefined;
  let started = performance.now();
  const now = () => performance.now() - started;
  try {
    consumer = await broker.consume(async (id) => {
      await pace.acquire();
      seen.set(id, (seen.get(id) ?? 0) + 1);
      consumed++;
    });
    // The run starts once the consumer consumes: subscribing is not part of the first second's rate.
    started = performance.now();
    const sample = () =>
      samples.push({
        t: Math.round(now()),
        backlog: broker.lag.stats().backlog,
        pressure: (ahead ?? broker.lag).read(),
        governorRate: gov.rate,
        bucketRate: bucket.ratePerSecond,
        issued,
        confirmed,
        consumed,
      });
    const sampler = setInterval(sample, sampleEveryMs);
    const producer = (async () => {
      while (producing) {
        await bucket.acquire();
        if (!producing) return;
        const id = issued++;
        issuedAt.push(now());
        confirms.push(
          broker.publish(id).then(
            () => void confirmed++,
            (error: unknown) => void publishFailures.push(error),
          ),
        );
      }
    })();
    let governorAtThrottleEnd: GovernedResult['governorAtThrottleEnd'];
    let bucketRateAtThrottleEnd: number;
    let backToMaxMs: number | undefined;
    try {
      await delay(o.throttleMs);
      governorAtThrottleEnd = gov.stats();
      bucketRateAtThrottleEnd = bucket.ratePerSecond;
      pace.setRate(o.catchUpRate);
      const catchUpAt = now();
      const catchUpEnd = started + o.throttleMs + o.catchUpMs;
      while (performance.now() < catchUpEnd) {
        if (backToMaxMs === undefined && gov.rate === o.maxRate) backToMaxMs = Math.round(now() - catchUpAt);
        await delay(10);
      }
      producing = false;
      await producer;
    } finally {
      producing = false;
      clearInterval(sampler);
    }
    sample();
    await Promise.all(confirms);
    const drainFrom = performance.now();
    const drainBy = drainFrom + (o.drainTimeoutMs ?? 5000);
    while (consumed < issued - publishFailures.length && performance.now() < drainBy) await delay(10);
    const drainMs = Math.round(performance.now() - drainFrom);
    // A redelivery would come after the last first delivery: give one a moment to show.
    await delay(200);
    sample();
    return {
      options: o,
      consumeRate,
      samples,
      issuedAt,
      seen,
      issued,
      publishFailures,
      governorAtThrottleEnd,
      governorAtEnd: gov.stats(),
      bucketRateAtThrottleEnd,
      backToMaxMs,
      drainMs,
      lagPollErrors: broker.lag.stats().pollErrors,
    };
  } finally {
    producing = false;
    gov.close();
    ahead?.close();
    await consumer?.stop();
    pace.close();
    bucket.close();
  }
}

/** Messages issued per second in [fromMs, toMs), from the issue timestamps. */
export function publishRate(r: GovernedResult, fromMs: number, toMs: number): number {
  let n = 0;
  for (const t of r.issuedAt) if (t >= fromMs && t < toMs) n++;
  return (n * 1000) / (toMs - fromMs);
}

/** Least-squares slope of the backlog against time over the samples in [fromMs, toMs], messages/s. */
export function backlogSlope(r: GovernedResult, fromMs: number, toMs: number): number {
  const points = r.samples.filter((s) => s.t >= fromMs && s.t <= toMs).map((s) => ({ x: s.t / 1000, y: s.backlog }));
  const mx = points.reduce((a, p) => a + p.x, 0) / points.length;
  const my = points.reduce((a, p) => a + p.y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return num / den;
}

/** The ids 0..issued-1 never handled, and the ones handled more than once (with how many extra deliveries). */
export function lostAndDuplicated(r: GovernedResult): { missing: number[]; duplicated: number; extraDeliveries: number } {
  const missing: number[] = [];
  let duplicated = 0;
  let extraDeliveries = 0;
  for (let id = 0; id < r.issued; id++) {
    const times = r.seen.get(id) ?? 0;
    if (times === 0) missing.push(id);
    if (times > 1) {
      duplicated++;
      extraDeliveries += times - 1;
    }
  }
  return { missing, duplicated, extraDeliveries };
}

/** The figures a governed run is judged by (and reported with). */
export interface GovernedFigures {
  /** Publish rate over the first second, before the lag reached the threshold. */
  earlyRate: number;
  /** Largest backlog the source read in phase 1, and when (ms). */
  peakBacklog: number;
  peakAtMs: number;
  /** Over the settled part of phase 1 (its second half): the largest backlog, and the backlog's slope (messages/s). */
  settledMaxBacklog: number;
  settledSlope: number;
  /** Growth of the backlog the unthrottled producer would cause: maxRate - consumeRate. */
  unthrottledGrowth: number;
  /** Publish rate over the last 3 s of phase 1 (from timestamps) and the governor's / bucket's rate at its end. */
  throttledRate: number;
  governorRateAtThrottleEnd: number;
  bucketRateAtThrottleEnd: number;
  /** Publish rate over the last 1.5 s of phase 2, the backlog at its end, and when maxRate was set again. */
  recoveredRate: number;
  backlogAtCatchUpEnd: number;
  backToMaxMs: number | undefined;
  issued: number;
  missing: number;
  duplicated: number;
  drainMs: number;
}

export function figures(r: GovernedResult): GovernedFigures {
  const o = r.options;
  const phase1 = r.samples.filter((s) => s.t <= o.throttleMs);
  const peak = phase1.reduce((a, s) => (s.backlog > a.backlog ? s : a), phase1[0]!);
  const settledFrom = o.throttleMs / 2;
  const settled = phase1.filter((s) => s.t >= settledFrom);
  const catchUpEnd = o.throttleMs + o.catchUpMs;
  const atCatchUpEnd = r.samples.filter((s) => s.t <= catchUpEnd + 50).at(-1)!;
  const { missing, duplicated } = lostAndDuplicated(r);
  return {
    earlyRate: publishRate(r, 0, 1000),
    peakBacklog: peak.backlog,
    peakAtMs: peak.t,
    settledMaxBacklog: Math.max(...settled.map((s) => s.backlog)),
    settledSlope: backlogSlope(r, settledFrom, o.throttleMs),
    unthrottledGrowth: o.maxRate - r.consumeRate,
    throttledRate: publishRate(r, o.throttleMs - 3000, o.throttleMs),
    governorRateAtThrottleEnd: r.governorAtThrottleEnd.rate,
    bucketRateAtThrottleEnd: r.bucketRateAtThrottleEnd,
    recoveredRate: publishRate(r, catchUpEnd - 1500, catchUpEnd),
    backlogAtCatchUpEnd: atCatchUpEnd.backlog,
    backToMaxMs: r.backToMaxMs,
    issued: r.issued,
    missing: missing.length,
    duplicated,
    drainMs: r.drainMs,
  };
}

/**
 * The assertions every broker's governed test makes (the bounds are generous:
 * real brokers, real time, a shared 2-core machine):
 * - the producer starts at its unthrottled rate;
 * - the lag stops growing: over the second half of phase 1 its slope is under
 *   15% of the growth an unthrottled producer would cause, and it stays below
 *   `boundFactor × threshold` (with the lag alone the governor settles where
 *   maxRate × throttleFactor(p) = consumeRate, p = 1 + log2(2) = 2);
 * - the producer's rate falls to the consumers' (governor, bucket and publish
 *   timestamps agree);
 * - once the consumers speed up, the governor sets maxRate again, the producer
 *   publishes at it and the lag falls below the threshold;
 * - no message lost or handled twice, no publish failed, no poll failed.
 */
export function assertGoverned(r: GovernedResult, boundFactor: number): GovernedFigures {
  const o = r.options;
  const f = figures(r);
  const show = JSON.stringify(f);
  assert.ok(f.earlyRate >= 0.8 * o.maxRate, `unthrottled at first: ${f.earlyRate}/s of ${o.maxRate}/s ${show}`);
  assert.ok(f.peakBacklog >= o.threshold * 0.8, `the lag did reach the threshold before the governor held it: ${show}`);
  assert.ok(Math.abs(f.settledSlope) <= 0.15 * f.unthrottledGrowth, `lag stopped growing: slope ${f.settledSlope.toFixed(1)}/s ${show}`);
  assert.ok(f.settledMaxBacklog < boundFactor * o.threshold, `lag bounded by ${boundFactor} × ${o.threshold}: ${f.settledMaxBacklog} ${show}`);
  assert.ok(f.governorRateAtThrottleEnd <= 0.7 * o.maxRate, `governor slowed the producer: ${f.governorRateAtThrottleEnd}/s ${show}`);
  assert.equal(f.bucketRateAtThrottleEnd, f.governorRateAtThrottleEnd, 'the bucket runs at the rate the governor set');
  assert.ok(r.governorAtThrottleEnd.decreases >= 1, show);
  assert.ok(f.throttledRate <= 0.7 * o.maxRate, `publish rate fell: ${f.throttledRate.toFixed(1)}/s ${show}`);
  assert.ok(Math.abs(f.throttledRate - r.consumeRate) <= 0.3 * r.consumeRate, `publish rate near the consumers' ${r.consumeRate}/s: ${f.throttledRate.toFixed(1)}/s ${show}`);
  assert.ok(f.backToMaxMs !== undefined, `the governor set maxRate again once the consumers caught up ${show}`);
  assert.ok(f.recoveredRate >= 0.85 * o.maxRate, `publish rate back near ${o.maxRate}/s: ${f.recoveredRate.toFixed(1)}/s ${show}`);
  assert.ok(f.backlogAtCatchUpEnd < o.threshold, `lag below the threshold after the catch-up: ${f.backlogAtCatchUpEnd} ${show}`);
  assert.ok(r.governorAtEnd.increases >= 1, show);
  assert.deepEqual(r.publishFailures, []);
  assert.deepEqual(lostAndDuplicated(r), { missing: [], duplicated: 0, extraDeliveries: 0 });
  assert.equal(r.lagPollErrors, 0);
  assert.equal(r.governorAtEnd.errors, 0);
  return f;
}

/** With SLUICE_LAG_REPORT set, prints one line of a governed run's figures, for the docs and reports. */
export function reportGoverned(source: string, r: GovernedResult, f: GovernedFigures): void {
  if (!process.env.SLUICE_LAG_REPORT) return;
  const o = r.options;
  const x = (n: number) => `${(n / o.threshold).toFixed(2)}×T`;
  console.log(
    `${source} governed: maxRate ${o.maxRate}/s, consumers ${r.consumeRate}/s then ${o.catchUpRate}/s, threshold ${o.threshold}` +
      `${o.trend ? `, trend ${o.trend.windowMs}/${o.trend.horizonMs} ms` : ''}; ` +
      `early ${f.earlyRate.toFixed(0)}/s; peak lag ${f.peakBacklog} (${x(f.peakBacklog)}) at ${f.peakAtMs} ms; ` +
      `settled max ${f.settledMaxBacklog} (${x(f.settledMaxBacklog)}), slope ${f.settledSlope.toFixed(1)}/s (unthrottled +${f.unthrottledGrowth}/s); ` +
      `throttled publish ${f.throttledRate.toFixed(1)}/s, governor ${f.governorRateAtThrottleEnd.toFixed(1)}/s (${r.governorAtThrottleEnd.decreases} decreases); ` +
      `after catch-up: maxRate again in ${f.backToMaxMs} ms, publish ${f.recoveredRate.toFixed(1)}/s, lag ${f.backlogAtCatchUpEnd}; ` +
      `${f.issued} sent, ${f.missing} missing, ${f.duplicated} duplicated, drained in ${f.drainMs} ms`,
  );
  // Every second: the lag read, the governor's rate, and the messages published in that second.
  const seconds: string[] = [];
  for (let t = 1000; t <= o.throttleMs + o.catchUpMs; t += 1000) {
    const s = r.samples.filter((x) => x.t <= t).at(-1)!;
    seconds.push(`${t / 1000}s ${s.backlog}/${s.governorRate.toFixed(0)}/${publishRate(r, t - 1000, t).toFixed(0)}`);
  }
  console.log(`${source} governed, each second (lag/governor rate/published per s): ${seconds.join(', ')}`);
}
