import { InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { copyStreamsInstalled, copyStreamsPackage } from './copy-streams.js';
import { createDriver, isPostgresJs, type SinkConnection, type SinkDriver } from './drivers.js';
import { resolvePostgresSinkOptions, type PostgresSinkOptions } from './options.js';
import type { PgPoolLike, PostgresFailedItem, PostgresFlushResult, PostgresJsSqlLike, PostgresSink, PostgresSinkStats } from './types.js';
import { copyChunks, toCell, type Cell } from './values.js';

/**
 * SQLSTATE class 22 (data exception) and 23 (integrity constraint violation):
 * errors caused by particular rows, which isolation can pin on them. Anything
 * else (connection lost, timeout, lock, missing table) is about the database
 * and fails the batch as a whole. pg and postgres.js both put the server's
 * SQLSTATE in `error.code`; their own connection errors (pg's socket errors,
 * postgres.js's CONNECTION_CLOSED, CONNECTION_ENDED, ECONNREFUSED...) are never
 * five characters of class 22 or 23, so they fail the batch, which the writer retries.
 */
function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && (code.startsWith('22') || code.startsWith('23'));
}

/** Items with their cells, `width` per item, in the same order. */
interface Rows<T> {
  items: readonly T[];
  cells: Cell[];
}

function sliceRows<T>(rows: Rows<T>, from: number, to: number, width: number): Rows<T> {
  return { items: rows.items.slice(from, to), cells: rows.cells.slice(from * width, to * width) };
}

const statementCacheSize = 32;
/**
 * Row counts per sink that get a prepared (named) statement. Each one lives
 * on every pooled connection until it closes, so they are capped; the sizes
 * that repeat first (full batches, full chunks) are the ones that matter.
 */
const maxPreparedSizes = 8;
let sinkCount = 0;
// Two copies of this module sharing one pg.Pool must not hand pg the same statement name for different texts.
const moduleTag = Math.random().toString(36).slice(2, 8);

interface InsertStatement {
  text: string;
  /** Set once the row count has been used twice and a prepared slot was free. */
  name: string | undefined;
  uses: number;
}

/**
 * Creates the `flush` function of a `BatchWriter` that writes each batch into
 * a PostgreSQL table, through your `pg.Pool` or your postgres.js `sql`
 * (`postgres(...)`, version 3.4 or later), told apart by their shape.
 *
 * When: nothing touches the database until the first flush. Options are
 * checked right away (`InvalidOptionError`); with a pg.Pool and `method: 'copy'` that
 * includes finding `pg-copy-streams`, which is imported on the first flush.
 * postgres.js needs no other package: it runs COPY itself, on its pool; a
 * batch of several INSERTs, or an isolation, runs in `sql.begin()`.
 * Each flush converts the items (`toRow`), then sends one INSERT (or one
 * COPY), and resolves after the commit. See {@link PostgresSink} for what a
 * flush promises, {@link PostgresSinkOptions} for the choices.
 *
 * @throws InvalidArgumentError when `pool` is neither a Pool-like object nor a postgres.js sql.
 * @example
 * import pg from 'pg';
 * import { BatchWriter } from 'sluice';
 * import { postgresSink } from 'sluice/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, statement_timeout: 5000 });
 * const writer = new BatchWriter<Event>({
 *   flush: postgresSink(pool, { table: 'events', columns: ['id', 'at', 'payload'], method: 'copy' }),
 *   batchSize: 1000,
 * });
 */
export function postgresSink<T>(pool: PgPoolLike | PostgresJsSqlLike, options: PostgresSinkOptions<T>): PostgresSink<T> {
  const driver: SinkDriver = createDriver(pool);
  const o = resolvePostgresSinkOptions(options);
  if (o.method === 'copy' && !isPostgresJs(pool) && !copyStreamsInstalled()) {
    throw new InvalidOptionError('method', 'copy', `'insert', or install ${copyStreamsPackage} (npm install ${copyStreamsPackage})`, `${copyStreamsPackage} is not installed`);
  }
  const { columns, method, isolateFailures, toRow, preparedStatements } = o;
  // postgres.js allows two parameters fewer per statement than PostgreSQL.
  const rowsPerStatement = Math.min(o.rowsPerStatement, Math.floor(driver.maxParameters / columns.length));
  const sinkId = ++sinkCount;
  const width = columns.length;
  const stats = { batches: 0, batchesFailed: 0, statements: 0, rowsWritten: 0, rowsSkipped: 0, rowsFailed: 0, isolations: 0 };

  const insertHead = `INSERT INTO ${o.quotedTable} (${o.quotedColumns}) VALUES `;
  const insertTail = o.onConflict === 'nothing' ? ' ON CONFLICT DO NOTHING' : '';
  const copySql = `COPY ${o.quotedTable} (${o.quotedColumns}) FROM STDIN${o.copyFormat === 'csv' ? ' WITH (FORMAT csv)' : ''}`;
  // Batches mostly come in a few sizes (full, and the tail of a burst), so the statement text is worth keeping.
  const insertStatements = new Map<number, InsertStatement>();
  const preparedSizes = new Set<number>();

  function insertStatement(rowCount: number): InsertStatement {
    let statement = insertStatements.get(rowCount);
    if (statement === undefined) {
      const parts: string[] = new Array<string>(rowCount);
      let parameter = 1;
      for (let r = 0; r < rowCount; r++) {
        let tuple = `($${parameter++}`;
        for (let c = 1; c < width; c++) tuple += `, $${parameter++}`;
        parts[r] = `${tuple})`;
      }
      statement = { text: insertHead + parts.join(', ') + insertTail, name: undefined, uses: 0 };
      if (insertStatements.size >= statementCacheSize) insertStatements.clear();
      insertStatements.set(rowCount, statement);
    }
    // A size seen once may never come back; preparing it would only cost a slot on every connection.
    if (++statement.uses === 2 && preparedStatements && (preparedSizes.has(rowCount) || preparedSizes.size < maxPreparedSizes)) {
      preparedSizes.add(rowCount);
      // The same name always means the same text (pg refuses a name reused for a different one).
      statement.name = `sluice_${moduleTag}_sink${sinkId}_rows${rowCount}`;
    }
    return statement;
  }

  function cellsOf(item: T, cells: Cell[]): void {
    if (toRow) {
      const row = toRow(item);
      if (!Array.isArray(row) || row.length !== width) {
        throw new InvalidArgumentError(`toRow(item) must return an array of ${width} values (one per column), got ${Array.isArray(row) ? `${row.length} values` : typeof row}`);
      }
      for (let c = 0; c < width; c++) cells.push(toCell(row[c]));
      return;
    }
    if (item === null || typeof item !== 'object') {
      throw new InvalidArgumentError(`postgresSink: item must be an object with the columns as properties (or pass toRow), got ${item === null ? 'null' : typeof item}`);
    }
    for (let c = 0; c < width; c++) cells.push(toCell((item as Record<string, unknown>)[columns[c]!]));
  }

  /** Converts the batch; items that cannot become a row go to `failed` right away. */
  function prepare(items: readonly T[], failed: PostgresFailedItem<T>[]): Rows<T> {
    const cells: Cell[] = [];
    let accepted: T[] | undefined; // stays undefined, and `items` is used as is, until an item fails
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const mark = cells.length;
      try {
        cellsOf(item, cells);
        accepted?.push(item);
      } catch (error) {
        cells.length = mark;
        accepted ??= items.slice(0, i);
        failed.push({ item, error });
      }
    }
    return { items: accepted ?? items, cells };
  }

  async function insertRows(db: SinkDriver | SinkConnection, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    const total = rows.items.length;
    let written = 0;
    for (let start = 0; start < total; start += rowsPerStatement) {
      signal?.throwIfAborted();
      const count = Math.min(rowsPerStatement, total - start);
      const values = count === total ? rows.cells : rows.cells.slice(start * width, (start + count) * width);
      stats.statements++;
      const statement = insertStatement(count);
      written += (await db.insert(statement.text, values, statement.name)) ?? count;
    }
    return written;
  }

  function copyRows(connection: SinkConnection, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    return connection.copy(copySql, copyChunks(rows.cells, width, o.copyFormat), signal, () => stats.statements++);
  }

  function writeRows(client: SinkConnection, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    return method === 'copy' ? copyRows(client, rows, signal) : insertRows(client, rows, signal);
  }

  /** [rows written, rows attempted] of one committed transaction. */
  type Written = [written: number, attempted: number];

  function committed(written: number, attempted: number): void {
    stats.rowsWritten += written;
    stats.rowsSkipped += attempted - written;
  }

  /** Writes `rows` inside the open transaction, pinning row errors on single items. Returns rows written. */
  async function bisect(client: SinkConnection, rows: Rows<T>, found: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<number> {
    signal?.throwIfAborted();
    await client.exec('SAVEPOINT sluice_isolate');
    try {
      const written = await writeRows(client, rows, signal);
      await client.exec('RELEASE SAVEPOINT sluice_isolate');
      return written;
    } catch (error) {
      if (!isRowError(error)) throw error;
      await client.exec('ROLLBACK TO SAVEPOINT sluice_isolate; RELEASE SAVEPOINT sluice_isolate');
      if (rows.items.length === 1) {
        found.push({ item: rows.items[0]!, error });
        return 0;
      }
      const half = rows.items.length >> 1;
      const left = await bisect(client, sliceRows(rows, 0, half, width), found, signal);
      return left + (await bisect(client, sliceRows(rows, half, rows.items.length, width), found, signal));
    }
  }

  /**
   * The batch failed on its data (`firstError`): writes every row that can be
   * written in one transaction and adds the others to `failed`, only once committed.
   * Returns [rows written, rows attempted] for {@link committed}, which the
   * caller calls once its connection is given back: with postgres.js the real
   * COMMIT is sent only when `withConnection` resolves, and a batch whose
   * commit fails is retried, so counting earlier would count its rows twice.
   */
  async function isolate(
    client: SinkConnection | undefined,
    rows: Rows<T>,
    firstError: unknown,
    failed: PostgresFailedItem<T>[],
    signal: AbortSignal | undefined,
  ): Promise<Written | undefined> {
    stats.isolations++;
    if (rows.items.length === 1) {
      failed.push({ item: rows.items[0]!, error: firstError });
      return undefined;
    }
    if (client !== undefined) return isolateOn(client, rows, failed, signal);
    let outcome: Written | undefined;
    await driver.withConnection(async (c) => {
      outcome = await isolateOn(c, rows, failed, signal);
    });
    return outcome;
  }

  async function isolateOn(client: SinkConnection, rows: Rows<T>, failed: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<Written> {
    const count = rows.items.length;
    // Deferred constraints would otherwise fire only at COMMIT, after the bisection, and fail everything.
    await client.exec('BEGIN; SET CONSTRAINTS ALL IMMEDIATE');
    const found: PostgresFailedItem<T>[] = [];
    const half = count >> 1;
    let written = await bisect(client, sliceRows(rows, 0, half, width), found, signal);
    written += await bisect(client, sliceRows(rows, half, count, width), found, signal);
    signal?.throwIfAborted();
    await client.exec('COMMIT');
    for (const f of found) failed.push(f);
    return [written, count - found.length];
  }

  async function writeBatch(rows: Rows<T>, failed: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<void> {
    const count = rows.items.length;
    if (method === 'insert' && count <= rowsPerStatement) {
      try {
        committed(await insertRows(driver, rows, signal), count);
      } catch (error) {
        if (!isolateFailures || !isRowError(error)) throw error;
        const outcome = await isolate(undefined, rows, error, failed, signal);
        if (outcome !== undefined) committed(...outcome);
      }
      return;
    }
    if (method === 'copy' && driver.copy !== undefined) {
      try {
        committed(await driver.copy(copySql, copyChunks(rows.cells, width, o.copyFormat), signal, () => stats.statements++), count);
      } catch (error) {
        if (!isolateFailures || !isRowError(error)) throw error;
        const outcome = await isolate(undefined, rows, error, failed, signal);
        if (outcome !== undefined) committed(...outcome);
      }
      return;
    }
    // COPY is one statement; several INSERTs need a transaction to stay all-or-nothing.
    const transaction = method === 'insert';
    let outcome: Written | undefined;
    await driver.withConnection(async (client) => {
      try {
        if (transaction) await client.exec('BEGIN');
        const written = await writeRows(client, rows, signal);
        if (transaction) {
          signal?.throwIfAborted();
          await client.exec('COMMIT');
        }
        outcome = [written, count];
      } catch (error) {
        if (!isolateFailures || !isRowError(error)) throw error;
        if (transaction) await client.exec('ROLLBACK');
        outcome = await isolate(client, rows, error, failed, signal);
      }
    });
    // Counted once the connection is back: see isolate().
    if (outcome !== undefined) committed(...outcome);
  }

  const flush = async (items: readonly T[], context?: { signal?: AbortSignal }): Promise<PostgresFlushResult<T> | undefined> => {
    if (!Array.isArray(items)) throw new InvalidArgumentError(`postgresSink flush(items): items must be an array, got ${typeof items}`);
    const signal = context?.signal;
    signal?.throwIfAborted();
    stats.batches++;
    const failed: PostgresFailedItem<T>[] = [];
    const rows = prepare(items, failed);
    try {
      if (rows.items.length > 0) await writeBatch(rows, failed, signal);
    } catch (error) {
      stats.batchesFailed++;
      throw error;
    }
    if (failed.length === 0) return undefined;
    stats.rowsFailed += failed.length;
    return { failed };
  };

  return Object.assign(flush, {
    stats: (): PostgresSinkStats => ({ table: o.table, method, ...stats }),
  });
}
