import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../testing/index.js';
import { describeStoreContract } from './store.test-helpers.js';
import { MemoryStore, jsonSerializer } from './index.js';

describeStoreContract('MemoryStore', () => {
  const clock = new VirtualClock();
  return { store: new MemoryStore({ clock }), advance: (ms) => clock.advance(ms) };
});

describe('MemoryStore', () => {
  it('constructor - rejects a serializer without deserialize()', () => {
    assert.throws(() => new MemoryStore({ serializer: { serialize: String } as never }), {
      code: 'ERR_SLUICE_INVALID_OPTION',
      message: /"serializer"/,
    });
  });

  it('constructor - rejects a clock without now()', () => {
    assert.throws(() => new MemoryStore({ clock: {} as never }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"clock"/ });
  });

  it('append() - rejects the whole call when one item cannot be serialized', async () => {
    const store = new MemoryStore();
    await assert.rejects(store.append([1, undefined]), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.equal((error as { code?: unknown }).code, 'ERR_SLUICE_INVALID_ITEM');
      assert.match(error.message, /^jsonSerializer: undefined cannot be serialized as JSON/);
      return true;
    });
    assert.equal(await store.size(), 0);
  });

  it('lease() - rejects a max below 1 with ERR_SLUICE_INVALID_ARGUMENT', async () => {
    await assert.rejects(new MemoryStore().lease(0, 1000), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('stats() - counts commits, leases and acks', async () => {
    const store = new MemoryStore();
    await store.append([1, 2]);
    await store.append([]);
    const [a] = await store.lease(1, 1000);
    await store.ack([a!.id]);
    assert.deepEqual(store.stats(), { size: 1, commits: 1, appended: 2, leased: 1, acked: 1, nacked: 0, dropped: 0 });
  });
});

describe('jsonSerializer', () => {
  it('deserialize() - accepts bytes as well as text', () => {
    assert.deepEqual(jsonSerializer.deserialize(new TextEncoder().encode('{"a":1}')), { a: 1 });
  });
});
