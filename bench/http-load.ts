// HTTP load-shedding benchmark.
//
// A server whose handler burns 5 ms of CPU synchronously (capacity ~200 req/s on
// one core) is driven by autocannon with 50 closed-loop connections, several
// times its capacity. Compared: no shedding, Sluice `loadShed` (node:http and
// Fastify), and `@fastify/under-pressure`. Latency percentiles are of served
// (2xx) responses only; 503s are counted apart.
//
// Usage: npx tsx bench/http-load.ts [--json FILE] [--duration S] [--connections N]
//
// Each server runs in a child process (this same file with --server) so the load
// generator never shares its event loop. On a 2-core machine the generator and
// the server each get a core; other load on the machine shows up as noise.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

type Kind =
  | 'node'
  | 'node+sluice-stall'
  | 'node+sluice-delay'
  | 'fastify'
  | 'fastify+sluice-stall'
  | 'fastify+under-pressure';

interface Scenario {
  kind: Kind;
  label: string;
  connections: number;
}

interface Row {
  scenario: string;
  kind: Kind;
  connections: number;
  durationS: number;
  servedPerS: number;
  shedPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failed: number;
}

const WORK_MS = 5;
const STALL_THRESHOLD_MS = 10;
const WARMUP_S = 1;

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

// ---- server side (child process) ---------------------------------------------

async function runServer(kind: Kind): Promise<void> {
  const { loadShed } = await import('../src/adapters/http/index.js');
  const { eventLoopStall, eventLoopDelay } = await import('../src/core/pressure/index.js');
  let port: number;
  let close: () => Promise<void>;
  if (kind.startsWith('node')) {
    const handler: RequestListener = (_req, res) => {
      burn(WORK_MS);
      res.end('ok');
    };
    let listener = handler;
    if (kind === 'node+sluice-stall') listener = loadShed({ pressure: eventLoopStall({ thresholdMs: STALL_THRESHOLD_MS }) }).node(handler);
    if (kind === 'node+sluice-delay') {
      listener = loadShed({ pressure: eventLoopDelay({ thresholdMs: 20, sampleIntervalMs: 50 }) }).node(handler);
    }
    const server = createServer({ keepAliveTimeout: 30_000 }, listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  } else {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ keepAliveTimeout: 30_000 });
    if (kind === 'fastify+sluice-stall') app.addHook('onRequest', loadShed({ pressure: eventLoopStall({ thresholdMs: STALL_THRESHOLD_MS }) }).fastify);
    if (kind === 'fastify+under-pressure') {
      const { default: underPressure } = await import('@fastify/under-pressure');
      await app.register(underPressure, { maxEventLoopDelay: 20, sampleInterval: 50, retryAfter: 1 });
    }
    app.get('/', async () => {
      burn(WORK_MS);
      return 'ok';
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    close = () => app.close();
  }
  process.send!({ port });
  process.on('message', (message) => {
    if (message === 'close') void close().then(() => process.disconnect());
  });
}

// ---- load side -----------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function startChild(kind: Kind): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--server', kind], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m) => resolve((m as { port: number }).port));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill(), 5000);
        child.once('exit', () => (clearTimeout(timer), resolve()));
        child.send('close');
      }),
  };
}

/**
 * Runs `connections` closed-loop clients for `WARMUP_S + durationS` seconds and
 * times only the last `durationS`: each run opens all its connections at once
 * and starts on cold code paths, a transient that is not the steady state.
 */
async function measure(url: string, connections: number, durationS: number) {
  const servedMs: number[] = [];
  let shed = 0;
  let failed = 0;
  const countFrom = performance.now() + WARMUP_S * 1000;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: WARMUP_S + durationS, timeout: 10 }, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (performance.now() < countFrom) return;
      if (status >= 200 && status < 300) servedMs.push(ms);
      else if (status === 503) shed++;
      else failed++;
    });
  });
  servedMs.sort((a, b) => a - b);
  return { servedMs, shed, failed: failed + result.errors };
}

async function runScenario(s: Scenario, durationS: number): Promise<Row> {
  const child = await startChild(s.kind);
  try {
    const { servedMs, shed, failed } = await measure(child.url, s.connections, durationS);
    return {
      scenario: s.label,
      kind: s.kind,
      connections: s.connections,
      durationS,
      servedPerS: Math.round(servedMs.length / durationS),
      shedPerS: Math.round(shed / durationS),
      p50Ms: round(percentile(servedMs, 50)),
      p99Ms: round(percentile(servedMs, 99)),
      maxMs: round(percentile(servedMs, 100)),
      failed,
    };
  } finally {
    await child.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function printTable(rows: Row[]): void {
  const head = ['scenario', 'conns', 'served/s', 'shed/s', 'p50 ms', 'p99 ms', 'max ms', 'failed'];
  const body = rows.map((r) => [r.scenario, r.connections, r.servedPerS, r.shedPerS, r.p50Ms, r.p99Ms, r.maxMs, r.failed].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const durationS = Number(argValue(args, '--duration') ?? 3);
  const connections = Number(argValue(args, '--connections') ?? 50);
  const jsonFile = argValue(args, '--json');
  if (!(durationS > 0 && durationS <= 60) || !(Number.isInteger(connections) && connections >= 1 && connections <= 1000)) {
    throw new Error('usage: npx tsx bench/http-load.ts [--json FILE] [--duration 1..60] [--connections 1..1000]');
  }
  const scenarios: Scenario[] = [
    { kind: 'node', label: 'node:http, unloaded (1 connection)', connections: 1 },
    { kind: 'node', label: 'node:http, no shedding', connections },
    { kind: 'node+sluice-stall', label: `node:http + loadShed(eventLoopStall ${STALL_THRESHOLD_MS} ms)`, connections },
    { kind: 'node+sluice-delay', label: 'node:http + loadShed(eventLoopDelay p99 20 ms)', connections },
    { kind: 'fastify', label: 'fastify, no shedding', connections },
    { kind: 'fastify+sluice-stall', label: `fastify + loadShed(eventLoopStall ${STALL_THRESHOLD_MS} ms)`, connections },
    { kind: 'fastify+under-pressure', label: 'fastify + under-pressure (maxEventLoopDelay 20 ms)', connections },
  ];
  console.log(
    `HTTP load shedding: handler burns ${WORK_MS} ms CPU; ${connections} connections; ${durationS} s timed per run after ${WARMUP_S} s warm-up; latency of 2xx only\n`,
  );
  const rows: Row[] = [];
  for (const s of scenarios) {
    rows.push(await runScenario(s, durationS));
    process.stdout.write(`  done: ${s.label}\n`);
  }
  console.log('');
  printTable(rows);
  if (jsonFile) {
    const out = { benchmark: 'http-load', workMs: WORK_MS, durationS, connections, node: process.version, date: new Date().toISOString(), rows };
    writeFileSync(jsonFile, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwrote ${jsonFile}`);
  }
}

if (process.argv[2] === '--server') {
  await runServer(process.argv[3] as Kind);
} else {
  await main();
}
