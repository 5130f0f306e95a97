import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../core/channel/index.js';
import { DurableChannel, MemoryStore } from '../core/durable-channel/index.js';
import { Credits } from '../core/credits/index.js';
import { VirtualClock } from '../core/testing/index.js';

describe('longestBlockedMs', () => {
  it('Channel stats() - longestBlockedMs is the age of the oldest waiting producer; the next one takes over when it leaves', async () => {
    const clock = new VirtualClock();
    const channel = new Channel<number>({ capacity: 1, clock });
    channel.trySend(0);
    assert.equal(channel.stats().longestBlockedMs, 0);
    const controller = new AbortController();
    const first = channel.send(1, { signal: controller.signal }).catch(() => 'aborted');
    clock.advance(3000);
    const second = channel.send(2);
    clock.advance(1000);
    assert.equal(channel.stats().longestBlockedMs, 4000);
    controller.abort();
    assert.equal(await first, 'aborted');
    assert.equal(channel.stats().longestBlockedMs, 1000, 'the second producer, blocked since 3 s');
    channel.tryReceive();
    await second;
    assert.equal(channel.stats().longestBlockedMs, 0);
  });

  it('DurableChannel stats() - longestBlockedMs is the age of the oldest waiting producer', async () => {
    const clock = new VirtualClock();
    const channel = new DurableChannel<number>({ store: new MemoryStore(), capacity: 1, clock });
    await channel.send(0);
    const blocked = channel.send(1).catch((e: Error) => e.name);
    clock.advance(2500);
    assert.equal(channel.stats().longestBlockedMs, 2500);
    channel.close();
    assert.equal(await blocked, 'ClosedError');
    assert.equal(channel.stats().longestBlockedMs, 0);
  });

  it('Credits stats() - longestBlockedMs follows the queue head through an aborted head', async () => {
    const clock = new VirtualClock();
    const credits = new Credits({ initial: 0, clock });
    const controller = new AbortController();
    const first = credits.acquire(1, { signal: controller.signal }).catch(() => 'aborted');
    clock.advance(500);
    const second = credits.acquire(1);
    clock.advance(500);
    assert.equal(credits.stats().longestBlockedMs, 1000);
    controller.abort();
    await first;
    assert.equal(credits.stats().longestBlockedMs, 500);
    credits.grant(1);
    await second;
    assert.equal(credits.stats().longestBlockedMs, 0);
  });
});
