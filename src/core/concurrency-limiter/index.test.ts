import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter, Permit, type ConcurrencyLimiterOptions } from './index.js';
import { InvalidArgumentError, LimitExceededError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

function fixed(limit: number, extra: Partial<ConcurrencyLimiterOptions> = {}): ConcurrencyLimiter {
  return new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: limit, clock: new VirtualClock(), ...extra } as ConcurrencyLimiterOptions);
}

describe('ConcurrencyLimiter options', () => {
  it('constructor - uses the documented defaults', () => {
    const limiter = new ConcurrencyLimiter();
    assert.equal(limiter.algorithm, 'fixed');
    assert.equal(limiter.limit, 20);
    assert.equal(limiter.minLimit, 1);
    assert.equal(limiter.maxLimit, 1000);
    assert.equal(limiter.whenFull, 'wait');
    assert.equal(limiter.name, 'concurrency-limiter');
  });

  it('constructor - the default initialLimit is clamped into [minLimit, maxLimit]', () => {
    assert.equal(new ConcurrencyLimiter({ algorithm: 'aimd', maxLimit: 8 }).limit, 8);
    assert.equal(new ConcurrencyLimiter({ algorithm: 'vegas', minLimit: 30 }).limit, 30);
  });

  it('constructor - accepts every algorithm with its own options', () => {
    assert.equal(new ConcurrencyLimiter({ algorithm: 'aimd', backoffRatio: 0.5, timeoutMs: 30 }).algorithm, 'aimd');
    assert.equal(new ConcurrencyLimiter({ algorithm: 'vegas', probeMultiplier: 10, smoothing: 0.5 }).algorithm, 'vegas');
    const g = { algorithm: 'gradient2', longWindow: 100, tolerance: 2, queueSize: 0, smoothing: 1, backoffRatio: 0.8, probeMultiplier: 5 } as const;
    assert.equal(new ConcurrencyLimiter(g).algorithm, 'gradient2');
  });

  const bad: [string, object, string][] = [
    ['an unknown algorithm', { algorithm: 'bbr' }, 'algorithm'],
    ['minLimit above maxLimit', { algorithm: 'aimd', minLimit: 10, maxLimit: 5 }, 'minLimit'],
    ['initialLimit below minLimit', { algorithm: 'aimd', minLimit: 5, initialLimit: 4 }, 'initialLimit'],
    ['initialLimit above maxLimit', { algorithm: 'vegas', maxLimit: 50, initialLimit: 51 }, 'initialLimit'],
    ['initialLimit 0', { initialLimit: 0 }, 'initialLimit'],
    ['minLimit 0', { algorithm: 'aimd', minLimit: 0 }, 'minLimit'],
    ['maxLimit 0', { algorithm: 'aimd', maxLimit: 0 }, 'maxLimit'],
    ['a fractional initialLimit', { initialLimit: 2.5 }, 'initialLimit'],
    ['a negative maxLimit', { maxLimit: -1 }, 'maxLimit'],
    ['an unknown whenFull', { whenFull: 'block' }, 'whenFull'],
    ['a negative timeoutMs', { algorithm: 'aimd', timeoutMs: -1 }, 'timeoutMs'],
    ['timeoutMs 0', { algorithm: 'aimd', timeoutMs: 0 }, 'timeoutMs'],
    ['an infinite timeoutMs', { algorithm: 'aimd', timeoutMs: Infinity }, 'timeoutMs'],
    ['backoffRatio 1', { algorithm: 'aimd', backoffRatio: 1 }, 'backoffRatio'],
    ['backoffRatio below 0.5', { algorithm: 'gradient2', backoffRatio: 0.4 }, 'backoffRatio'],
    ['a NaN backoffRatio', { algorithm: 'aimd', backoffRatio: NaN }, 'backoffRatio'],
    ['probeMultiplier 0', { algorithm: 'vegas', probeMultiplier: 0 }, 'probeMultiplier'],
    ['smoothing 0', { algorithm: 'vegas', smoothing: 0 }, 'smoothing'],
    ['smoothing above 1', { algorithm: 'gradient2', smoothing: 1.5 }, 'smoothing'],
    ['longWindow 0', { algorithm: 'gradient2', longWindow: 0 }, 'longWindow'],
    ['tolerance below 1', { algorithm: 'gradient2', tolerance: 0.9 }, 'tolerance'],
    ['a negative queueSize', { algorithm: 'gradient2', queueSize: -1 }, 'queueSize'],
    ['an infinite queueSize', { algorithm: 'gradient2', queueSize: Infinity }, 'queueSize'],
    ['timeoutMs with vegas', { algorithm: 'vegas', timeoutMs: 30 }, 'timeoutMs'],
    ['longWindow with aimd', { algorithm: 'aimd', longWindow: 10 }, 'longWindow'],
    ['backoffRatio with fixed', { backoffRatio: 0.9 }, 'backoffRatio'],
    ['a non-function isDropped', { isDropped: true }, 'isDropped'],
    ['a clock without schedule()', { clock: { now: () => 0 } }, 'clock'],
    ['an empty name', { name: '' }, 'name'],
  ];
  for (const [label, options, field] of bad) {
    it(`constructor - rejects ${label}, naming the field`, () => {
      assert.throws(
        () => new ConcurrencyLimiter(options as never),
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

  it('constructor - rejects a non-object options argument', () => {
    assert.throws(() => new ConcurrencyLimiter(5 as never), { code: 'ERR_SLUICE_INVALID_OPTION' });
  });
});

describe('ConcurrencyLimiter admission', () => {
  it('tryAcquire() - grants up to the limit, then returns undefined and counts the refusal', () => {
    const limiter = fixed(2);
    const a = limiter.tryAcquire();
    const b = limiter.tryAcquire();
    assert.ok(a instanceof Permit && b instanceof Permit);
    assert.equal(limiter.tryAcquire(), undefined);
    assert.equal(limiter.inflight, 2);
    const s = limiter.stats();
    assert.equal(s.acquired, 2);
    assert.equal(s.rejected, 1);
  });

  it('tryAcquire() - does not jump ahead of callers already waiting', async () => {
    const limiter = fixed(1);
    const first = limiter.tryAcquire()!;
    const waiter = settled(limiter.acquire());
    first.success();
    assert.equal(limiter.tryAcquire(), undefined, 'the freed permit went to the waiter');
    await flushMicrotasks();
    assert.ok(waiter.done && waiter.value instanceof Permit);
  });

  it('acquire() - resolves at once while a permit is free', async () => {
    const limiter = fixed(1);
    const permit = await limiter.acquire();
    assert.equal(permit.inflightAtStart, 1);
    assert.equal(limiter.inflight, 1);
  });

  it('acquire() - under wait, admits waiters first come, first served as permits are released', async () => {
    const limiter = fixed(1);
    const held = limiter.tryAcquire()!;
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((name) =>
      limiter.acquire().then((permit) => {
        order.push(name);
        return permit;
      }),
    );
    assert.equal(limiter.waiting, 3);
    held.success();
    const a = await waits[0]!;
    a.success();
    const b = await waits[1]!;
    b.success();
    await waits[2];
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(limiter.waiting, 0);
    assert.equal(limiter.inflight, 1);
  });

  it('acquire() - under reject, rejects with LimitExceededError when every permit is in use', async () => {
    const limiter = fixed(1, { whenFull: 'reject' });
    limiter.tryAcquire();
    await assert.rejects(limiter.acquire(), (e: unknown) => e instanceof LimitExceededError && e.code === 'ERR_SLUICE_LIMIT_EXCEEDED');
    assert.equal(limiter.waiting, 0);
    assert.equal(limiter.stats().rejected, 1);
  });

  it('acquire() - an abort while waiting rejects with signal.reason, leaves the queue and does not block the next waiter', async () => {
    const limiter = fixed(1);
    const held = limiter.tryAcquire()!;
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const aborted = settled(limiter.acquire({ signal: controller.signal }));
    const next = settled(limiter.acquire());
    controller.abort(reason);
    await flushMicrotasks();
    assert.equal(aborted.error, reason);
    assert.equal(limiter.waiting, 1);
    held.success();
    await flushMicrotasks();
    assert.ok(next.value instanceof Permit, 'the next waiter got the permit');
    assert.equal(limiter.inflight, 1);
    assert.equal(limiter.stats().aborted, 1);
  });

  it('acquire() - an abort after the permit was granted changes nothing', async () => {
    const limiter = fixed(1);
    const controller = new AbortController();
    const permit = await limiter.acquire({ signal: controller.signal });
    controller.abort();
    assert.equal(permit.released, false);
    assert.equal(limiter.inflight, 1);
    assert.equal(limiter.stats().aborted, 0);
  });

  it('acquire() - an already-aborted signal rejects even when a permit is free', async () => {
    const limiter = fixed(5);
    const reason = new Error('too late');
    await assert.rejects(limiter.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(limiter.inflight, 0);
  });

  it('acquire() - rejects a signal that is not an AbortSignal with ERR_SLUICE_INVALID_OPTION naming signal', async () => {
    await assert.rejects(fixed(1).acquire({ signal: {} as AbortSignal }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'signal' });
  });

  it('acquire() - waiters are admitted when the limit grows, and held back while it is below inflight', async () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 2, timeoutMs: 100, clock });
    const a = limiter.tryAcquire()!;
    const b = limiter.tryAcquire()!;
    const waiters = [settled(limiter.acquire()), settled(limiter.acquire()), settled(limiter.acquire())];
    clock.advance(10);
    a.success(); // 2 in use at its start: the limit grows to 3, two permits are free
    assert.equal(limiter.limit, 3);
    await flushMicrotasks();
    assert.deepEqual(
      waiters.map((w) => w.done),
      [true, true, false],
    );
    b.dropped(); // admitted before the growth, so it may shrink the limit: floor(3 × 0.9) = 2
    assert.equal(limiter.limit, 2);
    await flushMicrotasks();
    assert.equal(limiter.inflight, 2);
    assert.equal(waiters[2]!.done, false, 'still 2 in use at a limit of 2');
  });
});

describe('ConcurrencyLimiter permits', () => {
  it('success() - feeds an RTT measured with the clock from the grant', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 10, timeoutMs: 50, clock });
    const permits = Array.from({ length: 10 }, () => limiter.tryAcquire()!);
    clock.advance(40);
    permits[9]!.success(); // 40 ms: within the timeout, grows
    assert.equal(limiter.limit, 11);
    clock.advance(20);
    permits[8]!.success(); // 60 ms > 50: counts as a drop even though it succeeded
    assert.equal(limiter.limit, 9);
    assert.equal(permits[8]!.startedAt, 0);
  });

  it('dropped() - shrinks an adaptive limit and counts a drop', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 10, clock: new VirtualClock() });
    limiter.tryAcquire()!.dropped();
    assert.equal(limiter.limit, 9);
    assert.equal(limiter.stats().drops, 1);
  });

  it('ignore() - releases the permit without feeding the algorithm', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 2, clock: new VirtualClock() });
    limiter.tryAcquire();
    limiter.tryAcquire()!.ignore();
    assert.equal(limiter.limit, 2);
    assert.equal(limiter.inflight, 1);
    assert.equal(limiter.stats().ignored, 1);
  });

  it('success() - releasing a permit twice, by any method, is a no-op', async () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 1, clock: new VirtualClock() });
    const permit = limiter.tryAcquire()!;
    const w1 = settled(limiter.acquire());
    const w2 = settled(limiter.acquire());
    permit.success(); // limit 1 → 2: both waiters are admitted
    const after = limiter.stats();
    permit.success();
    permit.dropped();
    permit.ignore();
    await flushMicrotasks();
    assert.equal(permit.released, true);
    assert.deepEqual(limiter.stats(), after);
    assert.equal(limiter.inflight, 2);
    assert.ok(w1.done && w2.done);
  });

  it('success() - the limit never leaves [minLimit, maxLimit]', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 3, minLimit: 2, maxLimit: 4, clock: new VirtualClock() });
    for (let i = 0; i < 5; i++) {
      const held = [limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()];
      for (const p of held) p?.success();
    }
    assert.equal(limiter.limit, 4);
    for (let i = 0; i < 5; i++) limiter.tryAcquire()!.dropped();
    assert.equal(limiter.limit, 2);
    const s = limiter.stats();
    assert.equal(s.highestLimit, 4);
    assert.equal(s.lowestLimit, 2);
  });

  it('success() - does not grow the limit while less than half of it is in use (app-limited)', () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 10, clock: new VirtualClock() });
    for (let i = 0; i < 100; i++) limiter.tryAcquire()!.success(); // one call at a time
    assert.equal(limiter.limit, 10);
    const busy = Array.from({ length: 5 }, () => limiter.tryAcquire()!);
    busy[4]!.success(); // 5 in use at its start: half the limit
    assert.equal(limiter.limit, 11);
  });
});

describe('ConcurrencyLimiter run()', () => {
  it('run() - resolves with the function result and releases as success', async () => {
    const limiter = fixed(1);
    assert.equal(await limiter.run(async () => 42), 42);
    assert.equal(await limiter.run(() => 'sync'), 'sync');
    const s = limiter.stats();
    assert.equal(s.successes, 2);
    assert.equal(s.inflight, 0);
  });

  it('run() - releases the permit as dropped when the function throws, and rethrows', async () => {
    const limiter = fixed(1);
    const boom = new Error('boom');
    await assert.rejects(
      limiter.run(async () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    await assert.rejects(
      limiter.run(() => {
        throw boom;
      }),
      (e) => e === boom,
    );
    const s = limiter.stats();
    assert.equal(s.drops, 2);
    assert.equal(s.inflight, 0);
  });

  it('run() - isDropped decides: false releases as ignore, a throwing classifier counts as dropped', async () => {
    const notFound = new Error('404');
    const isDropped = (e: unknown) => {
      if (e === 'weird') throw new Error('the classifier itself failed');
      return e !== notFound;
    };
    const limiter = fixed(1, { isDropped });
    await assert.rejects(limiter.run(() => Promise.reject(notFound)));
    await assert.rejects(limiter.run(() => Promise.reject(new Error('503'))));
    await assert.rejects(limiter.run(() => Promise.reject('weird')));
    const s = limiter.stats();
    assert.equal(s.ignored, 1);
    assert.equal(s.drops, 2);
    assert.equal(s.inflight, 0);
  });

  it('run() - waits for a permit; an abort while waiting means the function never runs', async () => {
    const limiter = fixed(1);
    const held = limiter.tryAcquire()!;
    const controller = new AbortController();
    let ran = false;
    const pending = settled(
      limiter.run(
        () => {
          ran = true;
        },
        { signal: controller.signal },
      ),
    );
    controller.abort();
    await flushMicrotasks();
    assert.equal(ran, false);
    assert.equal(pending.error, controller.signal.reason);
    held.success();
    assert.equal(limiter.inflight, 0);
  });

  it('run() - rejects a non-function with InvalidArgumentError', async () => {
    await assert.rejects(fixed(1).run(42 as never), InvalidArgumentError);
  });
});

describe('ConcurrencyLimiter stats()', () => {
  it('stats() - is a snapshot of counters and limit history', () => {
    const clock = new VirtualClock();
    const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit: 4, name: 'db', clock });
    assert.deepEqual(limiter.stats(), {
      algorithm: 'aimd',
      limit: 4,
      inflight: 0,
      waiting: 0,
      acquired: 0,
      rejected: 0,
      aborted: 0,
      successes: 0,
      drops: 0,
      ignored: 0,
      lowestLimit: 4,
      highestLimit: 4,
      limitChanges: 0,
      lastLimitChangeAt: undefined,
      adjustments: 0,
    });
    const p = [limiter.tryAcquire()!, limiter.tryAcquire()!];
    clock.advance(5);
    p[1]!.success(); // 2 of 4 in use at its start: 4 → 5 at t=5
    clock.advance(5);
    p[0]!.ignore();
    limiter.tryAcquire()!.dropped(); // admitted at 10 after the change: 5 → 4 at t=10
    const snapshot = limiter.stats();
    assert.equal(snapshot.limit, 4);
    assert.equal(snapshot.acquired, 3);
    assert.equal(snapshot.successes, 1);
    assert.equal(snapshot.drops, 1);
    assert.equal(snapshot.ignored, 1);
    assert.equal(snapshot.highestLimit, 5);
    assert.equal(snapshot.lowestLimit, 4);
    assert.equal(snapshot.limitChanges, 2);
    assert.equal(snapshot.lastLimitChangeAt, 10);
    limiter.tryAcquire();
    assert.equal(snapshot.inflight, 0, 'a snapshot does not change afterwards');
  });
});

describe('ConcurrencyLimiter close', () => {
  it('close() - rejects waiting and later acquires with ChannelClosedError; held permits still release', async () => {
    const limiter = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 1, minLimit: 1, maxLimit: 1, whenFull: 'wait' });
    const held = await limiter.acquire();
    const waiting = limiter.acquire();
    limiter.close();
    await assert.rejects(waiting, { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(limiter.acquire(), { code: 'ERR_SLUICE_CLOSED' });
    assert.throws(() => limiter.tryAcquire(), { code: 'ERR_SLUICE_CLOSED' });
    held.success();
    assert.equal(limiter.inflight, 0);
    assert.equal(limiter.stats().waiting, 0);
  });
});
