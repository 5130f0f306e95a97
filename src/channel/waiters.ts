import type { TimerHandle } from '../clock/index.js';
import type { ListNode } from '../internal/waiter-list.js';

export type { SendWaiter } from '../internal/blocked-producers.js';

/** A consumer waiting for items: `kind` 0 for `receive()`, 1 for `receiveBatch()`. */
export interface ReceiveWaiter<T> extends ListNode<ReceiveWaiter<T>> {
  kind: 0 | 1;
  max: number;
  maxWaitMs: number;
  resolve(value: T | undefined | T[]): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
