/**
 * `sluice/sqlite`: a durable store on SQLite for `DurableChannel`.
 * Runs on Node's built-in `node:sqlite` (Node >= 22.13) by default; with
 * `driver: 'better-sqlite3'` on the optional peer dependency `better-sqlite3`.
 * @module
 */
export { SqliteStore } from './store.js';
export type { SqliteDriver, SqliteFsync, SqliteStoreOptions, SqliteStoreStats } from './store.js';
