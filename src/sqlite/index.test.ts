import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VirtualClock } from '../testing/index.js';
import { DurableChannel } from '../durable-channel/index.js';
import { describeStoreContract } from '../durable-channel/contract-suite.test.js';
import { SqliteStore, type SqliteStoreOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `q${files++}.db`);

for (const fsync of ['batch', 'always', 'os'] as const) {
  describeStoreContract(`SqliteStore (fsync: '${fsync}')`, () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const store = new SqliteStore({ path: freshPath(), fsync, now: () => clock.now() });
    return { store, advance: (ms) => clock.advance(ms) };
  });
}

function open<T = number>(path: string, clock: VirtualClock, options: Partial<SqliteStoreOptions<T>> = {}) {
  const store = new SqliteStore<T>({ path, now: () => clock.now(), ...options });
  const channel = new DurableChannel<T>({ store, clock, capacity: 100_000, visibilityTimeoutMs: 1000 });
  return { store, channel };
}

describe('SqliteStore', () => {
  it('append() - concurrent calls in one event-loop turn share one transaction under fsync batch', async () => {
    const store = new SqliteStore<number>({ path: freshPath(), fsync: 'batch' });
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append([i, i + 1000])));
    assert.equal(new Set(ids.flat()).size, 100);
    assert.equal(store.stats().commits, 1);
    assert.equal(store.stats().appendCalls, 50);
    await store.close();
  });

  it("append() - each call is its own transaction under fsync 'always'", async () => {
    const store = new SqliteStore<number>({ path: freshPath(), fsync: 'always' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append([i])));
    assert.equal(store.stats().commits, 20);
    await store.close();
  });

  it('append() - rejects an item the serializer cannot handle and stores nothing of that call', async () => {
    const store = new SqliteStore<unknown>({ path: freshPath() });
    await assert.rejects(store.append([1, () => {}]), TypeError);
    assert.equal(await store.size(), 0);
    await store.close();
  });

  it('append() - stores bytes from a custom serializer', async () => {
    const store = new SqliteStore<Uint8Array>({
      path: freshPath(),
      serializer: { serialize: (b) => b, deserialize: (d) => new Uint8Array(d as Buffer) },
    });
    await store.append([new Uint8Array([1, 2, 3])]);
    const [lease] = await store.lease(1, 1000);
    assert.deepEqual([...lease!.item], [1, 2, 3]);
    await store.close();
  });

  it('close() - commits appends still waiting for their group commit', async () => {
    const path = freshPath();
    const store = new SqliteStore<number>({ path });
    const pending = store.append([1, 2]);
    await store.close();
    assert.equal((await pending).length, 2);
    const reopened = new SqliteStore<number>({ path });
    assert.equal(await reopened.size(), 2);
    await reopened.close();
  });

  it('table - keeps queues in different tables of one file apart', async () => {
    const path = freshPath();
    const a = new SqliteStore<string>({ path, table: 'emails' });
    const b = new SqliteStore<string>({ path, table: 'sms' });
    await a.append(['x', 'y']);
    await b.append(['z']);
    assert.equal(await a.size(), 2);
    assert.equal(await b.size(), 1);
    await a.close();
    await b.close();
  });

  it('integrityCheck() - reports ok for a sound file', async () => {
    const store = new SqliteStore<number>({ path: freshPath() });
    await store.append([1]);
    assert.equal(store.integrityCheck(), 'ok');
    await store.close();
  });

  it('constructor - puts the file in WAL mode', async () => {
    const path = freshPath();
    const store = new SqliteStore<number>({ path });
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    await store.close();
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
      assert.throws(() => new SqliteStore(options as never), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
        assert.match(error.message, new RegExp(`"${field}"`));
        return true;
      });
    });
  }
});

describe('DurableChannel on SqliteStore', () => {
  it('send() - 1000 concurrent sends take far fewer than 1000 transactions (group commit)', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const { store, channel } = open(freshPath(), clock);
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
    const first = open(path, clock);
    await Promise.all([1, 2, 3, 4, 5].map((n) => first.channel.send(n)));
    const [acked, leased] = await first.channel.receiveBatch(2);
    await first.channel.ack(acked!.id);
    await first.channel.detach();
    await first.store.close();

    const second = open(path, clock);
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
    const first = open(path, clock);
    await first.channel.send(1);
    await first.channel.receive();
    await first.channel.detach();
    await first.store.close();

    const second = open(path, clock, { releaseLeasesOnOpen: true });
    assert.equal(second.store.stats().released, 1);
    const lease = await second.channel.receive();
    assert.equal(lease?.item, 1);
    assert.equal(lease?.deliveries, 2);
    await second.channel.detach();
    await second.store.close();
  });

  it('receive() - FIFO across many commits, and acks empty the file', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const { store, channel } = open(freshPath(), clock);
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
    const { store, channel } = open(freshPath(), clock);
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
