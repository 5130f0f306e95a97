import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel } from '../channel/index.js';
import { flushMicrotasks } from '../testing/index.js';
import { publisherFrom, type Subscriber, type Subscription } from './index.js';

/** Records every signal and flags any that nests inside another or follows a terminal one. */
class Recorder<T> implements Subscriber<T> {
  readonly signals: string[] = [];
  readonly items: T[] = [];
  readonly errors: unknown[] = [];
  completed = 0;
  subscription!: Subscription;
  violations: string[] = [];
  private depth = 0;
  private terminated = false;
  constructor(
    private readonly hooks: { subscribe?: (s: Subscription) => void; next?: (item: T, s: Subscription) => void } = {},
  ) {}
  onSubscribe(s: Subscription): void {
    this.enter('subscribe');
    this.subscription = s;
    this.hooks.subscribe?.(s);
    this.depth--;
  }
  onNext(item: T): void {
    this.enter('next');
    this.items.push(item);
    this.hooks.next?.(item, this.subscription);
    this.depth--;
  }
  onError(error: unknown): void {
    this.enter('error');
    this.errors.push(error);
    this.terminated = true;
    this.depth--;
  }
  onComplete(): void {
    this.enter('complete');
    this.completed++;
    this.terminated = true;
    this.depth--;
  }
  private enter(signal: string): void {
    if (this.depth !== 0) this.violations.push(`${signal} nested in another signal`);
    if (this.terminated) this.violations.push(`${signal} after a terminal signal`);
    if (this.signals.length === 0 && signal !== 'subscribe') this.violations.push(`${signal} before onSubscribe`);
    this.signals.push(signal);
    this.depth++;
  }
}

function* counting(n: number, log?: { pulled: number; finalized: boolean }): Generator<number> {
  try {
    for (let i = 1; i <= n; i++) {
      if (log) log.pulled++;
      yield i;
    }
  } finally {
    if (log) log.finalized = true;
  }
}

async function* countingAsync(n: number): AsyncGenerator<number> {
  for (let i = 1; i <= n; i++) yield i;
}

describe('Reactive Streams rules (publisherFrom)', () => {
  it('rule 1.1 - never signals more onNext than requested', async () => {
    const log = { pulled: 0, finalized: false };
    const sync = new Recorder<number>({ subscribe: (s) => s.request(3) });
    publisherFrom(counting(100, log)).subscribe(sync);
    assert.deepEqual(sync.items, [1, 2, 3]);
    sync.subscription.request(2);
    assert.deepEqual(sync.items, [1, 2, 3, 4, 5]);
    assert.equal(log.pulled, 5);

    const async = new Recorder<number>({ subscribe: (s) => s.request(4) });
    publisherFrom(countingAsync(100)).subscribe(async);
    await flushMicrotasks();
    assert.deepEqual(async.items, [1, 2, 3, 4]);

    const channel = new Channel<number>({ capacity: 10 });
    for (let i = 1; i <= 10; i++) channel.trySend(i);
    const fromChannel = new Recorder<number>({ subscribe: (s) => s.request(2) });
    publisherFrom(channel).subscribe(fromChannel);
    await flushMicrotasks();
    assert.deepEqual(fromChannel.items, [1, 2]);
    assert.equal(channel.size, 8);
    for (const r of [sync, async, fromChannel]) assert.deepEqual(r.violations, []);
  });

  it('rule 1.3 - signals are serial: request() inside onSubscribe or onNext never nests a signal', async () => {
    let onSubscribeReturned = false;
    const sync = new Recorder<number>({
      subscribe: (s) => {
        s.request(1);
        assert.equal(sync.items.length, 0, 'no onNext while onSubscribe is still running');
        onSubscribeReturned = true;
      },
      next: (_item, s) => s.request(1),
    });
    publisherFrom([1, 2, 3, 4, 5]).subscribe(sync);
    assert.ok(onSubscribeReturned);
    assert.deepEqual(sync.items, [1, 2, 3, 4, 5]);
    assert.equal(sync.completed, 1);
    assert.deepEqual(sync.violations, []);

    const channel = new Channel<number>({ capacity: 10 });
    const fromChannel = new Recorder<number>({ subscribe: (s) => s.request(1), next: (_item, s) => s.request(1) });
    publisherFrom(channel).subscribe(fromChannel);
    for (let i = 1; i <= 3; i++) channel.trySend(i);
    await flushMicrotasks();
    channel.trySend(4);
    channel.close();
    await flushMicrotasks();
    assert.deepEqual(fromChannel.items, [1, 2, 3, 4]);
    assert.equal(fromChannel.completed, 1);
    assert.deepEqual(fromChannel.violations, []);
  });

  it('rule 1.3 - an invalid request() made inside onNext signals onError only after onNext returns', () => {
    const r = new Recorder<number>({ subscribe: (s) => s.request(1), next: (_item, s) => s.request(0) });
    publisherFrom([1, 2, 3]).subscribe(r);
    assert.deepEqual(r.signals, ['subscribe', 'next', 'error']);
    assert.deepEqual(r.violations, []);
  });

  it('rule 1.7 - nothing is signalled after onComplete', () => {
    const r = new Recorder<number>({ subscribe: (s) => s.request(10) });
    publisherFrom(counting(2)).subscribe(r);
    assert.deepEqual(r.signals, ['subscribe', 'next', 'next', 'complete']);
    r.subscription.request(5);
    r.subscription.request(-1);
    r.subscription.cancel();
    assert.deepEqual(r.signals, ['subscribe', 'next', 'next', 'complete']);
    assert.deepEqual(r.violations, []);
  });

  it('rule 1.7 - nothing is signalled after onError, even on repeated invalid requests', () => {
    const r = new Recorder<number>({
      subscribe: (s) => {
        s.request(0);
        s.request(-5);
        s.request(3);
      },
    });
    publisherFrom([1, 2, 3]).subscribe(r);
    assert.deepEqual(r.signals, ['subscribe', 'error']);
    r.subscription.request(1);
    assert.deepEqual(r.signals, ['subscribe', 'error']);
    assert.deepEqual(r.violations, []);
  });

  it('rule 1.9 - onSubscribe is the first signal, even for an empty or failing source', async () => {
    const empty = new Recorder<number>();
    publisherFrom<number>([]).subscribe(empty);
    assert.deepEqual(empty.signals, ['subscribe', 'complete']);

    const failing = new Recorder<number>({ subscribe: (s) => s.request(1) });
    publisherFrom<number>({
      [Symbol.iterator]() {
        throw new Error('cannot open');
      },
    }).subscribe(failing);
    assert.deepEqual(failing.signals, ['subscribe', 'error']);

    const asyncFailing = new Recorder<number>({ subscribe: (s) => s.request(1) });
    publisherFrom<number>({
      [Symbol.asyncIterator]() {
        return { next: () => Promise.reject(new Error('down')) };
      },
    }).subscribe(asyncFailing);
    await flushMicrotasks();
    assert.deepEqual(asyncFailing.signals, ['subscribe', 'error']);
    for (const r of [empty, failing, asyncFailing]) assert.deepEqual(r.violations, []);
  });

  it('rule 1.9 - subscribe(null) and subscribe(undefined) throw TypeError', () => {
    const publisher = publisherFrom([1]);
    assert.throws(() => publisher.subscribe(null as unknown as Subscriber<number>), TypeError);
    assert.throws(() => publisher.subscribe(null as unknown as Subscriber<number>), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => publisher.subscribe(undefined as unknown as Subscriber<number>), /rule 1\.9/);
    assert.equal(publisher.stats().subscriptions, 0);
  });

  it('rule 2.13 - a null item from the source signals onError with a TypeError and cancels the source', () => {
    let finalized = false;
    function* withNull(): Generator<number | null> {
      try {
        yield 1;
        yield null;
        yield 2;
      } finally {
        finalized = true;
      }
    }
    const r = new Recorder<number | null>({ subscribe: (s) => s.request(10) });
    publisherFrom(withNull()).subscribe(r);
    assert.deepEqual(r.items, [1]);
    assert.equal(r.errors.length, 1);
    assert.ok(r.errors[0] instanceof TypeError);
    assert.equal((r.errors[0] as { code?: string }).code, 'ERR_SLUICE_INVALID_ITEM');
    assert.match((r.errors[0] as Error).message, /2\.13/);
    assert.ok(finalized, 'the source iterator was returned');
    assert.deepEqual(r.violations, []);
  });

  it('rule 2.13 - an undefined item (a hole in an array, or from an async source) is an error too', async () => {
    const holey = new Recorder<number>({ subscribe: (s) => s.request(10) });
    publisherFrom([1, undefined as unknown as number, 3]).subscribe(holey);
    assert.deepEqual(holey.items, [1]);
    assert.ok(holey.errors[0] instanceof TypeError);

    let finalized = false;
    async function* gen(): AsyncGenerator<number | undefined> {
      try {
        yield 1;
        yield undefined;
      } finally {
        finalized = true;
      }
    }
    const r = new Recorder<number | undefined>({ subscribe: (s) => s.request(10) });
    publisherFrom(gen()).subscribe(r);
    await flushMicrotasks();
    assert.deepEqual(r.items, [1]);
    assert.ok(r.errors[0] instanceof TypeError);
    assert.ok(finalized);
  });

  it('rule 3.6 - request after cancel is a no-op', async () => {
    const log = { pulled: 0, finalized: false };
    const r = new Recorder<number>({ subscribe: (s) => s.request(2) });
    publisherFrom(counting(10, log)).subscribe(r);
    r.subscription.cancel();
    r.subscription.request(5);
    r.subscription.request(0); // not even an invalid request is signalled
    assert.deepEqual(r.signals, ['subscribe', 'next', 'next']);
    assert.equal(log.pulled, 2);

    const channel = new Channel<number>();
    const c = new Recorder<number>();
    publisherFrom(channel).subscribe(c);
    c.subscription.cancel();
    c.subscription.request(1);
    channel.trySend(1);
    await flushMicrotasks();
    assert.deepEqual(c.signals, ['subscribe']);
    assert.equal(channel.size, 1, 'the item stays in the channel');
  });

  it('rule 3.9 - request(n) with n <= 0 or not an integer signals onError with a RangeError', () => {
    for (const n of [0, -1, 1.5, Number.NaN, -Infinity, '3' as unknown as number]) {
      const log = { pulled: 0, finalized: false };
      const r = new Recorder<number>({ subscribe: (s) => s.request(1) });
      publisherFrom(counting(10, log)).subscribe(r);
      r.subscription.request(n);
      assert.deepEqual(r.signals, ['subscribe', 'next', 'error'], `n = ${String(n)}`);
      assert.ok(r.errors[0] instanceof RangeError, `n = ${String(n)}`);
      assert.equal((r.errors[0] as { code?: string }).code, 'ERR_SLUICE_INVALID_ARGUMENT');
      assert.match((r.errors[0] as Error).message, /3\.9/);
      assert.ok(log.finalized, `source released for n = ${String(n)}`);
    }
  });

  it('rule 3.9 - an invalid request while an async pull is in flight errors after that item', async () => {
    const r = new Recorder<number>({ subscribe: (s) => s.request(1) });
    publisherFrom(countingAsync(10)).subscribe(r);
    r.subscription.request(-1);
    await flushMicrotasks();
    assert.deepEqual(r.signals, ['subscribe', 'next', 'error']);
    assert.ok(r.errors[0] instanceof RangeError);
    assert.deepEqual(r.violations, []);
  });

  it('rule 3.17 - demand accumulates across request() calls', async () => {
    const r = new Recorder<number>();
    publisherFrom(countingAsync(100)).subscribe(r);
    r.subscription.request(2);
    r.subscription.request(3); // arrives while the first pull is in flight
    await flushMicrotasks();
    assert.equal(r.items.length, 5);
  });

  it('rule 3.17 - demand reaching Number.MAX_SAFE_INTEGER is unbounded and never overflows', () => {
    let cancelAt = 0;
    const r = new Recorder<number>({
      subscribe: (s) => {
        s.request(Number.MAX_SAFE_INTEGER - 1);
        s.request(Number.MAX_SAFE_INTEGER);
        s.request(Number.MAX_SAFE_INTEGER);
      },
      next: (item, s) => {
        if (item === cancelAt) s.cancel();
      },
    });
    cancelAt = 10_000;
    function* endless(): Generator<number> {
      for (let i = 1; ; i++) yield i;
    }
    const publisher = publisherFrom(endless());
    publisher.subscribe(r);
    assert.equal(r.items.length, 10_000);
    assert.deepEqual(r.errors, []);

    const inf = new Recorder<number>({ subscribe: (s) => s.request(Infinity) });
    publisherFrom(counting(1000)).subscribe(inf);
    assert.equal(inf.items.length, 1000);
    assert.equal(inf.completed, 1);
  });

  it('rule 3.3 - request(1) from onNext over 1,000,000 sync items runs without stack overflow', () => {
    const n = 1_000_000;
    for (const source of [counting(n), Array.from({ length: n }, (_, i) => i + 1)]) {
      let subscription: Subscription | undefined;
      let depth = 0;
      let maxDepth = 0;
      let count = 0;
      let completed = false;
      publisherFrom(source).subscribe({
        onSubscribe: (s) => {
          subscription = s;
          s.request(1);
        },
        onNext: () => {
          if (++depth > maxDepth) maxDepth = depth;
          count++;
          subscription!.request(1);
          depth--;
        },
        onError: (error) => assert.fail(String(error)),
        onComplete: () => {
          completed = true;
        },
      });
      assert.equal(count, n);
      assert.equal(maxDepth, 1, 'onNext never nests');
      assert.ok(completed);
    }
  });
});
