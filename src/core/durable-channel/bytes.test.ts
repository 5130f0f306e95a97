import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../testing/index.js';
import { InvalidArgumentError, InvalidOptionError, OverflowError } from '../errors/index.js';
import { DurableChannel, MemoryStore, type DurableChannelStats } from './index.js';
import { GatedStore, assertInvariant, settle } from './channel.test-helpers.js';

// maxBytes on a DurableChannel bounds what it holds in memory: the items
// admitted and on their way to the store (committing).

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function assertBytes(s: DurableChannelStats): void {
  assert.equal(s.offeredBytes, s.acceptedBytes! + s.droppedBytes!, `offeredBytes === acceptedBytes + droppedBytes in ${JSON.stringify(s)}`);
  assert.ok(s.bytes! >= 0);
}

function gated(options: { capacity?: number; maxBytes: number; overflow?: 'block' | 'drop-newest' | 'reject' | 'sample'; maxBlockMs?: number }) {
  const clock = new VirtualClock();
  const store = new GatedStore<string>(new MemoryStore<string>({ clock }));
  const channel = new DurableChannel<string>({ store, clock, visibilityTimeoutMs: 1000, capacity: 100, ...options });
  return { clock, store, channel };
}

describe('DurableChannel byte budget', () => {
  it('send() - a stalled store: memory holds at most maxBytes; a blocked producer joins the next commit once the bytes fit', async () => {
    const { store, channel } = gated({ maxBytes: 10 });
    await channel.ready();
    const first = channel.send('aaaa');
    const second = channel.send('bbbb'); // one commit of 8 bytes, stalled in the store
    await settle();
    assert.equal(store.waiting, 1);
    assert.equal(channel.bytes, 8);
    const third = channel.send('cccc'); // 12 > 10: waits for room
    await settle();
    let s = channel.stats();
    assert.equal(s.waiting, 1);
    assert.equal(s.committing, 2);
    // 2 of 100 items, 8 of 10 bytes: state, pressure and utilization follow the fuller bound.
    assert.equal(s.state, 'critical');
    assert.equal(s.pressured, true);
    assert.equal(s.utilization, 0.8);
    assertBytes(s);
    store.release(); // the 8 bytes are stored: 'cccc' joins the next commit
    assert.deepEqual(await Promise.all([first, second]), [true, true]);
    await settle();
    s = channel.stats();
    assert.equal(s.waiting, 0);
    assert.equal(s.bytes, 4);
    assert.equal(s.acceptedBytes, 8);
    store.release();
    assert.equal(await third, true);
    s = channel.stats();
    assert.equal(s.bytes, 0);
    assert.equal(s.acceptedBytes, 12);
    assertBytes(s);
    assertInvariant(channel as DurableChannel<unknown>);
    assert.deepEqual(store.appendCalls, [['aaaa', 'bbbb'], ['cccc']]);
    await channel.detach();
  });

  it('send() - an item larger than maxBytes is dropped as too-large at once; a full budget drops, rejects or samples like a full capacity', async () => {
    for (const overflow of ['drop-newest', 'reject', 'sample'] as const) {
      const { store, channel } = gated({ maxBytes: 6, overflow });
      await channel.ready();
      assert.equal(await channel.send('x'.repeat(7)), false, overflow);
      assert.equal(channel.stats().droppedBy['too-large'], 1);
      const admitted = channel.send('aaaaa');
      await settle();
      const refused = channel.send('bb'); // 5 + 2 > 6
      if (overflow === 'reject') await assert.rejects(refused, OverflowError);
      else assert.equal(await refused, false);
      const s = channel.stats();
      assert.equal(s.droppedBy[overflow === 'reject' ? 'rejected' : overflow === 'sample' ? 'sample' : 'drop-newest'], 1, overflow);
      assert.equal(s.droppedBytes, 9);
      store.release();
      assert.equal(await admitted, true);
      assertBytes(channel.stats());
      await channel.detach();
    }
  });

  it("send() - under 'drop-oldest' with the bytes full the new item is dropped (drop-newest): committing items have joined a commit", async () => {
    const clock = new VirtualClock();
    const channel = new DurableChannel<string>({ store: new MemoryStore<string>({ clock }), clock, capacity: 100, maxBytes: 6, overflow: 'drop-oldest' });
    await channel.ready();
    const sends = [channel.send('aaa'), channel.send('bbb'), channel.send('cc')]; // one batch: the third does not fit
    assert.deepEqual(await Promise.all(sends), [true, true, false]);
    const s = channel.stats();
    assert.equal(s.droppedBy['drop-newest'], 1);
    assert.equal(s.droppedBy['drop-oldest'], 0);
    assert.equal(s.size, 2);
    assertBytes(s);
    await channel.detach();
  });

  it('send() - a failed commit: its bytes leave memory and are not offered, as its items', async () => {
    const { store, channel } = gated({ maxBytes: 100 });
    await channel.ready();
    const sent = channel.send('abc');
    await settle();
    store.fail(new Error('disk full'));
    await assert.rejects(sent, /disk full/);
    const s = channel.stats();
    assert.equal(s.bytes, 0);
    assert.equal(s.offeredBytes, 0);
    assertBytes(s);
    await channel.detach();
  });

  it('setMaxBytes() - raised, a waiting producer joins the next commit; lowered, nothing committing is dropped; counted and reported', async () => {
    const { store, channel } = gated({ maxBytes: 5 });
    await channel.ready();
    const events: string[] = [];
    channel.onReconfigure((e) => events.push(`${e.setting}: ${e.previous} -> ${e.value}`));
    const first = channel.send('aaaa');
    await settle();
    const waiting = channel.send('bbbb');
    await settle();
    assert.equal(channel.stats().waiting, 1);
    channel.setMaxBytes(8);
    assert.equal(channel.stats().waiting, 0, 'the raised budget let the producer in');
    assert.equal(channel.bytes, 8);
    channel.setMaxBytes(2); // below the 8 bytes committing: nothing dropped
    assert.equal(channel.bytes, 8);
    assert.equal(channel.state, 'blocked');
    assert.equal(await channel.send('ccc'), false, 'larger than the new budget: too-large');
    channel.setMaxBytes(2); // unchanged: nothing happens
    store.release();
    await settle();
    store.release();
    assert.deepEqual(await Promise.all([first, waiting]), [true, true]);
    const s = channel.stats();
    assert.equal(s.adjustments, 2);
    assert.equal(s.maxBytes, 2);
    assert.deepEqual(events, ['maxBytes: 5 -> 8', 'maxBytes: 8 -> 2']);
    assertBytes(s);
    await channel.detach();
  });

  it('options, setMaxBytes() - bad values are coded errors naming the field and change nothing; no budget, no byte fields and no setMaxBytes', async () => {
    const clock = new VirtualClock();
    const store = new MemoryStore<string>({ clock });
    assert.throws(() => new DurableChannel<string>({ store, clock, maxBytes: 0 }), isField('maxBytes'));
    assert.throws(() => new DurableChannel<string>({ store, clock, sizeOf: (s) => s.length }), isField('sizeOf'));
    const channel = new DurableChannel<{ n: number }>({ store: new MemoryStore<{ n: number }>({ clock }), clock, maxBytes: 100, sizeOf: (x) => x.n });
    await channel.ready();
    for (const bad of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) assert.throws(() => channel.setMaxBytes(bad), isField('maxBytes'));
    assert.equal(channel.maxBytes, 100);
    await assert.rejects(channel.send({ n: Number.NaN }), isField('sizeOf'));
    await assert.rejects(channel.send({ n: -1 }), isField('sizeOf'));
    assert.equal(channel.stats().offered, 0, 'a bad size is not counted');
    await channel.detach();
    const plain = new DurableChannel<string>({ store, clock });
    assert.throws(() => plain.setMaxBytes(10), (e: unknown) => e instanceof InvalidArgumentError && /built without maxBytes/.test(e.message));
    assert.equal('bytes' in plain.stats(), false);
    await plain.detach();
  });

  it('stats() - property: random sizes, sends, commits, failures, timeouts and setMaxBytes keep the byte accounting balanced and memory within the budget', async () => {
    type Op = { kind: 'send'; size: number; timeoutMs?: number } | { kind: 'release' } | { kind: 'fail' } | { kind: 'advance'; ms: number } | { kind: 'setMaxBytes'; value: number } | { kind: 'consume' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('send' as const), size: fc.integer({ min: 0, max: 12 }), timeoutMs: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined, freq: 2 }) }) },
      { weight: 6, arbitrary: fc.constant({ kind: 'release' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'fail' as const }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('setMaxBytes' as const), value: fc.integer({ min: 1, max: 20 }) }) },
      { weight: 3, arbitrary: fc.constant({ kind: 'consume' as const }) },
    );
    const configArb = fc.record({
      overflow: fc.constantFrom('block' as const, 'drop-newest' as const, 'reject' as const, 'sample' as const),
      capacity: fc.integer({ min: 1, max: 6 }),
      maxBytes: fc.integer({ min: 1, max: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), async (config, ops) => {
        const { clock, store, channel } = gated(config);
        await channel.ready();
        let id = 0;
        const sends: { size: number; outcome?: 'stored' | 'dropped' | 'failed' }[] = [];
        let peak = 0; // lowering the budget drops nothing committing: memory may stay above it until the commits settle
        const check = () => {
          const s = channel.stats();
          assertBytes(s);
          const sum = (o: string | undefined) => sends.filter((x) => x.outcome === o).reduce((a, x) => a + x.size, 0);
          assert.equal(s.acceptedBytes, sum('stored'), 'acceptedBytes are the bytes of the sends that resolved true');
          assert.equal(s.droppedBytes, sum('dropped'), 'droppedBytes are the bytes of the sends dropped');
          assert.ok(s.bytes! <= Math.max(s.maxBytes!, peak), `memory within the budget in ${JSON.stringify(s)}`);
          if (s.committing === 0) assert.equal(s.bytes, 0, 'nothing committing, no bytes held');
          assertInvariant(channel as DurableChannel<unknown>);
        };
        try {
          for (const op of ops) {
            switch (op.kind) {
              case 'send': {
                const entry: (typeof sends)[number] = { size: op.size };
                sends.push(entry);
                channel.send(`${id++}`.padEnd(op.size, '.').slice(0, op.size) || '', op.timeoutMs === undefined ? undefined : { timeoutMs: op.timeoutMs }).then(
                  (ok) => (entry.outcome = ok ? 'stored' : 'dropped'),
                  (error: unknown) => (entry.outcome = error instanceof OverflowError ? 'dropped' : 'failed'),
                );
                break;
              }
              case 'release':
                store.release();
                break;
              case 'fail':
                store.fail(new Error('store down'));
                break;
              case 'advance':
                await clock.advanceAsync(op.ms);
                break;
              case 'setMaxBytes':
                peak = op.value < channel.maxBytes! ? Math.max(peak, channel.bytes) : channel.bytes;
                channel.setMaxBytes(op.value);
                break;
              case 'consume': {
                const controller = new AbortController();
                const leased = channel.receive({ signal: controller.signal }).catch(() => undefined);
                await settle();
                controller.abort(); // nothing visible: give up, on no timer
                const lease = await leased;
                if (lease) await channel.ack(lease.id);
                break;
              }
            }
            await settle();
            check();
          }
        } finally {
          while (store.waiting !== 0) {
            store.release();
            await settle();
          }
          await channel.detach();
        }
      }),
      { numRuns: 150 },
    );
  });
});
