import { InvalidArgumentError } from '../errors/index.js';
import type { BatchFlushResult } from './options.js';

/** Items of one batch that did not make it, in batch order, each with its own error. */
export interface Failures<T> {
  items: T[];
  errors: unknown[];
  /** What `deadLetter` receives as its `error` argument. */
  error: unknown;
}

export function wholeBatchFailed<T>(items: T[], error: unknown): Failures<T> {
  return { items, errors: new Array<unknown>(items.length).fill(error), error };
}

/**
 * Reads a sink's result. `undefined` means every item was written.
 * @throws InvalidArgumentError when the result names items that are not in the
 *   batch (or more often than they are in it): the writer then treats the whole
 *   batch as failed, since it cannot tell what was written.
 */
export function readFailures<T>(batch: T[], result: BatchFlushResult<T>): Failures<T> | undefined {
  if (result === undefined || result === null || typeof result !== 'object' || !('failed' in result)) return undefined;
  const failed: unknown = result.failed;
  if (!Array.isArray(failed)) {
    throw new InvalidArgumentError(`flush() resolved with a "failed" that is not an array: ${String(failed)}`);
  }
  if (failed.length === 0) return undefined;
  // Items are matched by identity (=== for primitives), each batch position at most once,
  // so a batch holding the same value twice can report it failed twice.
  const positions = new Map<unknown, number[]>();
  for (let i = batch.length - 1; i >= 0; i--) {
    const list = positions.get(batch[i]);
    if (list) list.push(i);
    else positions.set(batch[i], [i]);
  }
  const errorAt = new Map<number, unknown>();
  for (const entry of failed as { item?: unknown; error?: unknown }[]) {
    const index = entry !== null && typeof entry === 'object' ? positions.get(entry.item)?.pop() : undefined;
    if (index === undefined) {
      throw new InvalidArgumentError('flush() reported a failed item that is not in the batch (or reported it twice); treating the whole batch as failed');
    }
    errorAt.set(index, entry.error);
  }
  const order = [...errorAt.keys()].sort((a, b) => a - b);
  const items = order.map((i) => batch[i] as T);
  const errors = order.map((i) => errorAt.get(i));
  const distinct = [...new Set(errors)];
  const error = distinct.length === 1 ? distinct[0] : new AggregateError(distinct, `${items.length} items failed with ${distinct.length} different errors`);
  return { items, errors, error };
}
