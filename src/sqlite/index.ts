/**
 * `sluice/sqlite`: a durable store on SQLite for `DurableChannel`.
 * Needs the optional peer dependency `better-sqlite3`.
 * @module
 */
export { SqliteStore } from './store.js';
export type { SqliteFsync, SqliteStoreOptions, SqliteStoreStats } from './store.js';
