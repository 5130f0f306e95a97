/**
 * FIFO ring buffer over a power-of-two array, growing by doubling up to a
 * logical capacity. Once grown, push and shift allocate nothing, unlike
 * `Array#shift()` which is O(n) for large arrays.
 */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private mask: number;
  private head = 0;
  length = 0;

  constructor(initialSlots = 16) {
    let slots = 1;
    while (slots < initialSlots) slots <<= 1;
    this.items = new Array(slots);
    this.mask = slots - 1;
  }

  push(item: T): void {
    if (this.length > this.mask) this.grow();
    this.items[(this.head + this.length) & this.mask] = item;
    this.length++;
  }

  /** Removes and returns the oldest item; the caller checks `length` first. */
  shift(): T {
    const i = this.head;
    const item = this.items[i] as T;
    this.items[i] = undefined; // release for GC
    this.head = (i + 1) & this.mask;
    this.length--;
    return item;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** Moves up to `max` items into `out` (appending), oldest first. */
  drainInto(out: T[], max: number): void {
    const n = max < this.length ? max : this.length;
    const items = this.items;
    const mask = this.mask;
    let i = this.head;
    this.length -= n;
    let k = out.length;
    const end = k + n;
    out.length = end; // size once rather than growing through push()
    for (; k < end; k++) {
      out[k] = items[i] as T;
      items[i] = undefined;
      i = (i + 1) & mask;
    }
    this.head = i;
  }

  /** Removes everything, returning the items oldest first. */
  clear(): T[] {
    const out: T[] = [];
    this.drainInto(out, this.length);
    this.head = 0;
    return out;
  }

  private grow(): void {
    const old = this.items;
    const oldSlots = this.mask + 1;
    const next = new Array<T | undefined>(oldSlots * 2);
    for (let k = 0; k < this.length; k++) next[k] = old[(this.head + k) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = oldSlots * 2 - 1;
  }
}
