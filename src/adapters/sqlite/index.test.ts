import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../../core/testing/index.js';
import { DurableChannel } from '../../core/durable-channel/index.js';
import { describeStoreContract } from '../../core/durable-channel/store.test-helpers.js';
import { SqliteStore, type SqliteDriver, type SqliteStoreOptions } from './index.js';
import { queueSql } from './store.js';
import { openConnection, sqliteDrivers, type DriverLoaders } from '../internal/sqlite-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `q${files++}.db`);

// Every behaviour below holds on both drivers: each suite runs once per driver.
for (const driver of sqliteDrivers) {
  for (const fsync of ['batch', 'always', 'os'] as const) {
    describeStoreContract(`SqliteStore (driver: '${driver}', fsync: '${fsync}')`, () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const store = new SqliteStore({ path: freshPath(), fsync, driver, now: () => clock.now() });
      return { store, advance: (ms) => clock.advance(ms) };
    });
  }
  describeStore(driver);
  describeChannelOnStore(driver);
}

function open<T = number>(driver: SqliteDriver, path: string, clock: VirtualClock, options: Partial<SqliteStoreOptions<T>> = {}) {
  const store = new SqliteStore<T>({ path, driver, now: () => clock.now(), ...options });
  const channel = new DurableChannel<T>({ store, clock, capacity: 100_000, visibilityTimeoutMs: 1000 });
  return { store, channel };
}

function describeStore(driver: SqliteDriver): void {
  const openStore = <T>(options: SqliteStoreOptions<T>) => new SqliteStore<T>({ driver, ...options });
  describe(`SqliteStore (driver: '${driver}')`, () => {
    it('append() - concurrent calls in one event-loop turn share one transaction under fsync batch', async () => {
      const store = openStore<number>({ path: freshPath(), fsync: 'batch' });
      const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append([i, i + 1000])));
      assert.equal(new Set(ids.flat()).size, 100);
      assert.equal(store.stats().commits, 1);
      assert.equal(store.stats().appendCalls, 50);
      await store.close();
    });

    it("append() - each call is its own transaction under fsync 'always'", async () => {
      const store = openStore<number>({ path: freshPath(), fsync: 'always' });
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append([i])));
      assert.equal(store.stats().commits, 20);
      await store.close();
    });

    it('append() - rejects an item the serializer cannot handle and stores nothing of that call', async () => {
      const store = openStore<unknown>({ path: freshPath() });
      await assert.rejects(store.append([1, () => {}]), TypeError);
      assert.equal(await store.size(), 0);
      await store.close();
    });

    it('append() - stores bytes from a custom serializer; they come back as a Buffer', async () => {
      const received: unknown[] = [];
      const store = openStore<Uint8Array>({
        path: freshPath(),
        serializer: { serialize: (b) => b, deserialize: (d) => (received.push(d), new Uint8Array(d as Buffer)) },
      });
      await store.append([new Uint8Array([1, 2, 3])]);
      const [lease] = await store.lease(1, 1000);
      assert.deepEqual([...lease!.item], [1, 2, 3]);
      assert.ok(Buffer.isBuffer(received[0]), 'deserialize() got a Buffer');
      await store.close();
    });

    it('close() - commits appends still waiting for their group commit', async () => {
      const path = freshPath();
      const store = openStore<number>({ path });
      const pending = store.append([1, 2]);
      await store.close();
      assert.equal((await pending).length, 2);
      const reopened = openStore<number>({ path });
      assert.equal(await reopened.size(), 2);
      await reopened.close();
    });

    it('table - keeps queues in different tables of one file apart', async () => {
      const path = freshPath();
      const a = openStore<string>({ path, table: 'emails' });
      const b = openStore<string>({ path, table: 'sms' });
      await a.append(['x', 'y']);
      await b.append(['z']);
      assert.equal(await a.size(), 2);
      assert.equal(await b.size(), 1);
      await a.close();
      await b.close();
    });

    it('integrityCheck() - reports ok for a sound file', async () => {
      const store = openStore<number>({ path: freshPath() });
      await store.append([1]);
      assert.equal(store.integrityCheck(), 'ok');
      await store.close();
    });

    it('constructor - puts the file in WAL mode', async () => {
      const path = freshPath();
      const store = openStore<number>({ path });
      const db = new DatabaseSync(path, { readOnly: true });
      assert.deepEqual({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
      db.close();
      await store.close();
    });

    it('lease() - finds visible rows through the _ready index: no scan of the table, no sort', async () => {
      // The old query walked the table in id order past every leased or
      // delayed row ahead of the first visible one (57 µs per item with 100k held).
      const path = freshPath();
      const store = openStore<number>({ path, table: 'jobs' });
      await store.append([1, 2, 3]);
      await store.lease(1, 60_000);
      const db = openConnection(driver, path);
      const sql = queueSql('jobs');
      const plan = (statement: string, params: Record<string, number>) =>
        db.prepare(`EXPLAIN QUERY PLAN ${statement}`).all(params).map((row) => (row as { detail: string }).detail);
      try {
        for (const [name, params] of [['lease', { until: 2, max: 3 }], ['dropOldest', { count: 3 }]] as const) {
          const steps = plan(sql[name], params);
          assert.ok(steps.some((d) => d.includes('USING COVERING INDEX jobs_ready')), `${name} reads jobs_ready: ${steps.join(' | ')}`);
          assert.ok(!steps.some((d) => d === 'SCAN jobs' || d.includes('TEMP B-TREE')), `${name} neither scans the table nor sorts: ${steps.join(' | ')}`);
        }
        const release = plan(sql.releaseExpired, { now: 1 });
        assert.ok(release.some((d) => /^SEARCH jobs USING INDEX jobs_invisible \(visible_at>\? AND visible_at<\?\)$/.test(d)), `releaseExpired is one range of jobs_invisible: ${release.join(' | ')}`);
      } finally {
        db.close();
        await store.close();
      }
    });

    it('constructor - a file made without the _ready index opens, gains it, and leases visible rows oldest first', async () => {
      const path = freshPath();
      const now = 1_700_000_000_000;
      const old = new DatabaseSync(path);
      old.exec(
        'CREATE TABLE sluice_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, payload NOT NULL, visible_at INTEGER NOT NULL DEFAULT 0, deliveries INTEGER NOT NULL DEFAULT 0);' +
          'CREATE INDEX sluice_queue_invisible ON sluice_queue (visible_at) WHERE visible_at > 0;',
      );
      const insert = old.prepare('INSERT INTO sluice_queue (payload, visible_at, deliveries) VALUES (?, ?, ?)');
      insert.run('"fresh-1"', 0, 0);
      insert.run('"lease-expired-2"', now - 1, 1);
      insert.run('"lease-held-3"', now + 60_000, 1);
      insert.run('"fresh-4"', 0, 0);
      insert.run('"delay-over-5"', now, 2);
      old.close();

      const clock = new VirtualClock(now);
      const store = openStore<string>({ path, now: () => clock.now() });
      const leased = await store.lease(10, 1000);
      assert.deepEqual(
        leased.map((l) => [l.item, l.deliveries]),
        [['fresh-1', 1], ['lease-expired-2', 2], ['fresh-4', 1], ['delay-over-5', 3]],
      );
      assert.equal(await store.nextVisibleInMs(), 1000, 'the new leases are held, row 3 still until its deadline');
      clock.advance(60_000);
      assert.deepEqual((await store.lease(10, 1000)).map((l) => l.item), ['fresh-1', 'lease-expired-2', 'lease-held-3', 'fresh-4', 'delay-over-5']);
      assert.equal(store.integrityCheck(), 'ok');
      await store.close();
      const check = new DatabaseSync(path, { readOnly: true });
      const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sluice_queue' ORDER BY name").all();
      check.close();
      assert.deepEqual(indexes.map((r) => r.name), ['sluice_queue_invisible', 'sluice_queue_ready']);
    });

    const badOptions: [string, Record<string, unknown>][] = [
      ['path', { path: '' }],
      ['fsync', { path: 'x.db', fsync: 'sometimes' }],
      ['table', { path: 'x.db', table: 'drop table;' }],
      ['serializer', { path: 'x.db', serializer: { serialize: String } }],
      ['now', { path: 'x.db', now: 5 }],
      ['releaseLeasesOnOpen', { path: 'x.db', releaseLeasesOnOpen: 'yes' }],
    ];
    for (const [field, options] of badOptions) {
      it(`constructor - rejects a bad ${field} with ERR_SLUICE_INVALID_OPTION naming it`, () => {
        assert.throws(() => openStore(options as never), (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
          assert.match(error.message, new RegExp(`"${field}"`));
          return true;
        });
      });
    }
  });
}

function describeChannelOnStore(driver: SqliteDriver): void {
  describe(`DurableChannel on SqliteStore (driver: '${driver}')`, () => {
    it('send() - 1000 concurrent sends take far fewer than 1000 transactions (group commit)', async () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const { store, channel } = open(driver, freshPath(), clock);
      const producers = Array.from({ length: 100 }, async (_, p) => {
        for (let i = 0; i < 10; i++) assert.equal(await channel.send(p * 10 + i), true);
      });
      await Promise.all(producers);
      assert.equal(store.stats().appended, 1000);
      assert.ok(store.stats().commits <= 20, `${store.stats().commits} transactions for 1000 sends`);
      assert.equal(channel.stats().commits, store.stats().commits);
      assert.equal(await store.size(), 1000);
      await channel.detach();
      await store.close();
    });

    it('constructor - a reopened file recovers every unacked item; dead leases come back after the visibility timeout', async () => {
      const path = freshPath();
      const clock = new VirtualClock(1_700_000_000_000);
      const first = open(driver, path, clock);
      await Promise.all([1, 2, 3, 4, 5].map((n) => first.channel.send(n)));
      const [acked, leased] = await first.channel.receiveBatch(2);
      await first.channel.ack(acked!.id);
      await first.channel.detach();
      await first.store.close();

      const second = open(driver, path, clock);
      await second.channel.ready();
      assert.equal(second.channel.stats().recovered, 4);
      assert.deepEqual((await second.channel.receiveBatch(10)).map((l) => l.item), [3, 4, 5]);
      const redelivery = second.channel.receive();
      await clock.advanceAsync(1000);
      const lease = await redelivery;
      assert.equal(lease?.id, leased!.id);
      assert.equal(lease?.item, 2);
      assert.equal(lease?.deliveries, 2);
      await second.channel.detach();
      await second.store.close();
    });

    it('releaseLeasesOnOpen - makes a dead process\'s leases visible at once', async () => {
      const path = freshPath();
      const clock = new VirtualClock(1_700_000_000_000);
      const first = open(driver, path, clock);
      await first.channel.send(1);
      await first.channel.receive();
      await first.channel.detach();
      await first.store.close();

      const second = open(driver, path, clock, { releaseLeasesOnOpen: true });
      assert.equal(second.store.stats().released, 1);
      const lease = await second.channel.receive();
      assert.equal(lease?.item, 1);
      assert.equal(lease?.deliveries, 2);
      await second.channel.detach();
      await second.store.close();
    });

    it('receive() - FIFO across many commits, and acks empty the file', async () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const { store, channel } = open(driver, freshPath(), clock);
      for (let i = 0; i < 10; i++) await Promise.all([channel.send(i * 2), channel.send(i * 2 + 1)]);
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) {
        const lease = await channel.receive();
        seen.push(lease!.item);
        await channel.ack(lease!.id);
      }
      assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
      assert.equal(await store.size(), 0);
      await channel.detach();
      await store.close();
    });

    it('nack() - a delayed item is redelivered when the delay passes', async () => {
      const clock = new VirtualClock(1_700_000_000_000);
      const { store, channel } = open(driver, freshPath(), clock);
      await channel.send(9);
      const lease = await channel.receive();
      await channel.nack(lease!.id, { delayMs: 300 });
      let got: unknown;
      const pending = channel.receive().then((l) => (got = l?.item));
      await clock.advanceAsync(299);
      assert.equal(got, undefined);
      await clock.advanceAsync(1);
      await pending;
      assert.equal(got, 9);
      await channel.detach();
      await store.close();
    });
  });
}

describe('SqliteStore drivers', () => {
  it("constructor - uses node:sqlite when no driver is given", async () => {
    const store = new SqliteStore<number>({ path: freshPath() });
    assert.equal(store.driver, 'node:sqlite');
    assert.equal(store.stats().driver, 'node:sqlite');
    await store.close();
  });

  it('constructor - rejects an unknown driver with ERR_SLUICE_INVALID_OPTION naming it', () => {
    assert.throws(() => new SqliteStore({ path: freshPath(), driver: 'sqlite3' as never }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.match(error.message, /"driver"/);
      assert.match(error.message, /node:sqlite, better-sqlite3/);
      return true;
    });
  });

  for (const [writer, reader] of [['node:sqlite', 'better-sqlite3'], ['better-sqlite3', 'node:sqlite']] as const) {
    it(`driver - a file written with ${writer} is read by ${reader}, leases included`, async () => {
      const path = freshPath();
      const first = new SqliteStore<string>({ path, driver: writer });
      await first.append(['a', 'b', 'c']);
      const [leased] = await first.lease(1, 60_000);
      await first.close();
      const second = new SqliteStore<string>({ path, driver: reader });
      assert.equal(await second.size(), 3);
      assert.deepEqual((await second.lease(10, 1000)).map((l) => l.item), ['b', 'c']);
      assert.equal(second.integrityCheck(), 'ok');
      await second.close();
      const third = new SqliteStore<string>({ path, driver: reader, releaseLeasesOnOpen: true });
      const [again] = await third.lease(1, 1000);
      assert.deepEqual([again?.id, again?.item, again?.deliveries], [leased!.id, 'a', 2]);
      await third.close();
    });
  }

  const loaders = (overrides: Partial<DriverLoaders>): DriverLoaders => ({
    nodeSqlite: () => { throw new Error('node:sqlite must not be loaded here'); },
    betterSqlite3: () => { throw new Error('better-sqlite3 must not be loaded here'); },
    ...overrides,
  });
  const driverError = (pattern: RegExp) => (error: Error & { code?: string; field?: string }) => {
    assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(error.field, 'driver');
    assert.match(error.message, pattern);
    assert.ok(error.message.length < 300, `short message: ${error.message}`);
    return true;
  };

  it('openConnection() - a Node without node:sqlite gets one coded error naming the Node version and the way out', () => {
    assert.throws(
      () => openConnection('node:sqlite', freshPath(), loaders({ nodeSqlite: () => undefined })),
      driverError(new RegExp(`^SqliteStore: node:sqlite needs Node >= 22\\.13 \\(this is Node ${process.versions.node.replace(/\./g, '\\.')}\\).*driver: 'better-sqlite3'`)),
    );
  });

  it('openConnection() - better-sqlite3 not installed gets one coded error saying how to install it', () => {
    const notFound = () => {
      throw Object.assign(new Error("Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/dist/adapters/internal/sqlite-driver.js"), { code: 'MODULE_NOT_FOUND' });
    };
    assert.throws(
      () => openConnection('better-sqlite3', freshPath(), loaders({ betterSqlite3: notFound })),
      driverError(/^SqliteStore: better-sqlite3 is not installed: npm install better-sqlite3/),
    );
  });

  it('openConnection() - a better-sqlite3 that fails to load is reported with the first line of the reason and the cause kept', () => {
    const broken = new Error('The module was compiled against a different Node.js version\nusing NODE_MODULE_VERSION 127.');
    assert.throws(
      () => openConnection('better-sqlite3', freshPath(), loaders({ betterSqlite3: () => { throw broken; } })),
      (error: Error) => {
        driverError(/^SqliteStore: better-sqlite3 could not be loaded \(The module was compiled against a different Node\.js version\); reinstall it/)(error);
        assert.doesNotMatch(error.message, /NODE_MODULE_VERSION/);
        assert.equal(error.cause, broken);
        return true;
      },
    );
  });

  for (const driver of sqliteDrivers) {
    it(`transaction() - on ${driver}, a body that throws rolls back everything it wrote and the next transaction commits`, () => {
      const db = openConnection(driver, freshPath());
      db.exec('CREATE TABLE t (v INTEGER)');
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      const count = db.prepare('SELECT COUNT(*) AS n FROM t');
      const failing = db.transaction((values: number[]) => {
        for (const v of values) insert.run(v);
        throw new Error('body failed');
      });
      assert.throws(() => failing([1, 2, 3]), /body failed/);
      assert.equal((count.get() as { n: number }).n, 0);
      const ok = db.transaction((values: number[]) => values.map((v) => Number(insert.run(v).changes)));
      assert.deepEqual(ok([4, 5]), [1, 1]);
      assert.equal((count.get() as { n: number }).n, 2);
      db.close();
    });
  }

  // Node 22.13–22.15 have no DatabaseSync#isTransaction: stand in for them by hiding it.
  const withoutIsTransaction = loaders({
    nodeSqlite: () => ({
      DatabaseSync: class {
        private readonly db: DatabaseSync;
        constructor(path: string) {
          this.db = new DatabaseSync(path);
        }
        prepare(sql: string) {
          return this.db.prepare(sql);
        }
        exec(sql: string) {
          this.db.exec(sql);
        }
        close() {
          this.db.close();
        }
      },
    }),
  });
  for (const [label, load] of [['Node >= 22.16', undefined], ['Node 22.13–22.15', withoutIsTransaction]] as const) {
    it(`transaction() - on node:sqlite (${label}), when SQLite already rolled back the body's error is the one thrown`, () => {
      const db = openConnection('node:sqlite', freshPath(), load);
      db.exec('CREATE TABLE t (v INTEGER)');
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      // As after a disk-full or I/O error: the transaction is gone before the body throws.
      const failing = db.transaction(() => {
        insert.run(1);
        db.exec('ROLLBACK');
        throw new Error('disk full');
      });
      assert.throws(() => failing(), /disk full/);
      const plain = db.transaction(() => {
        insert.run(2);
        throw new Error('body failed');
      });
      assert.throws(() => plain(), /body failed/);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 0);
      db.transaction(() => insert.run(3))();
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
      db.close();
    });
  }

  it('import - a store on node:sqlite never loads better-sqlite3', () => {
    // A fresh process, so nothing else in this test run has loaded it first.
    const store = fileURLToPath(new URL('./index.ts', import.meta.url));
    const script = [
      `import { createRequire } from 'node:module';`,
      `const { SqliteStore } = await import(${JSON.stringify(store)});`,
      `const s = new SqliteStore({ path: ':memory:' });`,
      `await s.append([1]);`,
      `await s.close();`,
      `const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('better-sqlite3'));`,
      `console.log(JSON.stringify(loaded));`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout.trim()), []);
  });
});
