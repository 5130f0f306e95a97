// Smoke test of examples/log-ingest.ts: start it on a free port, post log
// lines, stop it with SIGTERM, and find the lines in PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type pg from 'pg';
import { createPool, databaseUrl, dropTable, uniqueName } from './db.js';

const example = join(import.meta.dirname, '..', '..', 'examples', 'log-ingest.ts');
let pool: pg.Pool;
const table = uniqueName('example_logs');

before(() => {
  pool = createPool();
});
after(async () => {
  await dropTable(pool, table);
  await pool.end();
});

async function post(url: string, body: string): Promise<{ status: number; json: { accepted: number; invalid: number[]; dropped: number } }> {
  const response = await fetch(`${url}/logs`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
  return { status: response.status, json: (await response.json()) as { accepted: number; invalid: number[]; dropped: number } };
}

describe('examples/log-ingest.ts', { timeout: 60_000 }, () => {
  it('log-ingest - accepts JSON and NDJSON log lines over HTTP and has them all in PostgreSQL after SIGTERM', async () => {
    // Run from the repository root: tsx reads tsconfig.json there, whose "paths"
    // resolve the example's `import ... from 'sluice'` to src/ (no build needed).
    const child = spawn(process.execPath, ['--import', 'tsx', example], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl(), LOG_TABLE: table },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/[^\s]+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`example exited (${code}) before listening: ${stderr}`)));
    });

    const single = await post(url, JSON.stringify({ level: 'info', msg: 'one object', user: 7 }));
    assert.deepEqual(single, { status: 202, json: { accepted: 1, invalid: [], dropped: 0 } });

    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ level: i % 10 === 0 ? 'warn' : 'info', msg: `line ${i}\twith\\escapes\n`, i }));
    const batches = await Promise.all([0, 1, 2, 3, 4].map((b) => post(url, lines.slice(b * 100, b * 100 + 100).join('\n'))));
    for (const b of batches) assert.deepEqual(b, { status: 202, json: { accepted: 100, invalid: [], dropped: 0 } });

    const mixed = await post(url, `${JSON.stringify({ msg: 'ok' })}\nnot json\n[1,2]\n`);
    assert.deepEqual(mixed, { status: 202, json: { accepted: 1, invalid: [2, 3], dropped: 0 } });

    const stats = (await (await fetch(`${url}/stats`)).json()) as { writer: { written: number } };
    assert.equal(stats.writer.written, 502);

    child.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    // The drain's report (stderr) counts only what was buffered at the signal; the last line gives the totals.
    assert.match(stderr, /sluice: logs-to-postgres: flushed \d+, /);
    assert.match(stdout, /\nlog-ingest stopped: flushed 502 log lines in all \(0 dropped, 0 dead-lettered\); bye\n$/);

    const result = await pool.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE level = 'warn')::int AS warn FROM "${table}"`);
    assert.deepEqual(result.rows[0], { n: 502, warn: 50 });
    const sample = await pool.query(`SELECT message, data FROM "${table}" WHERE data->>'i' = '7'`);
    assert.deepEqual(sample.rows, [{ message: 'line 7\twith\\escapes\n', data: { level: 'info', msg: 'line 7\twith\\escapes\n', i: 7 } }]);
  });
});
