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
