// The two SQLite drivers SqliteStore can run on, behind the few calls it
// needs. Both are synchronous and their statements share the calls used here
// (run/get/all with positional or `@name` parameters), so statements pass
// through unwrapped: no cost per call on the hot path.
//
// Each driver is loaded when a store first asks for it, never at import, so
// a `sluice/sqlite` user of one driver never needs the other installed. The
// load is synchronous (process.getBuiltinModule, createRequire) rather than
// `await import()`: the store opens its file in its constructor, which
// throws at once on a bad file or a missing driver.
import { createRequire } from 'node:module';
import { InvalidOptionError } from '../../core/errors/index.js';

/** The SQLite library behind a `SqliteStore`. */
export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';
export const sqliteDrivers: readonly SqliteDriver[] = ['node:sqlite', 'better-sqlite3'];

export interface RunResult {
  changes: number | bigint;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface Connection {
  readonly driver: SqliteDriver;
  prepare(sql: string): Statement;
  exec(sql: string): void;
  /** `fn` inside BEGIN … COMMIT; ROLLBACK and rethrow when it throws. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}

/**
 * The subsets of node:sqlite's `DatabaseSync` and better-sqlite3's `Database`
 * used here, declared locally so the published types need neither
 * `@types/better-sqlite3` nor an `@types/node` that knows node:sqlite.
 */
interface NodeSqliteDatabase {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  close(): void;
  /** Node >= 22.16. */
  readonly isTransaction?: boolean;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string) => NodeSqliteDatabase;
}

interface BetterSqlite3Database {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): unknown;
}
type BetterSqlite3Constructor = new (path: string) => BetterSqlite3Database;

/** How each driver's module is found; tests replace them to stand in for a Node or an install that lacks one. */
export interface DriverLoaders {
  /** node:sqlite's module, or undefined when this Node has none. */
  nodeSqlite(): NodeSqliteModule | undefined;
  /** better-sqlite3's default export; throws like `require()` when it is missing. */
  betterSqlite3(): unknown;
}

const requireFromHere = createRequire(import.meta.url);

export const defaultLoaders: DriverLoaders = {
  // getBuiltinModule is Node >= 20.16 / 22.3, and answers undefined for a
  // built-in this Node lacks (node:sqlite before 22.13 without a flag).
  nodeSqlite: () =>
    typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('node:sqlite') : undefined,
  betterSqlite3: () => requireFromHere('better-sqlite3'),
};

/** Opens `path` with `driver`; a driver that cannot be loaded gives one ERR_SLUICE_INVALID_OPTION naming `driver`. */
export function openConnection(driver: SqliteDriver, path: string, loaders: DriverLoaders = defaultLoaders): Connection {
  return driver === 'node:sqlite' ? openNodeSqlite(path, loaders) : openBetterSqlite3(path, loaders);
}

function openNodeSqlite(path: string, loaders: DriverLoaders): Connection {
  const sqlite = loaders.nodeSqlite();
  if (sqlite === undefined || typeof sqlite.DatabaseSync !== 'function') {
    throw driverError(
      'node:sqlite',
      `node:sqlite needs Node >= 22.13 (this is Node ${process.versions.node}): upgrade Node, ` +
        `or use driver: 'better-sqlite3' (npm install better-sqlite3)`,
    );
  }
  const db = new sqlite.DatabaseSync(path);
  return {
    driver: 'node:sqlite',
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    // node:sqlite has no transaction helper.
    transaction<A extends unknown[], R>(fn: (...args: A) => R) {
      const begin = db.prepare('BEGIN');
      const commit = db.prepare('COMMIT');
      const rollback = db.prepare('ROLLBACK');
      return (...args: A): R => {
        begin.run();
        try {
          const result = fn(...args);
          commit.run();
          return result;
        } catch (error) {
          rollbackIfOpen(db, rollback);
          throw error;
        }
      };
    },
    close: () => db.close(),
  };
}

/**
 * Some errors (disk full, I/O) make SQLite roll back by itself, and ROLLBACK
 * then fails with "no transaction is active". `isTransaction` tells, from
 * Node 22.16; before it, that one failure is expected and the caller rethrows
 * the error that matters.
 */
function rollbackIfOpen(db: NodeSqliteDatabase, rollback: Statement): void {
  const open = db.isTransaction;
  if (open === false) return;
  if (open === true) {
    rollback.run();
    return;
  }
  try {
    rollback.run();
  } catch {
    // no transaction was open
  }
}

function openBetterSqlite3(path: string, loaders: DriverLoaders): Connection {
  let Database: BetterSqlite3Constructor;
  try {
    Database = loaders.betterSqlite3() as BetterSqlite3Constructor;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    const missing = code === 'MODULE_NOT_FOUND' && message.includes("'better-sqlite3'");
    throw driverError(
      'better-sqlite3',
      missing
        ? "better-sqlite3 is not installed: npm install better-sqlite3, or use the built-in driver: 'node:sqlite'"
        : `better-sqlite3 could not be loaded (${firstLine(message)}); reinstall it, or use driver: 'node:sqlite'`,
      error,
    );
  }
  const db = new Database(path);
  return {
    driver: 'better-sqlite3',
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => void db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: () => void db.close(),
  };
}

function driverError(driver: SqliteDriver, message: string, cause?: unknown): InvalidOptionError {
  const error = new InvalidOptionError('driver', driver, `one of ${sqliteDrivers.join(', ')}`, undefined, `SqliteStore: ${message}`);
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  return error;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
