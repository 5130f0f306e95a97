import type { ListNode } from '../../internal/waiter-list.js';
import type { LeasedItem } from './store.js';

/** A consumer waiting for leases: `single` for `receive()`, else `receiveBatch(max)`. */
export interface DurableReceiveWaiter<T> extends ListNode<DurableReceiveWaiter<T>> {
  single: boolean;
  max: number;
  resolve(value: LeasedItem<T> | undefined | LeasedItem<T>[]): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
