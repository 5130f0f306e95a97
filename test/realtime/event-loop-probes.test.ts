// Event-loop probes against the real event loop: these tests wait on real timers
// and block the loop for tens of milliseconds, then read what the probe measured,
// which no virtual clock can stand in for (their option checks and sampling schedule are unit-tested in
// src/core/pressure/probes.test.ts). Bounds are generous for a busy machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventLoopDelay, eventLoopStall, eventLoopUtilization } from '../../src/core/pressure/index.js';

/** Blocks the event loop for `ms`. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('eventLoopDelay() on the real event loop', () => {
  it('eventLoopDelay() - reads 0 before the first sample, then a finite non-negative number', async () => {
    const probe = eventLoopDelay({ thresholdMs: 50, sampleIntervalMs: 20 });
    try {
      assert.equal(probe.read(), 0);
      await sleep(70);
      const reading = probe.read();
      assert.ok(Number.isFinite(reading) && reading >= 0, `reading ${reading}`);
      assert.ok(probe.stats().samples >= 1);
    } finally {
      probe.close();
    }
  });

  it('eventLoopDelay() - the reading rises after the loop is blocked for 50 ms', async () => {
    const probe = eventLoopDelay({ thresholdMs: 20, sampleIntervalMs: 40, statistic: 'max' });
    try {
      await sleep(100);
      const before = probe.read();
      await sleep(15); // not aligned with the sampler
      busyWait(60);
      let peak = 0;
      for (let i = 0; i < 20; i++) {
        await sleep(10);
        peak = Math.max(peak, probe.read());
      }
      // a 60 ms stall reads about 50-60 ms, i.e. ~2.5-3x the 20 ms threshold; bounds are generous for noisy machines
      assert.ok(peak >= 1.5, `peak ${peak} (before ${before})`);
      assert.ok(peak > before, `peak ${peak} not above before ${before}`);
    } finally {
      probe.close();
    }
  });
});

describe('eventLoopUtilization() on the real event loop', () => {
  it('eventLoopUtilization() - reads the busy share of the last interval divided by threshold', async () => {
    const probe = eventLoopUtilization({ threshold: 0.5, sampleIntervalMs: 30 });
    try {
      assert.equal(probe.read(), 0);
      await sleep(40);
      busyWait(40);
      await sleep(5);
      const { value, pressure, samples } = probe.stats();
      assert.ok(samples >= 1);
      assert.ok(Number.isFinite(value) && value >= 0 && value <= 1, `utilization ${value}`);
      assert.equal(pressure, value / 0.5);
      assert.equal(probe.read(), pressure);
    } finally {
      probe.close();
    }
  });
});

describe('eventLoopStall() on the real event loop', () => {
  it('read() - with the system clock, synchronous work in one turn reads over threshold, the next turn starts afresh', async () => {
    const stall = eventLoopStall({ thresholdMs: 10 });
    await sleep(5);
    assert.equal(stall.read(), 0);
    busyWait(25);
    const inTurn = stall.read();
    assert.ok(inTurn >= 2.5 && inTurn < 20, `in-turn reading ${inTurn}`);
    await sleep(5);
    assert.equal(stall.read(), 0);
    stall.close();
  });
});
