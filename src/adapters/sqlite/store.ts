import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import { jsonSerializer, type DurableStore, type LeasedItem, type Serializer } from '../../internal/durable-store.js';
import { checkLeaseArguments } from '../../internal/durable-store.js';
import { openConnection, sqliteDrivers, type Connection, type SqliteDriver } from '../internal/sqlite-driver.js';

export type { SqliteDriver } from '../internal/sqlite-driver.js';

/**
 * When a commit reaches the disk.
 * - `'always'`: `PRAGMA synchronous=FULL`; every call (append, lease, ack,
 *   nack) is its own transaction, and the WAL is fsynced before the promise
 *   resolves. Survives process crash, OS crash and power loss, at one fsync per call.
 * - `'batch'`: group commit. Appends made in the same event-loop turn (until
 *   the next `setImmediate`) share one transaction with `synchronous=FULL`:
 *   each append promise resolves after that shared fsync, so appends are as
 *   durable as under `'always'`. Leases, acks and nacks run with
 *   `synchronous=NORMAL`: written to the WAL, not fsynced on their own, but
 *   made durable by the next append commit (it syncs the whole WAL) or
 *   checkpoint. A power loss can undo the latest acks/leases (the items come
 *   back: a redelivery, never a loss); a process crash cannot.
 * - `'os'`: `synchronous=NORMAL` for everything, each call its own
 *   transaction: the OS flushes when it likes. Survives a process crash
 *   (SIGKILL), because committed data is in the OS page cache; a power loss
 *   or OS crash can undo the last commits. The database is never corrupted.
 */
export type SqliteFsync = 'batch' | 'always' | 'os';
const fsyncModes: readonly SqliteFsync[] = ['batch', 'always', 'os'];

export interface SqliteStoreOptions<T> {
  /**
   * Database file; created with its table if missing. `':memory:'` works but is not durable.
   * @default none (required)
   * @example new SqliteStore({ path: './data/queue.db' })
   */
  path: string;
  /**
   * Durability of each commit; see {@link SqliteFsync} for exactly what each guarantees.
   * @default 'batch'
   * @example new SqliteStore({ path, fsync: 'always' })
   */
  fsync?: SqliteFsync;
  /**
   * How items become stored text or bytes and back.
   * @default jsonSerializer
   * @example new SqliteStore<Buffer>({ path, serializer: { serialize: (b) => b, deserialize: (d) => Buffer.from(d) } })
   */
  serializer?: Serializer<T>;
  /**
   * Table holding the items, so several queues can share one file.
   * @default 'sluice_queue'
   * @example new SqliteStore({ path, table: 'emails' })
   */
  table?: string;
  /**
   * Wall-clock milliseconds for lease deadlines and nack delays. They are
   * stored, so they must mean the same after a restart: epoch time, not a
   * monotonic clock. Tests inject virtual time here.
   * @default Date.now
   * @example new SqliteStore({ path, now: () => clock.now() }) // clock: VirtualClock
   */
  now?: () => number;
  /**
   * At open, make every leased or delayed item visible at once instead of
   * waiting for its deadline. Right when this process is the file's only
   * user: the leases can only belong to a process that died. Wrong when other
   * processes consume the same table: their in-flight items would be delivered twice.
   * @default false
   * @example new SqliteStore({ path, releaseLeasesOnOpen: true })
   */
  releaseLeasesOnOpen?: boolean;
  /**
   * The SQLite library. `'node:sqlite'` is built into Node (>= 22.13): nothing
   * to install or compile. `'better-sqlite3'` is the optional peer dependency
   * (`npm install better-sqlite3`); see the sqlite benchmark for how the two
   * compare. Either is loaded only when a store asks for it. Both write the
   * same file format, so a file written with one opens with the other.
   * @default 'node:sqlite'
   * @example new SqliteStore({ path: 'jobs.db', driver: 'better-sqlite3' })
   */
  driver?: SqliteDriver;
}

export interface SqliteStoreStats {
  fsync: SqliteFsync;
  driver: SqliteDriver;
  /** Transactions that appended items; under `'batch'` many append calls share one. */
  commits: number;
  /** `append` calls. */
  appendCalls: number;
  appended: number;
  leased: number;
  acked: number;
  nacked: number;
  dropped: number;
  /** Leases released at open by `releaseLeasesOnOpen`. */
  released: number;
}

const tableName = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const numericId = /^[1-9][0-9]{0,15}$/;

type Row = { id: number; payload: string | Uint8Array; deliveries: number };
type PendingAppend = { data: (string | Buffer)[]; resolve(ids: string[]): void; reject(error: unknown): void };

/**
 * A {@link DurableStore} in one SQLite table, WAL mode, on Node's built-in
 * `node:sqlite` or on better-sqlite3 (option `driver`).
 * Rows are `(id, payload, visible_at, deliveries)`; `id` is
 * `INTEGER PRIMARY KEY AUTOINCREMENT`, so ids are never reused and give the
 * delivery order. A lease sets `visible_at` to its deadline, stored as
 * wall-clock ms, so leases of a crashed process expire after a restart like
 * any other (or at once, with `releaseLeasesOnOpen`).
 *
 * Both drivers are synchronous: each call blocks the event loop for its
 * transaction (and fsync). Group commit is what keeps that cheap per item.
 *
 * @example
 * import { SqliteStore } from 'sluice/sqlite';
 * const store = new SqliteStore<Job>({ path: 'jobs.db', fsync: 'batch' }); // node:sqlite
 * const channel = new DurableChannel({ store, capacity: 100_000 });
 * @example
 * // better-sqlite3 instead (npm install better-sqlite3)
 * const store = new SqliteStore<Job>({ path: 'jobs.db', driver: 'better-sqlite3' });
 */
export class SqliteStore<T> implements DurableStore<T> {
  readonly fsync: SqliteFsync;
  readonly path: string;
  readonly driver: SqliteDriver;
  private readonly db: Connection;
  private readonly serializer: Serializer<T>;
  private readonly now: () => number;
  private readonly sql: ReturnType<typeof prepare>;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private isClosed = false;
  private readonly counters = { commits: 0, appendCalls: 0, appended: 0, leased: 0, acked: 0, nacked: 0, dropped: 0, released: 0 };

  constructor(options: SqliteStoreOptions<T>) {
    const o = v.optionsObject(options, 'SqliteStore', {
      path: true, fsync: true, serializer: true, table: true, now: true, releaseLeasesOnOpen: true, driver: true,
    });
    if (typeof o.path !== 'string' || o.path.length === 0) throw new InvalidOptionError('path', o.path, 'a non-empty file path or ":memory:"');
    this.path = o.path;
    this.fsync = v.oneOf('fsync', o.fsync, fsyncModes, 'batch');
    const table = o.table ?? 'sluice_queue';
    if (typeof table !== 'string' || !tableName.test(table)) throw new InvalidOptionError('table', table, 'an SQL identifier: a letter or _, then letters, digits or _ (at most 63)');
    const serializer = o.serializer ?? (jsonSerializer as Serializer<T>);
    if (serializer === null || typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw new InvalidOptionError('serializer', serializer, 'an object with serialize() and deserialize()');
    }
    this.serializer = serializer;
    this.now = v.optionalFunction<() => number>('now', o.now) ?? Date.now;
    const release = v.boolean('releaseLeasesOnOpen', o.releaseLeasesOnOpen, false);
    this.driver = v.oneOf('driver', o.driver, sqliteDrivers, 'node:sqlite');

    this.db = openConnection(this.driver, o.path);
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(`PRAGMA synchronous = ${this.fsync === 'os' ? 'NORMAL' : 'FULL'}`);
      this.db.exec('PRAGMA busy_timeout = 5000');
      this.db.exec(queueSql(table).schema);
      this.sql = prepare(this.db, table);
      if (release) this.counters.released = Number(this.sql.releaseAll.run().changes);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /**
   * Stores `items` in one transaction; see {@link SqliteFsync} for when it is durable.
   * Serialization happens first, so an item that cannot be serialized rejects
   * the call without storing any of its items.
   *
   * Abort safety: takes no signal; under `'batch'` the call waits for the
   * shared commit at the end of the event-loop turn and cannot leave it.
   */
  append(items: readonly T[]): Promise<string[]> {
    if (this.isClosed) return Promise.reject(closedError());
    this.counters.appendCalls++;
    let data: (string | Buffer)[];
    try {
      data = items.map((item) => toSqlValue(this.serializer.serialize(item)));
    } catch (error) {
      return Promise.reject(error);
    }
    if (data.length === 0) return Promise.resolve([]);
    if (this.fsync !== 'batch') {
      try {
        return Promise.resolve(this.insert([data])[0]!);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<string[]>((resolve, reject) => {
      this.pending.push({ data, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Abort safety: takes no signal; leases nobody uses expire after `visibilityTimeoutMs`.
   */
  async lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    this.assertOpen();
    checkLeaseArguments(max, visibilityTimeoutMs);
    const now = this.now();
    const rows = this.relaxed(() => this.sql.leaseAll(now, Math.ceil(now + visibilityTimeoutMs), max));
    rows.sort((a, b) => a.id - b.id); // RETURNING does not promise an order
    this.counters.leased += rows.length;
    return rows.map((row) => ({ id: String(row.id), item: this.serializer.deserialize(fromSqlValue(row.payload)), deliveries: row.deliveries }));
  }

  /** Abort safety: takes no signal; acking again is a no-op. */
  async ack(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const valid = ids.filter((id) => numericId.test(id));
    if (valid.length === 0) return 0;
    const removed = this.relaxed(() => this.sql.ackAll(valid));
    this.counters.acked += removed;
    return removed;
  }

  /** Abort safety: takes no signal; repeating a nack restarts the delay. */
  async nack(id: string, options?: { delayMs?: number }): Promise<void> {
    this.assertOpen();
    const delayMs = options?.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError(`nack(): delayMs must be a finite number >= 0, got ${String(delayMs)}`);
    }
    if (!numericId.test(id)) return;
    const at = delayMs === 0 ? 0 : Math.ceil(this.now() + delayMs);
    this.counters.nacked += Number(this.relaxed(() => this.sql.nack.run({ id: Number(id), at }).changes));
  }

  /**
   * Unacked items. A full count: O(rows), meant for opening, not for hot paths.
   *
   * Abort safety: takes no signal; it only reads.
   */
  async size(): Promise<number> {
    this.assertOpen();
    return (this.sql.count.get() as { n: number }).n;
  }

  /** Abort safety: takes no signal; it only reads (one indexed lookup). */
  async nextVisibleInMs(): Promise<number | undefined> {
    this.assertOpen();
    const now = this.now();
    const { at } = this.sql.nextVisible.get({ now }) as { at: number | null };
    return at === null ? undefined : Math.max(0, at - now);
  }

  /** Abort safety: takes no signal; the deletion is one atomic statement. */
  async dropOldest(count: number): Promise<string[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(count) || count < 1) return [];
    const rows = this.relaxed(() => this.sql.dropOldestAll(this.now(), count));
    this.counters.dropped += rows.length;
    return rows.map((row) => String(row.id)).sort((a, b) => Number(a) - Number(b));
  }

  /**
   * Commits appends still waiting for their group commit, then closes the
   * database. Unacked items stay in the file. Idempotent.
   *
   * Abort safety: takes no signal; the pending group commit runs synchronously inside the call.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.flush();
    this.isClosed = true;
    this.db.close();
  }

  /** `PRAGMA integrity_check` result: `'ok'` for a sound file. */
  integrityCheck(): string {
    this.assertOpen();
    return (this.sql.integrityCheck.all() as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  }

  stats(): SqliteStoreStats {
    return { fsync: this.fsync, driver: this.driver, ...this.counters };
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let ids: string[][];
    try {
      ids = this.insert(batch.map((p) => p.data));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(ids[i]!);
  }

  /** Runs a non-append write without its own fsync under `'batch'` (see {@link SqliteFsync}). */
  private relaxed<R>(write: () => R): R {
    if (this.fsync !== 'batch') return write();
    this.sql.syncNormal.run();
    try {
      return write();
    } finally {
      this.sql.syncFull.run();
    }
  }

  private assertOpen(): void {
    if (this.isClosed) throw closedError();
  }

  /** One transaction for all `calls`; returns each call's ids. */
  private insert(calls: (string | Buffer)[][]): string[][] {
    const ids = this.sql.insertAll(calls);
    this.counters.commits++;
    for (const data of calls) this.counters.appended += data.length;
    return ids;
  }
}

function closedError(): ClosedError {
  return new ClosedError('SqliteStore is closed');
}

function toSqlValue(data: string | Uint8Array): string | Buffer {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return asBuffer(data);
  throw new InvalidArgumentError('SqliteStore: serializer.serialize() must return a string or a Uint8Array');
}

/**
 * BLOBs come back as a Buffer from better-sqlite3 and as a plain Uint8Array
 * from node:sqlite; deserializers always get a Buffer (no copy), whichever driver.
 */
function fromSqlValue(data: string | Uint8Array): string | Buffer {
  return typeof data === 'string' || Buffer.isBuffer(data) ? data : asBuffer(data);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The store's SQL on `table`. Visible means `visible_at <= now`; `lease` and
 * `dropOldest` read only rows with `visible_at = 0`, from the `_ready` index
 * in id order, after `releaseExpired` has moved rows whose deadline passed
 * back to 0 (one range of the `_invisible` index). So neither walks the held
 * rows ahead of the first visible one, and the order among visible rows is
 * still id order. Any process may release expired rows at any time: that
 * changes no row's visibility. Exported for the query-plan tests.
 */
export function queueSql(table: string) {
  return {
    schema:
      `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, payload NOT NULL, ` +
      `visible_at INTEGER NOT NULL DEFAULT 0, deliveries INTEGER NOT NULL DEFAULT 0);` +
      // Two partial indexes that split the rows, one entry per row: held rows
      // (leased or delayed) by deadline, ready rows by id. IF NOT EXISTS: a file
      // from a version without _ready gets it when it is opened.
      `CREATE INDEX IF NOT EXISTS ${table}_invisible ON ${table} (visible_at) WHERE visible_at > 0;` +
      `CREATE INDEX IF NOT EXISTS ${table}_ready ON ${table} (id) WHERE visible_at = 0;`,
    insert: `INSERT INTO ${table} (payload) VALUES (?)`,
    ack: `DELETE FROM ${table} WHERE id = ?`,
    releaseExpired: `UPDATE ${table} SET visible_at = 0 WHERE visible_at > 0 AND visible_at <= @now`,
    lease:
      `UPDATE ${table} SET visible_at = @until, deliveries = deliveries + 1 WHERE id IN ` +
      `(SELECT id FROM ${table} WHERE visible_at = 0 ORDER BY id LIMIT @max) RETURNING id, payload, deliveries`,
    dropOldest: `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE visible_at = 0 ORDER BY id LIMIT @count) RETURNING id`,
    nack: `UPDATE ${table} SET visible_at = @at WHERE id = @id`,
    count: `SELECT COUNT(*) AS n FROM ${table}`,
    nextVisible: `SELECT MIN(visible_at) AS at FROM ${table} WHERE visible_at > 0 AND visible_at > @now`,
    releaseAll: `UPDATE ${table} SET visible_at = 0 WHERE visible_at > 0`,
  };
}

function prepare(db: Connection, table: string) {
  const sql = queueSql(table);
  const insert = db.prepare(sql.insert);
  const ack = db.prepare(sql.ack);
  const releaseExpired = db.prepare(sql.releaseExpired);
  const lease = db.prepare(sql.lease);
  const dropOldest = db.prepare(sql.dropOldest);
  return {
    insertAll: db.transaction((calls: (string | Buffer)[][]): string[][] =>
      calls.map((data) => data.map((payload) => String(insert.run(payload).lastInsertRowid))),
    ),
    ackAll: db.transaction((ids: string[]): number => {
      let removed = 0;
      for (const id of ids) removed += Number(ack.run(Number(id)).changes);
      return removed;
    }),
    leaseAll: db.transaction((now: number, until: number, max: number): Row[] => {
      releaseExpired.run({ now });
      return lease.all({ until, max }) as Row[];
    }),
    dropOldestAll: db.transaction((now: number, count: number): { id: number }[] => {
      releaseExpired.run({ now });
      return dropOldest.all({ count }) as { id: number }[];
    }),
    nack: db.prepare(sql.nack),
    count: db.prepare(sql.count),
    nextVisible: db.prepare(sql.nextVisible),
    releaseAll: db.prepare(sql.releaseAll),
    syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    syncFull: db.prepare('PRAGMA synchronous = FULL'),
    integrityCheck: db.prepare('PRAGMA integrity_check'),
  };
}
