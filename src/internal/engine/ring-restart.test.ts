// The ring restarts at slot 0 whenever it empties (in a young copy of its slot
// array once a ring-full has passed), and hands a whole-ring batch out as its
// own array, continuing in a fresh one (see RingState.ringTake and
// ringRestart). These tests pin what a user can observe of that: batches keep
// their items, later sends never write into an array already handed out, and
// the counts stay exact across restarts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBuffer } from './memory.js';
import { resolveChannelOptions, type ChannelOptions } from './options.js';
import { VirtualClock } from '../../core/testing/index.js';

/** A MemoryBuffer that shows its slot array, to tell a hand-over from a copy. */
class Probe extends MemoryBuffer<number> {
  get slotArray(): unknown[] {
    return this.slots;
  }
}

function probe(options: ChannelOptions = { capacity: 8 }): Probe {
  return new Probe(resolveChannelOptions({ clock: new VirtualClock(), ...options }, null));
}

function fill(b: MemoryBuffer<number>, from: number, n: number): void {
  for (let i = 0; i < n; i++) assert.equal(b.trySend(from + i), true);
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

function assertCounts(b: MemoryBuffer<number>, accepted: number, delivered: number): void {
  const s = b.stats();
  assert.equal(s.accepted, accepted, 'accepted');
  assert.equal(s.delivered, delivered, 'delivered');
  assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
}

describe('MemoryBuffer ring restart', () => {
  it('receiveBatch() – a batch that empties a full ring is the ring\'s own array; later sends never touch it', async () => {
    const b = probe();
    fill(b, 0, 8);
    const slots = b.slotArray;
    const first = await b.receiveBatch(8);
    assert.equal(first, slots, 'handed over, not copied');
    assert.notEqual(b.slotArray, slots, 'the ring continues in a fresh array');
    fill(b, 8, 8);
    assert.deepEqual(first, range(0, 8));
    assert.deepEqual(await b.receiveBatch(100), range(8, 8));
    assertCounts(b, 16, 16);
  });

  it('receiveBatch() – a batch of at least half the slots is handed over cut to its length', async () => {
    const b = probe();
    fill(b, 0, 5);
    const slots = b.slotArray;
    const batch = await b.receiveBatch(100);
    assert.equal(batch, slots);
    assert.equal(batch.length, 5);
    assert.deepEqual(batch, range(0, 5));
    fill(b, 5, 3);
    assert.equal(batch.length, 5);
    assert.deepEqual(await b.receiveBatch(3), range(5, 3));
    assertCounts(b, 8, 8);
  });

  it('receiveBatch() – a small batch, or one leaving items behind, is a copy and the ring keeps its array', async () => {
    const b = probe();
    fill(b, 0, 3);
    const slots = b.slotArray;
    const small = await b.receiveBatch(3); // empties the ring, but under half its slots
    assert.notEqual(small, slots);
    assert.equal(b.slotArray, slots);
    fill(b, 3, 8);
    const part = await b.receiveBatch(6); // leaves two behind
    assert.deepEqual(part, range(3, 6));
    assert.equal(b.slotArray, slots);
    assert.deepEqual(await b.receiveBatch(8), range(9, 2));
    assertCounts(b, 11, 11);
  });

  it('receiveBatch() – a ring emptied from the middle restarts at slot 0, so the next full batch is handed over', async () => {
    const b = probe();
    fill(b, 0, 6);
    assert.deepEqual(await b.receiveBatch(2), [0, 1]);
    assert.deepEqual(await b.receiveBatch(8), range(2, 4)); // wraps nowhere, starts at slot 2: copied, then restart
    fill(b, 6, 8);
    const slots = b.slotArray;
    assert.equal(await b.receiveBatch(8), slots);
    assertCounts(b, 14, 14);
  });

  it('receive() – an empty ring waits in a young copy of its slot array once a ring-full has passed since the last restart, and not before', async () => {
    const b = probe();
    fill(b, 0, 5);
    for (let i = 0; i < 5; i++) assert.equal(b.tryReceive(), i);
    const slots = b.slotArray;
    const first = b.receive(); // 5 items passed through 8 slots: restart in place
    assert.equal(b.slotArray, slots);
    assert.equal(b.trySend(5), true); // goes to slot 0, handed straight to the waiting receive()
    assert.equal(await first, 5);
    fill(b, 6, 8);
    for (let i = 6; i < 14; i++) assert.equal(b.tryReceive(), i);
    const second = b.receive(); // 9 items since the restart: a copy
    const copy = b.slotArray;
    assert.notEqual(copy, slots);
    assert.equal(copy.length, 8);
    assert.ok(copy.every((slot) => slot === undefined), 'the copy holds no item');
    assert.equal(b.trySend(14), true);
    assert.equal(await second, 14);
    fill(b, 15, 3);
    assert.deepEqual(slots.slice(0, 4), [undefined, undefined, undefined, undefined], 'the old array is never written again');
    assert.deepEqual([b.tryReceive(), b.tryReceive(), b.tryReceive()], [15, 16, 17]);
    assertCounts(b, 18, 18);
  });

  it('receive() – a large ring restarts in place too, and the counts carry over', async () => {
    const b = probe({ capacity: 20_000 });
    fill(b, 0, 20_000);
    for (let i = 0; i < 20_000; i++) assert.equal(b.tryReceive(), i);
    const slots = b.slotArray;
    const waiting = b.receive();
    assert.equal(b.slotArray, slots);
    b.close();
    assert.equal(await waiting, undefined);
    assertCounts(b, 20_000, 20_000);
  });

  it('trySend()/tryReceive()/receiveBatch() – counts stay exact over many restarts with drops', async () => {
    const b = probe({ capacity: 8, overflow: 'drop-oldest' });
    let next = 0;
    let delivered = 0;
    for (let round = 0; round < 50; round++) {
      const n = (round * 7) % 13; // 0..12: some rounds overflow and evict
      fill(b, next, n);
      next += n;
      if (round % 3 === 0 && b.size !== 0) delivered += (await b.receiveBatch(8)).length;
      else for (let x = b.tryReceive(); x !== undefined; x = b.tryReceive()) delivered++;
    }
    const s = b.stats();
    assert.equal(s.accepted, next);
    assert.equal(s.delivered, delivered);
    assert.equal(s.accepted, delivered + s.size + s.droppedBy['drop-oldest']);
  });
});
