import type { Clock, TimerHandle } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
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
   * and counts as a success. An integer >= 1.
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
    failureThreshold: v.integer('breaker.failureThreshold', value.failureThreshold, 5, { min: 1 }),
    resetAfterMs: v.number('breaker.resetAfterMs', value.resetAfterMs, 30_000, { min: 0, minExclusive: true }),
  };
}

type BreakerListener = (state: BatchWriterBreakerState, previous: BatchWriterBreakerState) => void;

/**
 * Counts consecutive sink failures and decides whether the next batch may go.
 * The writer reports each flush outcome; the breaker calls `onHalfOpen` when
 * its reset timer fires so the writer can send the probe.
 */
export class Breaker {
  state: BatchWriterBreakerState = 'closed';
  consecutiveFailures = 0;
  opens = 0;
  private timer: TimerHandle | undefined;
  private listeners: BreakerListener[] | undefined;
  private readonly threshold: number;
  private readonly resetAfterMs: number;

  constructor(
    options: ResolvedBreakerOptions | undefined,
    private readonly clock: Clock,
    private readonly onHalfOpen: () => void,
  ) {
    // Without a breaker configured the counter still runs, for stats, but never trips.
    this.threshold = options?.failureThreshold ?? Infinity;
    this.resetAfterMs = options?.resetAfterMs ?? 0;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.state !== 'closed') this.set('closed');
  }

  recordFailure(): void {
    this.consecutiveFailures++;
    if (this.state === 'half-open' || (this.state === 'closed' && this.consecutiveFailures >= this.threshold)) this.open();
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

  private open(): void {
    this.opens++;
    this.set('open');
    this.stop();
    this.timer = this.clock.schedule(this.resetAfterMs, () => {
      this.timer = undefined;
      this.set('half-open');
      this.onHalfOpen();
    });
  }

  private set(next: BatchWriterBreakerState): void {
    const previous = this.state;
    this.state = next;
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
