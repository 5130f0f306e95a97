import { InvalidOptionError } from '../../core/errors/index.js';

/**
 * The size of an item under the default `sizeOf`: UTF-8 bytes of a string,
 * `byteLength` of a Buffer, typed array, DataView or ArrayBuffer, and NaN for
 * anything else (which {@link ByteBudget.measure} turns into an error naming
 * `sizeOf`: such items need the user's function).
 */
export function defaultSizeOf(item: unknown): number {
  if (typeof item === 'string') return Buffer.byteLength(item, 'utf8');
  if (ArrayBuffer.isView(item)) return item.byteLength;
  if (item instanceof ArrayBuffer) return item.byteLength;
  if (typeof SharedArrayBuffer !== 'undefined' && item instanceof SharedArrayBuffer) return item.byteLength;
  return Number.NaN;
}

/**
 * A waiting producer's item with the size measured when it was offered, so a
 * byte-bounded channel calls `sizeOf` once per item, and can count the bytes
 * of a producer that gives up (timeout, abort, close).
 */
export class Sized<T> {
  constructor(
    readonly item: T,
    readonly bytes: number,
  ) {}
}

/**
 * The byte side of a channel built with `maxBytes`: the bytes buffered, the
 * budget, and the sizes of the buffered items in ring order (a FIFO beside
 * the ring, so a take needs no `sizeOf` call). Only a byte-bounded channel
 * has one; its memory buffer keeps the hot path closed (every offer and take
 * goes through the slow path, which consults this object), so a channel
 * without `maxBytes` pays nothing per item.
 *
 * Accounting: `offeredBytes === deliveredBytes + bytes + droppedBytes` at
 * every moment (dropped: refused at the offer, evicted, given up).
 */
export class ByteBudget {
  /** Bytes of the items in memory now. */
  bytes = 0;
  /** Bytes of every item whose fate is decided: accepted or dropped. */
  offeredBytes = 0;
  /** Bytes of items dropped: refused at the offer (any reason), evicted, or given up while waiting. */
  droppedBytes = 0;
  /** Sizes of the items in memory, oldest at `head`. */
  private sizes: number[] = [];
  private head = 0;
  /** Ring takes accounted for (the ring's `ringBase + read` when last synced). */
  private taken = 0;

  constructor(
    public maxBytes: number,
    private readonly sizeOf: (item: unknown) => number,
  ) {}

  /** Items in memory with a recorded size. */
  get count(): number {
    return this.sizes.length - this.head;
  }

  get deliveredBytes(): number {
    return this.offeredBytes - this.bytes - this.droppedBytes;
  }

  /**
   * The item's size from `sizeOf`.
   * @throws InvalidOptionError (field `sizeOf`) for a result that is not a finite number >= 0; what `sizeOf` throws, as is.
   */
  measure(item: unknown): number {
    const n = this.sizeOf(item);
    if (typeof n !== 'number' || !(n >= 0) || n === Infinity) {
      throw new InvalidOptionError(
        'sizeOf',
        n,
        'a function returning a finite number >= 0 for every item (the default sizes only strings, Buffers, typed arrays, DataViews and ArrayBuffers)',
      );
    }
    return n;
  }

  /** True when an item of `n` bytes fits beside what is buffered. */
  fits(n: number): boolean {
    return this.bytes + n <= this.maxBytes;
  }

  /** An item of `n` bytes entered memory. */
  pushed(n: number): void {
    this.sizes.push(n);
    this.bytes += n;
    this.offeredBytes += n;
  }

  /** An item of `n` bytes was dropped without entering memory. */
  refused(n: number): void {
    this.offeredBytes += n;
    this.droppedBytes += n;
  }

  /** A producer that waited gave up or was released by close: its item is dropped, its bytes too. */
  gaveUp(item: unknown): void {
    this.refused((item as Sized<unknown>).bytes);
  }

  /** Removes the sizes of items the ring handed out since the last call (`takenNow` is the ring's `ringBase + read`). */
  sync(takenNow: number): void {
    let taken = this.taken;
    if (taken === takenNow) return;
    const sizes = this.sizes;
    let head = this.head;
    let bytes = this.bytes;
    while (taken < takenNow) {
      bytes -= sizes[head++]!;
      taken++;
    }
    this.taken = taken;
    this.bytes = bytes;
    if (head === sizes.length) {
      sizes.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > sizes.length) {
      this.sizes = sizes.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** The oldest item was evicted (already shifted off the ring; synced before): its bytes count as dropped. */
  evicted(): void {
    const n = this.sizes[this.head++]!;
    this.taken++;
    this.bytes -= n;
    this.droppedBytes += n;
  }

  /**
   * The fill level in items, as a fraction of `capacity` where the byte
   * budget is fuller: `max(items, bytes / maxBytes × capacity)`. State,
   * pressure, sampling and utilization read this, so they follow whichever
   * bound is fuller.
   */
  level(items: number, capacity: number): number {
    const byBytes = (this.bytes / this.maxBytes) * capacity;
    return byBytes > items ? byBytes : items;
  }
}
