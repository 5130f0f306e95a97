// Shared by the lag-source tests on real brokers (test/redis/stream-lag.test.ts,
// test/amqp/queue-depth.test.ts, test/nats/jetstream-lag.test.ts): a clock that
// counts its live timers, and a paced producer/consumer workload whose true
// backlog is known from the counts sent and acknowledged.
import { systemClock, type Clock, type TimerHandle } from '../../core/clock/index.js';

/** The system clock, counting timers scheduled and not yet fired or cancelled, and whether each was unref'd. */
export class TrackingClock implements Clock {
  private readonly live = new Set<TimerHandle>();
  scheduled = 0;
  refed = 0;

  now(): number {
    return systemClock.now();
  }

  schedule(delayMs: number, callback: () => void, options?: { unref?: boolean }): TimerHandle {
    this.scheduled++;
    if (!options?.unref) this.refed++;
    const handle: TimerHandle = systemClock.schedule(
      delayMs,
      () => {
        this.live.delete(handle);
        callback();
      },
      options,
    );
    this.live.add(handle);
    return handle;
  }

  cancel(handle: TimerHandle): void {
    this.live.delete(handle);
    systemClock.cancel(handle);
  }

  /** Timers still due to fire. */
  get pending(): number {
    return this.live.size;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The broker side of a workload. */
export interface WorkloadOps {
  /** Publishes these ids; resolves once the broker has confirmed every one. */
  produce(ids: number[]): Promise<void>;
  /** Takes up to `max` messages, acknowledges them, resolves (after the acks are confirmed) with their ids. */
  consume(max: number): Promise<number[]>;
}

/** One comparison of a source's backlog with the truth. */
export interface Checkpoint {
  atMs: number;
  reading: number;
  /** The true backlog at the broker's snapshot lies in [low, high] (counts are monotone; in-flight batches widen it). */
  low: number;
  high: number;
}

export interface WorkloadResult {
  sent: number;
  acked: number;
  checkpoints: Checkpoint[];
  /** Every id consumed, in order; duplicates kept so a test can see them. */
  consumed: number[];
  /** Messages per second actually produced and consumed during the paced phase. */
  produceRate: number;
  consumeRate: number;
  /** Whatever `atPacedEnd` returned, called the moment the paced phase ended (before the drain). */
  atPacedEnd: unknown;
}

/**
 * The true backlog's growth per second over the checkpoints of the last
 * `windowMs` of the paced phase: least-squares slope of the middle of each
 * checkpoint's [low, high] range against its time.
 */
export function trueGrowthPerSec(checkpoints: Checkpoint[], fromMs: number): number {
  const points = checkpoints.filter((c) => c.atMs >= fromMs).map((c) => ({ t: c.atMs / 1000, y: (c.low + c.high) / 2 }));
  const mt = points.reduce((a, p) => a + p.t, 0) / points.length;
  const my = points.reduce((a, p) => a + p.y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return num / den;
}

/**
 * Produces at `produceRate` and consumes at `consumeRate` (messages/s) for
 * `durationMs`, paced every `tickMs`, and every `checkEveryMs` asks `backlog()`
 * (one poll of the source under test) for its figure, bracketing the true
 * backlog around it. Then drains: consumes at full speed until all is acked.
 */
export async function runWorkload(
  ops: WorkloadOps,
  o: {
    produceRate: number;
    consumeRate: number;
    durationMs: number;
    checkEveryMs: number;
    backlog: () => Promise<number>;
    tickMs?: number;
    drainTimeoutMs?: number;
    atPacedEnd?: () => unknown;
  },
): Promise<WorkloadResult> {
  const tickMs = o.tickMs ?? 10;
  let sent = 0;
  let acked = 0;
  let sending = 0;
  let acking = 0;
  const consumed: number[] = [];
  const started = performance.now();
  let running = true;

  const producer = (async () => {
    while (running) {
      const due = Math.floor(((performance.now() - started) / 1000) * o.produceRate) - sent;
      if (due > 0) {
        const ids = Array.from({ length: due }, (_, i) => sent + i);
        sending = due;
        await ops.produce(ids);
        sent += due;
        sending = 0;
      }
      await sleep(tickMs);
    }
  })();
  const consumer = (async () => {
    while (running) {
      const due = Math.floor(((performance.now() - started) / 1000) * o.consumeRate) - acked;
      if (due > 0) {
        acking = due;
        const ids = await ops.consume(due);
        consumed.push(...ids);
        acked += ids.length;
        acking = 0;
      }
      await sleep(tickMs);
    }
  })();

  const checkpoints: Checkpoint[] = [];
  for (let at = o.checkEveryMs; at < o.durationMs; at += o.checkEveryMs) {
    await sleep(Math.max(0, started + at - performance.now()));
    const before = { sent, acked, sending, acking };
    const reading = await o.backlog();
    const after = { sent, acked, sending, acking };
    checkpoints.push({
      atMs: Math.round(performance.now() - started),
      reading,
      low: Math.max(0, before.sent - after.acked - Math.max(before.acking, after.acking)),
      high: after.sent + Math.max(before.sending, after.sending) - before.acked,
    });
  }
  await sleep(Math.max(0, started + o.durationMs - performance.now()));
  const atPacedEnd = o.atPacedEnd?.();
  running = false;
  await Promise.all([producer, consumer]);
  const elapsed = (performance.now() - started) / 1000;
  const produceRate = sent / elapsed;
  const consumeRate = acked / elapsed;

  const drainBy = performance.now() + (o.drainTimeoutMs ?? 5000);
  while (acked < sent) {
    if (performance.now() > drainBy) throw new Error(`drain timed out: ${acked} of ${sent} acked`);
    const ids = await ops.consume(Math.min(500, sent - acked));
    consumed.push(...ids);
    acked += ids.length;
    if (ids.length === 0) await sleep(5);
  }
  return { sent, acked, checkpoints, consumed, produceRate, consumeRate, atPacedEnd };
}

/** Whether `reading` is within `tolerance` (0.1 = 10%) of some value in the checkpoint's true range. */
export function withinTolerance(c: Checkpoint, tolerance: number): boolean {
  return c.reading >= c.low * (1 - tolerance) && c.reading <= c.high * (1 + tolerance);
}

/** The ids 0..n-1 each consumed exactly once: none lost, none twice. */
export function missingOrDuplicated(consumed: number[], n: number): { missing: number[]; duplicated: number[] } {
  const seen = new Map<number, number>();
  for (const id of consumed) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let id = 0; id < n; id++) {
    const times = seen.get(id) ?? 0;
    if (times === 0) missing.push(id);
    if (times > 1) duplicated.push(id);
  }
  return { missing, duplicated };
}

/**
 * The tracking tests' trend check, computed the same way for every source: the
 * trend's slope at the end of the paced phase (`atPacedEnd` gave its stats),
 * in messages/s (slope × the source's `threshold`), against the true growth
 * over the last 2 s of that phase (checkpoints from 1000 ms on). Reports both
 * with {@link reportFigures}; the caller asserts on them.
 */
export function trendAgainstTruth(source: string, result: WorkloadResult, threshold: number): { trendRate: number; trueRate: number } {
  const trueRate = trueGrowthPerSec(result.checkpoints, 1000);
  const trendRate = (result.atPacedEnd as { slope: number }).slope * threshold;
  reportFigures(source, result, trendRate, trueRate);
  return { trendRate, trueRate };
}

/**
 * With SLUICE_LAG_REPORT set, prints one line of a tracking test's figures
 * (the largest miss of a checkpoint from its true range, and the trend slope
 * against the true growth), for the docs and reports.
 */
export function reportFigures(source: string, result: WorkloadResult, trendRate: number, trueRate: number): void {
  if (!process.env.SLUICE_LAG_REPORT) return;
  let worst = 0;
  for (const c of result.checkpoints) {
    const miss = c.reading < c.low ? (c.low - c.reading) / c.low : c.reading > c.high ? (c.reading - c.high) / c.high : 0;
    worst = Math.max(worst, miss);
  }
  const last = result.checkpoints.at(-1)!;
  console.log(
    `${source}: ${result.checkpoints.length} checkpoints, worst miss ${(worst * 100).toFixed(1)}% (last: read ${last.reading.toFixed(0)}, true ${last.low}-${last.high}); ` +
      `produced ${result.produceRate.toFixed(0)}/s, consumed ${result.consumeRate.toFixed(0)}/s; trend slope ${trendRate.toFixed(1)}/s vs true growth ${trueRate.toFixed(1)}/s ` +
      `(${(((trendRate - trueRate) / trueRate) * 100).toFixed(1)}%); ${result.sent} sent, all consumed once`,
  );
}
