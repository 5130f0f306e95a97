import type { Clock, TimerHandle } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { CircuitBreaker } from '../circuit-breaker/index.js';
import { describe } from '../../internal/describe.js';
import * as v from '../../internal/validate.js';

/**
 * - `'closed'`: batches flow to the sink.
 * - `'open'`: nothing is sent; items wait in the buffer.
 * - `'half-open'`: one probe batch is sent; its outcome closes or re-opens the breaker.
 */
export type BatchWriterBreakerState = 'closed' | 'open' | 'half-open';

export interface BatchWriterBreakerOptions {
  /**
   * Consecutive failed flushes that open the breaker. A flush fails when it
   * throws or rejects; a partial failure (`{ failed }`) means the sink answered
   * and counts as a success. An integer from 1 to 100,000.
   * @default 5
   * @example new BatchWriter({ flush, breaker: { failureThreshold: 3 } })
   */
  failureThreshold?: number;
  /**
   * How long the breaker stays open before it lets one probe batch through
   * (half-open). Counted from the failure that opened it. Must be > 0.
   * @default 30000
   * @example new BatchWriter({ flush, breaker: { resetAfterMs: 5_000 } })
   */
  resetAfterMs?: number;
}

export interface ResolvedBreakerOptions {
  failureThreshold: number;
  resetAfterMs: number;
}

export function resolveBreakerOptions(value: BatchWriterBreakerOptions | undefined): ResolvedBreakerOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('breaker', value, 'an object');
  return {
    failureThreshold: v.integer('breaker.failureThreshold', value.failureThreshold, 5, { min: 1, max: 100_000 }),
    resetAfterMs: v.number('breaker.resetAfterMs', value.resetAfterMs, 30_000, { min: 0, minExclusive: true }),
  };
}

type BreakerListener = (state: BatchWriterBreakerState, previous: BatchWriterBreakerState) => void;

/**
 * The writer's breaker, on the core {@link CircuitBreaker}: a count window of
 * `failureThreshold` flushes that opens at a 100% failure rate once full, i.e.
 * after `failureThreshold` consecutive failures, and one probe when half-open.
 * The core breaker holds no timer; the writer must send its probe as soon as
 * the open period ends, so this keeps one timer while open and reads the
 * breaker's state when it fires (which turns it half-open) before calling
 * `onHalfOpen`. Without a breaker configured the consecutive-failure counter
 * still runs, for stats, but nothing trips.
 */
export class Breaker {
  consecutiveFailures = 0;
  private readonly core: CircuitBreaker | undefined;
  private timer: TimerHandle | undefined;
  private listeners: BreakerListener[] | undefined;

  constructor(
    options: ResolvedBreakerOptions | undefined,
    private readonly clock: Clock,
    private readonly onHalfOpen: () => void,
  ) {
    if (options === undefined) return;
    const size = options.failureThreshold;
    this.core = new CircuitBreaker({
      windowSize: size,
      minimumCalls: size,
      failureRateThreshold: 1,
      halfOpenProbes: 1,
      resetAfterMs: options.resetAfterMs,
      clock,
      name: 'BatchWriter breaker',
    });
    this.core.onStateChange((state, previous) => this.changed(state, previous));
  }

  get state(): BatchWriterBreakerState {
    // Never read through `core.state` here: the half-open turn is the timer's, so the probe goes with it.
    return this.core === undefined ? 'closed' : this.currentState;
  }

  get opens(): number {
    return this.core?.stats().opens ?? 0;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.core?.record('success');
  }

  recordFailure(): void {
    this.consecutiveFailures++;
    this.core?.record('failure');
  }

  /** Cancels the reset timer so a finished writer does not keep the process alive. */
  stop(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  listen(listener: BreakerListener): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`breaker listener must be a function, got ${describe(listener)}`);
    const list = (this.listeners ??= []);
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i !== -1) list.splice(i, 1);
    };
  }

  private currentState: BatchWriterBreakerState = 'closed';

  private armProbe(delayMs: number): void {
    this.stop();
    this.timer = this.clock.schedule(delayMs, () => {
      this.timer = undefined;
      // The open period is over: reading the state turns the breaker half-open. A
      // real timer may fire a fraction of a millisecond early; then wait out the rest.
      if (this.core!.state === 'open') return this.armProbe(Math.max(1, this.core!.retryAfterMs));
      if (this.currentState === 'half-open') this.onHalfOpen();
    });
  }

  private changed(next: BatchWriterBreakerState, previous: BatchWriterBreakerState): void {
    this.currentState = next;
    if (next === 'open') this.armProbe(this.core!.resetAfterMs);
    if (!this.listeners) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(next, previous);
      } catch (error) {
        // A throwing listener must not leave the writer half-updated; it surfaces as an uncaught error instead.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
