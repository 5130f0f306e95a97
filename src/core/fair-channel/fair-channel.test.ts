import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FairChannel, fairDropReasons, type FairChannelStats } from './index.js';
import { Channel } from '../channel/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function balanced(s: FairChannelStats): void {
  assert.equal(s.dropped, fairDropReasons.reduce((a, k) => a + s.droppedBy[k], 0), 'dropped is the sum of droppedBy');
  assert.equal(s.offered, s.delivered + s.size + s.dropped, 'offered === delivered + size + dropped');
}

function drain<T>(ch: FairChannel<T>): T[] {
  const out: T[] = [];
  for (let x = ch.tryReceive(); x !== undefined; x = ch.tryReceive()) out.push(x);
  return out;
}

interface Job {
  key: string;
  n: number;
}

describe('FairChannel', () => {
  it('tryReceive() - round robin over the keys holding items, FIFO within a key', () => {
    const ch = new FairChannel<Job>({ perKeyCapacity: 10, key: (j) => j.key });
    for (let n = 0; n < 4; n++) ch.trySend({ key: 'a', n });
    ch.trySend({ key: 'b', n: 0 });
    ch.trySend({ key: 'c', n: 0 });
    ch.trySend({ key: 'b', n: 1 });
    assert.deepEqual(drain(ch).map((j) => `${j.key}${j.n}`), ['a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'a3']);
    balanced(ch.stats());
  });

  it('tryReceive() - deficit round robin shares by cost: a key of large items gets as much cost, not as many items', () => {
    const ch = new FairChannel<Job & { size: number }>({ perKeyCapacity: 100, quantum: 10, cost: (j) => j.size, key: (j) => j.key });
    for (let n = 0; n < 40; n++) ch.trySend({ key: 'big', n, size: 10 });
    for (let n = 0; n < 40; n++) ch.trySend({ key: 'small', n, size: 1 });
    const first = Array.from({ length: 44 }, () => ch.tryReceive()!);
    const cost = (key: string) => first.filter((j) => j.key === key).reduce((a, j) => a + j.size, 0);
    assert.equal(cost('big'), 40);
    assert.equal(cost('small'), 40);
  });

  it('trySend() - the per-key cap drops a busy key\'s items (key-full) while other keys still get in', () => {
    const ch = new FairChannel<Job>({ capacity: 10, perKeyCapacity: 3, key: (j) => j.key });
    for (let n = 0; n < 5; n++) ch.trySend({ key: 'noisy', n });
    assert.equal(ch.trySend({ key: 'quiet', n: 0 }), true);
    const s = ch.stats();
    assert.equal(s.droppedBy['key-full'], 2);
    assert.deepEqual(s.topDroppedKeys, [{ key: 'noisy', dropped: 2, error: 0 }]);
    assert.equal(s.largestKeySize, 3);
    balanced(s);
  });

  it('send() - { key } per call; channel full: drop-newest resolves false, reject rejects with OverflowError', async () => {
    const drop = new FairChannel<number>({ capacity: 2, perKeyCapacity: 2 });
    assert.equal(await drop.send(1, { key: 'a' }), true);
    assert.equal(await drop.send(2, { key: 'b' }), true);
    assert.equal(await drop.send(3, { key: 'c' }), false);
    assert.equal(drop.stats().droppedBy['drop-newest'], 1);
    const reject = new FairChannel<number>({ capacity: 1, perKeyCapacity: 1, overflow: 'reject' });
    await reject.send(1, { key: 'a' });
    await assert.rejects(reject.send(2, { key: 'b' }), { code: 'ERR_SLUICE_OVERFLOW' });
    await assert.rejects(reject.send(3, { key: 'a' }), { code: 'ERR_SLUICE_OVERFLOW' });
    const s = reject.stats();
    assert.deepEqual([s.droppedBy.rejected, s.droppedBy['key-full']], [1, 1]);
    balanced(s);
  });

  it('send() - no key, a non-string key or an unknown option fails before counting', async () => {
    const ch = new FairChannel<number>({ perKeyCapacity: 1 });
    await assert.rejects(ch.send(1), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /no key/ });
    assert.throws(() => ch.trySend(1, { key: 5 as never }), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
    await assert.rejects(ch.send(1, { kee: 'a' } as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /did you mean "key"/ });
    assert.equal(ch.stats().offered, 0);
  });

  it('constructor - perKeyCapacity is required and at most capacity; quantum positive', () => {
    assert.throws(() => new FairChannel({} as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /perKeyCapacity/ });
    assert.throws(() => new FairChannel({ capacity: 5, perKeyCapacity: 6 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /perKeyCapacity/ });
    assert.throws(() => new FairChannel({ perKeyCapacity: 1, quantum: 0 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /quantum/ });
    assert.throws(() => new FairChannel({ perKeyCapacity: 1, overflow: 'drop-oldest' as never }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /overflow/ });
    assert.throws(() => new FairChannel({ perKeyCapacity: 1, maxBlockMs: 5 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /maxBlockMs/ });
  });

  it('stats() - key state is freed when a key\'s queue empties: 100,000 keys leave no keys behind', () => {
    const ch = new FairChannel<number>({ capacity: 1000, perKeyCapacity: 2, topKeys: 5 });
    for (let i = 0; i < 100_000; i++) {
      ch.trySend(i, { key: `k${i}` });
      ch.trySend(i, { key: `k${i}` });
      ch.trySend(i, { key: `k${i}` }); // key-full: one drop per key
      if (ch.size >= 900) drain(ch);
    }
    drain(ch);
    const s = ch.stats();
    assert.equal(s.keys, 0);
    assert.equal(s.delivered, 200_000);
    assert.equal(s.droppedBy['key-full'], 100_000);
    assert.equal(s.topDroppedKeys.length, 5, 'top droppers: a fixed number of counters, not a map of every key');
    balanced(s);
  });

  it('close() - waiting receivers settle, later sends fail counted closed, buffered items drain in turn', async () => {
    const ch = new FairChannel<number>({ perKeyCapacity: 5 });
    const waiting = ch.receive();
    ch.trySend(1, { key: 'a' });
    assert.equal(await waiting, 1);
    ch.trySend(2, { key: 'a' });
    ch.trySend(3, { key: 'b' });
    const drained = ch.drained();
    ch.close();
    assert.throws(() => ch.trySend(4, { key: 'a' }), { code: 'ERR_SLUICE_CLOSED' });
    await assert.rejects(ch.send(5, { key: 'a' }), { code: 'ERR_SLUICE_CLOSED' });
    const seen: number[] = [];
    for await (const x of ch) seen.push(x);
    assert.deepEqual(seen, [2, 3]);
    await drained;
    assert.equal(await ch.receive(), undefined);
    assert.deepEqual(await ch.receiveBatch(3), []);
    const s = ch.stats();
    assert.equal(s.droppedBy.closed, 2);
    assert.equal(s.state, 'closed');
    balanced(s);
  });

  it('send() - block: a freed slot goes to the waiting keys in turn, FIFO within a key; trySend refuses without counting', async () => {
    const ch = new FairChannel<string>({ capacity: 2, perKeyCapacity: 2, overflow: 'block' });
    ch.trySend('x0', { key: 'x' });
    ch.trySend('x1', { key: 'x' });
    assert.equal(ch.trySend('y0', { key: 'y' }), false);
    const order: string[] = [];
    const sends = [
      ch.send('a1', { key: 'a' }).then(() => order.push('a1')),
      ch.send('a2', { key: 'a' }).then(() => order.push('a2')),
      ch.send('a3', { key: 'a' }).then(() => order.push('a3')),
      ch.send('b1', { key: 'b' }).then(() => order.push('b1')),
    ];
    assert.deepEqual([ch.stats().waiting, ch.stats().waitingKeys], [4, 2]);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      got.push((await ch.receive())!);
      await flushMicrotasks();
    }
    await Promise.all(sends);
    assert.deepEqual(order, ['a1', 'b1', 'a2', 'a3'], 'key a does not get every freed slot');
    assert.deepEqual(got, ['x0', 'a1', 'x1', 'b1', 'a2', 'a3'], 'receivers alternate keys too: a1 is let in after x0 and served before x1');
    const s = ch.stats();
    assert.deepEqual([s.waiting, s.keys, s.offered, s.dropped], [0, 0, 6, 0]);
    balanced(s);
  });

  it('send() - block: a key at its cap waits while other keys with room go ahead; timeout and abort are counted', async () => {
    const clock = new VirtualClock();
    const ch = new FairChannel<string>({ capacity: 10, perKeyCapacity: 1, overflow: 'block', clock, maxBlockMs: 100 });
    ch.trySend('n0', { key: 'noisy' });
    const timed = ch.send('n1', { key: 'noisy' });
    const controller = new AbortController();
    const aborted = ch.send('n2', { key: 'noisy', signal: controller.signal });
    assert.equal(await ch.send('q0', { key: 'quiet' }), true, 'another key is not held up');
    assert.equal(await ch.send('n3', { key: 'noisy', timeoutMs: 0 }), false);
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, { message: 'stop' });
    await clock.advanceAsync(100);
    assert.equal(await timed, false);
    const s = ch.stats();
    assert.deepEqual([s.droppedBy.timeout, s.droppedBy.aborted, s.waiting, s.waitingKeys], [2, 1, 0, 0]);
    balanced(s);
  });

  it('close() - block: waiting producers reject with ClosedError (counted closed) and their keys are forgotten', async () => {
    const ch = new FairChannel<string>({ capacity: 1, perKeyCapacity: 1, overflow: 'block' });
    ch.trySend('a0', { key: 'a' });
    const waiting = ch.send('b0', { key: 'b' });
    ch.close();
    await assert.rejects(waiting, { code: 'ERR_SLUICE_CLOSED' });
    assert.equal(ch.tryReceive(), 'a0');
    await ch.drained();
    const s = ch.stats();
    assert.deepEqual([s.droppedBy.closed, s.keys, s.waiting], [1, 0, 0]);
    balanced(s);
  });

  it('send() - an already aborted signal drops the item (aborted) and rejects with its reason', async () => {
    const ch = new FairChannel<number>({ perKeyCapacity: 5 });
    await assert.rejects(ch.send(1, { key: 'a', signal: AbortSignal.abort(new Error('no')) }), { message: 'no' });
    assert.equal(ch.stats().droppedBy.aborted, 1);
    await flushMicrotasks();
  });
});

// Max-min fair shares: what each key would get if the consumer's rate were
// split as evenly as the keys' own rates allow (water filling).
function fairShares(capacity: number, demands: number[]): number[] {
  const shares = demands.map(() => 0);
  let left = capacity;
  let open = demands.map((_, i) => i);
  while (open.length > 0 && left > 1e-9) {
    const each = left / open.length;
    const next: number[] = [];
    for (const i of open) {
      const give = Math.min(each, demands[i]! - shares[i]!);
      shares[i]! += give;
      left -= give;
      if (demands[i]! - shares[i]! > 1e-9) next.push(i);
    }
    open = next;
  }
  return shares;
}

// One key at 100x the rate of nine others, in virtual time: the consumer takes
// 100 items/s (one per 10 ms); each light key offers 10/s, the heavy one 1000/s.
function fairness(make: (clock: VirtualClock) => { trySend(job: Job): void; tryReceive(): Job | undefined }) {
  const clock = new VirtualClock();
  const ch = make(clock);
  const keys = ['heavy', ...Array.from({ length: 9 }, (_, i) => `light${i}`)];
  const delivered = new Map(keys.map((k) => [k, 0]));
  const offered = new Map(keys.map((k) => [k, 0]));
  const seconds = 60;
  for (let tick = 0; tick < seconds * 100; tick++) {
    for (let i = 0; i < 10; i++) {
      ch.trySend({ key: 'heavy', n: tick });
      offered.set('heavy', offered.get('heavy')! + 1);
    }
    // Light key i sends on ticks where tick % 10 === i: 10/s each, staggered.
    if (tick % 10 < 9) {
      const key = `light${tick % 10}`;
      ch.trySend({ key, n: tick });
      offered.set(key, offered.get(key)! + 1);
    }
    const job = ch.tryReceive();
    if (job !== undefined) delivered.set(job.key, delivered.get(job.key)! + 1);
    clock.advance(10);
  }
  const shares = fairShares(100 * seconds, keys.map((k) => offered.get(k)!));
  return keys.map((key, i) => ({ key, offered: offered.get(key)!, delivered: delivered.get(key)!, share: shares[i]! }));
}

describe('FairChannel fairness (virtual time)', () => {
  it('tryReceive() - one key at 100x the rate of nine others: each of the nine keeps >= 90% of its fair share', () => {
    let ch!: FairChannel<Job>;
    const rows = fairness((clock) => {
      ch = new FairChannel<Job>({ capacity: 100, perKeyCapacity: 10, key: (j) => j.key, clock });
      return ch;
    });
    for (const row of rows.slice(1)) {
      assert.ok(row.delivered >= 0.9 * row.share, `${row.key}: ${row.delivered} delivered of a fair share of ${row.share}`);
    }
    const heavy = rows[0]!;
    assert.ok(heavy.delivered >= 0.9 * heavy.share, `heavy: ${heavy.delivered} of ${heavy.share}`);
    const s = ch.stats();
    assert.equal(s.topDroppedKeys[0]!.key, 'heavy');
    assert.equal(s.topDroppedKeys.length, 1, 'only the heavy key dropped anything');
    balanced(s);
  });

  it('tryReceive() - contrast: a plain Channel starves the light keys (the heavy key takes nearly every freed slot)', () => {
    const rows = fairness((clock) => {
      const ch = new Channel<Job>({ capacity: 100, overflow: 'drop-newest', clock });
      return { trySend: (j) => ch.trySend(j), tryReceive: () => ch.tryReceive() };
    });
    for (const row of rows.slice(1)) assert.ok(row.delivered < 0.1 * row.share, `${row.key}: ${row.delivered} of ${row.share}`);
  });
});
