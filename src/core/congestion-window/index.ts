import { systemClock, type Clock } from '../clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { AcquireQueue, resolveClock, RESOLVED_VOID } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';

const acquireSpec: v.CallOptionSpec<CongestionAcquireOptions> = { signal: 'signal' };

/**
 * - `'slow-start'`: the window grows by one per ack, doubling every round trip.
 * - `'congestion-avoidance'`: the window grows by one per window's worth of acks.
 */
export type CongestionPhase = 'slow-start' | 'congestion-avoidance';

export interface CongestionWindowOptions {
  /**
   * Window at the start and after every loss: how many items may be in flight
   * before the first ack. An integer >= 1.
   * @default 1
   * @example new CongestionWindow({ initialWindow: 4 })
   */
  initialWindow?: number;
  /**
   * Slow-start threshold at the start: once the window reaches it, growth
   * turns from exponential to linear. Each loss sets it to half the window
   * (at least 2). An integer >= 1.
   * @default 64
   * @example new CongestionWindow({ ssthresh: 16 })
   */
  ssthresh?: number;
  /**
   * Largest the window may grow. An integer >= initialWindow.
   * @default Infinity (no cap)
   * @example new CongestionWindow({ maxWindow: 256 })
   */
  maxWindow?: number;
  /**
   * Time source for `waitedMs`.
   * @default systemClock
   * @example new CongestionWindow({ clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface CongestionAcquireOptions {
  /** Aborting while waiting rejects with `signal.reason` and takes no slot. */
  signal?: AbortSignal;
}

export interface CongestionWindowStats {
  window: number;
  ssthresh: number;
  inflight: number;
  phase: CongestionPhase;
  /** `onAck()` calls. */
  acks: number;
  /** `onLoss()` calls. */
  losses: number;
  /** `acquire()` calls waiting for a slot now. */
  waiting: number;
  /** Total ms `acquire()` callers spent waiting, including waits still running. */
  waitedMs: number;
  /** How long the caller waiting longest for a slot has been waiting now, 0 when none waits. */
  longestBlockedMs: number;
  /** `tryAcquire()` calls that returned false. */
  rejected: number;
}

/**
 * TCP-style congestion control for anything sent and later acknowledged: it
 * bounds the items in flight by a window that grows while acks come back and
 * shrinks on loss.
 *
 * Take a slot with `acquire()`/`tryAcquire()` before sending, and complete
 * each in-flight item exactly once, with `onAck()` when it succeeded or
 * `onLoss()` when it timed out or failed. Items in flight at a loss stay in
 * flight until they, too, are acked or lost.
 *
 * Waiters are served first come, first served; an ack that leaves room (or
 * grows the window) wakes them at once, in order.
 *
 * @example
 * const cwnd = new CongestionWindow({ ssthresh: 32 });
 * await cwnd.acquire();
 * publish(msg).then(() => cwnd.onAck(), () => cwnd.onLoss());
 */
export class CongestionWindow {
  readonly initialWindow: number;
  readonly maxWindow: number;
  private cwnd: number;
  private threshold: number;
  private currentPhase: CongestionPhase;
  private inFlight = 0;
  /** Acks counted towards the next +1 in congestion avoidance. */
  private avoidanceAcks = 0;
  private readonly queue: AcquireQueue;
  private isClosed = false;
  private ackCount = 0;
  private lossCount = 0;
  private rejectedCount = 0;

  constructor(options?: CongestionWindowOptions) {
    const o = v.optionsObject(options, 'CongestionWindow', { initialWindow: true, ssthresh: true, maxWindow: true, clock: true });
    this.initialWindow = v.integer('initialWindow', o.initialWindow, 1, { min: 1 });
    this.threshold = v.integer('ssthresh', o.ssthresh, 64, { min: 1 });
    if (o.maxWindow === undefined || o.maxWindow === Infinity) {
      this.maxWindow = Infinity;
    } else {
      this.maxWindow = v.requiredInteger('maxWindow', o.maxWindow, { min: 1 });
      if (this.maxWindow < this.initialWindow) {
        throw new InvalidOptionError('maxWindow', this.maxWindow, `an integer >= initialWindow (${this.initialWindow})`);
      }
    }
    const clock = resolveClock('clock', o.clock, systemClock);
    this.cwnd = this.initialWindow;
    this.currentPhase = this.phaseFor(this.cwnd);
    this.queue = new AcquireQueue(clock, () => this.serve());
  }

  /** Items allowed in flight now. */
  get window(): number {
    return this.cwnd;
  }

  /** Items taken and not yet acked or lost. May exceed `window` right after a loss. */
  get inflight(): number {
    return this.inFlight;
  }

  get ssthresh(): number {
    return this.threshold;
  }

  /** `'slow-start'` while `window < ssthresh`, else `'congestion-avoidance'`. */
  get phase(): CongestionPhase {
    return this.currentPhase;
  }

  /** `acquire()` calls waiting for a slot now. */
  get waiting(): number {
    return this.queue.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Takes a slot if `inflight < window` and nobody is waiting; never waits.
   * @returns true when the item may be sent (it now counts as in flight).
   * @throws ClosedError after {@link close}.
   */
  tryAcquire(): boolean {
    if (this.isClosed) throw new ClosedError('CongestionWindow is closed');
    if (this.queue.size === 0 && this.inFlight < this.cwnd) {
      this.inFlight++;
      return true;
    }
    this.rejectedCount++;
    return false;
  }

  /**
   * Takes a slot, waiting while the window is full. Resolves at once when
   * there is room and nobody waits; otherwise queues behind earlier waiters
   * and resolves inside the `onAck()`/`onLoss()` call that makes room.
   * Rejects with ClosedError after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and takes nothing, even when a slot is free (and before a closed
   * CongestionWindow is reported). Options of the wrong type or with an unknown key reject
   * with `ERR_SLUICE_INVALID_OPTION`. If `signal` fires while waiting, the call leaves the queue,
   * takes no slot and rejects with `signal.reason`; the waiters behind it move
   * up. An abort after the promise resolved changes nothing: the slot is taken
   * and must still be completed with `onAck()` or `onLoss()`.
   */
  acquire(options?: CongestionAcquireOptions): Promise<void> {
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed) return Promise.reject(new ClosedError('CongestionWindow is closed'));
    if (this.queue.size === 0 && this.inFlight < this.cwnd) {
      this.inFlight++;
      return RESOLVED_VOID;
    }
    return this.queue.wait(1, signal);
  }

  /**
   * Completes one in-flight item successfully and grows the window: by one in
   * slow start (switching to congestion avoidance when it reaches `ssthresh`),
   * by one per window's worth of acks in congestion avoidance, never beyond
   * `maxWindow`. Then wakes waiters the room allows.
   * @throws InvalidArgumentError when nothing is in flight (an ack without a send is a caller bug).
   */
  onAck(): void {
    if (this.inFlight === 0) throw new InvalidArgumentError('onAck(): nothing is in flight; every ack must match an acquired slot');
    this.inFlight--;
    this.ackCount++;
    if (this.currentPhase === 'slow-start') {
      this.grow();
      if (this.cwnd >= this.threshold) {
        this.currentPhase = 'congestion-avoidance';
        this.avoidanceAcks = 0;
      }
    } else if (++this.avoidanceAcks >= this.cwnd) {
      this.avoidanceAcks = 0;
      this.grow();
    }
    if (this.queue.size !== 0) this.serve();
  }

  /**
   * Completes one in-flight item as lost: `ssthresh` becomes half the window
   * (at least 2), the window restarts at `initialWindow` and slow start
   * begins again (unless `initialWindow` already reaches the new `ssthresh`).
   * Other items in flight stay counted. Then wakes waiters the room allows.
   * @throws InvalidArgumentError when nothing is in flight.
   */
  onLoss(): void {
    if (this.inFlight === 0) throw new InvalidArgumentError('onLoss(): nothing is in flight; every loss must match an acquired slot');
    this.inFlight--;
    this.lossCount++;
    this.threshold = Math.max(2, Math.floor(this.cwnd / 2));
    this.cwnd = this.initialWindow;
    this.currentPhase = this.phaseFor(this.cwnd);
    this.avoidanceAcks = 0;
    if (this.queue.size !== 0) this.serve();
  }

  /**
   * Rejects every waiting `acquire()` with ClosedError and refuses new
   * acquisitions the same way. Items in flight can still be completed with
   * `onAck()`/`onLoss()`. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.rejectAll(() => new ClosedError('CongestionWindow closed while the caller was waiting for a slot'));
  }

  stats(): CongestionWindowStats {
    return {
      window: this.cwnd,
      ssthresh: this.threshold,
      inflight: this.inFlight,
      phase: this.currentPhase,
      acks: this.ackCount,
      losses: this.lossCount,
      waiting: this.queue.size,
      waitedMs: this.queue.waitedMs(),
      longestBlockedMs: this.queue.longestWaitMs(),
      rejected: this.rejectedCount,
    };
  }

  private grow(): void {
    if (this.cwnd < this.maxWindow) this.cwnd++;
  }

  private phaseFor(window: number): CongestionPhase {
    return window < this.threshold ? 'slow-start' : 'congestion-avoidance';
  }

  private serve(): void {
    while (this.queue.size !== 0 && this.inFlight < this.cwnd) {
      this.inFlight++;
      this.queue.admitHead();
    }
  }
}
