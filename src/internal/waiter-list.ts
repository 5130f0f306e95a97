/**
 * Intrusive doubly linked list of waiters. Nodes carry their own links, so
 * enqueue, dequeue and removal from the middle (abort, timeout) are O(1) and
 * allocate nothing beyond the waiter itself.
 */
export interface ListNode<N> {
  prev: N | undefined;
  next: N | undefined;
  /**
   * The list the node is in, or false. Removal checks it, so removing a node
   * from a list it is not in (or twice) is a no-op rather than a corruption.
   */
  linked: false | WaiterList<any>;
}

export class WaiterList<N extends ListNode<N>> {
  head: N | undefined;
  tail: N | undefined;
  size = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    node.linked = this;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  shift(): N | undefined {
    const node = this.head;
    if (node) this.remove(node);
    return node;
  }

  remove(node: N): void {
    if (node.linked !== this) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    node.linked = false;
    this.size--;
  }
}
