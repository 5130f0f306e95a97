import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { copyStreamsInstalled, copyStreamsPackage, loadCopyFrom } from './copy-streams.js';
import { resolvePostgresSinkOptions, type PostgresSinkOptions } from './options.js';
import type { PgClientLike, PgPoolLike, PostgresFailedItem, PostgresFlushResult, PostgresSink, PostgresSinkStats } from './types.js';
import { copyChunks, toCell, type Cell } from './values.js';

/**
 * SQLSTATE class 22 (data exception) and 23 (integrity constraint violation):
 * errors caused by particular rows, which isolation can pin on them. Anything
 * else (connection lost, timeout, lock, missing table) is about the database
 * and fails the batch as a whole.
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
 * a PostgreSQL table, through your `pg.Pool`.
 *
 * When: nothing touches the database until the first flush. Options are
 * checked right away (`InvalidOptionError`); with `method: 'copy'` that
 * includes finding `pg-copy-streams`, which is imported on the first flush.
 * Each flush converts the items (`toRow`), then sends one INSERT (or one
 * COPY), and resolves after the commit. See {@link PostgresSink} for what a
 * flush promises, {@link PostgresSinkOptions} for the choices.
 *
 * @throws InvalidArgumentError when `pool` is not a Pool-like object.
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
export function postgresSink<T>(pool: PgPoolLike, options: PostgresSinkOptions<T>): PostgresSink<T> {
  if (pool === null || typeof pool !== 'object' || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
    throw new InvalidArgumentError('postgresSink(pool, options): pool must be a pg.Pool (an object with query() and connect())');
  }
  const o = resolvePostgresSinkOptions(options);
  if (o.method === 'copy' && !copyStreamsInstalled()) {
    throw new InvalidOptionError('method', 'copy', `'insert', or install ${copyStreamsPackage} (npm install ${copyStreamsPackage})`, `${copyStreamsPackage} is not installed`);
  }
  const { columns, method, rowsPerStatement, isolateFailures, toRow, preparedStatements } = o;
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

  async function insertRows(db: PgPoolLike | PgClientLike, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    const total = rows.items.length;
    let written = 0;
    for (let start = 0; start < total; start += rowsPerStatement) {
      signal?.throwIfAborted();
      const count = Math.min(rowsPerStatement, total - start);
      const values = count === total ? rows.cells : rows.cells.slice(start * width, (start + count) * width);
      stats.statements++;
      const statement = insertStatement(count);
      const result = await (statement.name === undefined ? db.query(statement.text, values) : db.query({ name: statement.name, text: statement.text, values }));
      written += result.rowCount ?? count;
    }
    return written;
  }

  async function copyRows(client: PgClientLike, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    const copyFrom = await loadCopyFrom();
    signal?.throwIfAborted();
    stats.statements++;
    const stream = client.query(copyFrom(copySql));
    // Destroying the stream sends CopyFail, which rolls the COPY back; once the
    // stream has ended the data may already be committed, so it is left to finish.
    let cancelled = false;
    const cancel = () => {
      if (stream.writableEnded) return;
      cancelled = true;
      stream.destroy(signal!.reason as Error);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      await pipeline(copyChunks(rows.cells, width, o.copyFormat), stream);
    } catch (error) {
      throw cancelled ? signal!.reason : error;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    return stream.rowCount;
  }

  function writeRows(client: PgClientLike, rows: Rows<T>, signal: AbortSignal | undefined): Promise<number> {
    return method === 'copy' ? copyRows(client, rows, signal) : insertRows(client, rows, signal);
  }

  function committed(written: number, attempted: number): void {
    stats.rowsWritten += written;
    stats.rowsSkipped += attempted - written;
  }

  /** Writes `rows` inside the open transaction, pinning row errors on single items. Returns rows written. */
  async function bisect(client: PgClientLike, rows: Rows<T>, found: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<number> {
    signal?.throwIfAborted();
    await client.query('SAVEPOINT sluice_isolate');
    try {
      const written = await writeRows(client, rows, signal);
      await client.query('RELEASE SAVEPOINT sluice_isolate');
      return written;
    } catch (error) {
      if (!isRowError(error)) throw error;
      await client.query('ROLLBACK TO SAVEPOINT sluice_isolate; RELEASE SAVEPOINT sluice_isolate');
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
   */
  async function isolate(
    client: PgClientLike | undefined,
    rows: Rows<T>,
    firstError: unknown,
    failed: PostgresFailedItem<T>[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    stats.isolations++;
    if (rows.items.length === 1) {
      failed.push({ item: rows.items[0]!, error: firstError });
      return;
    }
    if (client !== undefined) return isolateOn(client, rows, failed, signal);
    await withClient((c) => isolateOn(c, rows, failed, signal));
  }

  async function isolateOn(client: PgClientLike, rows: Rows<T>, failed: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<void> {
    const count = rows.items.length;
    // Deferred constraints would otherwise fire only at COMMIT, after the bisection, and fail everything.
    await client.query('BEGIN; SET CONSTRAINTS ALL IMMEDIATE');
    const found: PostgresFailedItem<T>[] = [];
    const half = count >> 1;
    let written = await bisect(client, sliceRows(rows, 0, half, width), found, signal);
    written += await bisect(client, sliceRows(rows, half, count, width), found, signal);
    signal?.throwIfAborted();
    await client.query('COMMIT');
    committed(written, count - found.length);
    for (const f of found) failed.push(f);
  }

  /**
   * Runs `work` on a dedicated connection; a connection left in an unknown
   * state by an error is destroyed, not reused.
   *
   * A pooled client emits 'error' when its socket dies (the server
   * terminated the session, a failover, ECONNRESET while a COPY is cancelled),
   * and pg-pool listens only while the client is idle: unheard, that event
   * would crash the process. So the sink listens while it holds the client;
   * the loss fails `work` (pg fails its running query; should `work` still be
   * waiting after that, the loss rejects it, as an answer will never come), the
   * flush rejects and the writer retries it on a fresh connection. The client
   * is released with the error, so the pool discards it.
   */
  async function withClient(work: (client: PgClientLike) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    let lost: ((error: unknown) => void) | undefined;
    let lostError: unknown;
    const connectionLost = new Promise<never>((_, reject) => (lost = reject));
    connectionLost.catch(() => {}); // observed through the race below, or not needed at all
    const onError = (error: unknown) => {
      if (lostError !== undefined) return;
      lostError = error ?? new Error('sluice/postgres: connection lost');
      // Not at once: a COMMIT or COPY answer parsed just before the loss (pg_terminate_backend
      // right after it) settles `work` within this turn, and must win, or a committed batch
      // would be retried and duplicated.
      setImmediate(() => lost!(lostError));
    };
    client.on('error', onError);
    let failure: unknown;
    try {
      const running = work(client);
      // Once the connection is lost, whatever `work` still awaits on it is moot; its late outcome is ignored.
      running.catch(() => {});
      await Promise.race([running, connectionLost]);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      if (lostError === undefined && failure === undefined) {
        client.removeListener('error', onError);
        client.release();
      } else {
        // pg-pool discards a client released with an error. The listener stays: a
        // discarded client can still report its socket's end, and nobody else listens.
        client.release(lostError instanceof Error ? lostError : failure instanceof Error ? failure : true);
      }
    }
  }

  async function writeBatch(rows: Rows<T>, failed: PostgresFailedItem<T>[], signal: AbortSignal | undefined): Promise<void> {
    const count = rows.items.length;
    if (method === 'insert' && count <= rowsPerStatement) {
      try {
        committed(await insertRows(pool, rows, signal), count);
      } catch (error) {
        if (!isolateFailures || !isRowError(error)) throw error;
        await isolate(undefined, rows, error, failed, signal);
      }
      return;
    }
    // COPY is one statement; several INSERTs need a transaction to stay all-or-nothing.
    const transaction = method === 'insert';
    await withClient(async (client) => {
      try {
        if (transaction) await client.query('BEGIN');
        const written = await writeRows(client, rows, signal);
        if (transaction) {
          signal?.throwIfAborted();
          await client.query('COMMIT');
        }
        committed(written, count);
      } catch (error) {
        if (!isolateFailures || !isRowError(error)) throw error;
        if (transaction) await client.query('ROLLBACK');
        await isolate(client, rows, error, failed, signal);
      }
    });
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
