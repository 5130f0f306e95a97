/**
 * `sluice/postgres`: a PostgreSQL sink for `BatchWriter`.
 *
 * `postgresSink(pool, options)` returns the writer's `flush` function. Each
 * batch becomes one multi-row INSERT (`method: 'insert'`, split at
 * PostgreSQL's 65,535-parameter limit inside one transaction) or one
 * `COPY ... FROM STDIN` (`method: 'copy'`, through the optional
 * `pg-copy-streams` package). A batch is all-or-nothing; rows that fail on
 * their own data are isolated and reported so the rest still lands.
 *
 * `pg` is not imported: you pass your own `pg.Pool`, configured with the
 * timeouts you want (`statement_timeout`, `query_timeout`,
 * `connectionTimeoutMillis`); they bound how long a flush can take.
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
  PostgresFailedItem,
  PostgresFlushResult,
  PostgresSink,
  PostgresSinkStats,
} from './types.js';
export type { PostgresCopyFormat, PostgresSinkOptions, PostgresWriteMethod } from './options.js';
export { quoteIdentifier } from './identifiers.js';
