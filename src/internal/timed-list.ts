import type { Clock, TimerHandle } from '../core/clock/index.js';

/**
 * The FIFO under every queue that reports waited time (`BlockedProducers`,
 * `AcquireQueue`): an intrusive doubly linked list whose nodes carry their
 * own links and start time, plus running sums so the total waited time is
 * O(1) to read however many callers wait.
 *
 * Unlike `WaiterList` a node has no `linked` field: each node belongs to
 * one list for its whole life, so "in the list" is `prev !== undefined || head === node`.
 * One field less on every waiter (issue 18 item 6).
 */
export interface TimedNode<N> {
  prev: N | undefined;
  next: N | undefined;
  /** Clock time the wait began. Fixed while queued. */
  readonly since: number;
}

export class TimedList<N extends TimedNode<N>> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  size = 0;
  /** Waits that have ended, summed when each ended. */
  private settledMs = 0;
  /**
   * Sum of the ages of the nodes queued now, as of {@link agedAt}. Kept as a
   * sum of ages rather than `size * now - sum(since)`: the rounding error of a
   * float sum is relative to its magnitude, and ages are small where clock
   * readings (ms since process start, summed over a million waiters) are not.
   */
  private agedMs = 0;
  private agedAt = 0;

  /** Appends `node`, whose `since` is `now`. */
  push(node: N, now: number): void {
    this.age(now);
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  /** Removes and returns the head, counting its wait as ended at `now`. */
  shift(now: number): N | undefined {
    const node = this.head;
    if (node) this.unlink(node, now);
    return node;
  }

  /**
   * Removes `node`, counting its wait as ended at `now`. False, and nothing
   * changes, when it is not in the list (already shifted or removed).
   */
  remove(node: N, now: number): boolean {
    if (node.prev === undefined && this.head !== node) return false;
    this.unlink(node, now);
    return true;
  }

  /** Finished waits plus the time so far of those still queued. O(1). */
  waitedMs(now: number): number {
    if (this.size === 0) return this.settledMs;
    return this.settledMs + this.agedMs + this.size * (now - this.agedAt);
  }

  /** Age of the head, the oldest node (a node's start time is fixed and the list is FIFO); 0 when empty. */
  longestMs(now: number): number {
    const head = this.head;
    return head ? now - head.since : 0;
  }

  private age(now: number): void {
    if (this.size !== 0) this.agedMs += this.size * (now - this.agedAt);
    this.agedAt = now;
  }

  private unlink(node: N, now: number): void {
    this.age(now);
    const waited = now - node.since;
    this.settledMs += waited;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    // An empty list has no age: reset exactly, so rounding never outlives a busy spell.
    if (--this.size === 0) this.agedMs = 0;
    else this.agedMs -= waited;
  }
}

/** A node that holds its own promise's settle functions, so no closure has to. */
export interface Settleable<V> {
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

let filling: Settleable<any> | undefined;

// One executor for every waiter: `new Promise` calls it synchronously, so the
// node being filled is always the one set just before. No closure per call.
function fill(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  filling!.resolve = resolve;
  filling!.reject = reject;
}

/** A new pending promise whose resolve and reject are stored on `node`. */
export function pendingInto<V>(node: Settleable<V>): Promise<V> {
  filling = node;
  const p = new Promise<V>(fill);
  filling = undefined;
  return p;
}

/**
 * Settles a promise as rejected through its `resolve`: resolving with a
 * thenable that rejects. Lets a waiter keep only `resolve`, so the promise's
 * `reject` function is garbage at once (56 B less per waiter); the rejection
 * arrives one microtask later than a direct `reject()`.
 */
export class Rejection {
  constructor(private readonly reason: unknown) {}
  then(_resolve: unknown, reject: (reason: unknown) => void): void {
    reject(this.reason);
  }
}

let holding: { resolve: (value: any) => void } | undefined;

function fillResolve(resolve: (value: any) => void): void {
  holding!.resolve = resolve;
}

/** A new pending promise whose `resolve` is stored on `node`; reject it with `node.resolve(new Rejection(e))`. */
export function pendingResolveInto<V>(node: { resolve: (value: V) => void }): Promise<V> {
  holding = node;
  const p = new Promise<V>(fillResolve);
  holding = undefined;
  return p;
}

/** A node of a {@link Fifo}: its own links, in one list for its whole life. */
export interface FifoNode<N> {
  prev: N | undefined;
  next: N | undefined;
}

/**
 * {@link TimedList} without the time sums, for queues that report no waited
 * time (`ConcurrencyLimiter`). Like it, a node has no `linked` field.
 */
export class Fifo<N extends FifoNode<N>> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  size = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  shift(): N | undefined {
    const node = this.head;
    if (node) this.unlink(node);
    return node;
  }

  /** False, and nothing changes, when `node` is not in the list. */
  remove(node: N): boolean {
    if (node.prev === undefined && this.head !== node) return false;
    this.unlink(node);
    return true;
  }

  private unlink(node: N): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    this.size--;
  }
}

/**
 * A node of a {@link DeadlineQueue}: its links in the queue of nodes with the
 * same timeout, and that queue while it is in it.
 */
export interface DeadlineNode<N> {
  dprev: N | undefined;
  dnext: N | undefined;
  /** The group of nodes with this node's timeout, or undefined when the node is in none. */
  group: DeadlineGroup<N> | undefined;
  /** Clock time the wait began: the deadline is `since + timeoutMs`. */
  readonly since: number;
}

/**
 * The nodes of one timeout, in arrival order, which is deadline order: a
 * FIFO, so adding and removing are O(1). A heap entry of its queue, keyed by
 * a lower bound of its head's deadline (refreshed lazily when the head leaves).
 */
export class DeadlineGroup<N> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  /** The deadline and start time of the head when last keyed; never later than the current head's. */
  key = 0;
  keySince = 0;
  /** Position in the heap, -1 when out of it. */
  index = -1;
  constructor(readonly timeoutMs: number) {}
}

/**
 * Timeouts of many waiters on ONE clock timer, armed for the earliest
 * deadline and re-armed as it fires, instead of a timer (and a closure and a
 * handle) per waiter (issue 18). Waiters with the same `timeoutMs` arrive in
 * deadline order, so each distinct timeout is a FIFO ({@link DeadlineGroup});
 * a small heap of those finds the earliest. Adding and removing a node are
 * O(1) (O(log g) for the first node of a new timeout, g distinct timeouts).
 *
 * Timing is that of a timer per waiter: a node expires when the clock reaches
 * its deadline (`since + timeoutMs`), and nodes due at once expire in
 * deadline order, ties in arrival order (the order their timers would have
 * fired in). (One exception, of rounding only: two different timeouts
 * started at the same instant whose deadlines round to the same number, a
 * difference in the last bit, are ordered by the heap, not by arrival.)
 * They expire in one timer callback rather than one each, and that timer is
 * re-armed as deadlines pass, so against OTHER timers due at the very same
 * instant it may run later than a per-node timer scheduled at the node's
 * arrival would have. The timer is cancelled whenever no node is left, so an
 * idle queue keeps no timer (and no process) alive.
 */
export class DeadlineQueue<N extends DeadlineNode<N>> {
  size = 0;
  private readonly groups = new Map<number, DeadlineGroup<N>>();
  private readonly heap: DeadlineGroup<N>[] = [];
  private timer: TimerHandle | undefined = undefined;
  /** Deadline the timer is armed for; Infinity when none is. */
  private armedFor = Infinity;

  /**
   * @param expire called for each node whose deadline has come, already out
   *   of this queue, in deadline order, with the node's timeout.
   */
  constructor(
    private readonly clock: Clock,
    private readonly expire: (node: N, timeoutMs: number) => void,
  ) {}

  /** Adds `node`, which expires `timeoutMs` (finite, > 0) after its `since`. */
  add(node: N, timeoutMs: number): void {
    let group = this.groups.get(timeoutMs);
    if (group === undefined) {
      group = new DeadlineGroup<N>(timeoutMs);
      this.groups.set(timeoutMs, group);
    }
    const deadline = node.since + timeoutMs;
    node.group = group;
    node.dnext = undefined;
    node.dprev = group.tail;
    if (group.tail) {
      group.tail.dnext = node;
    } else {
      group.head = node;
      if (group.index < 0) {
        group.key = deadline;
        group.keySince = node.since;
        this.heapPush(group);
      }
      // else: still in the heap with an older (earlier) key, a lower bound: refreshed when it reaches the top.
    }
    group.tail = node;
    this.size++;
    if (deadline < this.armedFor) this.arm(deadline);
  }

  /** Removes `node` if it is in the queue; the timer stays as it is unless nothing is left. */
  remove(node: N): void {
    const group = node.group;
    if (group === undefined) return;
    this.unlink(group, node);
    if (this.size === 0) this.clear();
  }

  private unlink(group: DeadlineGroup<N>, node: N): void {
    if (node.dprev) node.dprev.dnext = node.dnext;
    else group.head = node.dnext;
    if (node.dnext) node.dnext.dprev = node.dprev;
    else group.tail = node.dprev;
    node.dprev = node.dnext = undefined;
    node.group = undefined;
    this.size--;
  }

  /** Nothing left: no timer, no groups. */
  private clear(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    for (const group of this.heap) group.index = -1;
    this.heap.length = 0;
    this.groups.clear();
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.armedFor = deadline;
    // Node runs a longer setTimeout after 1 ms: wake up at the limit and re-arm instead.
    this.timer = this.clock.schedule(Math.min(deadline - this.clock.now(), MAX_TIMER_DELAY_MS), this.fire);
  }

  private readonly fire = (): void => {
    // Everything due by the deadline the timer was armed for is due, even if
    // the clock reads a hair earlier (a real timer may fire early by a rounding);
    // a wake-up at the timer limit, far earlier, only re-arms.
    const now = this.clock.now();
    const due = now >= this.armedFor - 1 ? Math.max(now, this.armedFor) : now;
    this.timer = undefined;
    this.armedFor = Infinity;
    for (let group = this.top(); group !== undefined; group = this.top()) {
      const head = group.head!;
      if (head.since + group.timeoutMs > due) break;
      this.unlink(group, head);
      this.expire(head, group.timeoutMs);
    }
    if (this.size === 0) {
      this.clear();
      return;
    }
    const next = this.top();
    if (next !== undefined && next.key < this.armedFor) this.arm(next.key);
  };

  /** The group whose head has the earliest deadline, keys refreshed and empty groups dropped on the way; undefined when none. */
  private top(): DeadlineGroup<N> | undefined {
    const heap = this.heap;
    while (heap.length > 0) {
      const group = heap[0]!;
      const head = group.head;
      if (head === undefined) {
        this.heapRemoveTop();
        if (this.groups.get(group.timeoutMs) === group) this.groups.delete(group.timeoutMs);
        continue;
      }
      const deadline = head.since + group.timeoutMs;
      if (group.key === deadline && group.keySince === head.since) return group;
      group.key = deadline;
      group.keySince = head.since;
      this.siftDown(0);
    }
    return undefined;
  }

  private heapPush(group: DeadlineGroup<N>): void {
    group.index = this.heap.length;
    this.heap.push(group);
    this.siftUp(group.index);
  }

  private heapRemoveTop(): void {
    const heap = this.heap;
    heap[0]!.index = -1;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    last.index = 0;
    this.siftDown(0);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const group = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!earlier(group, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = group;
    group.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const group = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && earlier(heap[r]!, heap[l]!) ? r : l;
      if (!earlier(heap[child]!, group)) break;
      heap[i] = heap[child]!;
      heap[i]!.index = i;
      i = child;
    }
    heap[i] = group;
    group.index = i;
  }
}

/** The longest delay Node's setTimeout honours (2^31 - 1 ms, ~24.8 days). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Heap order: earlier deadline first; at the same deadline the head that arrived first (its timer would have fired first). */
function earlier<N>(a: DeadlineGroup<N>, b: DeadlineGroup<N>): boolean {
  return a.key < b.key || (a.key === b.key && a.keySince < b.keySince);
}
