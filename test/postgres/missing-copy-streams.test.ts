// `pg-copy-streams` is optional: a user who only INSERTs must not need it, and
// one who asks for COPY without it must get a clear error at construction.
// The sources are copied to a directory with no node_modules above it, where
// the package cannot be found, and loaded there in a child process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { createPool, createTable, dbConfig, dropTable } from './db.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let pool: pg.Pool;
let table: string;

before(async () => {
  pool = createPool();
  table = await createTable(pool, 'no_copy_streams', 'id int');
  dir = mkdtempSync(join(tmpdir(), 'sluice-no-copy-streams-'));
  for (const folder of ['adapters/postgres', 'core/errors', 'internal']) cpSync(join(root, 'src', folder), join(dir, 'src', folder), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropTable(pool, table);
  await pool.end();
});

function run(script: string): { status: number | null; stdout: string; stderr: string } {
  const file = join(dir, 'probe.ts');
  writeFileSync(file, script);
  const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
  const result = spawnSync(process.execPath, ['--import', tsx, file], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('postgresSink() without pg-copy-streams', () => {
  it("postgresSink() - method 'insert' works without the package; 'copy' throws InvalidOptionError naming it", async () => {
    // pg itself is loaded by absolute path: only pg-copy-streams is out of reach.
    const pgEntry = pathToFileURL(join(root, 'node_modules/pg/lib/index.js')).href;
    const { status, stdout, stderr } = run(`
      import pg from ${JSON.stringify(pgEntry)};
      import { postgresSink } from './src/adapters/postgres/index.js';
      const pool = new pg.Pool(${JSON.stringify(dbConfig)});
      const insert = postgresSink(pool, { table: ${JSON.stringify(table)}, columns: ['id'] });
      console.log('insert', JSON.stringify(await insert([{ id: 1 }, { id: 2 }])), insert.stats().rowsWritten);
      try {
        postgresSink(pool, { table: ${JSON.stringify(table)}, columns: ['id'], method: 'copy' });
        console.log('copy constructed');
      } catch (error) {
        console.log('copy', error.code, error.field, error.message);
      }
      await pool.end();
    `);
    assert.equal(status, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines[0], 'insert undefined 2');
    assert.equal((await pool.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n, 2);
    assert.match(lines[1]!, /^copy ERR_SLUICE_INVALID_OPTION method .*pg-copy-streams is not installed/);
    assert.match(lines[1]!, /npm install pg-copy-streams/);
  });
});
