import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WaiterList, type ListNode } from './waiter-list.js';
import { RingBuffer } from './ring-buffer.js';

interface Node extends ListNode<Node> {
  id: number;
}
const node = (id: number): Node => ({ id, prev: undefined, next: undefined, linked: false });
const ids = (list: WaiterList<Node>) => {
  const out: number[] = [];
  for (let n = list.head; n; n = n.next) out.push(n.id);
  return out;
};

describe('WaiterList', () => {
  it('push() and shift() - keep FIFO order', () => {
    const list = new WaiterList<Node>();
    [1, 2, 3].forEach((i) => list.push(node(i)));
    assert.equal(list.shift()?.id, 1);
    assert.deepEqual(ids(list), [2, 3]);
    assert.equal(list.size, 2);
  });

  it('remove() - unlinks from the middle and is idempotent', () => {
    const list = new WaiterList<Node>();
    const nodes = [1, 2, 3].map(node);
    nodes.forEach((n) => list.push(n));
    list.remove(nodes[1]!);
    list.remove(nodes[1]!);
    assert.deepEqual(ids(list), [1, 3]);
    assert.equal(list.size, 2);
  });

  it('remove() - ignores a node that belongs to another list', () => {
    const a = new WaiterList<Node>();
    const b = new WaiterList<Node>();
    const n1 = node(1);
    const n2 = node(2);
    a.push(n1);
    b.push(n2);
    a.remove(n2);
    assert.deepEqual(ids(a), [1]);
    assert.deepEqual(ids(b), [2]);
    assert.equal(b.size, 1);
  });
});

describe('RingBuffer', () => {
  it('push() and shift() - stay FIFO across growth and wrap-around', () => {
    const ring = new RingBuffer<number>(2);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) ring.push(next++);
      for (let i = 0; i < (round % 5) + 1 && ring.length > 0; i++) out.push(ring.shift());
    }
    while (ring.length > 0) out.push(ring.shift());
    assert.deepEqual(out, Array.from({ length: next }, (_, i) => i));
  });

  it('drainInto() - moves at most max items, oldest first', () => {
    const ring = new RingBuffer<number>(4);
    for (let i = 0; i < 6; i++) ring.push(i);
    const out: number[] = [];
    ring.drainInto(out, 4);
    assert.deepEqual(out, [0, 1, 2, 3]);
    assert.equal(ring.length, 2);
    assert.equal(ring.peek(), 4);
  });
});
