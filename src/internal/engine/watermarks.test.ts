import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { watermarks } from './watermarks.js';
import { Channel } from '../../core/channel/index.js';
import { MemoryStore } from '../../core/durable-channel/index.js';
import { VirtualClock, flushMicrotasks } from '../../core/testing/index.js';

describe('watermarks()', () => {
  it('watermarks() - integer limits: critical and sampling start at the high limit, pressure ends at the low one', () => {
    assert.deepEqual(watermarks(10, 0.8, 0.2), { highLimit: 8, lowLimit: 2, highStart: 8, lowStart: 2, pressureOffBelow: 3, lowEnd: 2 });
  });

  it('watermarks() - fractional limits round up for "at or above" and down for "at or below"', () => {
    const m = watermarks(7, 0.5, 0.3);
    assert.equal(m.highLimit, 3.5);
    assert.equal(m.highStart, 4);
    assert.equal(m.lowStart, 3);
    assert.equal(m.lowEnd, 2);
    assert.equal(m.pressureOffBelow, 3);
  });

  it('watermarks() - a high watermark of 1 starts at capacity, never past it', () => {
    const m = watermarks(5, 1, 1);
    assert.equal(m.highStart, 5);
    assert.equal(m.lowEnd, 5);
  });

  it('Channel - state, pressure and spill all switch at the sizes watermarks() gives', async () => {
    const capacity = 7;
    const m = watermarks(capacity, 0.5, 0.3);
    const ch = new Channel<number>({ capacity, highWatermark: 0.5, lowWatermark: 0.3 });
    for (let i = 0; i < m.highStart - 1; i++) ch.trySend(i);
    assert.equal(ch.pressured, false);
    assert.notEqual(ch.state, 'critical');
    ch.trySend(0);
    assert.equal(ch.pressured, true, 'pressure on at highStart');
    assert.equal(ch.state, 'critical');
    while (ch.size > m.pressureOffBelow) ch.tryReceive();
    assert.equal(ch.pressured, true, 'still pressured above lowLimit');
    ch.tryReceive();
    assert.equal(ch.size, m.lowEnd);
    assert.equal(ch.pressured, false, 'off at lowEnd');

    // A spill channel keeps offers in memory below highStart and sends the next one to the store.
    const spilled = new Channel<number>({ capacity, highWatermark: 0.5, lowWatermark: 0.3, spill: new MemoryStore<number>({ clock: new VirtualClock() }) });
    await flushMicrotasks(); // the store's earlier contents are counted first
    for (let i = 0; i < m.highStart; i++) spilled.trySend(i);
    assert.equal(spilled.stats().spillWriting, 0);
    spilled.trySend(99);
    assert.equal(spilled.stats().spillWriting, 1, 'the offer at highStart goes to the store');
  });
});
