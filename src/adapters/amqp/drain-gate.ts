import { ClosedError } from '../../core/errors/index.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import type { AmqpPublishChannel } from './types.js';

/** A publish waiting for the channel's write buffer to drain. */
export interface PendingWrite extends ListNode<PendingWrite> {
  /** Hands the message to the channel; returns what `channel.publish()` returned. */
  write(): boolean;
  /** The message was handed to the channel. */
  sent(): void;
  /** The message was not handed to the channel (abort, close, or `publish()` threw). */
  failed(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * One per channel, shared by every Sluice publisher on it. amqplib's
 * `publish()` returns false once the channel's write buffer is over its high
 * water mark; from then on writes queue here, in order, and are handed to the
 * channel on its `'drain'` event until the buffer fills again.
 */
export class DrainGate {
  /** The last write was refused room and `'drain'` has not fired since. */
  full = false;
  closed = false;
  /** Times a write found the buffer full. */
  fullEvents = 0;
  private readonly queue = new WaiterList<PendingWrite>();

  constructor(channel: AmqpPublishChannel) {
    // The channel outlives nothing it does not own: both listeners stay for
    // the channel's life, one pair per channel however many publishers share it.
    channel.on('drain', () => this.flush());
    channel.on('close', () => this.close());
  }

  /** Writes must queue: the buffer is full, or earlier writes are still queued. */
  get blocked(): boolean {
    return this.full || this.queue.size !== 0;
  }

  get waiting(): number {
    return this.queue.size;
  }

  /** Records the result of a `channel.publish()` made outside the queue. */
  wrote(accepted: boolean): void {
    if (!accepted && !this.full) {
      this.full = true;
      this.fullEvents++;
    }
  }

  /** Queues a write for the next `'drain'`. The caller has checked `closed` and the signal. */
  enqueue(pending: PendingWrite): void {
    const signal = pending.signal;
    if (signal) {
      pending.onAbort = () => {
        this.queue.remove(pending);
        pending.failed(signal.reason);
      };
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    this.queue.push(pending);
  }

  private flush(): void {
    this.full = false;
    while (!this.full && this.queue.size !== 0) {
      const pending = this.queue.shift()!;
      if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
      let accepted: boolean;
      try {
        accepted = pending.write();
      } catch (error) {
        pending.failed(error);
        continue;
      }
      this.wrote(accepted);
      pending.sent();
    }
  }

  private close(): void {
    this.closed = true;
    for (let pending = this.queue.shift(); pending; pending = this.queue.shift()) {
      if (pending.onAbort) pending.signal!.removeEventListener('abort', pending.onAbort);
      pending.failed(new ClosedError('AMQP channel closed before the message could be written'));
    }
  }
}

const gates = new WeakMap<object, DrainGate>();

export function drainGateFor(channel: AmqpPublishChannel): DrainGate {
  let gate = gates.get(channel);
  if (gate === undefined) {
    gate = new DrainGate(channel);
    gates.set(channel, gate);
  }
  return gate;
}
