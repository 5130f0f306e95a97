// The two clients the sink can write through: a `pg.Pool` (with `pg-copy-streams`
// for COPY) or a postgres.js `sql`. The sink's logic (batching, transactions,
// isolation by bisection, error classification) is the same for both; only
// these few primitives differ.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { loadCopyFrom } from './copy-streams.js';
import type { PgClientLike, PgPoolLike, PostgresJsQueryableLike, PostgresJsQueryLike, PostgresJsSqlLike } from './types.js';
import type { Cell } from './values.js';

/** A dedicated connection, held for one flush (a COPY, a multi-statement transaction, an isolation). */
export interface SinkConnection {
  /** Statements without parameters: BEGIN, COMMIT, ROLLBACK, SAVEPOINT..., several separated by `;`. */
  exec(text: string): Promise<void>;
  /** One INSERT with its parameters; `name` set: run it as that prepared statement. Resolves the rows inserted. */
  insert(text: string, values: readonly Cell[], name: string | undefined): Promise<number | null>;
  /**
   * `COPY ... FROM STDIN` with `chunks` as its data; resolves the rows copied.
   * `started` is called once the statement is about to be sent.
   * Abort safety: `signal` cancels a COPY still sending data (the server rolls
   * it back) and the call rejects with `signal.reason`; once all data is sent
   * it is left to finish.
   */
  copy(text: string, chunks: Iterable<string>, signal: AbortSignal | undefined, started: () => void): Promise<number>;
}

export interface SinkDriver {
  /** One INSERT on any connection of the pool (autocommit). */
  insert(text: string, values: readonly Cell[], name: string | undefined): Promise<number | null>;
  /**
   * Runs `work` on a dedicated connection. A connection that was lost, or left
   * in an unknown state by an error, is never handed back for reuse; `work`'s
   * error (or the connection's) is rethrown.
   */
  withConnection(work: (connection: SinkConnection) => Promise<void>): Promise<void>;
  /**
   * postgres.js: a COPY on any connection of its pool (autocommit), like
   * `insert`. Absent (pg): a COPY runs on a dedicated connection.
   */
  copy?: SinkConnection['copy'];
  /** Most bind parameters one statement may carry with this client. */
  maxParameters: number;
}

/** pg: `rows × columns` up to PostgreSQL's own limit. */
const pgMaxParameters = 65_535;
/** postgres.js refuses a query with 65,534 parameters or more (MAX_PARAMETERS_EXCEEDED). */
const postgresJsMaxParameters = 65_533;

export type SinkClient = PgPoolLike | PostgresJsSqlLike;

/** postgres.js's `sql` is a tagged-template function with `unsafe` and `reserve`; a pg.Pool is an object with `query` and `connect`. */
export function isPostgresJs(client: unknown): client is PostgresJsSqlLike {
  return typeof client === 'function' && typeof (client as { unsafe?: unknown }).unsafe === 'function';
}

export function createDriver(client: SinkClient): SinkDriver {
  if (isPostgresJs(client)) {
    if (typeof client.reserve !== 'function' || typeof client.begin !== 'function' || typeof client.typed !== 'function') {
      throw new InvalidArgumentError('postgresSink(sql, options): postgres.js 3.4 or later is needed (its sql has no reserve())');
    }
    return postgresJsDriver(client);
  }
  if (client === null || typeof client !== 'object' || typeof client.query !== 'function' || typeof client.connect !== 'function') {
    throw new InvalidArgumentError('postgresSink(pool, options): pool must be a pg.Pool (an object with query() and connect()) or a postgres.js sql (postgres(...))');
  }
  return pgDriver(client);
}

function pgDriver(pool: PgPoolLike): SinkDriver {
  function insert(db: PgPoolLike | PgClientLike, text: string, values: readonly Cell[], name: string | undefined): Promise<number | null> {
    const result = name === undefined ? db.query(text, values as Cell[]) : db.query({ name, text, values: values as Cell[] });
    return result.then((r) => r.rowCount);
  }

  function connection(client: PgClientLike): SinkConnection {
    return {
      exec: async (text) => void (await client.query(text)),
      insert: (text, values, name) => insert(client, text, values, name),
      async copy(text, chunks, signal, started) {
        const copyFrom = await loadCopyFrom();
        signal?.throwIfAborted();
        started();
        const stream = client.query(copyFrom(text));
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
          await pipeline(chunks, stream);
        } catch (error) {
          throw cancelled ? signal!.reason : error;
        } finally {
          signal?.removeEventListener('abort', cancel);
        }
        return stream.rowCount;
      },
    };
  }

  /**
   * A pooled client emits 'error' when its socket dies (the server
   * terminated the session, a failover, ECONNRESET while a COPY is cancelled),
   * and pg-pool listens only while the client is idle: unheard, that event
   * would crash the process. So the sink listens while it holds the client;
   * the loss fails `work` (pg fails its running query; should `work` still be
   * waiting after that, the loss rejects it, as an answer will never come), the
   * flush rejects and the writer retries it on a fresh connection. The client
   * is released with the error, so the pool discards it.
   */
  async function withConnection(work: (connection: SinkConnection) => Promise<void>): Promise<void> {
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
      const running = work(connection(client));
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

  return { insert: (text, values, name) => insert(pool, text, values, name), withConnection, maxParameters: pgMaxParameters };
}

/**
 * postgres.js errors that mean the connection is gone (its pending queries
 * all fail with one of them): its own codes, a socket error, or a FATAL from the server.
 */
function isConnectionLoss(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, syscall, severity } = error as { code?: unknown; syscall?: unknown; severity?: unknown };
  return (
    code === 'CONNECTION_CLOSED' || code === 'CONNECTION_DESTROYED' || code === 'CONNECTION_ENDED' || code === 'CONNECT_TIMEOUT' ||
    typeof syscall === 'string' || severity === 'FATAL' || severity === 'PANIC'
  );
}

/** OID of `unknown`: PostgreSQL infers the parameter's type from the statement, as it does for pg's untyped text parameters. */
const unknownOid = 705;

/** What postgres.js's Query carries besides the promise: the sink hooks its settlement to see a COPY's outcome. */
interface PostgresJsQueryInternals extends PostgresJsQueryLike {
  resolve?: (value: unknown) => void;
  reject?: (error: unknown) => void;
}

function postgresJsDriver(sql: PostgresJsSqlLike): SinkDriver {
  // Cells are already in PostgreSQL's text input form (as pg would send them). Typed as
  // `unknown`, postgres.js sends them as they are instead of re-serializing them by the
  // column's type (it would JSON.stringify a json column's text, reparse a timestamp).
  function parameters(values: readonly Cell[]): unknown[] {
    const out = new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) {
      const cell = values[i]!;
      out[i] = sql.typed(cell === null || typeof cell === 'string' ? cell : `\\x${cell.toString('hex')}`, unknownOid);
    }
    return out;
  }

  async function insert(db: PostgresJsQueryableLike, text: string, values: readonly Cell[], name: string | undefined): Promise<number | null> {
    // postgres.js names and caches prepared statements itself, per connection.
    const result = await db.unsafe(text, parameters(values), { prepare: name !== undefined });
    return result.count ?? null;
  }

  /**
   * COPY through postgres.js's own `writable()`. Its writable never finishes
   * when the server rejects the data once it is all sent (porsager/postgres#1173),
   * so the outcome is read from the query's settlement (the server's
   * CommandComplete or ErrorResponse), not from the stream's 'finish'.
   */
  async function copy(db: PostgresJsQueryableLike, text: string, chunks: Iterable<string>, signal: AbortSignal | undefined): Promise<number> {
    const query = db.unsafe(text) as PostgresJsQueryInternals;
    const { resolve, reject } = query;
    if (typeof resolve !== 'function' || typeof reject !== 'function') {
      throw new InvalidArgumentError('postgresSink: this postgres.js version is not supported for COPY (use 3.4)');
    }
    let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
    const settled = new Promise<unknown>((res, rej) => (settle = { resolve: res, reject: rej }));
    settled.catch(() => {}); // awaited below, or moot once the stream itself failed
    let resolutions = 0;
    // The first resolution hands over the stream (CopyInResponse), the second the result (ReadyForQuery).
    query.resolve = (value) => (resolutions++ === 0 ? resolve(value) : settle.resolve(value));
    query.reject = (error) => {
      reject(error);
      settle.reject(error);
    };
    // Listening from the start: the server may wait (for a lock) before it asks for the data.
    let stream: Writable | undefined;
    let cancelled = false;
    const cancel = () => {
      if (stream === undefined || stream.writableEnded) return;
      cancelled = true;
      // postgres.js sends CopyFail: the server rolls the COPY back and answers with an error.
      stream.destroy(signal!.reason as Error);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      stream = await query.writable();
    } catch (error) {
      signal?.removeEventListener('abort', cancel);
      throw error;
    }
    if (signal?.aborted) cancel();
    const failed = new Promise<never>((_, rej) => {
      stream!.once('error', rej);
      settled.catch(rej);
    });
    failed.catch(() => {});
    try {
      for (const chunk of chunks) {
        if (cancelled) break;
        if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
      }
      if (!cancelled) stream.end();
      const result = (await settled) as { count?: number | null } | undefined;
      return result?.count ?? 0;
    } catch (error) {
      if (!cancelled) throw error;
      await settled.catch(() => {}); // the server's answer to CopyFail: the connection is ready again
      throw signal!.reason;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  /**
   * Runs `work` inside `sql.begin()`, which holds one connection for it.
   * Not `sql.reserve()`: postgres.js 3.4 keeps a queued reservation in its
   * wait list when the connection opened for it fails (a terminated backend,
   * or the stale 57P01 it replays onto the next connect), and that rejected
   * reservation later takes a fresh connection and strands it for good; a
   * few terminations leave a pool with no usable connection and every flush
   * hangs (porsager/postgres#1195, #1223). `begin()` waits like any query,
   * and rejects when its connection closes.
   *
   * `work` is one transaction, as with pg; its transaction statements map onto
   * postgres.js's: its opening `begin` stands for BEGIN; ROLLBACK is sent as
   * `ROLLBACK; BEGIN` (postgres.js hands a connection that leaves its
   * transaction back to the pool at once); COMMIT is sent as `SET CONSTRAINTS
   * ALL IMMEDIATE`, which checks deferred constraints there, inside `work`,
   * where a row error can still be isolated, and postgres.js commits once
   * `work` resolves (a failed commit rejects this call). Savepoints are sent
   * as written.
   *
   * Once the connection is lost, `work` is left waiting for good and sends
   * nothing more, and so is postgres.js's transaction: it would write its
   * `rollback` to the closed socket (an uncaught TypeError, porsager/postgres#1208).
   * `begin()` itself rejects with the loss, and so does this call.
   */
  async function withConnection(work: (connection: SinkConnection) => Promise<void>): Promise<void> {
    const never = new Promise<never>(() => {});
    let lost = false;
    const transaction = sql.begin(async (tx) => {
      const run = async <R>(running: () => PromiseLike<R>): Promise<R> => {
        if (lost) return never;
        try {
          return await running();
        } catch (error) {
          if (!isConnectionLoss(error)) throw error;
          lost = true;
          return never;
        }
      };
      // postgres.js fails a transaction with the first statement error it saw in it (it registers a
      // catch on every statement), even one the isolation handled with its own savepoints; the sink
      // reads each statement's outcome itself, so its statements do not report to the transaction.
      const own: PostgresJsQueryableLike = {
        unsafe(text, parameters, options) {
          const query = tx.unsafe(text, parameters, options);
          Object.defineProperty(query, 'catch', { value: () => query, configurable: true });
          return query;
        },
        typed: (value, oid) => tx.typed(value, oid),
      };
      const connection: SinkConnection = {
        async exec(text) {
          if (/^BEGIN\b/i.test(text)) text = text.replace(/^BEGIN\s*;?\s*/i, '');
          else if (/^COMMIT\s*$/i.test(text)) text = 'SET CONSTRAINTS ALL IMMEDIATE';
          else if (/^ROLLBACK\s*$/i.test(text)) text = 'ROLLBACK; BEGIN';
          if (text !== '') await run(() => own.unsafe(text));
        },
        insert: (text, values, name) => run(() => insert(own, text, values, name)),
        copy(text, chunks, signal, started) {
          signal?.throwIfAborted();
          started();
          return run(() => copy(own, text, chunks, signal));
        },
      };
      try {
        await work(connection);
      } catch (error) {
        // Lost while `work` was between statements (begin() has rejected): nothing more is sent.
        if (lost) return never;
        throw error;
      }
    });
    try {
      await transaction;
    } catch (error) {
      lost = true;
      throw error;
    }
  }

  return {
    insert: (text, values, name) => insert(sql, text, values, name),
    // On the pool, as an INSERT: COPY needs no transaction of its own.
    copy(text, chunks, signal, started) {
      signal?.throwIfAborted();
      started();
      return copy(sql, text, chunks, signal);
    },
    withConnection,
    maxParameters: postgresJsMaxParameters,
  };
}
