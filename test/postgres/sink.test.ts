// Runs against the real PostgreSQL (see db.ts for the connection settings).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type pg from 'pg';
import type { Sql } from 'postgres';
import { clients, createPool, createSql, createTable, dropTable, uniqueName, type ClientKind } from './db.js';
import { postgresSink, type PgPoolLike, type PostgresJsSqlLike, type PostgresSinkOptions, type PostgresWriteMethod } from '../../src/adapters/postgres/index.js';

let pool: pg.Pool;
let sql: Sql;
const tables: string[] = [];

async function table(prefix: string, columnsSql: string): Promise<string> {
  const name = await createTable(pool, prefix, columnsSql);
  tables.push(name);
  return name;
}

async function ids(name: string): Promise<number[]> {
  const result = await pool.query<{ id: number }>(`SELECT id FROM "${name}" ORDER BY id`);
  return result.rows.map((r) => r.id);
}

/** Holds ACCESS EXCLUSIVE on `name` from another connection until the returned function is called. */
async function lockTable(name: string): Promise<() => Promise<void>> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE "${name}" IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await client.query('COMMIT');
    client.release();
  };
}

/** Resolves once some session waits for a lock on `name`. */
async function someoneWaitsFor(name: string): Promise<void> {
  for (;;) {
    const result = await pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass`, [`"${name}"`]);
    if (result.rows[0].n > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

before(() => {
  pool = createPool();
  sql = createSql();
});
after(async () => {
  for (const name of tables) await dropTable(pool, name);
  await pool.end();
  await sql.end();
});

// Both methods (and both COPY formats) must store exactly the same values.
const variants: { name: string; options: Partial<PostgresSinkOptions<unknown>> }[] = [
  { name: 'insert', options: { method: 'insert' } },
  { name: 'copy text', options: { method: 'copy' } },
  { name: 'copy csv', options: { method: 'copy', copyFormat: 'csv' } },
];

const awkward = [
  { id: 1, body: 'tab\there', tags: ['a', 'b c'], data: { k: 'v' }, raw: Buffer.from([0, 1, 254, 255]), ok: true, at: new Date('2024-05-06T07:08:09.123Z') },
  { id: 2, body: 'line\nbreak\r\nand\\backslash', tags: ['q"uote', 'back\\slash', null], data: [1, 2], raw: null, ok: false, at: null },
  { id: 3, body: '', tags: [], data: null, raw: Buffer.alloc(0), ok: null, at: new Date(0) },
  { id: 4, body: null, tags: null, data: { nested: { s: 'tab\t"q"\n' } }, raw: Buffer.from('\\.'), ok: true, at: null },
  { id: 5, body: '\\.', tags: ['\\.', ','], data: 'just a string', raw: null, ok: false, at: null },
  { id: 6, body: '\\N', tags: ['NULL'], data: 0, raw: null, ok: true, at: null },
  { id: 7, body: '"quoted", with comma', tags: ['{braces}'], data: true, raw: null, ok: true, at: null },
  { id: 8, body: 'ünïcödé ✓ 𝄞', tags: ['ü'], data: { e: '€' }, raw: null, ok: true, at: null },
];
const awkwardColumns = ['id', 'body', 'tags', 'data', 'raw', 'ok', 'at'];
const awkwardSql = 'id int PRIMARY KEY, body text, tags text[], data jsonb, raw bytea, ok boolean, at timestamptz';
const toAwkwardRow = (e: (typeof awkward)[number]) => [e.id, e.body, e.tags, e.data === null ? null : JSON.stringify(e.data), e.raw, e.ok, e.at];

for (const kind of clients) describe(`postgresSink() against PostgreSQL, through ${kind}`, () => suite(kind));

function suite(kind: ClientKind): void {
  /** The client under test: the pg.Pool, or the postgres.js sql. Reads for the assertions always go through the pg pool. */
  const client = (): PgPoolLike | PostgresJsSqlLike => (kind === 'pg' ? pool : sql);

  it(`flush() - a ${kind === 'pg' ? 'pg.Pool' : 'postgres.js sql'} is accepted as the client (types and runtime)`, async () => {
    const typed: PgPoolLike | PostgresJsSqlLike = kind === 'pg' ? (pool satisfies PgPoolLike) : (sql satisfies PostgresJsSqlLike);
    const name = await table('sink_pool', 'id int');
    const sink = postgresSink<{ id: number }>(typed, { table: name, columns: ['id'] });
    assert.equal(await sink([{ id: 1 }]), undefined);
    assert.deepEqual(await ids(name), [1]);
  });

  for (const variant of variants) {
    it(`flush() - ${variant.name} stores tabs, newlines, backslashes, quotes, NULLs, arrays, JSON, bytea and dates exactly`, async () => {
      const name = await table('sink_awkward', awkwardSql);
      const sink = postgresSink(client(), { table: name, columns: awkwardColumns, toRow: toAwkwardRow as (item: unknown) => unknown[], ...variant.options });
      assert.equal(await sink(awkward), undefined);
      const result = await pool.query(`SELECT ${awkwardColumns.join(', ')} FROM "${name}" ORDER BY id`);
      assert.equal(result.rows.length, awkward.length);
      for (const [i, row] of result.rows.entries()) {
        const e = awkward[i]!;
        assert.deepEqual(
          { ...row, at: row.at?.getTime() ?? null },
          { ...e, raw: e.raw, at: e.at?.getTime() ?? null },
          `row ${e.id}`,
        );
      }
      assert.equal(sink.stats().rowsWritten, awkward.length);
    });
  }

  it('flush() - reads the columns off the item when there is no toRow', async () => {
    const name = await table('sink_default_row', 'id int, label text, extra text');
    const sink = postgresSink<{ id: number; label?: string; ignored?: number }>(client(), { table: name, columns: ['id', 'label'] });
    await sink([{ id: 1, label: 'one', ignored: 9 }, { id: 2 }]);
    const result = await pool.query(`SELECT id, label, extra FROM "${name}" ORDER BY id`);
    assert.deepEqual(result.rows, [
      { id: 1, label: 'one', extra: null },
      { id: 2, label: null, extra: null },
    ]);
  });

  it('flush() - splits an INSERT at rowsPerStatement and keeps the batch in one transaction', async () => {
    const name = await table('sink_chunks', 'id int PRIMARY KEY');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id'], toRow: (id) => [id], rowsPerStatement: 7 });
    await sink(range(0, 50));
    assert.deepEqual(await ids(name), range(0, 50));
    assert.equal(sink.stats().statements, 8); // ceil(50 / 7)

    // A failure in the last statement rolls back the ones before it.
    const strict = postgresSink<number>(client(), { table: name, columns: ['id'], toRow: (id) => [id], rowsPerStatement: 7, isolateFailures: false });
    await assert.rejects(strict([...range(100, 120), 0]), { code: '23505' });
    assert.deepEqual(await ids(name), range(0, 50));
  });

  it('flush() - stays under the 65,535-parameter limit by default (30,000 rows × 3 columns)', async () => {
    const name = await table('sink_params', 'id int, a int, b text');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id', 'a', 'b'], toRow: (id) => [id, id * 2, `r${id}`] });
    await sink(range(0, 30_000));
    const result = await pool.query(`SELECT count(*)::int AS n, sum(a)::bigint AS s FROM "${name}"`);
    assert.deepEqual(result.rows[0], { n: 30_000, s: String(2 * ((29_999 * 30_000) / 2)) });
    assert.equal(sink.stats().statements, 2); // 21,845 rows per statement
  });

  it('flush() - quotes schema-qualified and odd names safely', async () => {
    const schema = uniqueName('Odd "schema".x');
    const tableName = 'Mixed Case; DROP TABLE x';
    await pool.query(`CREATE SCHEMA "${schema.replaceAll('"', '""')}"`);
    try {
      const qualified = `"${schema.replaceAll('"', '""')}"."${tableName}"`;
      await pool.query(`CREATE TABLE ${qualified} ("Id" int, "the ""label""" text)`);
      for (const method of ['insert', 'copy'] as PostgresWriteMethod[]) {
        const sink = postgresSink<[number, string]>(client(), { table: qualified, columns: ['Id', 'the "label"'], toRow: (r) => r, method });
        await sink([[method === 'insert' ? 1 : 2, method]]);
      }
      const result = await pool.query(`SELECT "Id" AS id, "the ""label""" AS label FROM ${qualified} ORDER BY 1`);
      assert.deepEqual(result.rows, [
        { id: 1, label: 'insert' },
        { id: 2, label: 'copy' },
      ]);
    } finally {
      await pool.query(`DROP SCHEMA "${schema.replaceAll('"', '""')}" CASCADE`);
    }
  });

  it('flush() - onConflict nothing skips duplicate keys and counts them', async () => {
    const name = await table('sink_conflict', 'id int PRIMARY KEY');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id'], toRow: (id) => [id], onConflict: 'nothing' });
    await sink([1, 2, 3]);
    assert.equal(await sink([2, 3, 4, 4]), undefined);
    assert.deepEqual(await ids(name), [1, 2, 3, 4]);
    assert.equal(sink.stats().rowsWritten, 4);
    assert.equal(sink.stats().rowsSkipped, 3);
  });

  for (const variant of variants) {
    it(`flush() - ${variant.name}: rows that fail on their data are isolated and reported; the rest is written`, async () => {
      const name = await table('sink_isolate', 'id int PRIMARY KEY, n int NOT NULL, CHECK (n >= 0)');
      await pool.query(`INSERT INTO "${name}" VALUES (5, 0)`);
      type Row = { id: number; n: unknown };
      const sink = postgresSink<Row>(client(), { table: name, columns: ['id', 'n'], ...variant.options });
      const items: Row[] = range(0, 100).map((id) => ({ id: id + 1000, n: id }));
      const bad: Row[] = [
        { id: 5, n: 1 }, // duplicate key (23505)
        { id: 6, n: null }, // NOT NULL (23502)
        { id: 7, n: 'seven' }, // invalid integer (22P02)
        { id: 8, n: -1 }, // CHECK (23514)
      ];
      items.splice(10, 0, bad[0]!);
      items.splice(50, 0, bad[1]!, bad[2]!);
      items.push(bad[3]!);
      const result = await sink(items);
      assert.ok(result, 'expected failed items');
      assert.deepEqual(
        result.failed.map((f) => f.item),
        bad,
      );
      assert.deepEqual(
        result.failed.map((f) => (f.error as { code: string }).code),
        ['23505', '23502', '22P02', '23514'],
      );
      assert.deepEqual(await ids(name), [5, ...range(1000, 1100)]);
      const stats = sink.stats();
      assert.equal(stats.rowsWritten, 100);
      assert.equal(stats.rowsFailed, 4);
      assert.equal(stats.isolations, 1);
    });
  }

  it('flush() - a deferred constraint is isolated too', async () => {
    const name = await table('sink_deferred', 'id int, UNIQUE (id) DEFERRABLE INITIALLY DEFERRED');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id'], toRow: (id) => [id], rowsPerStatement: 3 });
    const result = await sink([1, 2, 3, 4, 2, 5]);
    assert.deepEqual(
      result?.failed.map((f) => f.item),
      [2],
    );
    assert.deepEqual(await ids(name), [1, 2, 3, 4, 5]);
  });

  it('flush() - a large COPY that fails mid-stream is isolated without breaking the connection', async () => {
    const name = await table('sink_big_copy', 'id int PRIMARY KEY, body text');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id', 'body'], method: 'copy', toRow: (id) => [id === 5000 ? 'bad' : id, 'x'.repeat(200)] });
    const result = await sink(range(0, 20_000));
    assert.deepEqual(
      result?.failed.map((f) => f.item),
      [5000],
    );
    const count = await pool.query(`SELECT count(*)::int AS n FROM "${name}"`);
    assert.equal(count.rows[0].n, 19_999);
    // The pool's connections still work afterwards.
    assert.equal(await sink([50_000]), undefined);
  });

  it('flush() - with isolateFailures false a data error rejects the whole batch and writes nothing', async () => {
    for (const method of ['insert', 'copy'] as PostgresWriteMethod[]) {
      const name = await table('sink_no_isolation', 'id int NOT NULL');
      const sink = postgresSink<{ id: number | null }>(client(), { table: name, columns: ['id'], method, isolateFailures: false });
      await assert.rejects(sink([{ id: 1 }, { id: null }, { id: 3 }]), { code: '23502' });
      assert.deepEqual(await ids(name), []);
      assert.equal(sink.stats().batchesFailed, 1);
      assert.equal(sink.stats().isolations, 0);
    }
  });

  it('flush() - an item toRow cannot convert is reported as failed; the others are written', async () => {
    const name = await table('sink_torow', 'id int');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const sink = postgresSink<number>(client(), {
      table: name,
      columns: ['id'],
      toRow: (id) => {
        if (id === 2) throw new Error('cannot convert 2');
        if (id === 3) return [id, 'extra'];
        if (id === 4) return [circular];
        return [id];
      },
    });
    const result = await sink([1, 2, 3, 4, 5]);
    assert.deepEqual(
      result?.failed.map((f) => [f.item, (f.error as Error).message.slice(0, 20)]),
      [
        [2, 'cannot convert 2'],
        [3, 'toRow(item) must ret'],
        [4, 'Converting circular '],
      ],
    );
    assert.deepEqual(await ids(name), [1, 5]);
  });

  it('flush() - a non-object item without toRow is reported as failed', async () => {
    const name = await table('sink_not_object', 'id int');
    const sink = postgresSink<unknown>(client(), { table: name, columns: ['id'] });
    const result = await sink([{ id: 1 }, 42, null]);
    assert.deepEqual(
      result?.failed.map((f) => f.item),
      [42, null],
    );
    assert.deepEqual(await ids(name), [1]);
  });

  it('flush() - an error about the database (missing table) rejects and is counted', async () => {
    for (const method of ['insert', 'copy'] as PostgresWriteMethod[]) {
      const sink = postgresSink<{ id: number }>(client(), { table: uniqueName('missing'), columns: ['id'], method });
      await assert.rejects(sink([{ id: 1 }, { id: 2 }]), { code: '42P01' });
      assert.deepEqual({ ...sink.stats(), table: '' }, { table: '', method, batches: 1, batchesFailed: 1, statements: 1, rowsWritten: 0, rowsSkipped: 0, rowsFailed: 0, isolations: 0 });
    }
  });

  it('flush() - an empty batch touches nothing', async () => {
    const sink = postgresSink<{ id: number }>(client(), { table: uniqueName('missing'), columns: ['id'] });
    assert.equal(await sink([]), undefined);
    assert.equal(sink.stats().statements, 0);
  });

  it('flush() - rejects a non-array with InvalidArgumentError', async () => {
    const sink = postgresSink<{ id: number }>(client(), { table: 'events', columns: ['id'] });
    await assert.rejects(sink('nope' as unknown as []), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('flush() - prepares the INSERT of a repeated batch size, at most 8 sizes per sink, unless preparedStatements is false', async () => {
    const name = await table('sink_prepared', 'id int');
    // One connection, so pg_prepared_statements (per session) shows what the sink prepared.
    const single = kind === 'pg' ? createPool({ max: 1 }) : createSql({ max: 1 });
    // The sink's INSERTs only (postgres.js prepares its own queries too, under its own names).
    const text = `SELECT name FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO %' ORDER BY name`;
    const prepared = async (): Promise<string[]> =>
      single instanceof Function
        ? (await single.unsafe<{ name: string }[]>(text)).map((r) => r.name)
        : (await single.query<{ name: string }>(text)).rows.map((r) => r.name);
    try {
      const sink = postgresSink<number>(single, { table: name, columns: ['id'], toRow: (id) => [id] });
      await sink(range(0, 5));
      assert.deepEqual(await prepared(), []); // a size seen once is not prepared
      await sink(range(5, 10));
      await sink(range(10, 15));
      assert.equal((await prepared()).length, 1);
      // pg takes the sink's statement names; postgres.js names its statements itself.
      if (kind === 'pg') assert.match((await prepared())[0]!, /^sluice_[a-z0-9]+_sink\d+_rows5$/);
      for (let size = 1; size <= 12; size++) {
        await sink(range(100 * size, 100 * size + size));
        await sink(range(100 * size + 50, 100 * size + 50 + size));
      }
      assert.equal((await prepared()).length, 8);
      const plain = postgresSink<number>(single, { table: name, columns: ['id'], toRow: (id) => [id], preparedStatements: false });
      for (let i = 0; i < 3; i++) await plain(range(5000 + 3 * i, 5003 + 3 * i));
      assert.equal((await prepared()).length, 8);
      const count = await pool.query(`SELECT count(*)::int AS n FROM "${name}"`);
      assert.equal(count.rows[0].n, 15 + 2 * 78 + 9);
    } finally {
      await single.end();
    }
  });

  it('flush() - an already aborted signal rejects with its reason and sends nothing', async () => {
    const sink = postgresSink<{ id: number }>(client(), { table: uniqueName('missing'), columns: ['id'] });
    const reason = new Error('stop');
    await assert.rejects(sink([{ id: 1 }], { signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(sink.stats().statements, 0);
  });

  it('flush() - an abort between the INSERTs of a multi-statement batch rolls the batch back', async () => {
    const name = await table('sink_abort_insert', 'id int');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id'], toRow: (id) => [id], rowsPerStatement: 10 });
    const unlock = await lockTable(name);
    const controller = new AbortController();
    const flushing = sink(range(0, 30), { signal: controller.signal });
    await someoneWaitsFor(name); // the first INSERT is sent and blocked
    const reason = new Error('shutting down');
    controller.abort(reason);
    const rejected = assert.rejects(flushing, (error) => error === reason); // handled before it can reject
    await unlock();
    await rejected;
    assert.equal(sink.stats().statements, 1);
    assert.deepEqual(await ids(name), []);
  });

  it('flush() - an abort while a COPY is still sending data cancels it; nothing is committed', async () => {
    const name = await table('sink_abort_copy', 'id int, body text');
    const sink = postgresSink<number>(client(), { table: name, columns: ['id', 'body'], method: 'copy', toRow: (id) => [id, 'x'.repeat(100)] });
    const unlock = await lockTable(name);
    const controller = new AbortController();
    const flushing = sink(range(0, 50_000), { signal: controller.signal });
    await someoneWaitsFor(name); // COPY is waiting for the lock, its data is not all sent
    const reason = new Error('shutting down');
    controller.abort(reason);
    const rejected = assert.rejects(flushing, (error) => error === reason); // handled before it can reject
    await unlock();
    await rejected;
    assert.deepEqual(await ids(name), []);
    assert.equal(await sink([1]), undefined); // the pool recovers
  });
}

describe('postgresSink() through a postgres.js sql whose socket has noDelay (the recipe in the `method` docs)', () => {
  it("flush() - 'copy' writes a batch and isolates a bad row through the custom socket", async () => {
    const name = await table('sink_nodelay', 'id int PRIMARY KEY, n int NOT NULL');
    // What the docs suggest against the ~40-80 ms each COPY otherwise waits for a delayed ACK. postgres.js
    // documents `socket` (a function returning a socket) but its TypeScript types leave it out.
    const socket = ({ host: [host], port: [port] }: { host: [string]; port: [number] }) => net.connect({ host, port, noDelay: true });
    const noDelaySql = createSql({ socket } as Parameters<typeof createSql>[0]);
    try {
      const sink = postgresSink<number>(noDelaySql, { table: name, columns: ['id', 'n'], method: 'copy', toRow: (id) => [id, id === 500 ? null : id] });
      const result = await sink(range(0, 1000));
      assert.deepEqual(
        result?.failed.map((f) => f.item),
        [500],
      );
      assert.deepEqual(await ids(name), [...range(0, 500), ...range(501, 1000)]);
      assert.equal(await sink([2000]), undefined);
      assert.equal((await ids(name)).length, 1000);
    } finally {
      await noDelaySql.end({ timeout: 5 });
    }
  });
});
