import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelReconfigureEvent } from '../channel/index.js';
import { InvalidOptionError } from '../errors/index.js';
import { assertInvariant, settle, setup } from './channel.test-helpers.js';

function isField(field: string) {
  return (e: unknown): boolean => e instanceof InvalidOptionError && e.code === 'ERR_SLUICE_INVALID_OPTION' && e.field === field;
}

describe('DurableChannel runtime settings', () => {
  it('resize() - grown: a producer waiting under block joins the next commit; counted and reported', async () => {
    const { channel } = setup({ capacity: 2 });
    const events: ChannelReconfigureEvent[] = [];
    channel.onReconfigure((e) => events.push(e));
    await channel.send(1);
    await channel.send(2);
    let done: boolean | undefined;
    const waiting = channel.send(3).then((v) => (done = v));
    await settle();
    assert.equal(done, undefined);
    assert.equal(channel.stats().waiting, 1);
    channel.resize(3);
    await waiting;
    assert.equal(done, true);
    assert.equal(channel.size, 3);
    assert.equal(channel.capacity, 3);
    assert.deepEqual(events, [{ setting: 'capacity', previous: 2, value: 3 }]);
    assert.equal(channel.stats().adjustments, 1);
    assertInvariant(channel);
    channel.close();
  });

  it('resize() - shrunk below the size: no stored item is dropped; drop-newest refuses offers until acks make room', async () => {
    const { channel } = setup({ capacity: 4, overflow: 'drop-newest' });
    for (let i = 1; i <= 4; i++) await channel.send(i);
    channel.resize(2);
    assert.equal(channel.size, 4);
    assert.equal(channel.state, 'blocked');
    assert.equal(await channel.send(5), false);
    assert.equal(channel.stats().droppedBy['drop-newest'], 1);
    for (let i = 0; i < 3; i++) {
      const lease = await channel.receive();
      await channel.ack(lease!.id);
    }
    assert.equal(channel.size, 1);
    assert.equal(await channel.send(6), true);
    assertInvariant(channel);
    channel.close();
  });

  it('setWatermarks() - pressure follows the new thresholds at once; bad values change nothing', async () => {
    const { channel } = setup({ capacity: 10, highWatermark: 0.8, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    channel.onPressureChange((p) => pressure.push(p));
    for (let i = 0; i < 5; i++) await channel.send(i);
    assert.throws(() => channel.setWatermarks(0.4, 0.5), isField('lowWatermark'));
    assert.throws(() => channel.setWatermarks(2, 0.5), isField('highWatermark'));
    assert.throws(() => channel.resize(0), isField('capacity'));
    assert.deepEqual(pressure, []);
    channel.setWatermarks(0.5, 0.1);
    assert.deepEqual(pressure, [true]);
    assert.equal(channel.highWatermark, 0.5);
    assert.equal(channel.stats().adjustments, 1);
    channel.close();
  });
});
