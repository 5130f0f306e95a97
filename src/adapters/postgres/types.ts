import type { PostgresWriteMethod } from './options.js';

// Structural stand-ins for the few parts of `pg` the sink touches. A `pg.Pool`
// satisfies them; declaring them here keeps `pg` (and `@types/pg`) out of this
// module's imports, so nothing but the Pool the user passes is needed.

/** What the sink reads from a query result. */
export interface PgQueryResultLike {
  rowCount: number | null;
}

/** A query object `pg` hands the connection to, such as a `pg-copy-streams` COPY stream. */
export interface PgSubmittable {
  submit: (connection: any) => void;
}

/** A query with a name, which `pg` prepares once per connection and then reuses. */
export interface PgQueryConfigLike {
  name?: string;
  text: string;
  values?: unknown[];
}

/** The parts of a `pg.PoolClient` the sink uses (for COPY and multi-statement batches). */
export interface PgClientLike {
  query<S extends PgSubmittable>(submittable: S): S;
  query(config: PgQueryConfigLike): Promise<PgQueryResultLike>;
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>;
  /** Pass an Error (or `true`) to have the pool discard the client instead of reusing it. */
  release(destroy?: Error | boolean): void;
  /** pg emits 'error' on a client whose connection died; the sink listens while it holds one. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The parts of a `pg.Pool` the sink uses. Pass your `new pg.Pool(...)`. */
export interface PgPoolLike {
  query(config: PgQueryConfigLike): Promise<PgQueryResultLike>;
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>;
  connect(): Promise<PgClientLike>;
}

/** An item the sink could not write, and why. */
export interface PostgresFailedItem<T> {
  item: T;
  error: unknown;
}

/** What a flush resolves with when some items failed on their own (the rest were written). */
export interface PostgresFlushResult<T> {
  failed: PostgresFailedItem<T>[];
}

export interface PostgresSinkStats {
  table: string;
  method: PostgresWriteMethod;
  /** Calls of the flush function. */
  batches: number;
  /** Flushes that rejected (nothing of the batch was written). */
  batchesFailed: number;
  /** INSERT and COPY statements sent, including ones that failed or were rolled back. */
  statements: number;
  /** Rows committed. */
  rowsWritten: number;
  /** Rows the database skipped without an error (ON CONFLICT DO NOTHING, a BEFORE trigger returning NULL). */
  rowsSkipped: number;
  /** Items reported in `failed`: a bad row found by isolation, or a `toRow` that threw. */
  rowsFailed: number;
  /** Batches that failed on their data and went through isolation. */
  isolations: number;
}

/**
 * The flush function `postgresSink` returns, to pass as BatchWriter's `flush`,
 * with `stats()` attached.
 */
export interface PostgresSink<T> {
  /**
   * Writes `items` as one all-or-nothing unit: it resolves once the rows are
   * committed, or rejects and leaves the table as it was (the writer may retry
   * the whole batch). With `isolateFailures` (the default) a batch that fails
   * on its data resolves `{ failed }` naming the offending items; every other
   * item is committed. How long it may take is bounded by the pool's
   * `statement_timeout`, `query_timeout` and `connectionTimeoutMillis`.
   *
   * A flush that rejects has committed nothing, except when the connection
   * drops during COMMIT, where the outcome is unknown to any client (use
   * `onConflict: 'nothing'` and a unique key to make the retry harmless).
   *
   * A connection lost mid-flush (the session terminated by the server, a
   * failover, a reset socket) rejects the flush with the connection's error,
   * so the writer retries it; the sink listens for the client's 'error' event
   * while it holds the client, and hands it back with the error, so the pool
   * discards it. Idle clients are the pool's: give your `pg.Pool` an 'error'
   * listener, as pg requires.
   *
   * Abort safety: `context.signal` (BatchWriter passes one) is checked before
   * the batch starts and between the statements of a multi-statement batch or
   * an isolation; a COPY still sending data is cancelled (PostgreSQL rolls it
   * back). In all those cases nothing is committed and the flush rejects with
   * `signal.reason`. A single INSERT already sent, or a COPY whose data is all
   * sent, is left to finish: the flush then reports what really happened.
   */
  (items: readonly T[], context?: { signal?: AbortSignal }): Promise<PostgresFlushResult<T> | undefined>;
  stats(): PostgresSinkStats;
}

// Structural stand-ins for the parts of postgres.js (the `postgres` package,
// 3.4 or later) the sink touches. The `sql` that `postgres(...)` returns
// satisfies them; `postgres` itself is never imported.

/** A postgres.js query: a promise of its result, which can also be run as COPY ... FROM STDIN. */
export interface PostgresJsQueryLike extends PromiseLike<{ count?: number | null }> {
  writable(): Promise<import('node:stream').Writable>;
}

/** What the sink calls on a postgres.js `sql` or on a connection it reserved. */
export interface PostgresJsQueryableLike {
  // `any[]`: postgres.js types its parameters with its own serializable types.
  unsafe(query: string, parameters?: any[], options?: { prepare?: boolean }): PostgresJsQueryLike;
  typed(value: any, oid: number): unknown;
}

/** A connection reserved with `sql.reserve()`. */
export interface PostgresJsReservedLike extends PostgresJsQueryableLike {
  release(): void;
}

/** The parts of a postgres.js `sql` (`postgres(url, options)`, version 3.4 or later) the sink uses. */
export interface PostgresJsSqlLike extends PostgresJsQueryableLike {
  (template: TemplateStringsArray, ...parameters: any[]): PromiseLike<unknown>;
  reserve(): Promise<PostgresJsReservedLike>;
  /** Runs `fn` in a transaction on one connection; `tx` is that transaction's `sql`. */
  begin<R>(fn: (tx: PostgresJsQueryableLike) => Promise<R>): Promise<R>;
}
