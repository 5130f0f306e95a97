import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter, Permit, type ConcurrencyLimiterOptions } from './index.js';
import { ClosedError, ErrorCode, InvalidOptionError, LimitExceededError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

function partitioned(limit: number, partitions: Record<string, number>, extra: Partial<ConcurrencyLimiterOptions> = {}): ConcurrencyLimiter {
  return new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: limit, partitions, clock: new VirtualClock(), ...extra } as ConcurrencyLimiterOptions);
}

/** Takes `n` permits of `partition` with tryAcquire(), asserting each is granted. */
function take(limiter: ConcurrencyLimiter, partition: string | undefined, n: number): Permit[] {
  const permits: Permit[] = [];
  for (let i = 0; i < n; i++) {
    const permit = limiter.tryAcquire(partition === undefined ? undefined : { partition });
    assert.ok(permit instanceof Permit, `permit ${i + 1} of ${n} for ${partition ?? '(none)'} was granted`);
    permits.push(permit);
  }
  return permits;
}

function isInvalidOption(field: string, ...mentions: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    for (const text of mentions) assert.ok(error.message.includes(text), `"${error.message}" mentions ${text}`);
    return true;
  };
}

describe('ConcurrencyLimiter partitions options', () => {
  it('constructor - accepts shares adding up to 1 and computes each guarantee as ceil(share × limit)', () => {
    const limiter = partitioned(10, { critical: 0.7, normal: 0.2, batch: 0.1 });
    const s = limiter.stats();
    assert.deepEqual(limiter.partitionNames, ['critical', 'normal', 'batch']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(s.partitions!).map(([name, p]) => [name, [p.share, p.limit]])),
      { critical: [0.7, 7], normal: [0.2, 2], batch: [0.1, 1] },
    );
    assert.equal(s.unpartitioned!.share, 0, 'a remainder of (floating) 0 guarantees nothing');
    assert.equal(s.unpartitioned!.limit, 0);
  });

  it('constructor - rounds guarantees up and gives the unpartitioned remainder its share', () => {
    const s = partitioned(7, { critical: 0.5, batch: 0.2 }).stats();
    assert.equal(s.partitions!.critical!.limit, 4); // 3.5 -> 4
    assert.equal(s.partitions!.batch!.limit, 2); // 1.4 -> 2
    assert.ok(Math.abs(s.unpartitioned!.share - 0.3) < 1e-12);
    assert.equal(s.unpartitioned!.limit, 3); // 2.1 -> 3
  });

  it('constructor - without partitions, stats() has no partition fields and partitionNames is empty', () => {
    const limiter = new ConcurrencyLimiter({ initialLimit: 2 });
    assert.equal('partitions' in limiter.stats(), false);
    assert.equal('unpartitioned' in limiter.stats(), false);
    assert.deepEqual(limiter.partitionNames, []);
  });

  const bad: [string, unknown, string, string[]][] = [
    ['a number', 0.5, 'partitions', ['e.g. { critical: 0.6, batch: 0.2 }']],
    ['an array', [0.5], 'partitions', []],
    ['null', null, 'partitions', []],
    ['an empty object', {}, 'partitions', ['no partitions']],
    ['a share of 0', { batch: 0 }, 'partitions.batch', ['> 0']],
    ['a negative share', { batch: -0.1 }, 'partitions.batch', []],
    ['a share above 1', { batch: 1.5 }, 'partitions.batch', ['<= 1']],
    ['a NaN share', { batch: NaN }, 'partitions.batch', []],
    ['a string share', { batch: '0.2' }, 'partitions.batch', []],
    ['shares adding up to more than 1', { critical: 0.6, normal: 0.3, batch: 0.2 }, 'partitions', ['at most 1', 'add up to 1.1']],
    ['an empty name', { '': 0.5 }, 'partitions', ['non-empty']],
  ];
  for (const [what, partitions, field, mentions] of bad) {
    it(`constructor - rejects ${what} with ERR_SLUICE_INVALID_OPTION naming ${field}`, () => {
      assert.throws(() => new ConcurrencyLimiter({ partitions: partitions as Record<string, number> }), isInvalidOption(field, ...mentions));
    });
  }
});

describe('ConcurrencyLimiter partitions: bad calls', () => {
  it('acquire() - an unknown partition rejects with a coded error naming it and the allowed ones', async () => {
    const limiter = partitioned(4, { critical: 0.6, batch: 0.2 });
    await assert.rejects(limiter.acquire({ partition: 'critcal' }), isInvalidOption('partition', '"critcal"', '"critical", "batch"'));
    assert.equal(limiter.stats().acquired, 0, 'nothing was granted');
  });

  it('tryAcquire() - an unknown partition throws the same error and counts nothing', () => {
    const limiter = partitioned(4, { critical: 0.6 });
    assert.throws(() => limiter.tryAcquire({ partition: 'batch' }), isInvalidOption('partition', '"batch"', '"critical"'));
    assert.equal(limiter.stats().rejected, 0);
  });

  it('run() - an unknown partition rejects before fn runs', async () => {
    const limiter = partitioned(4, { critical: 0.6 });
    let ran = false;
    await assert.rejects(limiter.run(() => (ran = true), { partition: 'nope' }), isInvalidOption('partition', '"nope"'));
    assert.equal(ran, false);
  });

  it('acquire() - a partition on a limiter built without partitions is an error, not silently ignored', async () => {
    const limiter = new ConcurrencyLimiter({ initialLimit: 2 });
    await assert.rejects(limiter.acquire({ partition: 'critical' }), isInvalidOption('partition', 'without partitions'));
    assert.throws(() => limiter.tryAcquire({ partition: 'critical' }), isInvalidOption('partition'));
  });

  it('acquire() - a non-string partition, a bad signal and an unknown key are rejected', async () => {
    const limiter = partitioned(4, { critical: 0.6 });
    await assert.rejects(limiter.acquire({ partition: 3 as unknown as string }), isInvalidOption('partition', 'string'));
    await assert.rejects(limiter.acquire({ signal: {} as AbortSignal }), isInvalidOption('signal', 'AbortSignal'));
    await assert.rejects(limiter.acquire({ partiton: 'critical' } as never), isInvalidOption('partiton', 'did you mean "partition"'));
    assert.throws(() => limiter.tryAcquire({ signal: undefined } as never), isInvalidOption('signal'));
  });
});

describe('ConcurrencyLimiter partitions: admission', () => {
  it('tryAcquire() - a partition borrows idle capacity up to the whole limit', () => {
    const limiter = partitioned(10, { critical: 0.6, batch: 0.2 });
    take(limiter, 'batch', 10);
    assert.equal(limiter.tryAcquire({ partition: 'batch' }), undefined, 'the limit is reached and batch is over its share');
    const s = limiter.stats();
    assert.equal(s.partitions!.batch!.inflight, 10);
    assert.equal(s.partitions!.batch!.acquired, 10);
    assert.equal(s.partitions!.batch!.rejected, 1);
    assert.equal(s.rejected, 1);
  });

  it('tryAcquire() - a partition below its share is admitted even while others have borrowed the whole limit', () => {
    const limiter = partitioned(10, { critical: 0.6, batch: 0.2 });
    const batch = take(limiter, 'batch', 10);
    take(limiter, 'critical', 6); // its guarantee, on top of the borrowed 10
    assert.equal(limiter.tryAcquire({ partition: 'critical' }), undefined, 'beyond its share while full: refused');
    assert.equal(limiter.inflight, 16);
    // Borrowers drain: releasing a batch permit does not let batch back in while the limiter is full.
    batch[0]!.success();
    assert.equal(limiter.tryAcquire({ partition: 'batch' }), undefined);
    for (const permit of batch.slice(1, 7)) permit.success();
    assert.equal(limiter.inflight, 9);
    assert.ok(limiter.tryAcquire({ partition: 'batch' }) instanceof Permit, 'below the limit again: batch may borrow');
    const s = limiter.stats();
    assert.deepEqual(
      { critical: s.partitions!.critical!.inflight, batch: s.partitions!.batch!.inflight, rejectedCritical: s.partitions!.critical!.rejected, rejectedBatch: s.partitions!.batch!.rejected },
      { critical: 6, batch: 4, rejectedCritical: 1, rejectedBatch: 1 },
    );
  });

  it('acquire() - under reject, a partition over its share is refused with LimitExceededError naming it while a partition under its share goes in', async () => {
    const limiter = partitioned(4, { critical: 0.5, batch: 0.25 }, { whenFull: 'reject' });
    for (let i = 0; i < 4; i++) await limiter.acquire({ partition: 'batch' });
    await assert.rejects(limiter.acquire({ partition: 'batch' }), (error: unknown) => {
      assert.ok(error instanceof LimitExceededError);
      assert.ok(error.message.includes('partition "batch" holds 4 of its 1'), error.message);
      return true;
    });
    assert.ok((await limiter.acquire()) instanceof Permit, 'the unpartitioned remainder (0.25 of 4) is guaranteed 1 permit');
    await assert.rejects(limiter.acquire(), LimitExceededError);
    assert.ok((await limiter.acquire({ partition: 'critical' })) instanceof Permit);
    assert.ok((await limiter.acquire({ partition: 'critical' })) instanceof Permit);
    await assert.rejects(limiter.acquire({ partition: 'critical' }), LimitExceededError);
    const s = limiter.stats();
    assert.equal(s.partitions!.batch!.rejected, 1);
    assert.equal(s.partitions!.critical!.rejected, 1);
    assert.equal(s.unpartitioned!.rejected, 1);
    assert.equal(s.rejected, 3);
  });

  it('acquire() - calls without a partition use the remainder\'s guarantee', async () => {
    const limiter = partitioned(10, { critical: 0.5 });
    take(limiter, 'critical', 10); // borrowed the whole limit
    const unpartitioned = take(limiter, undefined, 5); // its 0.5 of 10, over the limit
    assert.equal(limiter.tryAcquire(), undefined);
    assert.equal(unpartitioned[0]!.partition, undefined);
    assert.equal(limiter.stats().unpartitioned!.inflight, 5);
    assert.equal(limiter.inflight, 15);
  });

  it('acquire() - under wait, a partition over its share queues while the limiter is full; a partition under its share does not', async () => {
    const limiter = partitioned(4, { critical: 0.5, batch: 0.5 });
    const batch = take(limiter, 'batch', 4);
    const queuedBatch = settled(limiter.acquire({ partition: 'batch' }));
    const critical = [settled(limiter.acquire({ partition: 'critical' })), settled(limiter.acquire({ partition: 'critical' }))];
    const queuedCritical = settled(limiter.acquire({ partition: 'critical' }));
    await flushMicrotasks();
    assert.deepEqual(critical.map((c) => c.done), [true, true], 'critical got its 2 permits at once');
    assert.equal(queuedBatch.done, false);
    assert.equal(queuedCritical.done, false);
    assert.equal(limiter.waiting, 2);
    assert.deepEqual([limiter.stats().partitions!.critical!.waiting, limiter.stats().partitions!.batch!.waiting], [1, 1]);
    // 6 in flight, limit 4: releases admit nobody until the total is below the limit...
    batch[0]!.success();
    batch[1]!.success();
    await flushMicrotasks();
    assert.equal(limiter.waiting, 2);
    // ...then the oldest waiter goes first, whatever its partition.
    batch[2]!.success();
    await flushMicrotasks();
    assert.equal(queuedBatch.done, true, 'the batch caller queued first');
    assert.equal(queuedCritical.done, false);
    batch[3]!.success();
    await flushMicrotasks();
    assert.equal(queuedCritical.done, true);
    assert.equal((queuedBatch.value as Permit).partition, 'batch');
    assert.equal((queuedCritical.value as Permit).partition, 'critical');
  });

  it('acquire() - a freed permit goes to the oldest waiter, and a partition back under its share then reclaims its own over the limit', async () => {
    const limiter = partitioned(4, { critical: 0.5, batch: 0.5 });
    const critical = take(limiter, 'critical', 2);
    const batch = take(limiter, 'batch', 2);
    const order: string[] = [];
    const batchWait = limiter.acquire({ partition: 'batch' }).then((p) => (order.push('batch'), p));
    const criticalWait = limiter.acquire({ partition: 'critical' }).then((p) => (order.push('critical'), p));
    await flushMicrotasks();
    assert.equal(limiter.waiting, 2);
    critical[0]!.success(); // 3 in flight < 4: the oldest (batch) borrows it; then full, but critical holds 1 of its 2
    await flushMicrotasks();
    assert.deepEqual(order, ['batch', 'critical'], 'batch borrowed the free permit, critical reclaimed its share over the limit');
    assert.equal(limiter.inflight, 5);
    (await batchWait).success();
    (await criticalWait).success();
    for (const p of [critical[1]!, ...batch]) p.success();
    assert.equal(limiter.inflight, 0);
  });

  it('acquire() - while full, only partitions below their share are admitted from the queue', async () => {
    const limiter = partitioned(4, { critical: 0.5, batch: 0.25 });
    const batch = take(limiter, 'batch', 3);
    const critical = take(limiter, 'critical', 2); // its own 2, which put the total (5) over the limit
    const batchWait = settled(limiter.acquire({ partition: 'batch' }));
    const criticalWait = settled(limiter.acquire({ partition: 'critical' }));
    critical[0]!.success(); // 4 in flight, full; critical now 1 of 2: its waiter (the younger one) goes in
    await flushMicrotasks();
    assert.equal(criticalWait.done, true);
    assert.equal(batchWait.done, false, 'batch is over its share of 1 and the limiter is full');
    batch[0]!.success(); // 5 -> 4: still full
    await flushMicrotasks();
    assert.equal(batchWait.done, false);
    batch[1]!.success(); // 4 -> 3 < 4: batch may borrow again
    await flushMicrotasks();
    assert.equal(batchWait.done, true);
  });
});

describe('ConcurrencyLimiter partitions: adaptive limits, abort and close', () => {
  it('acquire() - guarantees follow an adaptive limit down and up', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 10, backoffRatio: 0.5, timeoutMs: 1000, clock, partitions: { critical: 0.5, batch: 0.3 } });
    const s0 = limiter.stats().partitions!;
    assert.deepEqual([s0.critical!.limit, s0.batch!.limit], [5, 3]);
    (await limiter.acquire({ partition: 'batch' })).dropped();
    assert.equal(limiter.limit, 5);
    const s1 = limiter.stats().partitions!;
    assert.deepEqual([s1.critical!.limit, s1.batch!.limit], [3, 2], 'ceil(2.5), ceil(1.5)');
    // Busy (at least half the limit in use at start) successes grow the limit again.
    const permits = take(limiter, 'critical', 5);
    clock.advance(10);
    for (const p of permits) p.success();
    assert.equal(limiter.limit, 6);
    const s2 = limiter.stats().partitions!;
    assert.deepEqual([s2.critical!.limit, s2.batch!.limit], [3, 2], 'ceil(3), ceil(1.8)');
    assert.ok(limiter.stats().unpartitioned!.limit === 2, 'remainder 0.2 of 6 -> 2');
  });

  it('acquire() - a grown limit admits queued borrowers', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 2, timeoutMs: 1000, clock, partitions: { critical: 0.5, batch: 0.5 } });
    const held = take(limiter, 'batch', 2);
    const waiting = settled(limiter.acquire({ partition: 'batch' }));
    clock.advance(1);
    held[0]!.success(); // 2 in use at start >= half of 2: limit 2 -> 3; 1 in flight: the waiter goes in
    await flushMicrotasks();
    assert.equal(limiter.limit, 3);
    assert.equal(waiting.done, true);
    assert.equal(limiter.stats().partitions!.batch!.inflight, 2);
  });

  it('acquire() - an abort while queued leaves the partition queue, rejects with the reason and is counted on the partition', async () => {
    const limiter = partitioned(1, { critical: 0.5 });
    take(limiter, 'critical', 1);
    const controller = new AbortController();
    const waiting = settled(limiter.acquire({ partition: 'critical', signal: controller.signal }));
    controller.abort(new Error('gone'));
    await flushMicrotasks();
    assert.equal((waiting.error as Error).message, 'gone');
    const s = limiter.stats();
    assert.equal(s.waiting, 0);
    assert.equal(s.partitions!.critical!.waiting, 0);
    assert.equal(s.partitions!.critical!.aborted, 1);
    assert.equal(s.aborted, 1);
    await assert.rejects(limiter.acquire({ partition: 'critical', signal: AbortSignal.abort() }));
    assert.equal(limiter.stats().partitions!.critical!.aborted, 2, 'an already-fired signal counts too');
  });

  it('close() - rejects every partition\'s waiters with ClosedError; held permits still release', async () => {
    const limiter = partitioned(2, { critical: 0.5, batch: 0.5 });
    const held = [...take(limiter, 'critical', 1), ...take(limiter, 'batch', 1)]; // each at its share, the limiter full
    const waits = [settled(limiter.acquire({ partition: 'critical' })), settled(limiter.acquire({ partition: 'batch' })), settled(limiter.acquire())];
    await flushMicrotasks();
    assert.equal(limiter.waiting, 3);
    limiter.close();
    await flushMicrotasks();
    assert.deepEqual(waits.map((w) => w.error instanceof ClosedError), [true, true, true]);
    assert.equal(limiter.waiting, 0);
    for (const p of held) p.success();
    assert.equal(limiter.stats().partitions!.critical!.inflight, 0);
  });

  it('run() - runs fn under a permit of the partition and releases it', async () => {
    const limiter = partitioned(2, { critical: 0.5 });
    const seen = await limiter.run(() => limiter.stats().partitions!.critical!.inflight, { partition: 'critical' });
    assert.equal(seen, 1);
    assert.equal(limiter.stats().partitions!.critical!.inflight, 0);
    assert.equal(limiter.stats().partitions!.critical!.acquired, 1);
  });

  it('stats() - per partition, the counts add up to the limiter totals', async () => {
    const limiter = partitioned(3, { critical: 0.6, batch: 0.2 }, { whenFull: 'reject' });
    const names = [undefined, 'critical', 'batch', 'batch', 'critical', 'batch', 'critical', undefined, 'batch'];
    const permits: Permit[] = [];
    for (const partition of names) {
      try {
        permits.push(await limiter.acquire(partition === undefined ? {} : { partition }));
      } catch (error) {
        assert.ok(error instanceof LimitExceededError);
      }
    }
    permits[0]!.success();
    const s = limiter.stats();
    const all = [...Object.values(s.partitions!), s.unpartitioned!];
    assert.equal(all.reduce((n, p) => n + p.acquired, 0), s.acquired);
    assert.equal(all.reduce((n, p) => n + p.rejected, 0), s.rejected);
    assert.equal(all.reduce((n, p) => n + p.inflight, 0), s.inflight);
    assert.equal(s.acquired + s.rejected, names.length);
  });
});
