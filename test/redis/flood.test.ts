import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Redis } from 'ioredis';
import { consumeStream } from '../../src/adapters/redis/index.js';
import { cleanup, connect, sleep, uniqueKey, waitFor } from './helpers.js';

// Retained memory is what "bounded" is about, so measure the heap after a full
// collection (garbage from the churn would otherwise dominate heapUsed).
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;
const retainedHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

let redis: Redis;
const stream = uniqueKey('flood');

before(async () => {
  redis = await connect();
});
after(async () => {
  await cleanup(redis, stream);
  redis.disconnect();
});

describe('consumeStream under a flood', () => {
  it('handler - 50,000 entries and a slow handler: in-flight stays within the limit, none is lost, memory stays flat', async () => {
    const total = 50_000;
    const limit = 200;
    for (let from = 0; from < total; from += 5000) {
      const pipeline = redis.pipeline();
      for (let n = from; n < from + 5000; n++) pipeline.xadd(stream, '*', 'n', String(n), 'payload', 'x'.repeat(100));
      await pipeline.exec();
    }
    const heap: number[] = [];
    const sampler = setInterval(() => heap.push(retainedHeap()), 100);

    const seen = new Uint8Array(total);
    let running = 0;
    let peak = 0;
    const started = performance.now();
    const consumer = consumeStream({
      redis,
      stream,
      group: 'g',
      consumer: 'c1',
      maxInFlight: limit,
      handler: async (entry) => {
        peak = Math.max(peak, ++running);
        await sleep(2); // slow: a timer per entry
        seen[Number(entry.fields.n)] = 1;
        running--;
      },
    });
    await waitFor(() => consumer.stats().acked >= total, 60_000, 'every entry acked');
    const elapsed = performance.now() - started;
    await consumer.stop();
    clearInterval(sampler);

    const s = consumer.stats();
    const heapRangeMb = (Math.max(...heap) - Math.min(...heap)) / 1e6;
    console.log(
      `flood: ${total} entries in ${elapsed.toFixed(0)} ms (${Math.round((total / elapsed) * 1000)}/s), peak handlers ${peak}, ` +
        `max in flight ${s.maxInFlight}, reads ${s.reads}, retained heap during the run ${(Math.min(...heap) / 1e6).toFixed(1)}–${(Math.max(...heap) / 1e6).toFixed(1)} MB over ${heap.length} samples`,
    );
    assert.ok(peak <= limit && s.maxInFlight <= limit, `peak ${peak}, maxInFlight ${s.maxInFlight}`);
    assert.equal(seen.reduce((a, b) => a + b, 0), total, 'every entry handled');
    assert.equal(s.failed, 0);
    assert.equal(s.ackFailures, 0);
    const [pending] = (await redis.xpending(stream, 'g')) as [number];
    assert.equal(pending, 0, 'nothing left unacked');
    // Reading everything at once would retain 20+ MB of entries at first and shed
    // them as they are handled; holding 200 at a time keeps the heap level.
    assert.ok(heap.length >= 5 && heapRangeMb < 8, `retained heap varied by ${heapRangeMb} MB over ${heap.length} samples`);
  });
});
