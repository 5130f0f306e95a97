import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from './channel.test-helpers.js';

describe('DurableChannel stats() fill rate', () => {
  it('stats() – items held grow at 50/s: the rate and the time until full follow', async () => {
    const { clock, channel } = setup({ capacity: 200 });
    assert.equal(channel.stats().fillRatePerSec, 0);
    assert.equal(channel.stats().timeToFullMs, Infinity);
    for (let i = 0; i < 100; i++) await channel.send(i);
    clock.advance(2000);
    const s = channel.stats();
    assert.equal(s.fillRatePerSec, 50);
    assert.equal(s.timeToFullMs, 2000);
  });

  it('stats() – acked items drain it: a negative rate and never full', async () => {
    const { clock, channel } = setup({ capacity: 200 });
    for (let i = 0; i < 100; i++) await channel.send(i);
    channel.stats();
    for (const item of await channel.receiveBatch(40)) await channel.ack(item.id);
    clock.advance(1000);
    const s = channel.stats();
    assert.equal(s.fillRatePerSec, -40);
    assert.equal(s.timeToFullMs, Infinity);
  });
});
