import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from './index.js';
import { VirtualClock } from '../testing/index.js';

function fill(ch: Channel<number>, n: number): void {
  for (let i = 0; i < n; i++) assert.equal(ch.trySend(i), true);
}

describe('Channel stats() fill rate and time to full', () => {
  it('stats() – the first reading has no rate yet: 0 per second and never full', () => {
    const ch = new Channel<number>({ capacity: 1000, clock: new VirtualClock() });
    fill(ch, 10);
    const s = ch.stats();
    assert.equal(s.fillRatePerSec, 0);
    assert.equal(s.timeToFullMs, Infinity);
  });

  it('stats() – a buffer filling at 100 items/s reports that rate and the time left until full', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 1000, clock });
    ch.stats();
    for (let second = 1; second <= 3; second++) {
      fill(ch, 100);
      clock.advance(1000);
      const s = ch.stats();
      assert.equal(s.fillRatePerSec, 100);
      assert.equal(s.timeToFullMs, ((1000 - 100 * second) / 100) * 1000);
    }
  });

  it('stats() – a draining buffer reports a negative rate and is never full', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 1000, clock });
    fill(ch, 500);
    ch.stats();
    for (let i = 0; i < 200; i++) ch.tryReceive();
    clock.advance(2000);
    const s = ch.stats();
    assert.equal(s.fillRatePerSec, -100);
    assert.equal(s.timeToFullMs, Infinity);
  });

  it('stats() – a full buffer has no time left', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 100, clock });
    ch.stats();
    fill(ch, 100);
    clock.advance(1000);
    assert.equal(ch.stats().timeToFullMs, 0);
  });

  it('stats() – the rate looks back at most 10 s, so a change of pace shows within that window', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 100_000, clock });
    // 20 s at 50/s, read every second, then 10 s at 200/s.
    for (let t = 0; t < 20; t++) {
      ch.stats();
      fill(ch, 50);
      clock.advance(1000);
    }
    for (let t = 0; t < 10; t++) {
      ch.stats();
      fill(ch, 200);
      clock.advance(1000);
    }
    assert.equal(ch.stats().fillRatePerSec, 200);
  });

  it('stats() – readings under 250 ms apart keep the older sample, so a busy reader still sees the rate over time', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 10_000, clock });
    ch.stats();
    for (let k = 0; k < 100; k++) {
      fill(ch, 1);
      clock.advance(10);
      ch.stats(); // 10 ms apart: no new sample
    }
    // 100 items over 1 s since the only sample.
    assert.equal(ch.stats().fillRatePerSec, 100);
  });

  it('stats() – a scrape every 15 s gets the rate over its own interval', () => {
    const clock = new VirtualClock();
    const ch = new Channel<number>({ capacity: 10_000, clock });
    ch.stats();
    fill(ch, 300);
    clock.advance(15_000);
    assert.equal(ch.stats().fillRatePerSec, 20);
  });
});
