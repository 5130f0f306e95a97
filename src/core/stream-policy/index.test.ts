import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { StreamPolicy, policyRegistry, streamPolicy } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string, mentions?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_SLUICE_INVALID_OPTION');
    assert.equal(e.field, field);
    assert.ok(e.message.includes(`"${field}"`), e.message);
    if (mentions) assert.ok(e.message.includes(mentions), e.message);
    return true;
  });
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** An endless async source counting what was read from it, with a finally to observe closing. */
function counting() {
  let pulled = 0;
  let closed = false;
  async function* naturals() {
    try {
      for (;;) {
        await Promise.resolve();
        yield pulled++;
      }
    } finally {
      closed = true;
    }
  }
  return { source: naturals(), pulled: () => pulled, closed: () => closed };
}

describe('streamPolicy() options', () => {
  it('streamPolicy() - defaults to the seed: block (the seed\'s Buffer), bufferSize 1000, watermarks 0.8 and 0.2', () => {
    const policy = streamPolicy();
    assert.equal(policy.strategy, 'block');
    assert.equal(policy.options.bufferSize, 1000);
    assert.equal(policy.options.highWatermark, 0.8);
    assert.equal(policy.options.lowWatermark, 0.2);
    assert.equal(policy.options.maxItemsPerSecond, undefined);
    assert.equal(policy.name, 'stream-policy');
  });

  it('streamPolicy() - takes the Channel strategy names, and the seed names and their lowercase forms as aliases', () => {
    assert.equal(streamPolicy({ strategy: 'drop-newest' }).strategy, 'drop-newest');
    assert.equal(streamPolicy({ strategy: 'Drop' }).strategy, 'drop-newest');
    assert.equal(streamPolicy({ strategy: 'drop' }).strategy, 'drop-newest');
    assert.equal(streamPolicy({ strategy: 'throttle', maxItemsPerSecond: 5 }).strategy, 'throttle');
    assert.equal(streamPolicy({ strategy: 'Throttle', maxItemsPerSecond: 5 }).strategy, 'throttle');
    assert.equal(streamPolicy({ strategy: 'block' }).strategy, 'block');
    assert.equal(streamPolicy({ strategy: 'buffer' }).strategy, 'block');
    assert.equal(streamPolicy({ strategy: 'Buffer' }).strategy, 'block');
  });

  it('streamPolicy() - rejects an unknown strategy, listing the allowed names', () => {
    assertInvalidOption(() => streamPolicy({ strategy: 'BUFFER' as never }), 'strategy', 'block, drop-newest, throttle, Buffer');
    assertInvalidOption(() => streamPolicy({ strategy: 'spill' as never }), 'strategy');
  });

  it('streamPolicy() - rejects a bufferSize that is not an integer >= 1', () => {
    for (const bufferSize of [0, -5, 1.5, NaN, '10']) assertInvalidOption(() => streamPolicy({ bufferSize: bufferSize as never }), 'bufferSize');
  });

  it('streamPolicy() - watermarks are fractions 0..1; low above high is rejected', () => {
    assertInvalidOption(() => streamPolicy({ highWatermark: 1.01 }), 'highWatermark');
    assertInvalidOption(() => streamPolicy({ highWatermark: -0.1 }), 'highWatermark');
    assertInvalidOption(() => streamPolicy({ lowWatermark: -0.1 }), 'lowWatermark');
    assertInvalidOption(() => streamPolicy({ highWatermark: 0.5, lowWatermark: 0.6 }), 'lowWatermark', 'at most the high watermark (50% full)');
    assert.equal(streamPolicy({ highWatermark: 0.1 }).options.lowWatermark, 0.1);
  });

  it("streamPolicy() - the seed's percent watermarks are aliases: converted to fractions, checked 0..100, never both spellings", () => {
    const seed = streamPolicy({ highWaterMark: 90, lowWaterMark: 50 });
    assert.equal(seed.options.highWatermark, 0.9);
    assert.equal(seed.options.lowWatermark, 0.5);
    assertInvalidOption(() => streamPolicy({ highWaterMark: 101 }), 'highWaterMark');
    assertInvalidOption(() => streamPolicy({ lowWaterMark: -1 }), 'lowWaterMark');
    assertInvalidOption(() => streamPolicy({ highWaterMark: 50, lowWaterMark: 60 }), 'lowWaterMark', 'at most the high watermark (50% full)');
    assertInvalidOption(() => streamPolicy({ highWatermark: 0.8, highWaterMark: 80 }), 'highWaterMark', 'one spelling per setting');
    assertInvalidOption(() => streamPolicy({ lowWatermark: 0.2, lowWaterMark: 20 }), 'lowWaterMark', 'one spelling per setting');
  });

  it('streamPolicy() - requires maxItemsPerSecond > 0 for throttle', () => {
    assertInvalidOption(() => streamPolicy({ strategy: 'Throttle' }), 'maxItemsPerSecond', "strategy is 'throttle'");
    assertInvalidOption(() => streamPolicy({ strategy: 'throttle', maxItemsPerSecond: 0 }), 'maxItemsPerSecond');
    assertInvalidOption(() => streamPolicy({ maxItemsPerSecond: -1 }), 'maxItemsPerSecond');
  });

  it('apply() - rejects a source that is not iterable with InvalidArgumentError', () => {
    assert.throws(() => streamPolicy().apply(5 as never), InvalidArgumentError);
  });
});

describe("StreamPolicy 'Buffer'", () => {
  it('apply() - hands every item over in order', async () => {
    const stream = streamPolicy({ bufferSize: 4 }).apply([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const out: number[] = [];
    for await (const n of stream) out.push(n);
    assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(stream.stats().state, 'completed');
  });

  it('apply() - stops reading at the high watermark and resumes at the low one', async () => {
    const { source, pulled } = counting();
    const stream = streamPolicy({ bufferSize: 100, highWaterMark: 80, lowWaterMark: 20 }).apply(source);
    await stream.next(); // starts the pump
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(stream.stats().buffered, 80);
    assert.equal(pulled(), 81);
    assert.equal(stream.stats().backpressureEvents, 1);
    assert.equal(stream.stats().bufferUsage, 0.8);
    // Taking 59 leaves 21: still above the low watermark, so the source stays paused.
    for (let i = 0; i < 59; i++) await stream.next();
    await tick();
    assert.equal(pulled(), 81);
    await stream.next(); // 20 left: pressure off, reading resumes
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(stream.stats().buffered, 80);
    assert.equal(stream.stats().backpressureEvents, 2);
    await stream.return();
  });

  it('apply() - a source error reaches the consumer after the buffered items', async () => {
    const boom = new Error('feed broke');
    async function* failing() {
      yield 1;
      yield 2;
      throw boom;
    }
    const stream = streamPolicy().apply(failing());
    const out: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const n of stream) out.push(n);
      })(),
      (e) => e === boom,
    );
    assert.deepEqual(out, [1, 2]);
    assert.equal(stream.stats().state, 'failed');
  });

  it('return() - closes the source and counts the discarded buffer', async () => {
    const { source, closed } = counting();
    const stream = streamPolicy({ bufferSize: 10, highWaterMark: 100 }).apply(source);
    await stream.next();
    for (let i = 0; i < 20; i++) await tick();
    await stream.return();
    assert.ok(closed());
    const s = stream.stats();
    assert.equal(s.state, 'cancelled');
    assert.equal(s.discarded, 10);
    assert.equal(s.buffered, 0);
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  it('apply() - an abort rejects the pending next() with signal.reason and closes the source', async () => {
    const controller = new AbortController();
    let closed = false;
    async function* never(): AsyncGenerator<number> {
      try {
        await new Promise(() => {});
        yield 0; // never reached
      } finally {
        closed = true;
      }
    }
    const { source, closed: countingClosed } = counting();
    const idle = streamPolicy().apply(never(), { signal: controller.signal });
    const busy = streamPolicy({ strategy: 'Drop' }).apply(source, { signal: controller.signal });
    await busy.next();
    const pending = idle.next();
    const reason = new Error('request ended');
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    await assert.rejects(busy.next(), (e) => e === reason);
    assert.deepEqual(await busy.next(), { value: undefined, done: true });
    await tick();
    assert.ok(countingClosed());
    assert.equal(closed, false, 'a generator stuck in an await closes only once that await settles');
    assert.equal(idle.stats().state, 'cancelled');
  });
});

describe("StreamPolicy 'Drop'", () => {
  it('apply() - never slows the source; the excess is dropped and counted', async () => {
    const { source, pulled } = counting();
    const stream = streamPolicy({ strategy: 'Drop', bufferSize: 50 }).apply(source);
    await stream.next();
    for (let i = 0; i < 30; i++) await tick();
    const s = stream.stats();
    assert.equal(s.buffered, 50);
    assert.ok(s.droppedItems > 0, `dropped ${s.droppedItems}`);
    assert.equal(s.received, pulled());
    assert.equal(s.received, s.delivered + s.buffered + s.droppedItems);
    assert.equal(s.backpressureEvents, 1);
    await stream.return();
  });
});

describe("StreamPolicy 'Throttle'", () => {
  it('apply() - hands items over at maxItemsPerSecond and counts each wait', async () => {
    const clock = new VirtualClock();
    const policy = streamPolicy({ strategy: 'Throttle', maxItemsPerSecond: 10, clock });
    const stream = policy.apply([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const times: number[] = [];
    const consumer = (async () => {
      for await (const _ of stream) times.push(clock.now());
    })();
    await clock.advanceAsync(200);
    await consumer;
    // A burst of one second's worth (10), then one every 100 ms.
    assert.deepEqual(times, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200]);
    assert.equal(stream.stats().backpressureEvents, 2);
    assert.equal(stream.stats().state, 'completed');
    assert.equal(policy.stats().delivered, 12);
  });
});

describe('StreamPolicy stats()', () => {
  it('stats() - lists active streams and sums every stream, ended ones included', async () => {
    const policy = streamPolicy({ bufferSize: 10, name: 'events' });
    const a = policy.apply([1, 2, 3], { name: 'a' });
    const b = policy.apply([4, 5]);
    assert.equal(b.name, 'events#2');
    for await (const _ of a) void _;
    await b.next();
    await tick();
    const s = policy.stats();
    assert.equal(s.activeStreams, 1);
    assert.equal(s.totalStreams, 2);
    assert.deepEqual(s.ended, { completed: 1, failed: 0, cancelled: 0 });
    assert.equal(s.received, 5);
    assert.equal(s.delivered, 4);
    assert.equal(s.buffered, 1);
    assert.equal(s.bufferCapacity, 10);
    assert.equal(s.bufferUsage, 0.1);
    assert.deepEqual(
      s.streams.map((x) => x.name),
      ['events#2'],
    );
  });
});

describe('policyRegistry()', () => {
  it('define() and apply() - govern streams by name', async () => {
    const policies = policyRegistry({ default: {}, realtime: { strategy: 'Drop', bufferSize: 500 } });
    policies.define('exports', { strategy: 'Throttle', maxItemsPerSecond: 1000 });
    assert.deepEqual(policies.names(), ['default', 'realtime', 'exports']);
    assert.equal(policies.get('realtime').options.bufferSize, 500);
    assert.equal(policies.get('realtime').name, 'realtime');
    const out: number[] = [];
    for await (const n of policies.apply('default', [1, 2])) out.push(n);
    assert.deepEqual(out, [1, 2]);
    assert.equal(policies.stats().default!.delivered, 2);
    assert.ok(policies.has('exports'));
  });

  it('get() - an unknown name fails with InvalidArgumentError listing the known policies', () => {
    const policies = policyRegistry({ default: {}, realtime: { strategy: 'Drop' } });
    assert.throws(
      () => policies.apply('bulk', [1]),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.includes('"bulk"') && e.message.includes('"default", "realtime"'),
    );
  });

  it('define() - refuses a name defined twice and an empty name', () => {
    const policies = policyRegistry();
    policies.define('a', new StreamPolicy({ strategy: 'Drop' }));
    assert.throws(() => policies.define('a', {}), InvalidArgumentError);
    assert.throws(() => policies.define('', {}), InvalidArgumentError);
  });

  it('define() - validates the options, naming the field', () => {
    assertInvalidOption(() => policyRegistry({ bad: { bufferSize: 0 } }), 'bufferSize');
  });
});
