import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../adapters/sqlite/index.js';
import { Channel } from './index.js';
import { invariant } from './spill.test-helpers.js';

// The spill over the real SqliteStore (a file, fsync 'batch'), in real time.
// No process is killed here: a "restart" is a new store and channel on the same file.

const dir = mkdtempSync(join(tmpdir(), 'sluice-spill-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `spill${files++}.db`);

type Item = { id: number; body: string };

describe('Channel spill over SqliteStore', () => {
  it('send() - a burst far beyond memory goes through the file and comes back in exact order', async () => {
    const store = new SqliteStore<Item>({ path: freshPath(), fsync: 'batch' });
    const ch = new Channel<Item>({ capacity: 64, spill: store });
    const n = 20_000;
    // The whole burst arrives before the consumer starts: memory holds 51 of it.
    for (let id = 0; id < n; id++) {
      const item = { id, body: `item-${id}` };
      if (!ch.trySend(item)) assert.equal(await ch.send(item), true);
    }
    assert.equal(ch.stats().dropped, 0);
    ch.close();
    const received: number[] = [];
    for await (const item of ch) received.push(item.id);
    await ch.drained();
    assert.equal(received.length, n);
    for (let i = 0; i < n; i++) assert.equal(received[i], i);
    const s = ch.stats();
    invariant(s);
    assert.equal(s.dropped, 0);
    // Above the high watermark everything goes through the file, except a last write
    // batch (at most capacity) that may go straight to memory once the store is empty.
    const appended = store.stats().appended;
    assert.ok(appended <= n - 51 && appended >= n - 51 - 64, `appended ${appended}`);
    assert.equal(await store.size(), 0);
    assert.equal(store.integrityCheck(), 'ok');
    await store.close();
  });

  it('constructor - a new channel on the same file delivers what the first one left in the store, first', async () => {
    const path = freshPath();
    const store1 = new SqliteStore<Item>({ path, fsync: 'batch' });
    const first = new Channel<Item>({ capacity: 32, spill: store1 });
    for (let id = 0; id < 1000; id++) {
      const item = { id, body: 'x' };
      if (!first.trySend(item)) await first.send(item);
    }
    while (first.stats().spillWriting !== 0) await new Promise((resolve) => setImmediate(resolve)); // the last write batch commits
    const inMemory = first.stats().inMemory!;
    await store1.close(); // the first process goes away; its in-memory items with it

    const store2 = new SqliteStore<Item>({ path, fsync: 'batch' });
    const second = new Channel<Item>({ capacity: 32, spill: store2 });
    second.trySend({ id: 1000, body: 'new' });
    second.close();
    const received: number[] = [];
    for await (const item of second) received.push(item.id);
    assert.equal(second.stats().recovered, 1000 - inMemory);
    assert.deepEqual(
      received,
      Array.from({ length: 1001 - inMemory }, (_, i) => inMemory + i),
    );
    invariant(second.stats());
    assert.equal(await store2.size(), 0);
    await store2.close();
  });
});
