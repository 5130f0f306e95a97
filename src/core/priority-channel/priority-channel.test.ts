import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PriorityChannel, priorityDropReasons, type PriorityChannelStats } from './index.js';
import { Channel } from '../channel/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

const LEVELS = ['critical', 'normal', 'batch'] as const;
type Level = (typeof LEVELS)[number];

/** offered === delivered + size + dropped, for the totals and for every level; dropped is the sum of droppedBy. */
function balanced(s: PriorityChannelStats): void {
  const rows = [['total', s], ...Object.entries(s.levels)] as const;
  for (const [name, r] of rows) {
    const sum = priorityDropReasons.reduce((a, k) => a + r.droppedBy[k], 0);
    assert.equal(r.dropped, sum, `${name}: dropped is the sum of droppedBy`);
    assert.equal(r.offered, r.delivered + r.size + r.dropped, `${name}: offered === delivered + size + dropped`);
  }
}

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

function drain<T>(ch: PriorityChannel<T, string>): T[] {
  const out: T[] = [];
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) out.push(x);
  return out;
}

describe('PriorityChannel ordering', () => {
  it('tryReceive() - strict priority: higher levels first, FIFO within a level', () => {
    const ch = new PriorityChannel<string, Level>({ levels: LEVELS });
    ch.trySend('b1');
    ch.trySend('n1', { priority: 'normal' });
    ch.trySend('c1', { priority: 'critical' });
    ch.trySend('b2', { priority: 'batch' });
    ch.trySend('c2', { priority: 'critical' });
    assert.deepEqual(drain(ch), ['c1', 'c2', 'n1', 'b1', 'b2']);
    balanced(ch.stats());
  });

  it('tryReceive() - weights: backlogged levels are served 3:1, the lower one slowed, not starved', () => {
    const ch = new PriorityChannel<string>({ levels: ['high', 'low'], weights: { high: 3, low: 1 } });
    for (let i = 0; i < 30; i++) {
      ch.trySend(`h${i}`, { priority: 'high' });
      ch.trySend(`l${i}`, { priority: 'low' });
    }
    const first = Array.from({ length: 20 }, () => ch.tryReceive()!);
    assert.equal(first.filter((x) => x.startsWith('h')).length, 15);
    assert.equal(first.filter((x) => x.startsWith('l')).length, 5);
    // Once the high level is empty the low one takes every turn.
    const rest = drain(ch);
    assert.equal(rest.length, 40);
    assert.deepEqual(rest.slice(-10), Array.from({ length: 10 }, (_, i) => `l${20 + i}`));
  });

  it('receiveBatch() - takes items in the tryReceive() order', async () => {
    const ch = new PriorityChannel<number, 'a' | 'b'>({ levels: ['a', 'b'] });
    ch.trySend(1, { priority: 'b' });
    ch.trySend(2, { priority: 'a' });
    ch.trySend(3, { priority: 'b' });
    assert.deepEqual(await ch.receiveBatch(10), [2, 1, 3]);
  });
});

describe('PriorityChannel overflow', () => {
  it('trySend() - shed-lowest evicts the oldest item of the lowest non-empty lower level', () => {
    const ch = new PriorityChannel<string, Level>({ levels: LEVELS, capacity: 3, overflow: 'shed-lowest' });
    ch.trySend('b1');
    ch.trySend('b2');
    ch.trySend('n1', { priority: 'normal' });
    assert.equal(ch.trySend('c1', { priority: 'critical' }), true); // sheds b1
    assert.equal(ch.trySend('n2', { priority: 'normal' }), true); // sheds b2
    assert.equal(ch.trySend('c2', { priority: 'critical' }), true); // sheds n1 (batch is empty)
    const s = ch.stats();
    assert.equal(s.levels.batch.droppedBy.shed, 2);
    assert.equal(s.levels.normal.droppedBy.shed, 1);
    balanced(s);
    assert.deepEqual(drain(ch), ['c1', 'c2', 'n2']);
  });

  it('trySend() - shed-lowest drops the offered item when no lower level holds one', () => {
    const ch = new PriorityChannel<string, Level>({ levels: LEVELS, capacity: 2, overflow: 'shed-lowest' });
    ch.trySend('c1', { priority: 'critical' });
    ch.trySend('n1', { priority: 'normal' });
    assert.equal(ch.trySend('n2', { priority: 'normal' }), false, 'same level: no eviction');
    assert.equal(ch.trySend('b1'), false);
    const s = ch.stats();
    assert.equal(s.levels.normal.droppedBy['drop-newest'], 1);
    assert.equal(s.levels.batch.droppedBy['drop-newest'], 1);
    assert.equal(s.levels.critical.dropped, 0);
    balanced(s);
  });

  it('send() - reserve keeps slots for the top level', async () => {
    const ch = new PriorityChannel<string, Level>({ levels: LEVELS, capacity: 4, reserve: 2, overflow: 'drop-newest' });
    assert.equal(await ch.send('b1'), true);
    assert.equal(await ch.send('n1', { priority: 'normal' }), true);
    assert.equal(await ch.send('n2', { priority: 'normal' }), false, 'lower levels are full at capacity - reserve');
    assert.equal(await ch.send('c1', { priority: 'critical' }), true);
    assert.equal(await ch.send('c2', { priority: 'critical' }), true);
    assert.equal(await ch.send('c3', { priority: 'critical' }), false, 'the top level is full at capacity');
    balanced(ch.stats());
  });

  it('send() - reject rejects with OverflowError and counts it in the level', async () => {
    const ch = new PriorityChannel<number, 'a' | 'b'>({ levels: ['a', 'b'], capacity: 1, overflow: 'reject' });
    await ch.send(1, { priority: 'a' });
    await assert.rejects(ch.send(2, { priority: 'b' }), { code: 'ERR_SLUICE_OVERFLOW' });
    assert.equal(ch.trySend(3, { priority: 'a' }), false);
    const s = ch.stats();
    assert.equal(s.levels.b.droppedBy.rejected, 1);
    assert.equal(s.levels.a.droppedBy.rejected, 1);
    balanced(s);
  });

  it('send() - block: a freed slot goes to the highest waiting level, FIFO within it', async () => {
    const ch = new PriorityChannel<string, Level>({ levels: LEVELS, capacity: 1 });
    ch.trySend('first');
    assert.equal(ch.trySend('refused'), false, 'block: trySend refuses without counting');
    const b = settled(ch.send('b', { priority: 'batch' }));
    const c1 = settled(ch.send('c1', { priority: 'critical' }));
    const c2 = settled(ch.send('c2', { priority: 'critical' }));
    assert.equal(ch.stats().waiting, 3);
    assert.equal(ch.tryReceive(), 'first');
    await flushMicrotasks();
    assert.deepEqual([c1.done, c2.done, b.done], [true, false, false]);
    assert.equal(ch.tryReceive(), 'c1');
    assert.equal(ch.tryReceive(), 'c2');
    assert.equal(ch.tryReceive(), 'b');
    await flushMicrotasks();
    assert.deepEqual([c1.value, c2.value, b.value], [true, true, true]);
    const s = ch.stats();
    assert.equal(s.offered, 4);
    balanced(s);
  });

  it('send() - block: timeout and abort are counted in the waiting level', async () => {
    const clock = new VirtualClock();
    const ch = new PriorityChannel<string, 'a' | 'b'>({ levels: ['a', 'b'], capacity: 1, clock, maxBlockMs: 100 });
    ch.trySend('x');
    const timed = settled(ch.send('t', { priority: 'a' }));
    const controller = new AbortController();
    const aborted = settled(ch.send('u', { priority: 'b', signal: controller.signal, timeoutMs: 1000 }));
    controller.abort(new Error('stop'));
    await flushMicrotasks();
    assert.equal((aborted.error as Error).message, 'stop');
    await clock.advanceAsync(100);
    assert.equal(timed.value, false);
    const s = ch.stats();
    assert.equal(s.levels.a.droppedBy.timeout, 1);
    assert.equal(s.levels.b.droppedBy.aborted, 1);
    assert.equal(s.waiting, 0);
    balanced(s);
    assert.equal(ch.trySend('y'), false, 'still full');
    assert.equal(ch.tryReceive(), 'x');
    assert.equal(ch.trySend('y'), true, 'the fast path reopened after the waiters left');
  });
});

describe('PriorityChannel bad input', () => {
  it('send() - unknown level rejects with ERR_SLUICE_INVALID_ARGUMENT naming it and the levels; not counted', async () => {
    const ch = new PriorityChannel<number>({ levels: ['critical', 'batch'] });
    await assert.rejects(ch.send(1, { priority: 'urgent' }), (error: Error & { code: string }) => {
      assert.equal(error.code, 'ERR_SLUICE_INVALID_ARGUMENT');
      assert.match(error.message, /"urgent"/);
      assert.match(error.message, /"critical", "batch"/);
      return true;
    });
    assert.throws(() => ch.trySend(1, { priority: 'Critical' }), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    assert.throws(() => ch.trySend(1, { priorty: 'critical' } as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /did you mean "priority"/ });
    assert.equal(ch.stats().offered, 0);
  });

  it('trySend() - a reused options object is checked again when its level changes', () => {
    const ch = new PriorityChannel<number, string>({ levels: ['a', 'b'] });
    const options: { priority: string } = { priority: 'a' };
    assert.equal(ch.trySend(1, options), true);
    options.priority = 'zzz';
    assert.throws(() => ch.trySend(2, options), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    options.priority = 'b';
    assert.equal(ch.trySend(3, options), true);
    assert.equal(ch.trySend(4, options), true);
    const s = ch.stats();
    assert.deepEqual([s.levels.a!.size, s.levels.b!.size, s.offered], [1, 2, 3]);
    // An object send() accepted with a send-only key is still an unknown key for trySend().
    const timed = { priority: 'a', timeoutMs: 5 };
    assert.equal(ch.trySend(5, { priority: 'a' }), true);
    void ch.send(6, timed);
    assert.throws(() => ch.trySend(7, timed as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /timeoutMs/ });
  });

  it('constructor - validates levels, weights, reserve, defaultPriority and unknown keys', () => {
    const bad: [object, RegExp][] = [
      [{}, /levels/],
      [{ levels: [] }, /levels/],
      [{ levels: ['a', 'a'] }, /appears twice/],
      [{ levels: ['a', ''] }, /levels/],
      [{ levels: ['a', 'b'], weights: { a: 1 } }, /weights\.b/],
      [{ levels: ['a', 'b'], weights: { a: 1, b: 0 } }, /weights\.b/],
      [{ levels: ['a', 'b'], weights: { a: 1, b: Infinity } }, /weights\.b/],
      [{ levels: ['a', 'b'], weights: { a: 1, b: 1, c: 1 } }, /weights\.c/],
      [{ levels: ['a', 'b'], capacity: 10, reserve: 10 }, /reserve/],
      [{ levels: ['a', 'b'], defaultPriority: 'c' }, /defaultPriority/],
      [{ levels: ['a', 'b'], overflow: 'drop-oldest' }, /overflow/],
      [{ levels: ['a', 'b'], overflow: 'reject', maxBlockMs: 5 }, /maxBlockMs/],
      [{ levels: ['a', 'b'], capcity: 5 }, /did you mean "capacity"/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new PriorityChannel(options as never), { code: 'ERR_SLUICE_INVALID_OPTION', message }, JSON.stringify(options));
    }
  });

  it('trySend() - defaultPriority is used for items sent without a level', () => {
    const ch = new PriorityChannel<number, 'a' | 'b' | 'c'>({ levels: ['a', 'b', 'c'], defaultPriority: 'b' });
    ch.trySend(1);
    assert.equal(ch.stats().levels.b.size, 1);
  });
});

describe('PriorityChannel close and drain', () => {
  it('close() - pending receivers settle, blocked producers reject (counted closed), buffered items stay receivable', async () => {
    const ch = new PriorityChannel<string, 'a' | 'b'>({ levels: ['a', 'b'], capacity: 1 });
    const empty = new PriorityChannel<string, 'a' | 'b'>({ levels: ['a', 'b'] });
    const waiting = settled(empty.receive());
    const batch = settled(empty.receiveBatch(5));
    empty.close();
    await flushMicrotasks();
    assert.deepEqual([waiting.done, waiting.value, batch.done, batch.value], [true, undefined, true, []]);

    ch.trySend('x', { priority: 'b' });
    const blocked = settled(ch.send('y', { priority: 'a' }));
    const drained = settled(ch.drained());
    ch.close();
    await flushMicrotasks();
    assert.equal((blocked.error as { code: string }).code, 'ERR_SLUICE_CLOSED');
    assert.throws(() => ch.trySend('z'), { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(ch.send('w', { priority: 'a' }), { code: 'ERR_SLUICE_CLOSED' });
    assert.equal(ch.state, 'draining');
    assert.equal(drained.done, false);
    assert.equal(await ch.receive(), 'x');
    assert.equal(await ch.receive(), undefined);
    await flushMicrotasks();
    assert.equal(drained.done, true);
    assert.equal(ch.state, 'closed');
    const s = ch.stats();
    assert.equal(s.levels.a.droppedBy.closed, 2);
    assert.equal(s.levels.b.droppedBy.closed, 1);
    balanced(s);
  });

  it('receive() - a waiting consumer gets the next item sent at any level; the iterator ends on close', async () => {
    const ch = new PriorityChannel<number, 'a' | 'b'>({ levels: ['a', 'b'] });
    const got = ch.receive();
    ch.trySend(7, { priority: 'b' });
    assert.equal(await got, 7);
    ch.trySend(1);
    ch.trySend(2, { priority: 'a' });
    ch.close();
    const seen: number[] = [];
    for await (const x of ch) seen.push(x);
    assert.deepEqual(seen, [2, 1]);
  });

  it('receiveBatch() - maxWaitMs waits on the clock for the batch to fill', async () => {
    const clock = new VirtualClock();
    const ch = new PriorityChannel<number, 'a' | 'b'>({ levels: ['a', 'b'], clock });
    const batch = settled(ch.receiveBatch(3, { maxWaitMs: 50 }));
    ch.trySend(1);
    await clock.advanceAsync(10);
    ch.trySend(2, { priority: 'a' });
    assert.equal(batch.done, false);
    await clock.advanceAsync(50);
    assert.deepEqual(batch.value, [2, 1]);
  });

  it('receive() - abort while waiting rejects with the reason and takes no item', async () => {
    const ch = new PriorityChannel<number>({ levels: ['a'] });
    const controller = new AbortController();
    const pending = ch.receive({ signal: controller.signal });
    controller.abort(new Error('gone'));
    await assert.rejects(pending, { message: 'gone' });
    ch.trySend(1);
    assert.equal(ch.tryReceive(), 1);
  });

  it('onPressureChange() / onStateChange() - follow the total size with the watermarks', () => {
    const ch = new PriorityChannel<number, 'a' | 'b'>({ levels: ['a', 'b'], capacity: 10, highWatermark: 0.5, lowWatermark: 0.2 });
    const pressure: boolean[] = [];
    const states: string[] = [];
    ch.onPressureChange((p) => pressure.push(p));
    ch.onStateChange((s) => states.push(s));
    for (let i = 0; i < 10; i++) ch.trySend(i, { priority: i % 2 === 0 ? 'a' : 'b' });
    while (ch.tryReceive() !== undefined);
    assert.deepEqual(pressure, [true, false]);
    assert.deepEqual(states, ['elevated', 'critical', 'blocked', 'critical', 'elevated', 'normal']);
    assert.equal(ch.stats().pressureEvents, 1);
  });
});

// 3x overload on a virtual clock: the consumer takes one item per 10 ms
// (100/s); producers offer 300/s, 20% critical and 80% batch, at random
// (seeded) so arrivals bunch as in real traffic.
function overload(makeChannel: (clock: VirtualClock) => { trySend(item: Job, level: Level): void; tryReceive(): Job | undefined }) {
  const clock = new VirtualClock();
  const ch = makeChannel(clock);
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const offered = { critical: 0, batch: 0 };
  const delivered = { critical: 0, batch: 0 };
  const delays: number[] = [];
  for (let tick = 0; tick < 6000; tick++) {
    // 3 arrivals per tick on average, 0..6.
    const arrivals = Math.floor(random() * 7);
    for (let i = 0; i < arrivals; i++) {
      const level: 'critical' | 'batch' = random() < 0.2 ? 'critical' : 'batch';
      offered[level]++;
      ch.trySend({ level, at: clock.now() }, level);
    }
    const job = ch.tryReceive();
    if (job !== undefined) {
      delivered[job.level as 'critical' | 'batch']++;
      if (job.level === 'critical') delays.push(clock.now() - job.at);
    }
    clock.advance(10);
  }
  delays.sort((a, b) => a - b);
  return { offered, delivered, p99: delays[Math.floor(delays.length * 0.99)]!, max: delays[delays.length - 1]! };
}

interface Job {
  level: Level;
  at: number;
}

describe('PriorityChannel under 3x overload (virtual time)', () => {
  for (const [label, weights] of [
    ['strict priority', undefined],
    ['weights 4:1', { critical: 4, normal: 2, batch: 1 }],
  ] as const) {
    it(`trySend() - ${label}, shed-lowest: critical delivered at >= 95% of its offered rate with bounded delay; batch absorbs the drops`, () => {
      let ch!: PriorityChannel<Job, Level>;
      const r = overload((clock) => {
        ch = new PriorityChannel<Job, Level>({ levels: LEVELS, capacity: 100, overflow: 'shed-lowest', clock, ...(weights ? { weights } : {}) });
        return { trySend: (item, level) => ch.trySend(item, { priority: level }), tryReceive: () => ch.tryReceive() };
      });
      const total = r.offered.critical + r.offered.batch;
      assert.ok(total > 17_000 && total < 19_000, `about 3x the 6000 the consumer can take: ${total}`);
      assert.ok(r.delivered.critical >= 0.95 * r.offered.critical, `critical ${r.delivered.critical}/${r.offered.critical}`);
      assert.ok(r.max <= 200, `critical max queueing delay ${r.max} ms (p99 ${r.p99} ms)`);
      const s = ch.stats();
      assert.equal(s.levels.critical.dropped, 0, 'no critical item dropped');
      assert.ok(s.levels.batch.dropped >= total - 6000 - 100, `batch drops ${s.levels.batch.dropped}`);
      balanced(s);
    });
  }

  it('trySend() - contrast: a plain Channel (drop-newest) delivers critical items at about a third of their rate', () => {
    const r = overload((clock) => {
      const ch = new Channel<Job>({ capacity: 100, overflow: 'drop-newest', clock });
      return { trySend: (item) => ch.trySend(item), tryReceive: () => ch.tryReceive() };
    });
    assert.ok(r.delivered.critical < 0.5 * r.offered.critical, `critical ${r.delivered.critical}/${r.offered.critical}`);
    assert.ok(r.p99 >= 900, `critical p99 ${r.p99} ms: behind a full buffer of batch items`);
  });
});
