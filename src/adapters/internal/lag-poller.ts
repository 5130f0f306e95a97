import type { Clock, TimerHandle } from '../../core/clock/index.js';
import { systemClock } from '../../core/clock/index.js';
import { ClosedError, InvalidOptionError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import * as v from '../../internal/validate.js';

// The polling half every broker lag source shares (Redis Streams, AMQP queue
// depth, JetStream consumer lag): one broker round trip per poll, never two at
// once, on an unref'd timer of the caller's clock; a failed poll keeps the
// last reading and counts the error; the reading turns stale after
// `staleAfterMs` without a successful poll. Each source supplies only its
// round trip (`fetch`) and the figures it reports.

/**
 * Options every lag source takes. Each source re-declares them with its own
 * TSDoc and examples (sluice/redis, sluice/amqp, sluice/nats).
 */
export interface LagPollOptions {
  /** Backlog that reads as pressure 1 (required, > 0). */
  threshold: number;
  /** Start-to-start time between polls (default 1000, >= 1). */
  intervalMs?: number;
  /** Age past which the reading is stale (default 3 × intervalMs). */
  staleAfterMs?: number;
  /** Name in stats. */
  name?: string;
  /** Time source (default systemClock). */
  clock?: Clock;
}

/** The last failed poll, as stats show it: the message and a code to match on, no stack. */
export interface PollError {
  message: string;
  /** `'ERR_SLUICE_NOT_FOUND'` when the stream, group, queue or consumer does not exist; else the broker's or client's code, if it gave one. */
  code: string | undefined;
  /** Clock time of the failure. */
  at: number;
}

/** What every lag source's `stats()` reports besides its own figures. */
export interface LagPollStats {
  name: string;
  /** The backlog `read()` divides by `threshold`. */
  backlog: number;
  threshold: number;
  /** `backlog / threshold`, what `read()` returns. */
  pressure: number;
  /** Polls finished (successful or not). */
  polls: number;
  /** Polls that failed; the reading was kept. */
  pollErrors: number;
  /** The most recent failure, or undefined when none happened (it stays after later successes). */
  lastError: PollError | undefined;
  /** True when the last successful poll is older than `staleAfterMs`, or when no poll succeeded yet and one failed. */
  stale: boolean;
  /** Clock time of the last successful poll; undefined before the first. */
  lastPollAt: number | undefined;
  closed: boolean;
}

export interface ResolvedLagPoll {
  threshold: number;
  intervalMs: number;
  staleAfterMs: number;
  name: string;
  clock: Clock;
}

export const lagPollKeys = { threshold: true, intervalMs: true, staleAfterMs: true, name: true, clock: true } as const;

export function resolveLagPoll(o: Partial<LagPollOptions>, defaultName: string): ResolvedLagPoll {
  const threshold = v.requiredNumber('threshold', o.threshold, { min: 0, minExclusive: true });
  const intervalMs = v.number('intervalMs', o.intervalMs, 1000, { min: 1 });
  const staleAfterMs = v.number('staleAfterMs', o.staleAfterMs, 3 * intervalMs, { min: 0, minExclusive: true });
  let name = defaultName;
  if (o.name !== undefined) {
    if (typeof o.name !== 'string' || o.name.length === 0) throw new InvalidOptionError('name', o.name, 'a non-empty string');
    name = o.name;
  }
  const clock = (o.clock ?? systemClock) as Clock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError('clock', o.clock, 'a Clock with now(), schedule() and cancel()');
  }
  return { threshold, intervalMs, staleAfterMs, name, clock };
}

/** A non-empty string argument (stream, group, queue, consumer). */
export function requiredName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(field, value, 'a non-empty string');
  return value;
}

/** The error message and code of anything thrown, without its stack. */
export function pollError(error: unknown, at: number): PollError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, code: code === undefined || code === null ? undefined : String(code), at };
  }
  return { message: String(error), code: undefined, at };
}

/**
 * Polls `fetch` and serves its last backlog. `F` is the source's own figures
 * (e.g. `{ undelivered, pending }`); `backlog(f)` is what `read()` uses.
 */
export class LagPoller<F extends object> implements Pressure {
  readonly name: string;
  private figures: F;
  private backlogValue = 0;
  private polls = 0;
  private pollErrors = 0;
  private lastError: PollError | undefined;
  private lastOkAt: number | undefined;
  private closed = false;
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  /** Callers of poll() waiting for the poll in flight; settled on close too. */
  private waiters: ((reading: number) => void)[] = [];
  private readonly clock: Clock;

  constructor(
    private readonly o: ResolvedLagPoll,
    initial: F,
    private readonly fetch: () => Promise<F>,
    private readonly backlog: (figures: F) => number,
    private readonly release?: () => void,
  ) {
    this.name = o.name;
    this.clock = o.clock;
    this.figures = initial;
    this.tick();
  }

  /** The last backlog divided by `threshold`; 0 before the first successful poll. Never throws. */
  read(): number {
    return this.backlogValue / this.o.threshold;
  }

  /**
   * Polls now (or joins the poll already in flight: never two round trips at
   * once) and resolves with the reading after it, which is the kept last
   * reading when the poll failed (see `stats().lastError`). Never rejects
   * because of the broker.
   * Abort safety: close() resolves a waiting call at once with the last reading.
   * @throws ClosedError (as a rejection) after close().
   */
  poll(): Promise<number> {
    if (this.closed) return Promise.reject(new ClosedError(`${this.name} is closed`));
    const waiting = new Promise<number>((resolve) => this.waiters.push(resolve));
    this.start();
    return waiting;
  }

  /** Stops polling; read() keeps the last reading. A poll in flight is left to finish and ignored. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.settleWaiters();
    this.release?.();
  }

  stats(): LagPollStats & F {
    const now = this.clock.now();
    const stale = this.lastOkAt === undefined ? this.pollErrors > 0 : now - this.lastOkAt > this.o.staleAfterMs;
    return {
      name: this.name,
      ...this.figures,
      backlog: this.backlogValue,
      threshold: this.o.threshold,
      pressure: this.read(),
      polls: this.polls,
      pollErrors: this.pollErrors,
      lastError: this.lastError,
      stale,
      lastPollAt: this.lastOkAt,
      closed: this.closed,
    };
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.closed) return;
    this.start();
  };

  private start(): void {
    if (this.inFlight !== undefined) return;
    const startedAt = this.clock.now();
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    let round: Promise<F>;
    try {
      round = this.fetch();
    } catch (error) {
      round = Promise.reject(error);
    }
    this.inFlight = round.then(
      (figures) => this.done(startedAt, figures, undefined),
      (error: unknown) => this.done(startedAt, undefined, error),
    );
  }

  private done(startedAt: number, figures: F | undefined, error: unknown): void {
    this.inFlight = undefined;
    if (this.closed) return;
    this.polls++;
    const now = this.clock.now();
    if (figures !== undefined) {
      this.figures = figures;
      this.backlogValue = this.backlog(figures);
      this.lastOkAt = now;
    } else {
      this.pollErrors++;
      this.lastError = pollError(error, now);
    }
    this.settleWaiters();
    this.timer = this.clock.schedule(Math.max(0, startedAt + this.o.intervalMs - now), this.tick, { unref: true });
  }

  private settleWaiters(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    const reading = this.read();
    for (const resolve of waiters) resolve(reading);
  }
}
