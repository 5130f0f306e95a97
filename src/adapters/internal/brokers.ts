import { ClosedError, InvalidOptionError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import { RESOLVED_VOID } from '../../internal/acquire-queue.js';
import { resolvePressure } from '../../internal/pressure.js';
import * as v from '../../internal/validate.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';

// Pieces shared by the broker adapters (sluice/amqp, sluice/nats): the
// structural limiter they accept, a FIFO bound on in-flight work, and the
// pause/resume switch driven by a pressure reading.

/** The permit a {@link LimiterLike} hands out; released exactly once. */
export interface PermitLike {
  /** The work succeeded. */
  success(): void;
  /** The work failed from overload. */
  dropped(): void;
  /** The work did not run, or failed for a reason unrelated to load. */
  ignore(): void;
}

/**
 * What the broker adapters need from a concurrency limiter. Sluice's
 * `ConcurrencyLimiter` fits; so does anything shaped like it.
 */
export interface LimiterLike {
  /** Handlers allowed to run at once right now; may change between reads. */
  readonly limit: number;
  /** Permits granted and not yet released. */
  readonly inflight: number;
  /** Waits (first come, first served) for a permit. Rejects with `signal.reason` on abort. */
  acquire(options?: { signal?: AbortSignal }): Promise<PermitLike>;
  /** A permit if one is free and nobody waits; never waits. */
  tryAcquire(): PermitLike | undefined;
}

// The one shared settled promise, not a second copy.
export { RESOLVED_VOID };

export function resolveLimiter(field: string, value: unknown): LimiterLike | undefined {
  if (value === undefined) return undefined;
  const l = value as LimiterLike;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof l.acquire !== 'function' ||
    typeof l.tryAcquire !== 'function' ||
    typeof l.limit !== 'number' ||
    typeof l.inflight !== 'number'
  ) {
    throw new InvalidOptionError(field, value, 'a ConcurrencyLimiter (or an object with acquire(), tryAcquire(), limit and inflight)');
  }
  return l;
}

export function resolveOptionalPressure(field: string, value: unknown): Pressure | undefined {
  return value === undefined ? undefined : resolvePressure(field, value);
}

export function resolveResumeBelow(field: string, value: unknown): number {
  return v.number(field, value, 0.5, { min: 0, max: 1 });
}

export function resolveRequeue<A extends unknown[]>(field: string, value: unknown): boolean | ((...args: A) => boolean) {
  if (value === undefined) return true;
  if (typeof value === 'boolean' || typeof value === 'function') return value as boolean | ((...args: A) => boolean);
  throw new InvalidOptionError(field, value, 'true, false or a function (error, message) => boolean');
}

/**
 * Applies a `requeue` option to one failed message. A decision function that
 * throws counts as "requeue": a broken decision must not lose the message.
 */
export function shouldRequeue<M>(requeue: boolean | ((error: unknown, message: M) => boolean), error: unknown, message: M): boolean {
  if (typeof requeue !== 'function') return requeue;
  try {
    return requeue(error, message) !== false;
  } catch {
    return true;
  }
}

/**
 * Pause/resume with hysteresis: turns on when a reading goes above 1 and off
 * once a reading is at or below `resumeBelow`. A NaN reading counts as 0.
 */
export class PressureSwitch {
  paused = false;
  pauses = 0;
  resumes = 0;
  lastReading = 0;

  constructor(
    private readonly pressure: Pressure | undefined,
    readonly resumeBelow: number,
  ) {}

  /** Takes a reading, flips the switch if it crossed a threshold, and says whether intake should be off. */
  check(): boolean {
    if (this.pressure === undefined) return false;
    let reading = this.pressure.read();
    if (Number.isNaN(reading)) reading = 0;
    this.lastReading = reading;
    if (!this.paused) {
      if (reading > 1) {
        this.paused = true;
        this.pauses++;
      }
    } else if (reading <= this.resumeBelow) {
      this.paused = false;
      this.resumes++;
    }
    return this.paused;
  }
}

interface SlotWaiter extends ListNode<SlotWaiter> {
  resolve(): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A fixed number of slots for in-flight work, handed out first come, first
 * served. Also a {@link LimiterLike} whose permits all release one slot, so it
 * can stand in where no limiter was given.
 */
export class Slots implements LimiterLike {
  inflight = 0;
  /** Highest `inflight` seen. */
  peak = 0;
  /** Calls that had to wait for a slot. */
  waitsStarted = 0;
  private readonly waiters = new WaiterList<SlotWaiter>();
  private closedError: (() => Error) | undefined;
  private readonly permit: PermitLike;
  private readonly resolvedPermit: Promise<PermitLike>;

  constructor(readonly limit: number) {
    const release = () => this.release();
    this.permit = { success: release, dropped: release, ignore: release };
    this.resolvedPermit = Promise.resolve(this.permit);
  }

  get waiting(): number {
    return this.waiters.size;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Takes a slot if one is free and nobody waits; never waits. */
  tryTake(): boolean {
    if (this.closedError !== undefined || this.inflight >= this.limit || this.waiters.size !== 0) return false;
    this.grant();
    return true;
  }

  /**
   * Takes a slot, waiting behind earlier callers when none is free.
   *
   * Abort safety: an abort while waiting removes the caller from the queue
   * and rejects with `signal.reason`; no slot is held.
   */
  take(signal?: AbortSignal): Promise<void> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryTake()) return RESOLVED_VOID;
    this.waitsStarted++;
    return new Promise<void>((resolve, reject) => {
      const w: SlotWaiter = { prev: undefined, next: undefined, linked: false, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          this.waiters.remove(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /** Gives a slot back and admits the next waiter. */
  release(): void {
    this.inflight--;
    while (this.waiters.size !== 0 && this.inflight < this.limit) {
      const w = this.waiters.shift()!;
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      this.grant();
      w.resolve();
    }
  }

  /** Rejects every waiter and every later `take()` with the error `makeError` builds. Idempotent. */
  close(makeError: () => Error = () => new ClosedError()): void {
    if (this.closedError !== undefined) return;
    this.closedError = makeError;
    for (let w = this.waiters.shift(); w; w = this.waiters.shift()) {
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      w.reject(makeError());
    }
  }

  // LimiterLike: every permit is the same object, since releasing any of them frees one slot.
  tryAcquire(): PermitLike | undefined {
    return this.tryTake() ? this.permit : undefined;
  }

  /**
   * Abort safety: as {@link take}.
   */
  acquire(options?: { signal?: AbortSignal }): Promise<PermitLike> {
    if (this.tryTake()) return this.resolvedPermit;
    return this.take(options?.signal).then(() => this.permit);
  }

  private grant(): void {
    if (++this.inflight > this.peak) this.peak = this.inflight;
  }
}

/**
 * A permit if the limiter has a free slot right now; checking `inflight`
 * first keeps `tryAcquire()` from counting a refusal in the limiter's stats
 * when it is plainly full.
 */
export function tryPermit(limiter: LimiterLike): PermitLike | undefined {
  return limiter.inflight < limiter.limit ? limiter.tryAcquire() : undefined;
}
