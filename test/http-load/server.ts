// Child-process entry for the load test: a node:http server on 127.0.0.1 whose
// handler burns `workMs` of CPU synchronously (then optionally waits `asyncWorkMs`,
// like a call to a downstream service), optionally behind loadShed, optionally
// with readiness (/readyz) and liveness (/livez) endpoints on the same pressure,
// optionally shedding by the `x-priority` request header (loadShed priorities) or
// behind a ConcurrencyLimiter (with partitions chosen by the same header).
// It runs in its own process so the load generator does not share its event loop.
// Config arrives as JSON in argv[2]; the port and the final report go back over IPC.
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventLoopDelay, eventLoopStall, eventLoopUtilization, limiterPressure, type Pressure } from '../../src/core/pressure/index.js';
import { liveness, loadShed, readiness, type LoadShedStats, type ReadinessState, type ReadinessStats } from '../../src/adapters/http/index.js';
import { ConcurrencyLimiter, type ConcurrencyLimiterStats } from '../../src/core/concurrency-limiter/index.js';

export type ServerPressure = 'none' | 'stall' | 'delay' | 'utilization' | 'inflight' | 'inflight-avg';
export interface ServerConfig {
  pressure: ServerPressure;
  workMs: number;
  /**
   * Threshold in ms for 'stall' and 'delay', a 0..1 fraction for 'utilization',
   * requests in the handler for 'inflight' and 'inflight-avg' (the pressure is inflight / threshold;
   * 'inflight-avg' averages it over the last 250 ms, sampled every 10 ms).
   */
  threshold: number;
  /** After the CPU work, the handler waits this long before answering (a downstream call). Default 0: answers at once. */
  asyncWorkMs?: number;
  /** loadShed's threshold on the pressure. Default 1. */
  shedThreshold?: number;
  /** Serve /readyz (readiness on the same pressure) and /livez. */
  readiness?: { threshold: number; resumeBelow?: number; minStateMs?: number };
  /**
   * The downstream call (`asyncWorkMs`) serves at most this many requests at once;
   * the rest wait for it first come, first served. Default: no limit.
   */
  capacity?: number;
  /** loadShed by criticality: each request's level is its `x-priority` header, judged against these thresholds (instead of `shedThreshold`). */
  priorities?: Record<string, number>;
  /**
   * A ConcurrencyLimiter (fixed limit, whenFull 'reject') in front of the handler; a
   * refused request gets 503. With `partitions`, a request's partition is its `x-priority` header.
   * With `algorithm` other than 'fixed' the limit adapts and `limit` is its initial limit;
   * `timeoutMs` is AIMD's. The report then includes the limit sampled every 50 ms.
   */
  limiter?: { limit: number; partitions?: Record<string, number>; algorithm?: 'fixed' | 'aimd' | 'vegas' | 'gradient2'; timeoutMs?: number };
}
/** A change of the readiness state, seen by the server as it answered a check. */
export interface ReadinessChange {
  /** Date.now() of the check. */
  at: number;
  state: ReadinessState;
  /** The reading that changed it. */
  reading: number | undefined;
  /** Requests loadShed had shed before this check. */
  shedBefore: number;
}
export interface ServerReport {
  served: number;
  shed: number;
  /** Times loadShed started shedding. */
  shedEvents?: number;
  /** Date.now() when loadShed shed its first request, if it did. */
  firstShedAt?: number;
  readiness?: { changes: ReadinessChange[]; stats: ReadinessStats; livenessChecks: number };
  /** With `priorities`: loadShed's per-level counts. */
  levels?: LoadShedStats['levels'];
  /** With `limiter`: its stats. */
  limiter?: ConcurrencyLimiterStats;
  /** With an adaptive `limiter`: its limit every 50 ms, as [Date.now(), limit]. */
  limits?: [number, number][];
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Requests inside `handler` now, for the 'inflight' pressure. */
const inflight = { inflight: 0, limit: config.threshold };

const handler: RequestListener = (_req, res) => {
  burn(config.workMs);
  if (!config.asyncWorkMs) {
    res.end('ok');
    return;
  }
  inflight.inflight++;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    inflight.inflight--;
  };
  res.once('close', finish); // also when the client goes away first
  downstream(() => {
    finish();
    if (!res.destroyed) res.end('ok');
  });
};

/** The downstream call: `asyncWorkMs` long, at most `capacity` at once, the rest queued FIFO. */
let downstreamBusy = 0;
const downstreamQueue: (() => void)[] = [];
function downstream(done: () => void): void {
  const start = () => {
    downstreamBusy++;
    setTimeout(() => {
      downstreamBusy--;
      downstreamQueue.shift()?.();
      done();
    }, config.asyncWorkMs);
  };
  if (config.capacity === undefined || downstreamBusy < config.capacity) start();
  else downstreamQueue.push(start);
}

function priorityOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-priority'];
  return typeof header === 'string' ? header : undefined;
}

function makeLimiter(c: NonNullable<ServerConfig['limiter']>): ConcurrencyLimiter {
  const common = { initialLimit: c.limit, whenFull: 'reject' as const, ...(c.partitions ? { partitions: c.partitions } : {}) };
  switch (c.algorithm) {
    case 'aimd':
      return new ConcurrencyLimiter({ ...common, algorithm: 'aimd', ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }) });
    case 'vegas':
      return new ConcurrencyLimiter({ ...common, algorithm: 'vegas' });
    case 'gradient2':
      return new ConcurrencyLimiter({ ...common, algorithm: 'gradient2' });
    default:
      return new ConcurrencyLimiter({ ...common, algorithm: 'fixed' });
  }
}
const limiter = config.limiter ? makeLimiter(config.limiter) : undefined;
/** An adaptive limiter's limit over time. */
const limits: [number, number][] = [];
const limitSampler =
  limiter && config.limiter!.algorithm !== undefined && config.limiter!.algorithm !== 'fixed'
    ? setInterval(() => limits.push([Date.now(), limiter.limit]), 50)
    : undefined;
const REFUSED = JSON.stringify({ error: 'overloaded' });
/** `handler` behind the limiter, when there is one. */
const limited: RequestListener = limiter
  ? (req, res) => {
      const partition = config.limiter!.partitions ? priorityOf(req) : undefined;
      const permit = limiter.tryAcquire(partition === undefined ? undefined : { partition });
      if (permit === undefined) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(REFUSED);
        return;
      }
      res.once('close', () => permit.success());
      handler(req, res);
    }
  : handler;

/**
 * The mean of `source` over the last `samples` readings taken every `everyMs`.
 * Requests admitted in the same millisecond share a timer and finish in the same
 * event-loop turn, so the instantaneous count dips for a moment whenever such a
 * batch completes; the mean follows the load without those dips.
 */
function averaged(source: Pressure, everyMs: number, samples: number): Pressure {
  const ring = new Array<number>(samples).fill(0);
  let next = 0;
  let sum = 0;
  const timer = setInterval(() => {
    const reading = source.read();
    sum += reading - ring[next]!;
    ring[next] = reading;
    next = (next + 1) % samples;
  }, everyMs);
  timer.unref();
  return { name: `${source.name ?? 'pressure'}-avg`, read: () => sum / samples, close: () => clearInterval(timer) };
}

function makePressure(): Pressure | undefined {
  switch (config.pressure) {
    case 'stall':
      return eventLoopStall({ thresholdMs: config.threshold });
    case 'delay':
      return eventLoopDelay({ thresholdMs: config.threshold, sampleIntervalMs: 50 });
    case 'utilization':
      return eventLoopUtilization({ threshold: config.threshold, sampleIntervalMs: 50 });
    case 'inflight':
      return limiterPressure(inflight);
    case 'inflight-avg':
      return averaged(limiterPressure(inflight), 10, 25);
    default:
      return undefined;
  }
}

const pressure = makePressure();
const shed = !pressure
  ? undefined
  : config.priorities
    ? loadShed({ pressure, priority: priorityOf, thresholds: config.priorities })
    : loadShed({ pressure, threshold: config.shedThreshold });
let firstShedAt: number | undefined;
const app: RequestListener = shed ? shed.node(limited) : limited;
// Only with readiness: the other tests measure latency and need nothing extra per request.
const served: RequestListener = shed && config.readiness
  ? (req, res) => {
      const before = firstShedAt === undefined ? shed.stats().shed : 0;
      app(req, res);
      if (firstShedAt === undefined && shed.stats().shed > before) firstShedAt = Date.now();
    }
  : app;

const ready = pressure && config.readiness ? readiness({ pressure, ...config.readiness }) : undefined;
const alive = liveness();
const changes: ReadinessChange[] = [];
const listener: RequestListener = ready
  ? (req, res) => {
      if (req.url === '/livez') return alive.node(req, res);
      if (req.url !== '/readyz') return served(req, res);
      const was = ready.state;
      ready.node(req, res);
      if (ready.state !== was) changes.push({ at: Date.now(), state: ready.state, reading: ready.stats().lastReading, shedBefore: shed?.stats().shed ?? 0 });
    }
  : served;
const server = createServer({ keepAliveTimeout: 30_000 }, listener);
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message: unknown) => {
  if (message !== 'close') return;
  pressure?.close?.();
  if (limitSampler) clearInterval(limitSampler);
  server.closeAllConnections();
  server.close(() => {
    const stats = shed?.stats();
    const report: ServerReport = { served: stats?.served ?? 0, shed: stats?.shed ?? 0, shedEvents: stats?.shedEvents ?? 0 };
    if (firstShedAt !== undefined) report.firstShedAt = firstShedAt;
    if (ready) report.readiness = { changes, stats: ready.stats(), livenessChecks: alive.stats().checks };
    if (stats?.levels) report.levels = stats.levels;
    if (limiter) report.limiter = limiter.stats();
    if (limitSampler) report.limits = limits;
    process.send!({ report }, () => process.disconnect());
  });
});
