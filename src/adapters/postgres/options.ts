import { InvalidOptionError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import { identifierProblem, splitQualifiedName } from './identifiers.js';

/** How a batch reaches the table. */
export type PostgresWriteMethod = 'insert' | 'copy';
const writeMethods: readonly PostgresWriteMethod[] = ['insert', 'copy'];

/** The data format of `COPY ... FROM STDIN`. */
export type PostgresCopyFormat = 'text' | 'csv';
const copyFormats: readonly PostgresCopyFormat[] = ['text', 'csv'];

/** PostgreSQL's wire protocol counts bind parameters in 16 bits. */
export const maxParameters = 65_535;
/** PostgreSQL's limit on columns in a table. */
const maxColumns = 1600;

export interface PostgresSinkOptions<T> {
  /**
   * Table to write to: `name` or `schema.name`. Names are used exactly as
   * given (case-sensitive) and quoted, so any character is safe; double-quote
   * a part that contains a dot (`'"my.schema".events'`).
   * @default none (required)
   * @example postgresSink(pool, { table: 'logs.events', columns: ['id', 'body'] })
   */
  table: string;
  /**
   * Columns to fill, in the order `toRow` returns values. Names are used
   * exactly as given (case-sensitive) and quoted.
   * @default none (required)
   * @example postgresSink(pool, { table: 'events', columns: ['id', 'at', 'payload'] })
   */
  columns: readonly string[];
  /**
   * - `'insert'`: one multi-row parameterized `INSERT` per batch. A batch with
   *   more than `rowsPerStatement` rows becomes several statements in one
   *   transaction, so the batch is still all-or-nothing.
   * - `'copy'`: one `COPY ... FROM STDIN` per batch through `pg-copy-streams`
   *   (an optional peer dependency, loaded on the first copy), on a connection
   *   of its own. It costs one more round trip per batch than an INSERT, so it
   *   pays off for large batches (thousands of rows); around 1000 rows the two
   *   are close, and for small batches the prepared INSERT is faster.
   *   With postgres.js, COPY runs through its own `writable()`; postgres.js 3.4
   *   leaves Nagle's algorithm on for its sockets, so each COPY (and each step
   *   of a COPY isolation) waits for the server's delayed ACK, about 40-80 ms
   *   on Linux, whatever its size: give it a socket with `noDelay` through
   *   its `socket` option (documented, though not in its TypeScript types:
   *   `socket: ({ host: [host], port: [port] }) => net.connect({ host, port, noDelay: true })`,
   *   for one host over TCP), or use `'insert'`.
   * @default 'insert'
   * @example postgresSink(pool, { table: 'events', columns: ['id', 'body'], method: 'copy' })
   */
  method?: PostgresWriteMethod;
  /**
   * `'nothing'` adds `ON CONFLICT DO NOTHING`: rows that would violate a
   * unique constraint are skipped (counted in `stats().rowsSkipped`) instead of
   * failing. Makes retries of a batch whose commit outcome is unknown
   * idempotent when the table has a unique key: a statement whose connection
   * dropped may still commit on the server (one waiting for a lock does, once
   * the lock is released), and its retry would otherwise duplicate or fail
   * the rows. `'insert'` only.
   * @default undefined (a conflicting row fails; see `isolateFailures`)
   * @example postgresSink(pool, { table: 'events', columns: ['id', 'body'], onConflict: 'nothing' })
   */
  onConflict?: 'nothing' | undefined;
  /**
   * Turns an item into the values of one row, one per column, in `columns`
   * order. Called for each item every time its batch is flushed (again on a
   * retry), before anything is sent; if it throws, or
   * returns something other than an array of `columns.length` values, that
   * item alone fails (reported in `failed`) and the rest of the batch is written.
   * Values are converted as `pg` converts query parameters (see the module docs).
   * @default item => columns.map(column => item[column])
   * @example postgresSink<LogLine>(pool, { table: 'logs', columns: ['at', 'line'], toRow: (l) => [new Date(l.ts), l.msg] })
   */
  toRow?: (item: T) => readonly unknown[];
  /**
   * Data format for `method: 'copy'`. Both carry every value exactly (tabs,
   * newlines, backslashes, quotes and NULL are escaped); `'text'` is
   * PostgreSQL's native format, `'csv'` quotes every non-NULL value.
   * @default 'text'
   * @example postgresSink(pool, { table: 'events', columns: ['id'], method: 'copy', copyFormat: 'csv' })
   */
  copyFormat?: PostgresCopyFormat;
  /**
   * `'insert'` only: most rows in one `INSERT`. The ceiling keeps
   * `rows × columns` within PostgreSQL's 65,535 bind parameters; lower it to
   * keep statements small.
   * @default floor(65535 / columns.length)
   * @example postgresSink(pool, { table: 'events', columns: ['id', 'body'], rowsPerStatement: 1000 })
   */
  rowsPerStatement?: number;
  /**
   * When a batch fails because of its data (SQLSTATE class 22, data
   * exception, or 23, integrity constraint violation: a bad value, a NULL in a
   * NOT NULL column, a duplicate key), find the offending rows by bisection in
   * one transaction with savepoints, write all the others, and report the
   * offenders as `failed` (BatchWriter dead-letters them). Happens only after a
   * batch failed; the fast path is unchanged. With `false` the batch rejects
   * and its writer retries it as a whole.
   * @default true
   * @example postgresSink(pool, { table: 'events', columns: ['id'], isolateFailures: false })
   */
  isolateFailures?: boolean;
  /**
   * `'insert'` only: run the INSERT of a batch size seen before as a named
   * prepared statement, which PostgreSQL parses and plans once per connection
   * instead of once per batch (about 1.5-1.8× the rows per second for batches
   * of 1000). At most 8 sizes per sink are prepared. Turn it off behind a
   * pooler that cannot carry prepared statements across transactions
   * (PgBouncer in transaction mode before 1.21, or without `max_prepared_statements`).
   * @default true
   * @example postgresSink(pool, { table: 'events', columns: ['id'], preparedStatements: false }) // PgBouncer
   */
  preparedStatements?: boolean;
}

export interface ResolvedPostgresSinkOptions<T> {
  table: string;
  columns: readonly string[];
  method: PostgresWriteMethod;
  onConflict: 'nothing' | undefined;
  toRow: ((item: T) => readonly unknown[]) | undefined;
  copyFormat: PostgresCopyFormat;
  rowsPerStatement: number;
  isolateFailures: boolean;
  preparedStatements: boolean;
  /** `"schema"."table"`, ready for a statement. */
  quotedTable: string;
  /** `"a", "b"`, ready for a statement. */
  quotedColumns: string;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function resolvePostgresSinkOptions<T>(options: PostgresSinkOptions<T>): ResolvedPostgresSinkOptions<T> {
  const o = v.optionsObject(options, 'postgresSink', {
    table: true, columns: true, method: true, onConflict: true, toRow: true, copyFormat: true, rowsPerStatement: true,
    isolateFailures: true, preparedStatements: true,
  });
  if (typeof o.table !== 'string') throw new InvalidOptionError('table', o.table, 'a table name or schema.table');
  const tableParts = splitQualifiedName(o.table);
  if (typeof tableParts === 'string') throw new InvalidOptionError('table', o.table, tableParts);

  if (!Array.isArray(o.columns) || o.columns.length === 0 || o.columns.length > maxColumns) {
    throw new InvalidOptionError('columns', o.columns, `an array of 1 to ${maxColumns} column names`);
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const [i, column] of (o.columns as readonly unknown[]).entries()) {
    const problem = identifierProblem(column);
    if (problem !== undefined) throw new InvalidOptionError(`columns[${i}]`, column, problem);
    if (seen.has(column as string)) throw new InvalidOptionError(`columns[${i}]`, column, 'a name not already listed');
    seen.add(column as string);
    columns.push(column as string);
  }

  const method = v.oneOf('method', o.method, writeMethods, 'insert');
  if (o.onConflict !== undefined && o.onConflict !== 'nothing') throw new InvalidOptionError('onConflict', o.onConflict, `'nothing' or undefined`);
  if (o.onConflict !== undefined && method !== 'insert') {
    throw new InvalidOptionError('onConflict', o.onConflict, `no value unless method is 'insert'`, `COPY has no ON CONFLICT; method is '${method}'`);
  }
  const toRow = v.optionalFunction<(item: T) => readonly unknown[]>('toRow', o.toRow);
  if (o.copyFormat !== undefined && method !== 'copy') {
    throw new InvalidOptionError('copyFormat', o.copyFormat, `no value unless method is 'copy'`, `method is '${method}'`);
  }
  const copyFormat = v.oneOf('copyFormat', o.copyFormat, copyFormats, 'text');
  const parameterCeiling = Math.floor(maxParameters / columns.length);
  if (o.rowsPerStatement !== undefined && method !== 'insert') {
    throw new InvalidOptionError('rowsPerStatement', o.rowsPerStatement, `no value unless method is 'insert'`, `method is '${method}'`);
  }
  const rowsPerStatement = v.integer('rowsPerStatement', o.rowsPerStatement, parameterCeiling, { min: 1, max: parameterCeiling });
  const isolateFailures = v.boolean('isolateFailures', o.isolateFailures, true);
  if (o.preparedStatements !== undefined && method !== 'insert') {
    throw new InvalidOptionError('preparedStatements', o.preparedStatements, `no value unless method is 'insert'`, `method is '${method}'`);
  }
  const preparedStatements = v.boolean('preparedStatements', o.preparedStatements, true);

  return {
    table: o.table,
    columns,
    method,
    onConflict: o.onConflict,
    toRow,
    copyFormat,
    rowsPerStatement,
    isolateFailures,
    preparedStatements,
    quotedTable: tableParts.map(quote).join('.'),
    quotedColumns: columns.map(quote).join(', '),
  };
}
