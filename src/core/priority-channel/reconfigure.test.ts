import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PriorityChannel, priorityDropReasons, type PriorityChannelOptions, type PriorityChannelStats } from './index.js';
import type { ChannelReconfigureEvent } from '../channel/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

const LEVELS = ['critical', 'normal', 'batch'] as const;
type Level = (typeof LEVELS)[number];

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

/** offered === delivered + size + dropped, for the totals and for every level. */
function balanced(s: PriorityChannelStats): void {
  for (const [name, r] of [['total', s], ...Object.entries(s.levels)] as const) {
    assert.equal(r.dropped, priorityDropReasons.reduce((a, k) => a + r.droppedBy[k], 0), `${name}: dropped is the sum of droppedBy`);
    assert.equal(r.offered, r.delivered + r.size + r.dropped, `${name}: offered === delivered + size + dropped`);
  }
}

function setup(options: Omit<PriorityChannelOptions<Level>, 'levels' | 'clock'>) {
  const clock = new VirtualClock();
  const ch = new PriorityChannel<string, Level>({ levels: LEVELS, clock, ...options });
  const events: ChannelReconfigureEvent[] = [];
  ch.onReconfigure((e) => events.push(e));
  return { clock, ch, events };
}

function drain(ch: PriorityChannel<string, Level>): string[] {
  const out: string[] = [];
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) out.push(x);
  return out;
}

describe('PriorityChannel runtime settings', () => {
  it('resize() - grown: waiting senders are let in at once, highest level first and FIFO within a level; counted and reported', async () => {
    const { ch, events } = setup({ capacity: 2 });
    ch.trySend('b0');
    ch.trySend('b1');
    const order: string[] = [];
    const b2 = ch.send('b2').then(() => order.push('b2'));
    const n1 = ch.send('n1', { priority: 'normal' }).then(() => order.push('n1'));
    const c1 = ch.send('c1', { priority: 'critical' }).then(() => order.push('c1'));
    const n2 = ch.send('n2', { priority: 'normal' }).then(() => order.push('n2'));
    assert.equal(ch.stats().waiting, 4);
    ch.resize(5);
    assert.equal(ch.capacity, 5);
    assert.equal(ch.size, 5, 'three let in at once');
    await flushMicrotasks();
    assert.deepEqual(order, ['c1', 'n1', 'n2'], 'as freed slots would have let them in');
    assert.deepEqual(events, [{ setting: 'capacity', previous: 2, value: 5 }]);
    assert.equal(ch.stats().levels.batch.waiting, 1, 'b2 still waits: no room for it');
    assert.deepEqual(drain(ch), ['c1', 'n1', 'n2', 'b0', 'b1', 'b2'], 'strict priority; b2 let in as room freed');
    await Promise.all([b2, n1, c1, n2]);
    const s = ch.stats();
    assert.equal(s.capacity, 5);
    assert.equal(s.adjustments, 1);
    assert.equal(s.dropped, 0);
    balanced(s);
  });

  it('resize() - shrunk below the size: nothing buffered is dropped, block senders wait until the size fits', async () => {
    const { ch } = setup({ capacity: 6 });
    for (let i = 1; i <= 5; i++) ch.trySend(`b${i}`);
    ch.resize(2);
    assert.equal(ch.size, 5, 'a shrink keeps every buffered item');
    assert.equal(ch.state, 'blocked');
    assert.equal(ch.trySend('c', { priority: 'critical' }), false, 'even the top level is refused while the size is over capacity');
    let done = false;
    const waiting = ch.send('c', { priority: 'critical' }).then((v) => (done = v));
    await flushMicrotasks();
    assert.equal(done, false);
    assert.deepEqual([ch.tryReceive(), ch.tryReceive(), ch.tryReceive()], ['b1', 'b2', 'b3']);
    await flushMicrotasks();
    assert.equal(done, false, 'size 2 is not below the new capacity 2');
    assert.equal(ch.tryReceive(), 'b4');
    await flushMicrotasks();
    assert.equal(done, true);
    await waiting;
    assert.deepEqual(drain(ch), ['c', 'b5']);
    const s = ch.stats();
    assert.equal(s.dropped, 0);
    balanced(s);
  });

  it('resize() - shrunk under drop-newest and reject: offers are refused with the strategy\'s reason, in their level, until the size fits', async () => {
    for (const [overflow, reason] of [['drop-newest', 'drop-newest'], ['reject', 'rejected']] as const) {
      const { ch } = setup({ capacity: 5, overflow });
      for (let i = 1; i <= 4; i++) ch.trySend(`b${i}`);
      ch.resize(2);
      assert.equal(ch.trySend('n', { priority: 'normal' }), false, overflow);
      assert.equal(ch.size, 4, overflow);
      const s = ch.stats();
      assert.equal(s.levels.normal.droppedBy[reason], 1, overflow);
      assert.equal(s.dropped, 1, overflow);
      balanced(s);
      assert.deepEqual(drain(ch), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(ch.trySend('n2', { priority: 'normal' }), true, `${overflow}: room again below the new capacity`);
      balanced(ch.stats());
    }
  });

  it('resize() - shrunk under shed-lowest: each higher offer sheds one lower item, so the size never grows; no lower level means drop-newest', () => {
    const { ch } = setup({ capacity: 6, overflow: 'shed-lowest' });
    for (let i = 1; i <= 4; i++) ch.trySend(`b${i}`);
    ch.trySend('n1', { priority: 'normal' });
    ch.resize(2);
    assert.equal(ch.size, 5);
    assert.equal(ch.trySend('c1', { priority: 'critical' }), true);
    assert.equal(ch.size, 5, 'one batch item shed for the critical one');
    assert.equal(ch.trySend('b5'), false, 'the lowest level has nothing below it');
    const s = ch.stats();
    assert.equal(s.levels.batch.droppedBy.shed, 1);
    assert.equal(s.levels.batch.droppedBy['drop-newest'], 1);
    balanced(s);
    assert.deepEqual(drain(ch), ['c1', 'n1', 'b2', 'b3', 'b4']);
    balanced(ch.stats());
  });

  it('resize() - the reserve stays a count of slots: the lower levels are full at the new capacity - reserve', () => {
    const { ch } = setup({ capacity: 10, reserve: 2, overflow: 'drop-newest' });
    ch.resize(5);
    for (let i = 0; i < 3; i++) assert.equal(ch.trySend(`b${i}`), true);
    assert.equal(ch.trySend('n', { priority: 'normal' }), false, 'normal is full at 5 - 2');
    assert.equal(ch.trySend('c1', { priority: 'critical' }), true);
    assert.equal(ch.trySend('c2', { priority: 'critical' }), true);
    assert.equal(ch.trySend('c3', { priority: 'critical' }), false, 'critical is full at 5');
    ch.resize(6);
    assert.equal(ch.trySend('n', { priority: 'normal' }), false, 'normal still full at 6 - 2');
    assert.equal(ch.trySend('c3', { priority: 'critical' }), true);
    balanced(ch.stats());
  });

  it('resize() - bad values throw a coded error naming capacity and change nothing, a capacity at or below the reserve included', () => {
    const { ch, events } = setup({ capacity: 10, reserve: 4 });
    for (const bad of [0, -1, 2.5, NaN, Infinity, '5', undefined]) {
      assert.throws(() => ch.resize(bad as number), isField('capacity'), String(bad));
    }
    assert.throws(() => ch.resize(4), (e: unknown) => isField('capacity')(e) && /reserve \(4\)/.test((e as Error).message));
    ch.resize(5); // just above the reserve is fine
    assert.equal(ch.capacity, 5);
    assert.deepEqual(events, [{ setting: 'capacity', previous: 10, value: 5 }]);
    assert.equal(ch.stats().adjustments, 1);
    ch.resize(5);
    assert.equal(ch.stats().adjustments, 1, 'the current capacity changes nothing and is not counted');
  });

  it('resize() - pressure and state follow the new capacity before the call returns', () => {
    const { ch } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    const states: string[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    ch.onStateChange((s) => states.push(s));
    for (let i = 0; i < 4; i++) ch.trySend(`b${i}`);
    assert.equal(ch.pressured, false);
    ch.resize(5);
    assert.deepEqual(pressure, [true]);
    assert.equal(ch.state, 'critical');
    ch.resize(40);
    assert.deepEqual(pressure, [true, false]);
    assert.equal(states.at(-1), ch.state);
    assert.equal(ch.utilization, 0.1);
  });

  it('resize() - a batch collector waiting for min(max, capacity) items is served when a shrink makes the batch due', async () => {
    const { clock, ch } = setup({ capacity: 10 });
    ch.trySend('b1');
    const batch = ch.receiveBatch(5, { maxWaitMs: 1000 });
    ch.trySend('b2');
    ch.resize(2);
    assert.deepEqual(await batch, ['b1', 'b2']);
    clock.runAll();
  });

  it('setWatermarks() - pressure re-derived at once both ways; counted once per call, each changed watermark reported', () => {
    const { ch, events } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    for (let i = 0; i < 5; i++) ch.trySend(`b${i}`);
    ch.setWatermarks(0.5, 0.3);
    assert.deepEqual(pressure, [true]);
    assert.equal(ch.highWatermark, 0.5);
    assert.equal(ch.lowWatermark, 0.3);
    ch.setWatermarks(0.9, 0.6);
    assert.deepEqual(pressure, [true, false], 'at or below the new low watermark');
    assert.deepEqual(events, [
      { setting: 'highWatermark', previous: 0.8, value: 0.5 },
      { setting: 'lowWatermark', previous: 0.2, value: 0.3 },
      { setting: 'highWatermark', previous: 0.5, value: 0.9 },
      { setting: 'lowWatermark', previous: 0.3, value: 0.6 },
    ]);
    assert.equal(ch.stats().adjustments, 2);
    ch.setWatermarks(0.9, 0.6);
    assert.equal(ch.stats().adjustments, 2);
  });

  it('setWatermarks() - bad values throw naming the field and move neither watermark', () => {
    const { ch, events } = setup({ capacity: 10 });
    assert.throws(() => ch.setWatermarks(1.5, 0.1), isField('highWatermark'));
    assert.throws(() => ch.setWatermarks(NaN, 0.1), isField('highWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, -0.1), isField('lowWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, 0.6), isField('lowWatermark'));
    assert.equal(ch.highWatermark, 0.8);
    assert.equal(ch.lowWatermark, 0.2);
    assert.deepEqual(events, []);
    assert.equal(ch.stats().adjustments, 0);
  });

  it('onReconfigure() - a non-function is a coded error; unsubscribing stops the events', () => {
    const { ch } = setup({ capacity: 10 });
    assert.throws(() => ch.onReconfigure(42 as never), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    const seen: ChannelReconfigureEvent[] = [];
    const off = ch.onReconfigure((e) => seen.push(e));
    ch.resize(20);
    off();
    ch.resize(30);
    assert.deepEqual(seen, [{ setting: 'capacity', previous: 10, value: 20 }]);
  });

  it('trySend() - the fast path follows a resize both ways', () => {
    const { ch } = setup({ capacity: 4, overflow: 'drop-newest' });
    ch.resize(100);
    for (let i = 0; i < 100; i++) assert.equal(ch.trySend(`b${i}`), true);
    assert.equal(ch.trySend('x'), false);
    drain(ch);
    ch.resize(3);
    for (let i = 0; i < 3; i++) assert.equal(ch.trySend(`b${i}`), true);
    assert.equal(ch.trySend('x'), false);
    balanced(ch.stats());
  });
});
