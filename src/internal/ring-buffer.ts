/**
 * A FIFO ring over a power-of-two array, growing by doubling. Once grown,
 * pushing and shifting allocate nothing, unlike `Array#shift()`, which is
 * O(n) for large arrays.
 *
 * `read` and `write` only grow while the ring holds items (an item's slot is
 * `index & mask`), so a push or a shift updates one field. A take that empties
 * the ring restarts both at 0 and adds what they counted to `ringBase`, so
 * `ringBase + write` and `ringBase + read` count every item ever pushed and
 * taken. They stay exact up to 2^53 items; past 2^31 V8 keeps them as doubles,
 * slower but still correct, since `&` keeps the low bits.
 *
 * `RingState` holds the ring in the subclass's own fields, so a class on a hot
 * path (`Channel`) reaches its items without a second object in between;
 * {@link RingBuffer} is the same ring as a standalone object.
 */
/**
 * The largest ring (in slots) that {@link RingState.ringRestart} moves to a
 * young copy: 4,096 slots are 32 KiB, well under V8's 128 KiB limit for
 * objects allocated in the young generation.
 */
const YOUNG_SLOTS = 4096;

export abstract class RingState<T> {
  // `declare`d fields are created by the constructor's assignment alone. A
  // field the class body defines first (as undefined) and the constructor
  // then sets is one V8 stores as a tagged value of unknown type, so the hot
  // paths' `index & slotMask` re-checked for a small integer on every item;
  // created holding a number, it stays a small-integer field.
  protected declare slots: (T | undefined)[];
  protected declare slotMask: number;
  /** Items ever taken; the oldest item is at `read & slotMask`. */
  protected read = 0;
  /** Items ever pushed; the next one goes to `write & slotMask`. */
  protected write = 0;
  /** Pushes (and takes) counted before the ring last restarted at slot 0; see {@link ringTake}. */
  protected ringBase = 0;

  constructor(initialSlots: number) {
    let slots = 1;
    while (slots < initialSlots) slots <<= 1;
    this.slots = new Array<T | undefined>(slots);
    this.slotMask = slots - 1;
  }

  protected get ringLength(): number {
    return this.write - this.read;
  }

  protected ringPush(item: T): void {
    if (this.write - this.read > this.slotMask) this.ringGrow();
    this.ringPushFree(item);
  }

  /** Pushes without the growth check: the caller knows a slot is free (length < slot count). */
  protected ringPushFree(item: T): void {
    const write = this.write;
    this.slots[write & this.slotMask] = item;
    this.write = write + 1;
  }

  /** Removes and returns the oldest item; the caller checks the length first. */
  protected ringShift(): T {
    const read = this.read;
    const i = read & this.slotMask;
    const item = this.slots[i] as T;
    this.slots[i] = undefined; // release for GC
    this.read = read + 1;
    return item;
  }

  protected ringPeek(): T | undefined {
    return this.write === this.read ? undefined : this.slots[this.read & this.slotMask];
  }

  /** Moves up to `max` items into `out` (appending), oldest first. */
  protected ringDrainInto(out: T[], max: number): void {
    const length = this.write - this.read;
    const n = max < length ? max : length;
    const slots = this.slots;
    const mask = this.slotMask;
    let i = this.read & mask;
    this.read += n;
    let k = out.length;
    const end = k + n;
    out.length = end; // size once rather than growing through push()
    for (; k < end; k++) {
      out[k] = slots[i] as T;
      slots[i] = undefined;
      i = (i + 1) & mask;
    }
  }

  /**
   * Removes up to `max` items, oldest first, into a new array.
   *
   * A take that empties the ring restarts it at slot 0, so the next batch
   * that empties it again starts there too. Such a batch, when it fills at
   * least half the slots, is handed out as the slot array itself (cut to
   * length) and the ring continues in a fresh array: no copy, no clearing,
   * and producers then store into a young array. A ring that has lived
   * through two garbage collections is in the old generation, where every
   * store of a new item pays V8's old-to-new write barrier; a fresh array per
   * ring-full keeps the steady state of a batch consumer off that path, for
   * one allocation of the size a copy would have made anyway.
   *
   * Other takes copy with `slice` and clear with `fill`, not a loop: builtins
   * run at full speed from the first call, while a loop runs interpreted until
   * V8 optimizes it, which is most of a short-lived process's batches.
   */
  protected ringTake(max: number): T[] {
    const read = this.read;
    const length = this.write - read;
    const n = max < length ? max : length;
    const slots = this.slots;
    const slotCount = this.slotMask + 1;
    const start = read & this.slotMask;
    if (n === length) {
      this.rebase(); // empties the ring: restart at slot 0
      if (start === 0 && n * 2 >= slotCount) {
        this.slots = new Array<T | undefined>(slotCount);
        if (n !== slotCount) slots.length = n;
        return slots as T[];
      }
    } else this.read = read + n;
    const end = start + n;
    if (end <= slotCount) {
      const out = slots.slice(start, end) as T[];
      slots.fill(undefined, start, end);
      return out;
    }
    const out = (slots.slice(start) as T[]).concat(slots.slice(0, end - slotCount) as T[]);
    slots.fill(undefined, start);
    slots.fill(undefined, 0, end - slotCount);
    return out;
  }

  /**
   * For an empty ring about to wait for items: restarts it at slot 0, so a
   * batch that empties it next starts there and can be handed over whole
   * (see {@link ringTake}), and, once a ring-full of items has passed since
   * the last move, moves it to a young copy of its (empty) slot array.
   *
   * Why the copy: a ring that has lived through two garbage collections is in
   * V8's old generation, and every store of a new item into it then pays the
   * old-to-new write barrier and grows the remembered set each scavenge
   * walks. A copy per ring-full keeps producers storing into a young array,
   * for about one slot of copying per item passed. `slice()` rather than
   * `new Array(n)`: the copy keeps the array's elements kind, so the
   * producer's store site never sees a second array shape (a fresh array
   * starts as small integers and transitions on its first item; that cost
   * the item-at-a-time path more than the barrier saved). Measured with
   * `bash ../shared/bench/run-handoff.sh`-style cold runs: +9% items/s for a
   * `trySend`/`tryReceive` pair at capacity 1024, +18% once warm.
   * Rings past {@link YOUNG_SLOTS} keep their array: V8 allocates large
   * arrays outside the young generation, so a copy would buy nothing.
   */
  protected ringRestart(): void {
    const passed = this.write;
    this.rebase();
    if (passed > this.slotMask && this.slotMask < YOUNG_SLOTS) this.slots = this.slots.slice();
  }

  /** Restarts the indices of an empty ring at 0, keeping the counts in `ringBase`. */
  private rebase(): void {
    this.ringBase += this.write;
    this.write = 0;
    this.read = 0;
  }

  /** Doubles the slot count; a subclass may override it to notice growth (it runs only on a push into a full ring). */
  protected ringGrow(): void {
    this.ringResize((this.slotMask + 1) * 2);
  }

  /**
   * Moves the items into a new array of `slots` slots (a power of two, at
   * least the length): grows, or shrinks a ring that has emptied.
   */
  protected ringResize(slots: number): void {
    const old = this.slots;
    const oldMask = this.slotMask;
    const next = new Array<T | undefined>(slots);
    const mask = slots - 1;
    // Every item keeps its index, so FIFO order survives; only the slot the index maps to changes.
    for (let k = this.read; k < this.write; k++) next[k & mask] = old[k & oldMask];
    this.slots = next;
    this.slotMask = mask;
  }
}

/** The ring as an object of its own. */
export class RingBuffer<T> extends RingState<T> {
  constructor(initialSlots = 16) {
    super(initialSlots);
  }

  get length(): number {
    return this.write - this.read;
  }

  push(item: T): void {
    this.ringPush(item);
  }

  /** Removes and returns the oldest item; the caller checks `length` first. */
  shift(): T {
    return this.ringShift();
  }

  peek(): T | undefined {
    return this.ringPeek();
  }

  /** Moves up to `max` items into `out` (appending), oldest first. */
  drainInto(out: T[], max: number): void {
    this.ringDrainInto(out, max);
  }

  /** Removes everything, returning the items oldest first. */
  clear(): T[] {
    const out: T[] = [];
    this.ringDrainInto(out, this.write - this.read);
    return out;
  }
}
