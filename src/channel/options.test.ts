import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from './index.js';

describe('Channel options', () => {
  it('constructor - uses the documented defaults', () => {
    const ch = new Channel();
    assert.equal(ch.capacity, 1000);
    assert.equal(ch.overflow, 'block');
    assert.equal(ch.highWatermark, 0.8);
    assert.equal(ch.lowWatermark, 0.2);
    assert.equal(ch.state, 'normal');
    assert.equal(ch.pressured, false);
  });

  const bad: [string, object, string][] = [
    ['capacity 0', { capacity: 0 }, 'capacity'],
    ['negative capacity', { capacity: -5 }, 'capacity'],
    ['fractional capacity', { capacity: 1.5 }, 'capacity'],
    ['NaN capacity', { capacity: NaN }, 'capacity'],
    ['Infinity capacity', { capacity: Infinity }, 'capacity'],
    ['unknown overflow', { overflow: 'blok' }, 'overflow'],
    ['highWatermark above 1', { highWatermark: 1.5 }, 'highWatermark'],
    ['negative lowWatermark', { lowWatermark: -0.1 }, 'lowWatermark'],
    ['low above high', { highWatermark: 0.5, lowWatermark: 0.6 }, 'lowWatermark'],
    ['sampleEvery 0', { overflow: 'sample', sampleEvery: 0 }, 'sampleEvery'],
    ['maxBlockMs with drop-newest', { overflow: 'drop-newest', maxBlockMs: 10 }, 'maxBlockMs'],
    ['negative maxBlockMs', { maxBlockMs: -1 }, 'maxBlockMs'],
  ];
  for (const [label, options, field] of bad) {
    it(`constructor - rejects ${label} naming the field, value and what is allowed`, () => {
      assert.throws(
        () => new Channel(options as never),
        (error: Error & { code?: string; field?: string }) => {
          assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
          assert.equal(error.field, field);
          assert.match(error.message, new RegExp(`"${field}"`));
          assert.match(error.message, /expected/);
          return true;
        },
      );
    });
  }

  it('constructor - the overflow error lists every allowed strategy', () => {
    assert.throws(() => new Channel({ overflow: 'blok' as never }), /one of block, drop-newest, drop-oldest, sample, reject/);
  });

  it('send() and trySend() - refuse undefined with a clear error', async () => {
    const ch = new Channel<number | undefined>();
    assert.throws(() => ch.trySend(undefined), { code: 'ERR_SLUICE_INVALID_ITEM' });
    await assert.rejects(ch.send(undefined), { code: 'ERR_SLUICE_INVALID_ITEM' });
    assert.equal(ch.stats().offered, 0);
  });
});
