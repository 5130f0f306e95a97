import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter, bulkhead } from './index.js';
import { InvalidOptionError, LimitExceededError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

describe('bulkhead and maxWaiting', () => {
  it('bulkhead() – runs `concurrency` calls, queues `maxWaiting`, rejects the next at once, counted', async () => {
    const b = bulkhead({ concurrency: 2, maxWaiting: 1, clock: new VirtualClock() });
    const gates: (() => void)[] = [];
    const call = () => b.run(() => new Promise<void>((resolve) => gates.push(resolve)));
    const running = [call(), call()];
    const queued = call();
    await flushMicrotasks();
    assert.equal(b.inflight, 2);
    assert.equal(b.waiting, 1);
    await assert.rejects(call(), (e: unknown) => e instanceof LimitExceededError && e.code === 'ERR_SLUICE_LIMIT_EXCEEDED' && /1 waiting, maxWaiting 1/.test(e.message));
    assert.equal(b.stats().rejected, 1);
    gates.shift()!(); // one finishes: the queued call takes its slot
    await running[0];
    await flushMicrotasks();
    assert.equal(b.inflight, 2);
    assert.equal(b.waiting, 0);
    for (const open of gates.splice(0)) open();
    await Promise.all([running[1], queued]);
    assert.equal(b.stats().acquired, 3);
  });

  it('bulkhead() – maxWaiting 0 refuses as soon as every slot is busy', async () => {
    const b = bulkhead({ concurrency: 1, maxWaiting: 0, clock: new VirtualClock() });
    const permit = await b.acquire();
    await assert.rejects(b.acquire(), LimitExceededError);
    permit.success();
    (await b.acquire()).success();
  });

  it('ConcurrencyLimiter – maxWaiting bounds the queue with partitions too', async () => {
    const limiter = new ConcurrencyLimiter({ initialLimit: 2, partitions: { a: 0.5 }, maxWaiting: 1, clock: new VirtualClock() });
    await limiter.acquire({ partition: 'a' });
    await limiter.acquire();
    const waiting = limiter.acquire({ partition: 'a' });
    await assert.rejects(limiter.acquire(), LimitExceededError);
    limiter.close();
    await assert.rejects(waiting);
  });

  it('bulkhead() – options are required and checked, naming the field', () => {
    for (const [options, field] of [
      [{ maxWaiting: 1 }, 'concurrency'],
      [{ concurrency: 0, maxWaiting: 1 }, 'concurrency'],
      [{ concurrency: 2 }, 'maxWaiting'],
      [{ concurrency: 2, maxWaiting: -1 }, 'maxWaiting'],
      [{ concurrency: 2, maxWaiting: 1, extra: 1 }, 'extra'],
    ] as const) {
      assert.throws(() => bulkhead(options as never), (e: unknown) => e instanceof InvalidOptionError && e.field === field);
    }
  });

  it('ConcurrencyLimiter – maxWaiting must be an integer >= 0 or Infinity, and needs whenFull wait', () => {
    assert.throws(() => new ConcurrencyLimiter({ maxWaiting: 1.5 }), (e: unknown) => e instanceof InvalidOptionError && e.field === 'maxWaiting' && /or Infinity/.test(e.message));
    assert.throws(() => new ConcurrencyLimiter({ whenFull: 'reject', maxWaiting: 3 }), (e: unknown) => e instanceof InvalidOptionError && e.field === 'maxWaiting');
    assert.equal(new ConcurrencyLimiter({ maxWaiting: Infinity }).maxWaiting, Infinity);
    assert.equal(new ConcurrencyLimiter().maxWaiting, Infinity);
  });
});
