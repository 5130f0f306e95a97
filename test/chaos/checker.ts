/**
 * The chaos checker: what must hold after a run settles.
 * - every id the pipeline acked to the client is in PostgreSQL (duplicates counted, not failures);
 * - no pipeline process died except by an injected kill, every SIGTERM ended in a clean exit
 *   (code 0, stats written, the process ended by itself: no handle left open);
 * - no private service exited except when the harness killed it;
 * - each clean shutdown's accounting balances (writer, outbox Channel, ingest counts);
 * - the pipeline's peak RSS stayed under the bound.
 */
import type { ExitRecord } from './supervisor.js';

export interface CheckInput {
  ackedIds: number[];
  /** id -> rows with that id in PostgreSQL. */
  rowsById: Map<number, number>;
  exits: ExitRecord[];
  serviceExits: string[];
  peakRssBytes: number;
  rssLimitBytes: number;
}

export interface CheckResult {
  acked: number;
  lost: number[];
  duplicates: number;
  problems: string[];
}

export function check(input: CheckInput): CheckResult {
  const problems: string[] = [];
  const lost = input.ackedIds.filter((id) => !input.rowsById.has(id));
  if (lost.length > 0) problems.push(`${lost.length} acked ids are not in PostgreSQL, e.g. ${lost.slice(0, 10).join(', ')}`);
  let duplicates = 0;
  for (const n of input.rowsById.values()) if (n > 1) duplicates += n - 1;

  for (const e of input.exits) {
    if (e.problem) problems.push(`pipeline g${e.generation}: ${e.problem}\n${e.stderrTail.split('\n').slice(-15).join('\n')}`);
    if (e.stats) problems.push(...balance(e));
  }
  problems.push(...input.serviceExits.map((s) => `service died without an injected kill: ${s}`));
  if (input.peakRssBytes > input.rssLimitBytes) {
    problems.push(`pipeline peak RSS ${(input.peakRssBytes / 2 ** 20).toFixed(0)} MiB is over the bound ${(input.rssLimitBytes / 2 ** 20).toFixed(0)} MiB`);
  }
  return { acked: input.ackedIds.length, lost, duplicates, problems };
}

/** Accounting of one clean shutdown. */
function balance(e: ExitRecord): string[] {
  const s = e.stats!;
  const out: string[] = [];
  const g = `pipeline g${e.generation}`;
  const w = s.writer;
  if (w.written !== w.flushed + w.buffered + w.inFlight + w.dropped + w.deadLettered) {
    out.push(`${g}: writer written ${w.written} != flushed ${w.flushed} + buffered ${w.buffered} + inFlight ${w.inFlight} + dropped ${w.dropped} + deadLettered ${w.deadLettered}`);
  }
  if (w.buffered + w.inFlight !== 0) out.push(`${g}: writer still holds ${w.buffered + w.inFlight} items after the drain`);
  if (w.dropped !== (w.droppedBy.closed ?? 0)) out.push(`${g}: writer dropped ${w.dropped} items, not only writes refused after close (${JSON.stringify(w.droppedBy)})`);
  if (w.deadLettered !== 0) out.push(`${g}: writer dead-lettered ${w.deadLettered}`);
  const o = s.outbox;
  if (o.accepted !== o.delivered + o.size) out.push(`${g}: outbox accepted ${o.accepted} != delivered ${o.delivered} + size ${o.size}`);
  if (o.size !== 0) out.push(`${g}: outbox still holds ${o.size} after close`);
  const c = s.counts;
  const answered = c.acked! + c.limiterTimeout! + c.commitTimeout! + c.failed! + c.closing!;
  // /stats requests are counted in requests too; the harness never sends any.
  if (c.requests !== answered) out.push(`${g}: ingest received ${c.requests} requests but answered ${answered} (${JSON.stringify(c)})`);
  if (s.shed.served !== c.requests) out.push(`${g}: loadShed served ${s.shed.served} but the handler saw ${c.requests}`);
  if (s.waiters !== 0) out.push(`${g}: ${s.waiters} commit waiters left after shutdown (ids ${s.waiterIds.join(', ')}; counts ${JSON.stringify(c)})`);
  if (c.handledAfterStop !== 0) out.push(`${g}: the JetStream consumer ran ${c.handledAfterStop} handlers after stop() resolved`);
  const p = s.publisher;
  if (!p) out.push(`${g}: no publisher stats`);
  else {
    if (p.inFlight + p.waiting !== 0) out.push(`${g}: publisher still has ${p.inFlight} in flight and ${p.waiting} waiting after close()`);
    if (p.published !== p.acked + p.failed + p.inFlight) out.push(`${g}: publisher published ${p.published} != acked ${p.acked} + failed ${p.failed} + inFlight ${p.inFlight}`);
    if (p.acked !== c.published) out.push(`${g}: publisher acked ${p.acked} but the publish loop saw ${c.published} resolve`);
  }
  const k = s.consumer;
  if (!k) out.push(`${g}: no consumer stats`);
  else if (k.held + k.running + k.waiting !== 0) out.push(`${g}: consumer still holds ${k.held}, runs ${k.running}, has ${k.waiting} waiting after stop()`);
  if (s.limiter.held !== 0) out.push(`${g}: RedisConcurrencyLimiter still counts ${s.limiter.held} permits held after every request ended`);
  if (s.drain.timedOut || s.drain.remaining !== 0) out.push(`${g}: drain timed out with ${s.drain.remaining} remaining`);
  return out;
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
