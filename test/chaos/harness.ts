/**
 * The chaos harness: starts private redis-server, PostgreSQL and nats-server
 * instances, a TCP proxy in front of each, the reference pipeline under a
 * supervisor, the load client and a load-balancer-like `/readyz` prober; plays the seeded fault schedule; settles;
 * and checks the promises (checker.ts). Used by short.test.ts and main.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AckPolicy, connect, nanos, StorageType } from 'nats';
import { check, percentile, type CheckResult } from './checker.js';
import { LoadClient, type ClientStats } from './client.js';
import { formatSchedule, schedule, type Fault } from './injector.js';
import { ReadinessProber, type ReadinessReport } from './prober.js';
import { ChaosProxy } from './proxy.js';
import { createServices, freePort, type ServiceName, type Services } from './services.js';
import { Supervisor } from './supervisor.js';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  /** Client requests per second outside bursts. */
  baseRatePerSec?: number;
  /** Mean gap between faults. */
  meanGapMs?: number;
  rssLimitBytes?: number;
  log?: (line: string) => void;
  /** Also forward the pipeline's own log lines to `log`. */
  verbose?: boolean;
}

export interface ChaosReport extends CheckResult {
  seed: number;
  durationMs: number;
  scheduleText: string;
  /** Faults actually injected, by kind (a pipeline fault is skipped while the pipeline is restarting). */
  injected: Record<string, number>;
  skipped: number;
  client: ClientStats;
  p50Ms: number;
  p99Ms: number;
  peakRssBytes: number;
  generations: number;
  committedRows: number;
  /** The `/readyz` probes: answers by kind, and how loadShed's 503s relate to them. */
  readiness: ReadinessReport;
  /** The last generation's median ms from an item's arrival to its publish, consume and commit (every 10th id). */
  stagesMedianMs: { samples: number; published: number; consumed: number; committed: number } | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await sleep(200);
    }
  }
}

/** Everything a run started, so `cleanup()` can stop it even after a failure. */
export class ChaosRun {
  services: Services | undefined;
  proxies: Partial<Record<ServiceName, ChaosProxy>> = {};
  supervisor: Supervisor | undefined;
  client: LoadClient | undefined;
  prober: ReadinessProber | undefined;
  dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));

  async cleanup(): Promise<void> {
    this.supervisor?.forceKill();
    await this.client?.stop(0);
    await this.prober?.stop();
    for (const p of Object.values(this.proxies)) await p.close();
    if (this.services) {
      for (const s of [this.services.redis, this.services.postgres, this.services.nats]) await s.stop().catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function runChaos(options: ChaosOptions, run = new ChaosRun()): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const faults = schedule(options.seed, options.durationMs, options.meanGapMs);
  const scheduleText = formatSchedule(options.seed, faults);
  const services = (run.services = await createServices(run.dir));
  await Promise.all([services.redis.start(), services.postgres.start(), services.nats.start()]);
  const table = 'chaos_items';
  const pgConfig = { host: '127.0.0.1', port: services.postgres.port, user: 'postgres', database: 'postgres' };
  await retry('create table', async () => {
    const c = new pg.Client(pgConfig);
    await c.connect();
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigint NOT NULL)`);
    } finally {
      await c.end();
    }
  });
  const stream = 'CHAOS';
  const subject = 'chaos.items';
  const consumerName = 'writer';
  const nc = await retry('nats connect', () => connect({ servers: `127.0.0.1:${services.nats.port}` }));
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: consumerName, ack_policy: AckPolicy.Explicit, ack_wait: nanos(10_000), max_ack_pending: 1000 });
  await nc.close();

  for (const name of ['redis', 'postgres', 'nats'] as const) {
    const proxy = new ChaosProxy(name, services[name].port);
    await proxy.start();
    run.proxies[name] = proxy;
  }
  const httpPort = await freePort();
  const supervisor = (run.supervisor = new Supervisor(
    {
      httpPort,
      redisPort: run.proxies.redis!.port,
      pgPort: run.proxies.postgres!.port,
      natsPort: run.proxies.nats!.port,
      stream,
      consumer: consumerName,
      subject,
      table,
      ackTimeoutMs: 10_000,
    },
    run.dir,
    (line) => { if (options.verbose || line.startsWith('!!')) log(line); },
  ));
  await supervisor.start();
  // Probes /readyz every 250 ms like a load balancer; a probe counts as "while up" only if the same generation was ready from send to answer.
  // 5 s timeout: answers took up to 1.2 s during bursts of 2000 open requests on this loaded 2-core machine (a
  // load balancer would count those as not ready, which is harmless); 5 s still tells a hung endpoint from a slow one.
  const prober = (run.prober = new ReadinessProber(httpPort, () => (supervisor.ready ? supervisor.generation : undefined), 250, 5000));
  const client = (run.client = new LoadClient(httpPort, options.baseRatePerSec ?? 200, 2000, () => prober.noteShed()));
  prober.start();
  client.start();
  const started = Date.now();
  const injected: Record<string, number> = {};
  let skipped = 0;
  const count = (kind: string) => (injected[kind] = (injected[kind] ?? 0) + 1);

  const apply = async (f: Fault): Promise<boolean> => {
    const [verb, target] = f.kind.split(':') as [string, ServiceName | undefined];
    if (target) {
      const svc = services[target];
      if (verb === 'freeze') {
        svc.freeze();
        await sleep(f.holdMs);
        svc.thaw();
      } else if (verb === 'kill') {
        await svc.kill();
        await sleep(f.holdMs);
        await svc.start();
      } else {
        run.proxies[target]!.cut();
      }
      return true;
    }
    switch (f.kind) {
      case 'pg-terminate': {
        const c = new pg.Client(pgConfig);
        await c.connect();
        try {
          await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
        } finally {
          await c.end();
        }
        return true;
      }
      case 'pipeline-sigterm':
      case 'pipeline-sigterm2':
      case 'pipeline-sigkill': {
        const ok = f.kind === 'pipeline-sigkill' ? supervisor.kill() : supervisor.terminate(f.kind === 'pipeline-sigterm2' ? f.factor : undefined);
        if (!ok) return false;
        // Let the supervisor bring the next generation up before the next fault.
        await sleep(300);
        await supervisor.waitReady(60_000);
        return true;
      }
      case 'burst':
        client.burst(f.factor, f.holdMs);
        await sleep(f.holdMs);
        return true;
    }
    return false;
  };

  for (const f of faults) {
    const wait = started + f.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    log(`+${((Date.now() - started) / 1000).toFixed(1)}s ${f.kind} hold=${f.holdMs} factor=${f.factor}`);
    if (await apply(f)) count(f.kind);
    else skipped++;
  }
  const rest = started + options.durationMs - Date.now();
  if (rest > 0) await sleep(rest);

  // Settle: stop the load, let the open requests finish, then a clean final shutdown.
  await client.stop(20_000);
  await supervisor.waitReady(60_000);
  await prober.stop();
  await supervisor.stop();

  const c = new pg.Client(pgConfig);
  await retry('final pg connect', () => c.connect());
  const rows = (await c.query<{ id: string; n: string }>(`SELECT id, count(*) AS n FROM ${table} GROUP BY id`)).rows;
  await c.end();
  const rowsById = new Map<number, number>(rows.map((r) => [Number(r.id), Number(r.n)]));
  const committedRows = rows.reduce((a, r) => a + Number(r.n), 0);
  const result = check({
    ackedIds: client.ackedIds,
    rowsById,
    exits: supervisor.exits,
    serviceExits: [...services.redis.unexpectedExits, ...services.postgres.unexpectedExits, ...services.nats.unexpectedExits],
    peakRssBytes: supervisor.peakRssBytes,
    rssLimitBytes: options.rssLimitBytes ?? 512 * 2 ** 20,
    readiness: prober.summary(),
  });
  if (client.stats.acked === 0) result.problems.push('nothing was acked: the pipeline never made progress');
  return {
    ...result,
    seed: options.seed,
    durationMs: options.durationMs,
    scheduleText,
    injected,
    skipped,
    client: client.stats,
    p50Ms: percentile(client.latenciesMs, 50),
    p99Ms: percentile(client.latenciesMs, 99),
    peakRssBytes: supervisor.peakRssBytes,
    generations: supervisor.generation,
    committedRows,
    readiness: prober.summary(),
    stagesMedianMs: supervisor.exits.at(-1)?.stats?.stagesMedianMs,
  };
}

/** The soak table: one row per seed plus a total. */
export function formatTable(reports: ChaosReport[]): string {
  const kinds = [...new Set(reports.flatMap((r) => Object.keys(r.injected)))].sort();
  const lines = [
    '| seed | minutes | faults | acked | lost | duplicates | p99 ack latency | peak RSS | pipeline generations | problems |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of reports) {
    const faults = Object.values(r.injected).reduce((a, b) => a + b, 0);
    lines.push(`| ${r.seed} | ${(r.durationMs / 60_000).toFixed(1)} | ${faults} | ${r.acked} | ${r.lost.length} | ${r.duplicates} | ${r.p99Ms.toFixed(0)} ms | ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB | ${r.generations} | ${r.problems.length} |`);
  }
  lines.push('', '| fault | injected |', '|---|---:|');
  for (const k of kinds) lines.push(`| ${k} | ${reports.reduce((a, r) => a + (r.injected[k] ?? 0), 0)} |`);
  lines.push(
    '',
    '| seed | /readyz probes | 200 ready | 503 not ready | no answer (pipeline down) | 503 draining (after SIGTERM) | broken while up | slowest answer | loadShed 503s | of them, last probe said ready | shed episodes | probe said 503 before the first shed | after it | median ms after |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const { seed, readiness: p } of reports) {
    lines.push(`| ${seed} | ${p.probes} | ${p.ready} | ${p.notReady} | ${p.noAnswerDown} | ${p.draining} | ${p.violations} | ${p.maxLatencyMs} ms | ${p.shed} | ${p.shedWhileLastProbeReady} | ${p.shedEpisodes} | ${p.shedEpisodesWarned} | ${p.shedEpisodesFlaggedLate} | ${p.medianLateMs} ms |`);
  }
  return lines.join('\n');
}
