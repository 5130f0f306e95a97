/**
 * The chaos checker: what must hold after a run settles.
 * - every id the pipeline acked to the client is in PostgreSQL (duplicates counted, not failures);
 * - no pipeline process died except by an injected kill, every SIGTERM ended in a clean exit
 *   (code 0, stats written, the process ended by itself: no handle left open);
 * - no private service exited except when the harness killed it;
 * - each clean shutdown's accounting balances (writer, outbox Channel, ingest counts);
 * - the pipeline's peak RSS stayed under the bound;
 * - every `/readyz` probe sent and settled while the same pipeline generation was up got a
 *   readiness answer within its timeout that keeps the contract (`probeProblem`), and at least one was answered.
 */
import type { ExitRecord } from './supervisor.js';
import type { ReadinessReport } from './prober.js';

export interface CheckInput {
  ackedIds: number[];
  /** id -> rows with that id in PostgreSQL. */
  rowsById: Map<number, number>;
  exits: ExitRecord[];
  serviceExits: string[];
  peakRssBytes: number;
  rssLimitBytes: number;
  readiness: ReadinessReport;
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
  const r = input.readiness;
  if (r.violations > 0) problems.push(`${r.violations} /readyz probes broke the readiness contract while the pipeline was up, e.g.\n  ${r.violationExamples.join('\n  ')}`);
  if (r.ready + r.notReady === 0) problems.push(`none of ${r.probes} /readyz probes was answered`);
  return { acked: input.ackedIds.length, lost, duplicates, problems };
}

/** One answer to `GET /readyz`. */
export interface ProbeAnswer {
  statusCode: number;
  retryAfter: string | undefined;
  body: string;
}

/**
 * What is wrong with a `/readyz` answer, or undefined if it keeps the contract:
 * 200 with `{"status":"ready"}` or 503 with `{"status":"not-ready"}` and a
 * `Retry-After` that matches the body (never a 500, never loadShed's
 * `{"error":"overloaded"}`: a probe is not shed); the pressure was read (the
 * pipeline's pressure cannot throw); and the state agrees with the reading and
 * the hysteresis (the pipeline sets no `minStateMs`, so nothing is held): a
 * ready answer read at most `threshold`, a not-ready one at least `resumeBelow`.
 * So every probe that read a pressure at which loadShed sheds (above 1) said not ready.
 */
export function probeProblem(a: ProbeAnswer): string | undefined {
  const where = `/readyz answered ${a.statusCode} ${a.body.slice(0, 200)}`;
  if (a.statusCode !== 200 && a.statusCode !== 503) return `${where}: not 200 or 503`;
  let body: { status?: unknown; pressure?: unknown; threshold?: unknown; resumeBelow?: unknown; retryAfter?: unknown; readError?: unknown; draining?: unknown };
  try {
    body = JSON.parse(a.body) as typeof body;
  } catch {
    return `${where}: the body is not JSON`;
  }
  if (body === null || typeof body !== 'object') return `${where}: the body is not a JSON object`;
  const expected = a.statusCode === 200 ? 'ready' : 'not-ready';
  if (body.status !== expected) return `${where}: status is not "${expected}" (a shed probe?)`;
  if (body.readError !== undefined || typeof body.pressure !== 'number') return `${where}: the pressure was not read`;
  if (typeof body.threshold !== 'number' || typeof body.resumeBelow !== 'number') return `${where}: no threshold or resumeBelow`;
  if (a.statusCode === 200 && body.pressure > body.threshold) return `${where}: ready above the threshold`;
  if (body.draining !== undefined && (body.draining !== true || a.statusCode !== 503)) return `${where}: draining is only ever true, on a 503`;
  if (a.statusCode === 503) {
    // Draining (readiness().drain() on SIGTERM) is not ready whatever the pressure reads.
    if (body.pressure < body.resumeBelow && body.draining !== true) return `${where}: not ready below resumeBelow`;
    if (a.retryAfter === undefined || String(body.retryAfter) !== a.retryAfter) return `${where}: Retry-After header ${a.retryAfter} does not match the body`;
  }
  return undefined;
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
  if (s.readiness.readErrors !== 0) out.push(`${g}: the readiness pressure threw ${s.readiness.readErrors} times (${s.readiness.lastReadError})`);
  if (s.drain.timedOut || s.drain.remaining !== 0) out.push(`${g}: drain timed out with ${s.drain.remaining} remaining`);
  return out;
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
