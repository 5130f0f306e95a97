import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, type ChannelState, type ChannelStats } from './index.js';
import { flushMicrotasks } from '../testing/index.js';
import { InvalidArgumentError } from '../errors/index.js';

function invariant(stats: ChannelStats): void {
  const sum = Object.values(stats.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(stats.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(stats.offered, stats.delivered + stats.size + stats.dropped, 'offered === delivered + size + dropped');
}

describe('Channel state and pressure', () => {
  it('state - moves through normal, elevated, critical, blocked and back', () => {
    const ch = new Channel<number>({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const seen: [ChannelState, ChannelState][] = [];
    ch.onStateChange((s, prev) => seen.push([s, prev]));
    for (let i = 0; i < 10; i++) ch.trySend(i);
    for (let i = 0; i < 10; i++) ch.tryReceive();
    ch.close();
    assert.deepEqual(seen, [
      ['elevated', 'normal'],
      ['critical', 'elevated'],
      ['blocked', 'critical'],
      ['critical', 'blocked'],
      ['elevated', 'critical'],
      ['normal', 'elevated'],
      ['closed', 'normal'],
    ]);
  });

  it('state - reports the size at each transition boundary', () => {
    const ch = new Channel<number>({ capacity: 10 });
    const at: Record<string, number> = {};
    ch.onStateChange((s) => (at[s] ??= ch.size));
    for (let i = 0; i < 10; i++) ch.trySend(i);
    assert.deepEqual(at, { elevated: 2, critical: 8, blocked: 10 });
  });

  it('pressured - turns on at the high watermark and off only at the low watermark', () => {
    const ch = new Channel<number>({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const events: boolean[] = [];
    const off = ch.onPressureChange((p) => events.push(p));
    for (let i = 0; i < 7; i++) ch.trySend(i);
    assert.equal(ch.pressured, false);
    ch.trySend(7);
    assert.equal(ch.pressured, true, 'on at 8 of 10');
    for (let i = 0; i < 5; i++) ch.tryReceive();
    assert.equal(ch.size, 3);
    assert.equal(ch.pressured, true, 'still on between the watermarks');
    ch.trySend(99);
    ch.tryReceive();
    ch.tryReceive();
    assert.equal(ch.size, 2);
    assert.equal(ch.pressured, false, 'off at 2 of 10');
    assert.deepEqual(events, [true, false]);
    assert.equal(ch.stats().pressureEvents, 1);
    off();
    for (let i = 0; i < 8; i++) ch.trySend(i);
    assert.deepEqual(events, [true, false], 'unsubscribed listener is not called');
    assert.equal(ch.stats().pressureEvents, 2);
  });

  it('state - is current without any listener, at every size on the way up and down', () => {
    const ch = new Channel<number>({ capacity: 10, highWatermark: 0.75, lowWatermark: 0.25 });
    const expected = (size: number): ChannelState =>
      size >= 10 ? 'blocked' : size >= 7.5 ? 'critical' : size >= 2.5 ? 'elevated' : 'normal';
    for (let i = 0; i < 10; i++) {
      assert.equal(ch.state, expected(ch.size), `at size ${ch.size} going up`);
      ch.trySend(i);
    }
    for (let i = 0; i < 10; i++) {
      assert.equal(ch.state, expected(ch.size), `at size ${ch.size} going down`);
      assert.equal(ch.stats().state, ch.state);
      ch.tryReceive();
    }
    ch.trySend(1);
    ch.close();
    assert.equal(ch.state, 'draining');
    ch.tryReceive();
    assert.equal(ch.state, 'closed');
  });

  it('onStateChange() - a listener added mid-way hears the next change with the right previous state', () => {
    const ch = new Channel<number>({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    for (let i = 0; i < 5; i++) ch.trySend(i); // elevated, untracked so far
    const seen: [ChannelState, ChannelState][] = [];
    const off = ch.onStateChange((s, prev) => seen.push([s, prev]));
    assert.deepEqual(seen, [], 'subscribing reports nothing');
    for (let i = 0; i < 3; i++) ch.trySend(i);
    assert.deepEqual(seen, [['critical', 'elevated']]);
    off();
    for (let i = 0; i < 8; i++) ch.tryReceive(); // down to normal while nobody listens
    const later: [ChannelState, ChannelState][] = [];
    ch.onStateChange((s, prev) => later.push([s, prev]));
    ch.trySend(1);
    ch.trySend(2);
    assert.deepEqual(later, [['elevated', 'normal']], 'a new listener starts from the current state, not a stale one');
    assert.equal(seen.length, 1, 'the unsubscribed listener heard nothing more');
  });

  it('onStateChange() - a throwing listener does not corrupt the channel', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.onStateChange(() => {
      throw new Error('listener bug');
    });
    const errors: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => errors.push(e));
    try {
      ch.trySend(1);
      ch.trySend(2);
      await flushMicrotasks();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.equal(ch.size, 2);
    assert.ok(errors.length >= 1);
    invariant(ch.stats());
  });
});

describe('Channel listener arguments', () => {
  it('onStateChange(), onPressureChange(), onSpillError() - a non-function is a coded InvalidArgumentError naming the method', () => {
    const ch = new Channel<number>({ capacity: 4 });
    for (const [name, call] of [
      ['onStateChange', () => ch.onStateChange('x' as never)],
      ['onPressureChange', () => ch.onPressureChange(42 as never)],
      ['onSpillError', () => ch.onSpillError(null as never)],
    ] as const) {
      assert.throws(call, (error: unknown) => error instanceof InvalidArgumentError && error.code === 'ERR_SLUICE_INVALID_ARGUMENT' && error.message.startsWith(`${name}(listener)`));
    }
  });
});
