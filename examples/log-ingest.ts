/**
 * Log ingestion: HTTP in, PostgreSQL out, with backpressure all the way.
 *
 *   npx tsx examples/log-ingest.ts
 *   curl -X POST localhost:3000/logs --data-binary $'{"level":"info","msg":"hello"}\n{"level":"warn","msg":"disk 91%"}'
 *
 * - `POST /logs` takes one JSON object, or newline-delimited JSON (one object
 *   per line), and answers `202 {"accepted":n,"invalid":[line numbers],"dropped":n}`.
 * - A BatchWriter buffers the lines and writes them with COPY in batches
 *   (table created if missing). When PostgreSQL is slow the buffer fills and
 *   requests wait for room (up to `MAX_WAIT_MS`, then the line is dropped and counted).
 * - `loadShed` answers 503 + Retry-After before reading the body once the
 *   buffer is 90% full, so clients back off instead of piling up.
 * - SIGTERM/SIGINT: stop accepting connections, flush everything buffered, exit.
 *
 * Environment: `PORT` (3000; 0 picks a free one), `HOST` (127.0.0.1),
 * `DATABASE_URL` (postgres://postgres@127.0.0.1:5432/test), `LOG_TABLE` (logs),
 * `MAX_WAIT_MS` (2000). `GET /stats` shows the counters.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { BatchWriter, shutdownOn } from 'sluice';
import { loadShed } from 'sluice/http';
import { postgresSink, quoteIdentifier } from 'sluice/postgres';

interface LogLine {
  level: string | null;
  message: string | null;
  data: string;
}

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const table = process.env.LOG_TABLE ?? 'logs';
const maxWaitMs = Number(process.env.MAX_WAIT_MS ?? 2000);
const maxBodyBytes = 1024 * 1024;

const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
pool.on('error', (error) => console.error(`postgres: idle connection lost: ${error.message}`));

await pool.query(`
  CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    level text,
    message text,
    data jsonb NOT NULL
  )`);

const sink = postgresSink<LogLine>(pool, { table, columns: ['level', 'message', 'data'], method: 'copy', toRow: (l) => [l.level, l.message, l.data] });

const writer = new BatchWriter<LogLine>({
  name: 'logs-to-postgres',
  flush: sink,
  capacity: 10_000,
  batchSize: 1000,
  maxBlockMs: maxWaitMs,
  retry: { attempts: 5, initialDelayMs: 200, maxDelayMs: 5000 },
  breaker: { failureThreshold: 3, resetAfterMs: 5000 },
  deadLetter: (lines, error) => console.error(`dead-lettered ${lines.length} log lines: ${String(error)}`),
});

const shed = loadShed({ pressure: () => writer.stats().buffered / writer.capacity, threshold: 0.9, resumeBelow: 0.7 });

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        resolve(undefined);
        req.resume(); // discard the rest
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function toLogLine(value: unknown): LogLine | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const level = record.level ?? record.severity;
  const message = record.msg ?? record.message;
  return {
    level: typeof level === 'string' ? level : null,
    message: typeof message === 'string' ? message : null,
    data: JSON.stringify(value),
  };
}

async function ingest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) return reply(res, 413, { error: `body over ${maxBodyBytes} bytes` });
  // A client that hangs up stops waiting for room; the lines it already got in stay accepted.
  const gone = new AbortController();
  res.on('close', () => gone.abort(new Error('client disconnected')));
  let accepted = 0;
  let dropped = 0;
  const invalid: number[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    let line: LogLine | undefined;
    try {
      line = toLogLine(JSON.parse(text));
    } catch {
      line = undefined;
    }
    if (line === undefined) {
      invalid.push(i + 1);
      continue;
    }
    try {
      if (await writer.write(line, { signal: gone.signal })) accepted++;
      else dropped++;
    } catch (error) {
      if (gone.signal.aborted) return; // nobody to answer
      // Closed for shutdown: tell the client to retry elsewhere, with what got in so far.
      return reply(res, 503, { error: error instanceof Error ? error.message : String(error), accepted, invalid, dropped });
    }
  }
  if (accepted === 0 && invalid.length > 0 && dropped === 0) return reply(res, 400, { error: 'no valid JSON object lines', accepted, invalid, dropped });
  reply(res, dropped > 0 ? 503 : 202, { accepted, invalid, dropped });
}

const server = http.createServer(
  shed.node((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/logs') {
      ingest(req, res).catch((error: unknown) => {
        if (!res.headersSent) reply(res, 500, { error: String(error) });
      });
      return;
    }
    if (req.method === 'GET' && path === '/stats') return reply(res, 200, { writer: writer.stats(), sink: sink.stats(), shed: shed.stats() });
    if (req.method === 'GET' && path === '/health') return reply(res, 200, { ok: true });
    reply(res, 404, { error: 'POST /logs, GET /stats or GET /health' });
  }),
);

// shutdownOn closes the writer and drains it; the process then ends on its
// own once the server and the pool are closed (a second signal exits at once).
shutdownOn(writer, ['SIGTERM', 'SIGINT'], { exit: false, timeoutMs: 15_000 });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
  });
}
void writer.drained().then(() => pool.end());
// shutdownOn's report counts what its drain flushed (what was still buffered
// at the signal, often 0); this last line, once everything has closed, gives
// the totals since start, so the two "flushed" counts are not read as one.
process.once('beforeExit', () => {
  const s = writer.stats();
  console.log(`log-ingest stopped: flushed ${s.flushed} log lines in all (${s.dropped} dropped, ${s.deadLettered} dead-lettered); bye`);
});

server.listen(port, host, () => {
  const address = server.address() as AddressInfo;
  console.log(`log-ingest listening on http://${host}:${address.port} (POST /logs, GET /stats), writing to table ${table}`);
});
