/**
 * Helpers for the tests that run against the real PostgreSQL: connection
 * settings, throwaway tables, and a TCP proxy that can be cut to make the
 * database unreachable.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import postgres from 'postgres';

/** Where the test database is; override with the usual PG* variables. */
export const dbConfig: pg.PoolConfig = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
  password: process.env.PGPASSWORD,
};

export function databaseUrl(port = dbConfig.port!): string {
  return `postgres://${encodeURIComponent(dbConfig.user!)}@${dbConfig.host}:${port}/${dbConfig.database}`;
}

export function createPool(extra: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ ...dbConfig, max: 4, ...extra });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash the test process.
  pool.on('error', () => {});
  return pool;
}

/** The clients postgresSink accepts; tests that run with both loop over these. */
export const clients = ['pg', 'postgres.js'] as const;
export type ClientKind = (typeof clients)[number];

/** A postgres.js `sql` for the test database (`extra` as postgres.js options, e.g. max, port, connect_timeout in seconds). */
export function createSql(extra: postgres.Options<Record<string, postgres.PostgresType>> = {}): postgres.Sql {
  return postgres({
    host: dbConfig.host,
    port: dbConfig.port,
    user: dbConfig.user,
    database: dbConfig.database,
    ...(dbConfig.password === undefined ? {} : { password: dbConfig.password }),
    max: 4,
    onnotice: () => {},
    ...extra,
  });
}

/** A table name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Creates a table with a unique name and the given column definitions; returns its name. */
export async function createTable(pool: pg.Pool, prefix: string, columnsSql: string): Promise<string> {
  const name = uniqueName(prefix);
  await pool.query(`CREATE TABLE "${name}" (${columnsSql})`);
  return name;
}

export async function dropTable(pool: pg.Pool, name: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS "${name}"`);
}

export async function countRows(pool: pg.Pool, table: string): Promise<{ rows: number; distinct: number }> {
  const result = await pool.query<{ rows: string; distinct: string }>(`SELECT count(*) AS rows, count(DISTINCT id) AS distinct FROM "${table}"`);
  return { rows: Number(result.rows[0]!.rows), distinct: Number(result.rows[0]!.distinct) };
}

/**
 * A TCP forwarder on 127.0.0.1 to the database. `stop()` closes the listener
 * and cuts every open connection, so the database looks unreachable
 * (connections refused); `start()` listens again on the same port.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Connections forwarded so far. */
  connections = 0;

  constructor(
    private readonly targetHost = dbConfig.host!,
    private readonly targetPort = dbConfig.port!,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<number> {
    if (this.server) return this.port;
    const server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}
