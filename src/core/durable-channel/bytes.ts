import { ByteBudget } from '../../internal/engine/bytes.js';

/**
 * The byte budget of a {@link DurableChannel} built with `maxBytes`: it bounds
 * what the channel holds in memory, the items admitted and on their way to
 * the store (the group-commit batches, `stats().committing`). The store's
 * contents are the store's to bound (`capacity` counts them): their bytes are
 * not known after a restart, and they are not in this process's heap.
 *
 * Accounting, as the item counts (committing items are not yet offered):
 * `offeredBytes === acceptedBytes + droppedBytes`, where offered is every
 * item whose fate is decided (committed, or dropped at the door or at its
 * commit) and `bytes` is what is still committing. A failed commit's items
 * were never offered: their bytes leave `bytes` and count nowhere, as the
 * items do (their producers get the store's error).
 */
export class DurableBytes {
  /** Bytes of the items committing now. */
  bytes = 0;
  offeredBytes = 0;
  acceptedBytes = 0;
  droppedBytes = 0;
  private readonly sizer: ByteBudget;

  constructor(
    public maxBytes: number,
    sizeOf: (item: unknown) => number,
  ) {
    // Only its checked measure() is used: the same coded error as Channel's for a bad size.
    this.sizer = new ByteBudget(maxBytes, sizeOf);
  }

  /** @throws InvalidOptionError (field `sizeOf`) for a result that is not a finite number >= 0. */
  measure(item: unknown): number {
    return this.sizer.measure(item);
  }

  fits(n: number): boolean {
    return this.bytes + n <= this.maxBytes;
  }

  /** An item of `n` bytes was dropped before it joined a commit. */
  refused(n: number): void {
    this.offeredBytes += n;
    this.droppedBytes += n;
  }

  /** A commit settled: `kept` bytes stored, `refusedBytes` dropped at the commit, `failed` bytes never stored (the commit threw). */
  committed(kept: number, refusedBytes: number, failed: number): void {
    this.bytes -= kept + refusedBytes + failed;
    this.acceptedBytes += kept;
    this.offeredBytes += kept + refusedBytes;
    this.droppedBytes += refusedBytes;
  }

  /** The fill level in items of `capacity` where the bytes are fuller: `max(items, bytes / maxBytes × capacity)`. */
  level(items: number, capacity: number): number {
    const byBytes = (this.bytes / this.maxBytes) * capacity;
    return byBytes > items ? byBytes : items;
  }
}
