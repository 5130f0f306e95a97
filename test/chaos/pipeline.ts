/**
 * The chaos harness's reference pipeline, built only from Sluice's public
 * entry points, the way a user would build it. One process:
 *
 *   GET /readyz ─ readiness (the same pressure as loadShed, a lower threshold; never shed)
 *   POST /items?id=N ─ loadShed ─ RedisConcurrencyLimiter ─ RedisTokenBucket
 *     ─ Channel (spilling to SQLite) ─ JetStreamPublisher ─▶ NATS JetStream (file stream)
 *     ─▶ consumeJetStream ─ BatchWriter ─ postgresSink (COPY) ─▶ PostgreSQL
 *
 * The ack: the HTTP request answers 200 only after the BatchWriter flush that
 * carried its id resolved, i.e. the row is committed in PostgreSQL. Anything
 * else (shed, limiter or bucket timeout, not committed within `ackTimeoutMs`,
 * a dead process) is not an ack. The JetStream message is acked only after
 * the same commit, so an item whose process died is redelivered to the next
 * one (duplicates are possible; losses of acked items are not).
 *
 * Shutdown: `shutdownOn` with one target (the whole pipeline) and
 * `exit: false`: the HTTP server stops accepting, the consumer stops, the
 * writer drains, every connection closes, the stats go to `statsFile`, and
 * the process must then end by itself (a handle left open is reported).
 *
 * Config: JSON in argv[2] (see PipelineConfig). Prints "ready" on stdout.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { connect, type JsMsg, type NatsConnection } from 'nats';
import { BatchWriter, Channel, shutdownOn, type BatchWriterDrainReport } from '../../src/index.js';
import { loadShed, readiness } from '../../src/adapters/http/index.js';
import { RedisConcurrencyLimiter, RedisTokenBucket } from '../../src/adapters/redis/index.js';
import { consumeJetStream, jetStreamPublisher, type JetStreamConsumer } from '../../src/adapters/nats/index.js';
import { postgresSink } from '../../src/adapters/postgres/index.js';
import { SqliteStore } from '../../src/adapters/sqlite/index.js';

export interface PipelineConfig {
  generation: number;
  httpPort: number;
  redisPort: number;
  pgPort: number;
  natsPort: number;
  stream: string;
  consumer: string;
  subject: string;
  table: string;
  statsFile: string;
  /** Longest an HTTP request waits for its commit before answering 503. */
  ackTimeoutMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as PipelineConfig;
const log = (line: string) => process.stderr.write(`[pipeline g${config.generation}] ${line}\n`);

// ---- the ingest's own accounting
const counts = { requests: 0, acked: 0, shed: 0, limiterTimeout: 0, commitTimeout: 0, failed: 0, closing: 0, published: 0, consumed: 0, committed: 0, writeRefused: 0, handledAfterStop: 0, probes: 0 };

// ---- where an ack's time goes: for every 10th id, when it reached each stage (ms since arrival)
const stageSamples = new Map<number, { arrived: number; published?: number; consumed?: number; committed?: number }>();
const stageDone: Array<{ published: number; consumed: number; committed: number }> = [];
function stamp(id: number, stage: 'published' | 'consumed' | 'committed'): void {
  const t = stageSamples.get(id);
  if (!t || t[stage] !== undefined) return;
  t[stage] = performance.now() - t.arrived;
  if (stage === 'committed') {
    stageSamples.delete(id);
    if (t.published !== undefined && t.consumed !== undefined && stageDone.length < 100_000) stageDone.push({ published: t.published, consumed: t.consumed, committed: t.committed! });
  }
}
function medianStages() {
  const med = (k: 'published' | 'consumed' | 'committed') => {
    const v = stageDone.map((d) => d[k]).sort((a, b) => a - b);
    return v.length ? Math.round(v[Math.floor(v.length / 2)]!) : 0;
  };
  return { samples: stageDone.length, published: med('published'), consumed: med('consumed'), committed: med('committed') };
}

// ---- commit notifications: id -> resolvers waiting for that id's row
const waiters = new Map<number, Array<() => void>>();
/** A promise for `id`'s commit, and a cancel that unregisters it (for a request that gives up). */
function waitCommit(id: number): { done: Promise<void>; cancel: () => void } {
  let resolver!: () => void;
  const done = new Promise<void>((resolve) => (resolver = resolve));
  const list = waiters.get(id);
  if (list) list.push(resolver);
  else waiters.set(id, [resolver]);
  return { done, cancel: () => forget(id, resolver) };
}
function notifyCommitted(id: number): void {
  const list = waiters.get(id);
  if (!list) return;
  waiters.delete(id);
  for (const r of list) r();
}
function forget(id: number, resolve: () => void): void {
  const list = waiters.get(id);
  if (!list) return;
  const i = list.indexOf(resolve);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) waiters.delete(id);
}

// ---- services (each through the harness's proxy)
const redis = new Redis({ host: '127.0.0.1', port: config.redisPort, maxRetriesPerRequest: 2, retryStrategy: () => 200, lazyConnect: false });
redis.on('error', () => {});
const subscriber = new Redis({ host: '127.0.0.1', port: config.redisPort, retryStrategy: () => 200 });
subscriber.on('error', () => {});
const pool = new pg.Pool({ host: '127.0.0.1', port: config.pgPort, user: 'postgres', database: 'postgres', max: 3, connectionTimeoutMillis: 2000, query_timeout: 15_000 });
pool.on('error', () => {});

const limiter = new RedisConcurrencyLimiter({ redis, subscriber, key: 'chaos:inflight', limit: 400, leaseMs: 5000, fallback: { mode: 'local', fraction: 1 } });
const bucket = new RedisTokenBucket({ redis, key: 'chaos:rate', ratePerSecond: 3000, burst: 500, fallback: { mode: 'local', fraction: 1 } });

interface Row { id: number }
const sink = postgresSink<Row>(pool, { table: config.table, columns: ['id'], method: 'copy' });
const writer = new BatchWriter<Row>({
  name: 'chaos-writer',
  capacity: 2000,
  batchSize: 200,
  minFlushIntervalMs: 20,
  maxFlushIntervalMs: 500,
  retry: { attempts: 1000, initialDelayMs: 50, maxDelayMs: 1000 },
  flush: async (rows, context) => {
    await sink(rows, context);
    counts.committed += rows.length;
    for (const r of rows) {
      stamp(r.id, 'committed');
      notifyCommitted(r.id);
    }
  },
});

// HTTP → Channel → publisher: the Channel bounds what waits to be published in
// memory and spills the rest to SQLite, one file for every generation: items a
// killed generation left there are recovered by the next one and published then.
// (None of them was acked to a client yet: an ack waits for the PostgreSQL commit.)
const spillStore = new SqliteStore<number>({ path: join(dirname(config.statsFile), 'outbox-spill.db'), releaseLeasesOnOpen: true });
const outbox = new Channel<number>({ capacity: 1000, spill: spillStore, spillCapacity: 20_000 });

let nc: NatsConnection | undefined;
let consumer: JetStreamConsumer<JsMsg> | undefined;
let closing = false;
/** How long the listener stays open after SIGTERM, answering /readyz with 503 "draining": two of the prober's 250 ms periods. */
const DRAIN_GRACE_MS = 500;
let consumerStopped = false;

// One pressure for both: 1 when the outbox is 90% full or 1500 requests are open.
let open = 0;
const pressure = () => Math.max(outbox.stats().utilization / 0.9, open / 1500);
// Shed above 1 (loadShed's default), serve again below 0.9.
const shed = loadShed({ pressure });
// Not ready above 0.7 (outbox 63% full or 1050 open), well before loadShed's 1, so a load
// balancer probing /readyz stops sending before requests have to be shed; ready again only
// below 0.5, i.e. after shedding has stopped (0.9) and with room to take traffic back, so a
// load hovering at the threshold does not flap the instance in and out of rotation.
// minStateMs stays 0: a hold could keep the instance "ready" while the pressure climbs to shedding.
const ready = readiness({ pressure, threshold: 0.7, resumeBelow: 0.5, name: 'chaos-ingest' });

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  counts.requests++;
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats()));
    return;
  }
  const id = Number(url.searchParams.get('id'));
  if (id % 10 === 0 && stageSamples.size < 10_000) stageSamples.set(id, { arrived: performance.now() });
  req.resume();
  if (closing) {
    counts.closing++;
    res.writeHead(503).end('closing');
    return;
  }
  open++;
  const signal = AbortSignal.timeout(config.ackTimeoutMs);
  let cancel: (() => void) | undefined;
  try {
    const permit = await limiter.acquire({ signal }).catch(() => undefined);
    if (!permit) {
      counts.limiterTimeout++;
      res.writeHead(503).end('limiter');
      return;
    }
    try {
      await bucket.acquire(1, { signal });
      const wait = waitCommit(id);
      cancel = wait.cancel;
      const done = wait.done;
      if (!(await outbox.send(id, { signal }))) throw new Error('outbox closed');
      const timedOut = new Promise<'timeout'>((resolve) => signal.addEventListener('abort', () => resolve('timeout'), { once: true }));
      if ((await Promise.race([done.then(() => 'ok' as const), timedOut])) === 'timeout') {
        counts.commitTimeout++;
        res.writeHead(503).end('not committed in time');
        return;
      }
      counts.acked++;
      res.writeHead(200).end('ok');
    } finally {
      void permit.release().catch(() => undefined);
    }
  } catch {
    counts.failed++;
    if (!res.headersSent) res.writeHead(503).end('failed');
  } finally {
    open--;
    // Unregister (a no-op once the commit resolved it).
    cancel?.();
  }
}

const ingest = shed.node((req, res) => void handle(req, res));
// The probe is routed before loadShed: a load balancer's check must never be shed (it would
// read "not ready" for the wrong reason), and it is not counted as an ingest request.
const server = createServer((req, res) => {
  if (req.url === '/readyz') {
    counts.probes++;
    ready.node(req, res);
    return;
  }
  ingest(req, res);
});
server.keepAliveTimeout = 1000;

function stats() {
  return {
    generation: config.generation,
    counts: { ...counts },
    writer: writer.stats(),
    outbox: outbox.stats(),
    shed: shed.stats(),
    readiness: ready.stats(),
    limiter: limiter.stats(),
    bucket: bucket.stats(),
    consumer: consumer?.stats(),
    publisher: publisher?.stats(),
    stagesMedianMs: medianStages(),
    waiters: waiters.size,
    waiterIds: [...waiters.keys()].slice(0, 10),
    rssBytes: process.memoryUsage().rss,
  };
}

interface Publisher { publish(subject: string, payload: string): Promise<unknown>; close(): Promise<void>; stats(): unknown }

async function publishLoop(publisher: Publisher): Promise<void> {
  for await (const id of outbox) {
    // Retry until it is stored: the id is only acked after its commit, so a publish
    // that never succeeds is a 503 to the client, never a loss.
    for (let attempt = 0; ; attempt++) {
      try {
        await publisher.publish(config.subject, String(id));
        counts.published++;
        stamp(id, 'published');
        break;
      } catch (error) {
        if (closing && attempt > 3) break;
        await new Promise((r) => setTimeout(r, 100));
        void error;
      }
    }
  }
}

async function startConsumer(): Promise<JetStreamConsumer<JsMsg>> {
  for (;;) {
    try {
      return await consumeJetStream(nc!.jetstream(), config.stream, config.consumer, async (msg) => {
        const id = Number(msg.string());
        counts.consumed++;
        stamp(id, 'consumed');
        // A handler that starts after consumer.stop() resolved breaks stop()'s promise; the checker reports it.
        if (consumerStopped) counts.handledAfterStop++;
        const { done, cancel } = waitCommit(id);
        try {
          if (!(await writer.write({ id }))) throw new Error('writer closed');
        } catch (error) {
          counts.writeRefused++;
          cancel();
          throw error;
        }
        await done;
      }, { concurrency: 400, maxAckPending: 1000, heartbeatMs: 2000, onError: () => {} });
    } catch (error) {
      if (closing) throw error;
      log(`consumer start failed (${(error as Error).message}); retrying`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

let publishing: Promise<void> | undefined;
let publisher: Publisher | undefined;

async function main(): Promise<void> {
  nc = await connect({ servers: `127.0.0.1:${config.natsPort}`, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 200, timeout: 2000 });
  const p = jetStreamPublisher(nc.jetstream(), { maxInFlight: 256 });
  publisher = p;
  publishing = publishLoop(p);
  consumer = await startConsumer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, '127.0.0.1', () => resolve());
  });
  process.stdout.write('ready\n');
}

/** The whole pipeline as one shutdown target: stop intake, finish what was accepted, close everything. */
const pipelineTarget = {
  name: 'chaos-pipeline',
  stats: () => writer.stats(),
  async drain(options?: { timeoutMs?: number }): Promise<BatchWriterDrainReport> {
    closing = true;
    // Out of rotation first: /readyz answers 503 "draining" from now on, and the listener stays
    // open for two probe periods so a load balancer reads that answer rather than a refused
    // connection; new /items requests get 503 "closing" meanwhile.
    ready.drain();
    const started = Date.now();
    const listenerClosed = new Promise<void>((resolve) =>
      setTimeout(() => {
        server.close();
        server.closeIdleConnections();
        resolve();
      }, DRAIN_GRACE_MS),
    );
    outbox.close();
    await publishing?.catch(() => undefined);
    await outbox.drained().catch(() => undefined);
    await spillStore.close().catch(() => undefined);
    // Requests still open wait for their commits (or their timeout); the consumer keeps feeding the writer meanwhile.
    while (open > 0 && Date.now() - started < config.ackTimeoutMs + 1000) await new Promise((r) => setTimeout(r, 20));
    await consumer?.stop();
    consumerStopped = true;
    const report = await writer.drain({ timeoutMs: Math.max(1000, (options?.timeoutMs ?? 15_000) - (Date.now() - started)) });
    await listenerClosed;
    server.closeAllConnections();
    await publisher?.close().catch(() => undefined);
    await nc?.drain().catch(() => nc?.close());
    limiter.close();
    bucket.close();
    redis.disconnect();
    subscriber.disconnect();
    await pool.end().catch(() => undefined);
    writeFileSync(config.statsFile, JSON.stringify({ ...stats(), drain: report, drainMs: Date.now() - started }));
    log(`drained in ${Date.now() - started} ms; waiting to exit on its own`);
    // Anything still holding the loop open after 5 s is a leak: name it.
    setTimeout(() => log(`still alive 5 s after the drain; open resources: ${JSON.stringify(process.getActiveResourcesInfo())}`), 5000).unref();
    return report;
  },
};
shutdownOn(pipelineTarget, ['SIGTERM'], { exit: false, timeoutMs: 20_000, log });

main().catch((error) => {
  log(`startup failed: ${(error as Error).stack}`);
  process.exitCode = 2;
  process.kill(process.pid, 'SIGTERM');
});
