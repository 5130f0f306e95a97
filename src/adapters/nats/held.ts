import type { Clock, TimerHandle } from '../../core/clock/index.js';
import { Credits } from '../../core/credits/index.js';
import { RESOLVED_VOID } from '../internal/brokers.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import type { JetStreamMessage } from './types.js';

export interface Held<M> extends ListNode<Held<M>> {
  message: M;
}

export type Settlement = 'ack' | 'nak' | 'term';

/**
 * The messages a JetStream consumer holds (fetched, not yet settled), with
 * what hangs off them: one credit each out of `maxAckPending`, a `working()`
 * heartbeat every period, and wake-ups for whoever waits for the count to fall.
 */
export class HeldMessages<M extends JetStreamMessage> {
  readonly credits: Credits;
  maxHeld = 0;
  heartbeats = 0;
  settleErrors = 0;
  private readonly list = new WaiterList<Held<M>>();
  private readonly beat = () => this.onHeartbeat();
  private heartbeatTimer: TimerHandle | undefined;
  private heartbeatMs = 0;
  private room: { most: number; resolve: () => void } | undefined;
  private onEmpty: (() => void) | undefined;
  /** Messages to nak once the open fetch has ended. */
  private deferred: Held<M>[] = [];

  constructor(
    maxAckPending: number,
    private readonly clock: Clock,
  ) {
    this.credits = new Credits({ initial: maxAckPending, max: maxAckPending, clock });
  }

  get size(): number {
    return this.list.size;
  }

  hold(message: M): Held<M> {
    const held: Held<M> = { prev: undefined, next: undefined, linked: false, message };
    this.list.push(held);
    if (this.list.size > this.maxHeld) this.maxHeld = this.list.size;
    return held;
  }

  /** Acks, naks or terms the message, then gives its credit back and wakes waiters. */
  settle(held: Held<M>, how: Settlement, nakDelayMs = 0): void {
    try {
      if (how === 'ack') held.message.ack();
      else if (how === 'term') held.message.term();
      else if (nakDelayMs > 0) held.message.nak(nakDelayMs);
      else held.message.nak();
    } catch {
      // The connection is gone: the server redelivers after ack_wait.
      this.settleErrors++;
    }
    this.list.remove(held);
    this.credits.grant(1);
    if (this.room !== undefined && this.list.size <= this.room.most) this.wakeRoom();
    if (this.list.size === 0 && this.onEmpty !== undefined) {
      this.onEmpty();
      this.onEmpty = undefined;
    }
  }

  /** Keeps a message to nak later: while a pull request is open the server would hand it straight back to it. */
  defer(held: Held<M>): void {
    this.deferred.push(held);
  }

  /** Naks every deferred message. */
  returnDeferred(): void {
    const pending = this.deferred;
    if (pending.length === 0) return;
    this.deferred = [];
    for (const held of pending) this.settle(held, 'nak');
  }

  /**
   * Resolves once at most `most` messages are held, or on {@link wakeRoom}. One waiter at a time.
   *
   * Abort safety: takes no signal; the consumer calls {@link wakeRoom} when it stops.
   */
  roomFor(most: number): Promise<void> {
    if (this.list.size <= most) return RESOLVED_VOID;
    return new Promise<void>((resolve) => {
      this.room = { most, resolve };
    });
  }

  wakeRoom(): void {
    const room = this.room;
    this.room = undefined;
    room?.resolve();
  }

  /**
   * Resolves once nothing is held.
   *
   * Abort safety: takes no signal; it waits for every held message to be settled.
   */
  empty(): Promise<void> {
    if (this.list.size === 0) return RESOLVED_VOID;
    return new Promise<void>((resolve) => (this.onEmpty = resolve));
  }

  /** Every `periodMs`, `working()` for each message held, until {@link stopHeartbeats}. */
  startHeartbeats(periodMs: number): void {
    this.heartbeatMs = periodMs;
    this.heartbeatTimer = this.clock.schedule(periodMs, this.beat, { unref: true });
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) this.clock.cancel(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private onHeartbeat(): void {
    for (let held = this.list.head; held; held = held.next) {
      try {
        held.message.working();
        this.heartbeats++;
      } catch {
        // Connection gone; the settle will fail the same way and be counted there.
      }
    }
    this.heartbeatTimer = this.clock.schedule(this.heartbeatMs, this.beat, { unref: true });
  }
}
