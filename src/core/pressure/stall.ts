import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import type { PressureProbe, ProbeStats } from './probes.js';

export interface EventLoopStallOptions {
  /**
   * How long the current event-loop turn may have run, in milliseconds, before it reads as pressure 1.
   * @default none (required)
   * @example eventLoopStall({ thresholdMs: 10 })
   */
  thresholdMs: number;
  /**
   * Time source; its `schedule(0)` marks the end of a turn.
   * @default systemClock
   * @example eventLoopStall({ thresholdMs: 10, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name shown in stats.
   * @default 'eventLoopStall'
   * @example eventLoopStall({ thresholdMs: 10, name: 'api-turn' })
   */
  name?: string;
}

/**
 * How long the event loop has been running without a break, right now, divided by `thresholdMs`.
 *
 * When: the first `read()` of an event-loop turn starts a stopwatch (and reads 0)
 * and schedules a zero-delay timer on `clock`; that timer only runs once the
 * loop gets through its current turn, which ends the turn. Every later `read()`
 * in the same turn returns the time since the stopwatch started. A synchronous
 * request handler sees the time spent on the requests handled before it in this
 * turn, which is a lower bound on how long its request has waited inside the
 * process. Unlike {@link eventLoopDelay} it reacts within the turn, not one
 * sample interval later, which is what load shedding of synchronous work needs.
 * It does not see work done in a turn before its first `read()`; combine it with
 * `eventLoopDelay` in {@link pressureLevels} for that. Timer granularity makes
 * readings below about 1 ms approximate.
 *
 * No background timer: nothing runs unless `read()` is called. `close()` cancels
 * the pending end-of-turn timer; afterwards `read()` returns 0.
 *
 * @example
 * const shed = loadShed({ pressure: eventLoopStall({ thresholdMs: 10 }) }); // from 'sluice/http'
 */
export function eventLoopStall(options: EventLoopStallOptions): PressureProbe {
  const o = v.optionsObject(options, 'eventLoopStall', { thresholdMs: true, clock: true, name: true });
  const thresholdMs = v.requiredNumber('thresholdMs', o.thresholdMs, { min: 0, minExclusive: true });
  const clock = (o.clock ?? systemClock) as Clock;
  if (typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new v.InvalidOptionError('clock', o.clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name ?? 'eventLoopStall';
  if (typeof name !== 'string' || name.length === 0) throw new v.InvalidOptionError('name', name, 'a non-empty string');
  return new StallProbe(thresholdMs, clock, name);
}

class StallProbe implements PressureProbe {
  private turnOpen = false;
  private turnStart = 0;
  private turns = 0;
  private lastStallMs = 0;
  private closed = false;
  private marker: TimerHandle | undefined;

  constructor(
    private readonly thresholdMs: number,
    private readonly clock: Clock,
    readonly name: string,
  ) {}

  read(): number {
    if (this.turnOpen) {
      this.lastStallMs = this.clock.now() - this.turnStart;
      return this.lastStallMs / this.thresholdMs;
    }
    if (this.closed) return 0;
    this.turnOpen = true;
    this.turnStart = this.clock.now();
    this.turns++;
    this.lastStallMs = 0;
    this.marker = this.clock.schedule(0, this.endTurn, { unref: true });
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.marker !== undefined) this.clock.cancel(this.marker);
    this.marker = undefined;
    this.turnOpen = false;
  }

  /** `value` is the stall in ms seen by the last `read()`; `samples` counts turns in which it was read. */
  stats(): ProbeStats {
    return {
      name: this.name,
      value: this.lastStallMs,
      pressure: this.lastStallMs / this.thresholdMs,
      samples: this.turns,
      closed: this.closed,
    };
  }

  private readonly endTurn = (): void => {
    this.turnOpen = false;
    this.marker = undefined;
  };
}
