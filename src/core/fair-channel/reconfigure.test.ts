import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FairChannel, fairDropReasons, type FairChannelOptions, type FairChannelStats, type FairReconfigureEvent } from './index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

function balanced(s: FairChannelStats): void {
  assert.equal(s.dropped, fairDropReasons.reduce((a, k) => a + s.droppedBy[k], 0), 'dropped is the sum of droppedBy');
  assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
}

function setup(options: Omit<FairChannelOptions<string>, 'clock' | 'key'>) {
  const clock = new VirtualClock();
  // Items are "<key>:<n>"; the key is what comes before the colon.
  const ch = new FairChannel<string>({ clock, key: (s) => s.split(':')[0]!, ...options });
  const events: FairReconfigureEvent[] = [];
  ch.onReconfigure((e) => events.push(e));
  return { clock, ch, events };
}

function drain(ch: FairChannel<string>): string[] {
  const out: string[] = [];
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) out.push(x);
  return out;
}

describe('FairChannel runtime settings', () => {
  it('resize() - grown: waiting senders are let in at once, keys in round robin and FIFO within a key; counted and reported', async () => {
    const { ch, events } = setup({ capacity: 2, perKeyCapacity: 2, overflow: 'block' });
    ch.trySend('x:0');
    ch.trySend('y:0');
    const order: string[] = [];
    const sends = ['a:1', 'a:2', 'b:1', 'a:3'].map((item) => ch.send(item).then(() => order.push(item)));
    assert.equal(ch.stats().waiting, 4);
    ch.resize(5);
    assert.equal(ch.capacity, 5);
    assert.equal(ch.size, 5);
    await flushMicrotasks();
    assert.deepEqual(order, ['a:1', 'b:1', 'a:2'], 'waiting keys take turns');
    assert.deepEqual(events, [{ setting: 'capacity', previous: 2, value: 5 }]);
    assert.deepEqual(drain(ch), ['x:0', 'y:0', 'a:1', 'b:1', 'a:2', 'a:3']);
    await Promise.all(sends);
    const s = ch.stats();
    assert.equal(s.capacity, 5);
    assert.equal(s.adjustments, 1);
    assert.equal(s.dropped, 0);
    balanced(s);
  });

  it('resize() - shrunk below the size: nothing buffered is dropped, offers meet the strategy until the size fits', async () => {
    for (const [overflow, reason] of [['drop-newest', 'drop-newest'], ['reject', 'rejected']] as const) {
      const { ch } = setup({ capacity: 6, perKeyCapacity: 2, overflow });
      for (const k of ['a', 'b', 'c', 'd']) ch.trySend(`${k}:0`);
      ch.resize(2);
      assert.equal(ch.size, 4, overflow);
      assert.equal(ch.state, 'blocked', overflow);
      assert.equal(ch.trySend('e:0'), false, overflow);
      assert.equal(ch.stats().droppedBy[reason], 1, overflow);
      ch.tryReceive();
      ch.tryReceive();
      assert.equal(ch.trySend('e:1'), false, `${overflow}: size 2 is not below capacity 2`);
      ch.tryReceive();
      assert.equal(ch.trySend('e:2'), true, overflow);
      balanced(ch.stats());
    }
    const { ch } = setup({ capacity: 4, perKeyCapacity: 1, overflow: 'block' });
    for (const k of ['a', 'b', 'c']) ch.trySend(`${k}:0`);
    ch.resize(1);
    let done = false;
    const waiting = ch.send('d:0').then((v) => (done = v));
    ch.tryReceive();
    ch.tryReceive();
    await flushMicrotasks();
    assert.equal(done, false);
    ch.tryReceive();
    await flushMicrotasks();
    assert.equal(done, true);
    await waiting;
    assert.equal(ch.stats().dropped, 0);
    balanced(ch.stats());
  });

  it('resize() - bad values throw a coded error naming capacity and change nothing, one below perKeyCapacity included', () => {
    const { ch, events } = setup({ capacity: 10, perKeyCapacity: 4 });
    for (const bad of [0, -1, 2.5, NaN, Infinity, '5', undefined]) {
      assert.throws(() => ch.resize(bad as number), isField('capacity'), String(bad));
    }
    assert.throws(() => ch.resize(3), (e: unknown) => isField('capacity')(e) && /perKeyCapacity \(4\)/.test((e as Error).message));
    assert.equal(ch.capacity, 10);
    ch.resize(4);
    assert.deepEqual(events, [{ setting: 'capacity', previous: 10, value: 4 }]);
    ch.resize(4);
    assert.equal(ch.stats().adjustments, 1, 'the current capacity is not counted');
  });

  it('setPerKeyCapacity() - lowered: a key keeps its items and is full until it fits; raised: its waiting producers are let in', async () => {
    const { ch, events } = setup({ capacity: 10, perKeyCapacity: 4, overflow: 'block' });
    for (let n = 0; n < 4; n++) ch.trySend(`a:${n}`);
    ch.setPerKeyCapacity(2);
    assert.equal(ch.perKeyCapacity, 2);
    assert.equal(ch.size, 4, 'nothing dropped');
    assert.equal(ch.trySend('a:4'), false);
    assert.equal(ch.trySend('b:0'), true, 'other keys are unaffected');
    const late = ch.send('a:5');
    assert.equal(ch.stats().waiting, 1);
    ch.setPerKeyCapacity(6);
    assert.equal(await late, true);
    assert.equal(ch.stats().largestKeySize, 5);
    assert.deepEqual(events, [
      { setting: 'perKeyCapacity', previous: 4, value: 2 },
      { setting: 'perKeyCapacity', previous: 2, value: 6 },
    ]);
    assert.equal(ch.stats().perKeyCapacity, 6);
    assert.equal(ch.stats().adjustments, 2);
    balanced(ch.stats());
  });

  it('setPerKeyCapacity() - lowered under drop-newest: the key\'s offers count as key-full until it fits', () => {
    const { ch } = setup({ capacity: 10, perKeyCapacity: 3 });
    for (let n = 0; n < 3; n++) ch.trySend(`a:${n}`);
    ch.setPerKeyCapacity(1);
    assert.equal(ch.trySend('a:3'), false);
    assert.equal(ch.stats().droppedBy['key-full'], 1);
    drain(ch);
    assert.equal(ch.trySend('a:4'), true);
    assert.equal(ch.trySend('a:5'), false);
    balanced(ch.stats());
  });

  it('setPerKeyCapacity() - bad values throw a coded error naming perKeyCapacity and change nothing', () => {
    const { ch, events } = setup({ capacity: 10, perKeyCapacity: 4 });
    for (const bad of [0, 11, 1.5, NaN, '3', undefined]) {
      assert.throws(() => ch.setPerKeyCapacity(bad as number), isField('perKeyCapacity'), String(bad));
    }
    ch.setPerKeyCapacity(4);
    assert.equal(ch.perKeyCapacity, 4);
    assert.deepEqual(events, []);
    assert.equal(ch.stats().adjustments, 0);
  });

  it('setWatermarks() - pressure re-derived at once both ways; bad values name the field and move nothing', () => {
    const { ch, events } = setup({ capacity: 10, perKeyCapacity: 10 });
    const pressure: boolean[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    for (let n = 0; n < 5; n++) ch.trySend(`a:${n}`);
    assert.throws(() => ch.setWatermarks(2, 0.1), isField('highWatermark'));
    assert.throws(() => ch.setWatermarks(0.5, 0.6), isField('lowWatermark'));
    assert.deepEqual(events, []);
    ch.setWatermarks(0.5, 0.3);
    assert.deepEqual(pressure, [true]);
    ch.setWatermarks(0.9, 0.5);
    assert.deepEqual(pressure, [true, false]);
    assert.equal(ch.highWatermark, 0.9);
    assert.equal(ch.lowWatermark, 0.5);
    assert.equal(ch.stats().adjustments, 2);
    assert.equal(events.length, 4);
  });

  it('onReconfigure() - a non-function is a coded error', () => {
    const { ch } = setup({ capacity: 10, perKeyCapacity: 4 });
    assert.throws(() => ch.onReconfigure('x' as never), (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
  });
});
