import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeadlineQueue, TimedList, type DeadlineGroup } from './timed-list.js';
import { BlockedProducers, producerGaveUp } from './blocked-producers.js';
import { AcquireQueue } from './acquire-queue.js';
import { VirtualClock, flushMicrotasks } from '../core/testing/index.js';

// The waited-time figures are running sums (O(1) to read). These tests hold
// them to a brute-force model that walks every waiter, on the virtual clock.

class Node {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  constructor(
    readonly id: number,
    readonly since: number,
  ) {}
}

/** The old O(n) definition: finished waits plus the age of everyone still queued. */
class Model {
  settled = 0;
  readonly queued = new Map<number, number>(); // id -> since, insertion order = FIFO
  waited(now: number): number {
    let sum = this.settled;
    for (const since of this.queued.values()) sum += now - since;
    return sum;
  }
  longest(now: number): number {
    for (const since of this.queued.values()) return now - since;
    return 0;
  }
  leave(id: number, now: number): void {
    this.settled += now - this.queued.get(id)!;
    this.queued.delete(id);
  }
}

type ListOp = { kind: 'push' } | { kind: 'shift' } | { kind: 'remove'; pick: number } | { kind: 'advance'; ms: number };

const listOps = (advance: fc.Arbitrary<number>): fc.Arbitrary<ListOp[]> =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant({ kind: 'push' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'shift' as const }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: advance }) },
    ),
    { maxLength: 200 },
  );

/** Runs `ops` on a TimedList and the model; `check(list, model, now)` after every step. */
function runList(ops: ListOp[], check: (list: TimedList<Node>, model: Model, now: number) => void): void {
  const list = new TimedList<Node>();
  const model = new Model();
  const nodes: Node[] = [];
  let now = 1_000; // not 0, so a since of 0 never hides a bug
  let id = 0;
  for (const op of ops) {
    if (op.kind === 'push') {
      const n = new Node(id++, now);
      nodes.push(n);
      list.push(n, now);
      model.queued.set(n.id, now);
    } else if (op.kind === 'shift') {
      const n = list.shift(now);
      const first = model.queued.keys().next();
      assert.equal(n?.id, first.done ? undefined : first.value, 'FIFO order');
      if (n) model.leave(n.id, now);
    } else if (op.kind === 'remove') {
      if (nodes.length === 0) continue;
      const n = nodes[op.pick % nodes.length]!;
      const wasQueued = model.queued.has(n.id);
      assert.equal(list.remove(n, now), wasQueued, 'remove() says whether the node was queued');
      if (wasQueued) model.leave(n.id, now);
    } else {
      now += op.ms;
    }
    assert.equal(list.size, model.queued.size);
    check(list, model, now);
  }
}

describe('TimedList', () => {
  it('waitedMs() - equals the sum over every waiter, for any order of push, shift, remove and time (integer ms: exact)', () => {
    fc.assert(
      fc.property(listOps(fc.integer({ min: 0, max: 10_000 })), (ops) => {
        runList(ops, (list, model, now) => {
          assert.equal(list.waitedMs(now), model.waited(now));
          assert.equal(list.longestMs(now), model.longest(now));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('waitedMs() - fractional clock readings (performance.now()) stay within rounding of the model', () => {
    fc.assert(
      fc.property(listOps(fc.double({ min: 0, max: 5_000, noNaN: true })), (ops) => {
        runList(ops, (list, model, now) => {
          const expected = model.waited(now);
          assert.ok(Math.abs(list.waitedMs(now) - expected) <= 1e-9 * Math.max(1, expected), `${list.waitedMs(now)} vs ${expected}`);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('waitedMs() - a queue that never empties over a million waits at a large clock reading keeps its sum', () => {
    // Rounding drift is the risk of a running sum: a busy queue never hits the
    // exact reset at empty. 1,000 waiters always queued, 1,000,000 replaced,
    // the clock at 10^9 ms (11 days of uptime) and moving in fractional steps.
    const list = new TimedList<Node>();
    let now = 1e9 + 0.123;
    let settled = 0;
    for (let i = 0; i < 1_000; i++) list.push(new Node(i, now), now);
    for (let i = 1_000; i < 1_001_000; i++) {
      now += 0.37;
      const n = list.shift(now)!;
      settled += now - n.since;
      list.push(new Node(i, now), now);
    }
    let queued = 0;
    for (let n = list.head; n; n = n.next) queued += now - n.since;
    const expected = settled + queued;
    assert.ok(Math.abs(list.waitedMs(now) - expected) <= 1e-9 * expected, `${list.waitedMs(now)} vs ${expected}`);
  });

  it('remove() - a node removed twice, or after shift(), changes nothing', () => {
    const list = new TimedList<Node>();
    const a = new Node(1, 0);
    const b = new Node(2, 0);
    list.push(a, 0);
    list.push(b, 0);
    assert.equal(list.shift(5), a);
    assert.equal(list.remove(a, 10), false);
    assert.equal(list.remove(b, 10), true);
    assert.equal(list.remove(b, 20), false);
    assert.equal(list.size, 0);
    assert.equal(list.waitedMs(100), 5 + 10);
  });
});

type QueueOp =
  | { kind: 'wait'; timeoutMs: number | undefined; abortable: boolean }
  | { kind: 'admit' }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number };

const queueOps: fc.Arbitrary<QueueOp[]> = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('wait' as const),
        timeoutMs: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        abortable: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'admit' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  ),
  { maxLength: 120 },
);

describe('BlockedProducers and AcquireQueue against the model', () => {
  it('BlockedProducers blockedMs() - matches the model through admits, timeouts and aborts', async () => {
    await fc.assert(
      fc.asyncProperty(queueOps, async (ops) => {
        const clock = new VirtualClock(500);
        const gaveUp: string[] = [];
        const queue = new BlockedProducers<number>(clock, { [producerGaveUp]: (reason) => gaveUp.push(reason) });
        const model = new Model();
        const deadlines = new Map<number, number>(); // id -> due time
        const controllers: { id: number; ac: AbortController | undefined }[] = [];
        const outcomes: Promise<unknown>[] = [];
        let id = 0;
        for (const op of ops) {
          const now = clock.now();
          if (op.kind === 'wait') {
            const ac = op.abortable ? new AbortController() : undefined;
            outcomes.push(queue.wait(id, ac?.signal, op.timeoutMs).catch(() => 'aborted'));
            model.queued.set(id, now);
            if (op.timeoutMs !== undefined) deadlines.set(id, now + op.timeoutMs);
            controllers.push({ id, ac });
            id++;
          } else if (op.kind === 'admit') {
            const w = queue.shift();
            if (w) {
              model.leave(w.item, now);
              w.resolve(true);
            }
          } else if (op.kind === 'abort') {
            if (controllers.length === 0) continue;
            const c = controllers[op.pick % controllers.length]!;
            c.ac?.abort(new Error('stop'));
            if (c.ac && model.queued.has(c.id)) model.leave(c.id, now);
          } else {
            // Timeouts fire in due order (ties in wait order) as time passes.
            const target = now + op.ms;
            const due = [...deadlines].filter(([i, at]) => at <= target && model.queued.has(i)).sort((x, y) => x[1] - y[1] || x[0] - y[0]);
            for (const [i, at] of due) model.leave(i, at);
            clock.advance(op.ms);
          }
          assert.equal(queue.size, model.queued.size);
          assert.equal(queue.blockedMs(), model.waited(clock.now()));
          assert.equal(queue.longestBlockedMs(), model.longest(clock.now()));
        }
        for (let w = queue.shift(); w; w = queue.shift()) w.reject(new Error('closed'));
        await Promise.all(outcomes);
        assert.equal(queue.blockedMs(), model.settled + [...model.queued.values()].reduce((s, since) => s + clock.now() - since, 0));
      }),
      { numRuns: 200 },
    );
  });

  it('AcquireQueue waitedMs() - matches the model through admits and aborts, including an aborted head', async () => {
    await fc.assert(
      fc.asyncProperty(queueOps, async (ops) => {
        const clock = new VirtualClock(500);
        let headLeft = 0;
        const queue = new AcquireQueue(clock, () => headLeft++);
        const model = new Model();
        const controllers: { id: number; ac: AbortController | undefined }[] = [];
        const outcomes: Promise<unknown>[] = [];
        let id = 0;
        let expectedHeadLeft = 0;
        for (const op of ops) {
          const now = clock.now();
          if (op.kind === 'wait') {
            const ac = op.abortable ? new AbortController() : undefined;
            outcomes.push(queue.wait(1 + (id % 3), ac?.signal).catch(() => 'aborted'));
            model.queued.set(id, now);
            controllers.push({ id, ac });
            id++;
          } else if (op.kind === 'admit') {
            const first = model.queued.keys().next();
            queue.admitHead();
            if (!first.done) model.leave(first.value, now);
          } else if (op.kind === 'abort') {
            if (controllers.length === 0) continue;
            const c = controllers[op.pick % controllers.length]!;
            if (c.ac && model.queued.has(c.id)) {
              if (model.queued.keys().next().value === c.id) expectedHeadLeft++;
              model.leave(c.id, now);
            }
            c.ac?.abort(new Error('stop'));
          } else {
            clock.advance(op.ms);
          }
          assert.equal(queue.size, model.queued.size);
          assert.equal(queue.headAmount, model.queued.size === 0 ? 0 : 1 + (model.queued.keys().next().value! % 3));
          assert.equal(queue.waitedMs(), model.waited(clock.now()));
          assert.equal(queue.longestWaitMs(), model.longest(clock.now()));
        }
        assert.equal(headLeft, expectedHeadLeft);
        queue.rejectAll(() => new Error('closed'));
        await Promise.all(outcomes);
        assert.equal(queue.size, 0);
      }),
      { numRuns: 200 },
    );
  });

  // A real-sized queue: n waiters arriving over time, a tenth admitted, a
  // tenth aborted from the middle, then the rest admitted. Each abortable
  // waiter shares its signal with 7 others: Node's EventTarget walks a signal's
  // listeners on every add, so one signal for them all would be O(n^2).
  type Queue = { wait(i: number, signal: AbortSignal | undefined): Promise<unknown>; admit(): number; waited(): number; longest(): number; size: number };
  const queues: Record<string, (clock: VirtualClock) => Queue> = {
    BlockedProducers: (clock) => {
      const q = new BlockedProducers<number>(clock, { [producerGaveUp]: () => {} });
      return {
        wait: (i, signal) => q.wait(i, signal, undefined),
        admit: () => {
          const w = q.shift()!;
          w.resolve(true);
          return w.item;
        },
        waited: () => q.blockedMs(),
        longest: () => q.longestBlockedMs(),
        get size() {
          return q.size;
        },
      };
    },
    AcquireQueue: (clock) => {
      const q = new AcquireQueue(clock, () => {});
      let head = 0; // the model knows who is at the head: the lowest index not yet gone
      const gone: Set<number> = new Set();
      return {
        wait: (_i, signal) => q.wait(1, signal),
        admit: () => {
          while (gone.has(head)) head++;
          q.admitHead();
          gone.add(head);
          return head;
        },
        waited: () => q.waitedMs(),
        longest: () => q.longestWaitMs(),
        get size() {
          return q.size;
        },
        // aborted waiters are skipped by admit() through `gone`
        gone,
      } as Queue & { gone: Set<number> };
    },
  };
  for (const [name, make] of Object.entries(queues)) {
    // 100,000 rather than 1,000,000: a million real waiters take ~4 s per queue here;
    // bench/scaling-waiters.ts reads stats() at a million.
    for (const n of [10, 10_000, 100_000]) {
      it(`${name} - waited time of ${n.toLocaleString('en')} waiters matches the model`, async () => {
        const clock = new VirtualClock();
        const queue = make(clock);
        const gone = (queue as { gone?: Set<number> }).gone;
        const since = new Float64Array(n);
        const left = new Uint8Array(n);
        const controllers: AbortController[] = [];
        const aborted: Promise<unknown>[] = [];
        for (let i = 0; i < n; i++) {
          if (i % 7 === 0) clock.advance(3);
          since[i] = clock.now();
          if (i % 10 === 5) {
            if (controllers.length * 8 <= aborted.length) controllers.push(new AbortController());
            aborted.push(queue.wait(i, controllers.at(-1)!.signal).catch(() => {})); // admitted if in the first tenth, else aborted
          } else {
            void queue.wait(i, undefined); // admitted below, so it never rejects
          }
        }
        clock.advance(1_000);
        let settled = 0;
        for (let i = 0; i < n / 10; i++) {
          const item = queue.admit();
          settled += clock.now() - since[item]!;
          left[item] = 1;
        }
        clock.advance(250);
        for (const ac of controllers) ac.abort(new Error('stop')); // leave from the middle
        for (let i = 5; i < n; i += 10) {
          if (left[i]) continue;
          settled += clock.now() - since[i]!;
          left[i] = 1;
          gone?.add(i);
        }
        clock.advance(125);
        let expected = settled;
        let longest = 0;
        let queued = 0;
        for (let i = n - 1; i >= 0; i--) {
          if (left[i]) continue;
          expected += clock.now() - since[i]!;
          longest = clock.now() - since[i]!;
          queued++;
        }
        assert.equal(queue.size, queued);
        assert.equal(queue.waited(), expected);
        assert.equal(queue.longest(), longest);
        while (queue.size !== 0) queue.admit();
        await Promise.all(aborted);
        await flushMicrotasks();
      });
    }
  }
});

class DeadlineWaiter {
  prev: DeadlineWaiter | undefined = undefined;
  next: DeadlineWaiter | undefined = undefined;
  dprev: DeadlineWaiter | undefined = undefined;
  dnext: DeadlineWaiter | undefined = undefined;
  group: DeadlineGroup<DeadlineWaiter> | undefined = undefined;
  constructor(
    readonly id: number,
    readonly since: number,
  ) {}
}

describe('DeadlineQueue', () => {
  it('expire - nodes expire at the times and in the order a timer per node would fire, for any mix of timeouts, removals and clock moves', () => {
    type DeadlineOp = { kind: 'add'; timeoutMs: number } | { kind: 'remove'; pick: number } | { kind: 'advance'; ms: number };
    const ops: fc.Arbitrary<DeadlineOp[]> = fc.array<DeadlineOp>(
      fc.oneof(
        // A few shared timeouts (the usual case: one per call site) and arbitrary ones, fractional included
        // (on a 1/8 ms grid: two different timeouts started at once never round to one deadline, see DeadlineQueue).
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), timeoutMs: fc.oneof(fc.constantFrom(5, 10, 25), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 320 }).map((k) => k / 8)) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 30, noNaN: true })) }) },
      ),
      { maxLength: 150 },
    );
    fc.assert(
      fc.property(ops, (list) => {
        const clock = new VirtualClock(1000);
        const expired: string[] = [];
        const expected: string[] = [];
        const queue = new DeadlineQueue<DeadlineWaiter>(clock, (w) => expired.push(`${w.id}@${clock.now()}`));
        // The model: a timer per node on the same clock, as BlockedProducers had.
        const timers = new Map<number, ReturnType<VirtualClock['schedule']>>();
        const nodes: DeadlineWaiter[] = [];
        for (const op of list) {
          if (op.kind === 'add') {
            const w = new DeadlineWaiter(nodes.length, clock.now());
            nodes.push(w);
            queue.add(w, op.timeoutMs);
            timers.set(
              w.id,
              clock.schedule(op.timeoutMs, () => {
                timers.delete(w.id);
                expected.push(`${w.id}@${clock.now()}`);
              }),
            );
          } else if (op.kind === 'remove') {
            if (nodes.length === 0) continue;
            const w = nodes[op.pick % nodes.length]!;
            queue.remove(w);
            const timer = timers.get(w.id);
            if (timer !== undefined) clock.cancel(timer);
            timers.delete(w.id);
          } else {
            clock.advance(op.ms);
          }
          assert.deepEqual(expired, expected);
          assert.equal(queue.size, timers.size);
        }
        clock.runAll();
        assert.deepEqual(expired, expected);
        assert.equal(queue.size, 0);
        assert.equal(clock.pending, 0, 'no timer left once every node is gone');
      }),
      { numRuns: 300 },
    );
  });

  it('add() - one clock timer for any number of nodes and timeouts; none once the last node leaves', () => {
    const clock = new VirtualClock();
    const expired: number[] = [];
    const queue = new DeadlineQueue<DeadlineWaiter>(clock, (w) => expired.push(w.id));
    const nodes = Array.from({ length: 1000 }, (_, i) => new DeadlineWaiter(i, 0));
    nodes.forEach((w, i) => queue.add(w, [100, 50, 200][i % 3]!));
    assert.equal(clock.pending, 1);
    clock.advance(50);
    assert.equal(expired.length, 333, 'the 50 ms ones, all at once');
    assert.deepEqual(expired.slice(0, 3), [1, 4, 7], 'in arrival order');
    assert.equal(clock.pending, 1, 're-armed for the next deadline');
    for (const w of nodes) queue.remove(w);
    assert.equal(queue.size, 0);
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(expired.length, 333, 'removed nodes never expire');
  });

  it('add() - a timeout beyond the longest timer delay (24.8 days) expires at its deadline, not at once', () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    const queue = new DeadlineQueue<DeadlineWaiter>(clock, (w) => expired.push(`${w.id}@${clock.now()}`));
    queue.add(new DeadlineWaiter(0, 0), 3_000_000_000);
    clock.advance(2_999_999_999);
    assert.deepEqual(expired, []);
    assert.equal(clock.pending, 1, 'woke at the timer limit and re-armed');
    clock.advance(1);
    assert.deepEqual(expired, ['0@3000000000']);
    assert.equal(clock.pending, 0);
  });

  it('expire - a node added from inside the expiry callback is timed like any other', () => {
    const clock = new VirtualClock();
    const expired: string[] = [];
    let next = 1;
    const queue: DeadlineQueue<DeadlineWaiter> = new DeadlineQueue<DeadlineWaiter>(clock, (w) => {
      expired.push(`${w.id}@${clock.now()}`);
      if (next < 3) queue.add(new DeadlineWaiter(next++, clock.now()), 30);
    });
    queue.add(new DeadlineWaiter(0, 0), 10);
    queue.add(new DeadlineWaiter(9, 0), 100);
    clock.advance(200);
    assert.deepEqual(expired, ['0@10', '1@40', '2@70', '9@100']);
    assert.equal(clock.pending, 0);
  });
});

describe('AcquireQueue with timeouts', () => {
  it('wait() - with timeoutMs a caller times out at its deadline with the owner error; admitted and aborted callers do not; one clock timer', async () => {
    const clock = new VirtualClock();
    let headLeft = 0;
    const queue = new AcquireQueue(clock, () => headLeft++, (ms) => new Error(`none within ${ms} ms`));
    const outcome = (p: Promise<void>) => p.then(() => `ok@${clock.now()}`, (e: Error) => `${e.message}@${clock.now()}`);
    const ac = new AbortController();
    const a = outcome(queue.wait(1, undefined, 100));
    const b = outcome(queue.wait(1, ac.signal, 50));
    const c = outcome(queue.wait(1, undefined, 50));
    const d = outcome(queue.wait(1, undefined, undefined));
    assert.equal(clock.pending, 1);
    queue.admitHead(); // a
    ac.abort(new Error('stop')); // b
    await flushMicrotasks();
    clock.advance(50); // c times out
    await flushMicrotasks();
    assert.deepEqual(await Promise.all([a, b, c]), ['ok@0', 'stop@0', 'none within 50 ms@50']);
    assert.equal(headLeft, 2, 'b and then c left from the head');
    assert.equal(clock.pending, 0, 'only an untimed caller waits: no timer');
    clock.advance(1000);
    assert.equal(queue.size, 1);
    queue.admitHead();
    assert.equal(await d, 'ok@1050');
    assert.equal(queue.waitedMs(), 0 + 0 + 50 + 1050, 'a, b at once; c 50 ms; d 1050 ms');
  });
});
