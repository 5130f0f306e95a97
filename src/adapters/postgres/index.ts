/**
 * `sluice/postgres`: a PostgreSQL sink for `BatchWriter`.
 *
 * `postgresSink(client, options)` returns the writer's `flush` function. Each
 * batch becomes one multi-row INSERT (`method: 'insert'`, split at
 * PostgreSQL's 65,535-parameter limit inside one transaction) or one
 * `COPY ... FROM STDIN` (`method: 'copy'`). A batch is all-or-nothing; rows
 * that fail on their own data are isolated and reported so the rest still lands.
 *
 * Neither client is imported: you pass your own, configured with the
 * timeouts you want; they bound how long a flush can take.
 * - a `pg.Pool` (`statement_timeout`, `query_timeout`, `connectionTimeoutMillis`);
 *   COPY goes through the optional `pg-copy-streams` package;
 * - a postgres.js `sql` (the `postgres` package, 3.4 or later; `connect_timeout`,
 *   `connection: { statement_timeout }`); COPY uses postgres.js's own support.
 * Either way the same rows are stored and the same errors are told apart.
 *
 * Values are converted as `pg` converts query parameters, the same for INSERT
 * and COPY: `null`/`undefined` → NULL; Buffer and typed arrays → bytea; Date →
 * timestamp with the local UTC offset; arrays → PostgreSQL arrays (`JSON.stringify`
 * an array yourself for a json column); other objects → JSON; anything else → `String(value)`.
 * @module
 */
export { postgresSink } from './sink.js';
export type {
  PgClientLike,
  PgQueryConfigLike,
  PgPoolLike,
  PgQueryResultLike,
  PgSubmittable,
  PostgresJsQueryLike,
  PostgresJsQueryableLike,
  PostgresJsReservedLike,
  PostgresJsSqlLike,
  PostgresFailedItem,
  PostgresFlushResult,
  PostgresSink,
  PostgresSinkStats,
} from './types.js';
export type { PostgresCopyFormat, PostgresSinkOptions, PostgresWriteMethod } from './options.js';
export { quoteIdentifier } from './identifiers.js';
