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

describe('Channel per-call options', () => {
  const signal = new AbortController().signal;
  const bad: [string, (ch: Channel<number>) => Promise<unknown>, string, RegExp][] = [
    ['send() with signal "x"', (ch) => ch.send(1, { signal: 'x' as never }), 'signal', /expected an AbortSignal \(in send\(\)\)/],
    ['send() with timeoutMs -5', (ch) => ch.send(1, { timeoutMs: -5 }), 'timeoutMs', /got -5; expected a finite number >= 0/],
    ['send() with an unknown key', (ch) => ch.send(1, { timeout: 5 } as never), 'timeout', /Unknown option "timeout" for send\(\): did you mean "timeoutMs"\?/],
    ['send() with options 5', (ch) => ch.send(1, 5 as never), 'send() options', /expected an object/],
    ['receive() with signal {}', (ch) => ch.receive({ signal: {} as never }), 'signal', /expected an AbortSignal/],
    ['receive() with an unknown key', (ch) => ch.receive({ sigal: signal } as never), 'sigal', /did you mean "signal"/],
    ['receiveBatch() with maxWaitMs NaN', (ch) => ch.receiveBatch(2, { maxWaitMs: Number.NaN }), 'maxWaitMs', /got NaN/],
    ['receiveBatch() with an unknown key', (ch) => ch.receiveBatch(2, { maxWait: 5 } as never), 'maxWait', /did you mean "maxWaitMs"/],
    ['drained() with signal true', (ch) => ch.drained({ signal: true as never }), 'signal', /expected an AbortSignal/],
    ['drained() with an unknown key', (ch) => ch.drained({ timeoutMs: 5 } as never), 'timeoutMs', /Unknown option "timeoutMs" for drained\(\)/],
  ];
  for (const [name, call, field, message] of bad) {
    it(`${name.split(' ')[0]} – ${name.slice(name.indexOf(' ') + 1)} rejects with ERR_SLUICE_INVALID_OPTION and has no effect`, async () => {
      const ch = new Channel<number>({ capacity: 4 });
      ch.trySend(7);
      await assert.rejects(call(ch), (error: { code?: string; field?: string; message: string }) => {
        assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
        assert.equal(error.field, field);
        assert.match(error.message, message);
        return true;
      });
      const s = ch.stats();
      assert.equal(s.size, 1, 'nothing sent, nothing taken');
      assert.equal(s.offered, 1, 'the refused item is not counted as offered');
      assert.equal(s.dropped, 0);
      assert.equal(ch.tryReceive(), 7);
    });
  }

  it('send() – bad options reject even on a closed channel, without counting a drop', async () => {
    const ch = new Channel<number>();
    ch.close();
    await assert.rejects(ch.send(1, { timeoutMs: -1 }), { code: 'ERR_SLUICE_INVALID_OPTION' });
    assert.equal(ch.stats().dropped, 0);
  });

  it('send() – valid options and undefined values pass; the fast path still takes items sent with options', async () => {
    const ch = new Channel<number>({ capacity: 4 });
    assert.equal(await ch.send(1, { signal, timeoutMs: 0 }), true);
    assert.equal(await ch.send(2, { signal: undefined, timeoutMs: undefined }), true);
    assert.equal(await ch.send(3, {}), true);
    assert.deepEqual(await ch.receiveBatch(3, { signal, maxWaitMs: 0 }), [1, 2, 3]);
  });

  it('receiveBatch() – a bad max is an argument error and is checked before the options', async () => {
    const ch = new Channel<number>();
    await assert.rejects(ch.receiveBatch(0, { bogus: 1 } as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });
});

describe('Channel already-aborted signals', () => {
  // The rule for every async method: an already-aborted signal rejects at once
  // with its reason and changes nothing, whether or not the call could proceed.
  const reason = new Error('gone');
  const aborted = () => AbortSignal.abort(reason);

  it('send() – rejects with the reason even with room; nothing is buffered, the offer counts as aborted', async () => {
    const ch = new Channel<number>({ capacity: 4 });
    await assert.rejects(ch.send(1, { signal: aborted() }), (e) => e === reason);
    const s = ch.stats();
    assert.equal(s.size, 0);
    assert.equal(s.droppedBy.aborted, 1);
    assert.equal(s.offered, s.delivered + s.size + s.dropped);
  });

  it('send() – the abort wins over a closed channel: rejects with the reason, not ChannelClosedError', async () => {
    const ch = new Channel<number>();
    ch.close();
    await assert.rejects(ch.send(1, { signal: aborted() }), (e) => e === reason);
    assert.equal(ch.stats().droppedBy.closed, 0);
  });

  it('receive() – rejects with the reason even when an item is ready, and leaves the item buffered', async () => {
    const ch = new Channel<number>();
    ch.trySend(1);
    await assert.rejects(ch.receive({ signal: aborted() }), (e) => e === reason);
    assert.equal(ch.size, 1);
    assert.equal(await ch.receive(), 1);
  });

  it('receive() – rejects with the reason on a closed, empty channel too', async () => {
    const ch = new Channel<number>();
    ch.close();
    await assert.rejects(ch.receive({ signal: aborted() }), (e) => e === reason);
  });

  it('receiveBatch() – rejects with the reason even when items are ready, and takes none', async () => {
    const ch = new Channel<number>();
    ch.trySend(1);
    ch.trySend(2);
    await assert.rejects(ch.receiveBatch(5, { signal: aborted() }), (e) => e === reason);
    assert.equal(ch.size, 2);
    assert.equal(ch.stats().delivered, 0);
  });

  it('drained() – rejects with the reason even when the channel is already drained', async () => {
    const ch = new Channel<number>();
    ch.close();
    await ch.drained();
    await assert.rejects(ch.drained({ signal: aborted() }), (e) => e === reason);
  });

  it('Sender.send() and Receiver.receive() – follow the same rule', async () => {
    const ch = new Channel<number>();
    await assert.rejects(ch.sender.send(1, { signal: aborted() }), (e) => e === reason);
    ch.trySend(2);
    await assert.rejects(ch.receiver.receive({ signal: aborted() }), (e) => e === reason);
    await assert.rejects(ch.receiver.receiveBatch(1, { signal: aborted() }), (e) => e === reason);
    assert.equal(ch.size, 1);
  });
});
