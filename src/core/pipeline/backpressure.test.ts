import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { VirtualClock } from '../testing/index.js';
import { batch, buffer, map, pipeline, type PipelineSource } from './index.js';

/** An endless source that counts what the pipeline has pulled from it. */
function countingSource(): { source: Iterable<number>; pulled: () => number } {
  let pulled = 0;
  function* naturals() {
    for (;;) yield pulled++;
  }
  return { source: naturals(), pulled: () => pulled };
}

/**
 * Runs `build(sink)` for `ms` virtual milliseconds against a sink that needs
 * one millisecond per item, and returns the largest gap seen between items
 * pulled from the source and items the sink finished.
 */
async function maxInMemory(
  ms: number,
  clock: VirtualClock,
  pulled: () => number,
  start: (sink: (batchOrItem: number[] | number) => Promise<void>, signal: AbortSignal) => Promise<unknown>,
): Promise<{ maxGap: number; consumed: number }> {
  let consumed = 0;
  let maxGap = 0;
  const controller = new AbortController();
  const sink = (value: number[] | number): Promise<void> => {
    const n = Array.isArray(value) ? value.length : 1;
    return new Promise((resolve) =>
      clock.schedule(n, () => {
        consumed += n;
        resolve();
      }),
    );
  };
  const done = start(sink, controller.signal);
  for (let t = 0; t < ms; t++) {
    await clock.advanceAsync(1);
    maxGap = Math.max(maxGap, pulled() - consumed);
  }
  const reason = new Error('test over');
  controller.abort(reason);
  await assert.rejects(done, (e) => e === reason);
  return { maxGap, consumed };
}

describe('pipeline() backpressure', () => {
  it('pipeline() - map(4) → batch(100) → slow sink holds at most 4 + 100 + 2 items', async () => {
    const clock = new VirtualClock();
    const { source, pulled } = countingSource();
    const { maxGap, consumed } = await maxInMemory(2_000, clock, pulled, (sink, signal) =>
      pipeline(source, map(async (n: number) => n * 2, { concurrency: 4 }), batch<number>({ size: 100 }), sink, { signal }),
    );
    assert.ok(consumed >= 1_800, `the sink kept busy: ${consumed} items in 2000 ms`);
    // 4 in map's window and the batch in the sink. The next batch is filled
    // only when the sink asks for it, so there is never a second one waiting.
    assert.ok(maxGap <= 4 + 100 + 2, `max items in memory: ${maxGap}`);
    assert.ok(maxGap >= 100, `a whole batch was in the sink: ${maxGap}`);
  });

  it('pipeline() - map(4) → buffer(50) → batch(10) → slow sink holds at most 4 + 50 + 10 + 2 items', async () => {
    const clock = new VirtualClock();
    const { source, pulled } = countingSource();
    const { maxGap } = await maxInMemory(2_000, clock, pulled, (sink, signal) =>
      pipeline(
        source,
        map(async (n: number) => n, { concurrency: 4 }),
        buffer<number>({ capacity: 50 }),
        batch<number>({ size: 10 }),
        sink,
        { signal },
      ),
    );
    // map's window, the full channel, the batch in the sink; the +2 covers
    // the item the buffer's pump holds while it waits for room.
    assert.ok(maxGap <= 4 + 50 + 10 + 2, `max items in memory: ${maxGap}`);
    assert.ok(maxGap >= 50, `the buffer was used: ${maxGap}`);
  });

  it('pipeline() - a fast Node Readable source is read only as the slow sink drains', async () => {
    const clock = new VirtualClock();
    let pushed = 0;
    const readable = new Readable({
      objectMode: true,
      highWaterMark: 8,
      read() {
        this.push(pushed++);
      },
    });
    const { maxGap } = await maxInMemory(1_000, clock, () => pushed, (sink, signal) =>
      pipeline(readable as PipelineSource<number>, map((n: number) => n, { concurrency: 4 }), sink, { signal }),
    );
    // The Readable's own buffer (8) + one being read + the item in the sink.
    assert.ok(maxGap <= 8 + 1 + 1 + 2, `max items in memory: ${maxGap}`);
    assert.ok(readable.destroyed);
  });
});
