import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Contender, ContenderOptions, RunOutcome } from '../lib/types.js';
import { defineScenario } from '../lib/types.js';

/**
 * Rows per second into a real PostgreSQL (PGHOST/PGPORT/PGUSER/PGDATABASE,
 * default 127.0.0.1:5432, user postgres, database test). Each run creates a
 * fresh table `(id int PRIMARY KEY, at timestamptz, level text, message text)`,
 * writes `n` rows, counts them (the check), and drops the table; all of that
 * is inside the timed call, the same for every contender. Needs the database:
 * run it with `--scenario postgres`.
 */

interface Row {
  id: number;
  at: Date;
  level: string;
  message: string;
}

const columns = ['id', 'at', 'level', 'message'];
const levels = ['debug', 'info', 'warn', 'error'];

let poolLoading: Promise<pg.Pool> | undefined;

function pool(): Promise<pg.Pool> {
  poolLoading ??= (async () => {
    const { default: pgModule } = await import('pg');
    const p = new pgModule.Pool({
      host: process.env.PGHOST ?? '127.0.0.1',
      port: Number(process.env.PGPORT ?? 5432),
      user: process.env.PGUSER ?? 'postgres',
      database: process.env.PGDATABASE ?? 'test',
      password: process.env.PGPASSWORD,
      max: 2,
    });
    try {
      await p.query('SELECT 1');
    } catch (error) {
      throw new Error(`postgres scenario: cannot reach PostgreSQL (${(error as Error).message}); set PGHOST, PGPORT, PGUSER, PGDATABASE`);
    }
    return p;
  })();
  return poolLoading;
}

function row(id: number): Row {
  return { id, at: new Date(1_700_000_000_000 + id), level: levels[id & 3]!, message: `request ${id} served in ${id % 97} ms\tpath=/api/items/${id}` };
}

/** Creates a fresh table, runs `write`, checks the row count, drops the table. */
async function withTable(n: number, write: (db: pg.Pool, table: string) => Promise<void>): Promise<RunOutcome> {
  const db = await pool();
  const table = `bench_pg_${process.pid}_${randomBytes(3).toString('hex')}`;
  await db.query(`CREATE TABLE "${table}" (id int PRIMARY KEY, at timestamptz NOT NULL, level text NOT NULL, message text NOT NULL)`);
  try {
    await write(db, table);
    const result = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
    return { items: n, checks: [{ what: 'rows in the table', expected: n, actual: result.rows[0]!.n }] };
  } finally {
    await db.query(`DROP TABLE "${table}"`);
  }
}

/** The baseline: one awaited INSERT per row. */
const naiveInsert: Contender = ({ n }: ContenderOptions) =>
  withTable(n, async (db, table) => {
    const sql = `INSERT INTO "${table}" (id, at, level, message) VALUES ($1, $2, $3, $4)`;
    for (let id = 1; id <= n; id++) {
      const r = row(id);
      await db.query(sql, [r.id, r.at, r.level, r.message]);
    }
  });

/** A producer writing `n` rows into a BatchWriter whose flush is `postgresSink`. */
function batchWriter(method: 'insert' | 'copy', batchSize: number): Contender {
  return ({ n }: ContenderOptions) =>
    withTable(n, async (db, table) => {
      const [{ BatchWriter }, { postgresSink }] = await Promise.all([import('../../src/core/batch-writer/index.js'), import('../../src/adapters/postgres/index.js')]);
      const sink = postgresSink<Row>(db, { table, columns, method, toRow: (r) => [r.id, r.at, r.level, r.message] });
      const writer = new BatchWriter<Row>({ flush: sink, capacity: batchSize * 4, batchSize, minFlushIntervalMs: 5 });
      for (let id = 1; id <= n; id++) {
        const r = row(id);
        if (!writer.tryWrite(r)) await writer.write(r);
      }
      const report = await writer.drain();
      if (report.timedOut || writer.stats().flushed !== n) throw new Error(`BatchWriter flushed ${writer.stats().flushed} of ${n}`);
    });
}

export default defineScenario({
  name: 'postgres',
  description: 'n rows (4 columns) into PostgreSQL: BatchWriter + postgresSink vs one INSERT per row; row count verified',
  baseline: 'naive-insert',
  defaultN: 50_000,
  quickN: 10_000,
  nLabel: 'rows per run',
  expectations: [
    { contender: 'insert-100', reference: 'naive-insert', atLeast: 10 },
    { contender: 'insert-1000', reference: 'naive-insert', atLeast: 20 },
    { contender: 'copy-1000', reference: 'naive-insert', atLeast: 20 },
  ],
  notes: {
    'naive-insert': 'for each row: await pool.query(INSERT ... VALUES ($1..$4))',
    'insert-100': "BatchWriter batchSize 100, postgresSink method 'insert' (one multi-row INSERT per batch, prepared once the size repeats)",
    'insert-1000': "BatchWriter batchSize 1000, postgresSink method 'insert'",
    'copy-100': "BatchWriter batchSize 100, postgresSink method 'copy' (COPY FROM STDIN, text format)",
    'copy-1000': "BatchWriter batchSize 1000, postgresSink method 'copy'",
  },
  contenders: {
    'naive-insert': naiveInsert,
    'insert-100': batchWriter('insert', 100),
    'insert-1000': batchWriter('insert', 1000),
    'copy-100': batchWriter('copy', 100),
    'copy-1000': batchWriter('copy', 1000),
  },
});
