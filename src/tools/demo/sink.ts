// The demo's log store: an embedded SQLite database in a temp file
// (Node's built-in node:sqlite, so `sluice demo` needs no native package), with a write cost added so it behaves like a real log
// store under load: a fixed cost per batch plus a cost per row, sized so that
// full batches sustain `rowsPerSecond`. The insert itself runs synchronously;
// the rest of the cost is waited out on the clock, as a network round trip
// would be, so the event loop stays free meanwhile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../core/clock/index.js';
import { openConnection, type Connection } from '../../adapters/internal/sqlite-driver.js';
import type { LogLine } from './fleet.js';

export interface LogSinkOptions {
  rowsPerSecond: number;
  batchSize: number;
  clock: Clock;
  /** Called after each committed batch, with the clock time of the commit. */
  onCommitted?: (rows: readonly LogLine[], committedAt: number) => void;
}

/** Share of a full batch's cost that is fixed per batch; the rest is per row. */
const PER_BATCH_SHARE = 0.1;

export class SqliteLogSink {
  readonly path: string;
  /** Temp directory holding the database; deleted by close(). */
  readonly directory: string;
  private readonly db: Connection;
  private readonly insertMany: (rows: readonly LogLine[]) => void;
  private readonly perBatchMs: number;
  private readonly perRowMs: number;
  private committed = 0;
  private batches = 0;
  private closed = false;

  constructor(private readonly options: LogSinkOptions) {
    this.directory = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
    this.path = join(this.directory, 'logs.db');
    try {
      this.db = openConnection('node:sqlite', this.path);
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('CREATE TABLE logs (id INTEGER PRIMARY KEY, emitted_at REAL NOT NULL, server INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL)');
    } catch (error) {
      // Nobody gets a sink to close, so the directory goes now.
      rmSync(this.directory, { recursive: true, force: true });
      throw error;
    }
    const insert = this.db.prepare('INSERT INTO logs (emitted_at, server, level, message) VALUES (?, ?, ?, ?)');
    this.insertMany = this.db.transaction((rows: readonly LogLine[]) => {
      for (const r of rows) insert.run(r.emittedAt, r.server, r.level, r.message);
    });
    const fullBatchMs = (1000 * options.batchSize) / options.rowsPerSecond;
    this.perBatchMs = fullBatchMs * PER_BATCH_SHARE;
    this.perRowMs = (fullBatchMs * (1 - PER_BATCH_SHARE)) / options.batchSize;
  }

  /**
   * Inserts `rows` in one transaction, then waits out the rest of the batch's cost.
   *
   * Abort safety: takes no signal; the rows are committed before the wait, so a
   * writer aborted meanwhile loses nothing that was reported written.
   */
  readonly write = async (rows: readonly LogLine[]): Promise<void> => {
    const clock = this.options.clock;
    const startedAt = clock.now();
    this.insertMany(rows);
    const remaining = this.perBatchMs + this.perRowMs * rows.length - (clock.now() - startedAt);
    if (remaining > 0) await new Promise<void>((resolve) => clock.schedule(remaining, resolve));
    this.committed += rows.length;
    this.batches++;
    this.options.onCommitted?.(rows, clock.now());
  };

  /** Rows committed, as counted by the sink. */
  get rows(): number {
    return this.committed;
  }

  /** Rows in the table, as counted by SQLite. */
  countRows(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM logs').get() as { n: number }).n;
  }

  stats(): { rows: number; batches: number } {
    return { rows: this.committed, batches: this.batches };
  }

  /** Closes the database and deletes its files. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
