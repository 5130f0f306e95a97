import { constants } from 'node:os';
import { systemClock, type Clock } from '../clock/index.js';
import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import type { BatchWriterDrainOptions, BatchWriterDrainReport } from './options.js';

/** Anything `shutdownOn` can drain: a `BatchWriter`, or your own component with the same `drain()`. */
export interface ShutdownTarget {
  drain(options?: BatchWriterDrainOptions): Promise<BatchWriterDrainReport>;
  readonly name?: string;
  /**
   * Optional counters. With them the log can say how many items a forced exit
   * loses (`buffered + inFlight`) and tell items refused after close
   * (`droppedBy.closed`, never accepted) from accepted items that were dropped.
   */
  stats?(): ShutdownTargetStats;
}

/** The counters `shutdownOn` reads from a target; `BatchWriter.stats()` has them. */
export interface ShutdownTargetStats {
  buffered: number;
  inFlight: number;
  droppedBy?: { readonly closed?: number };
}

export interface ShutdownOptions {
  /**
   * Longest the drain may take, for each target (they drain in parallel).
   * What is left after it is logged and makes the exit code 1.
   * @default 10000
   * @example shutdownOn(writer, ['SIGTERM'], { timeoutMs: 25_000 }) // inside Kubernetes' 30 s grace period
   */
  timeoutMs?: number;
  /**
   * After the drain, call `process.exit()`: with `process.exitCode` (0 unless
   * the app set one) when everything was flushed, with 1 when something
   * remained or a drain failed. With `false` only
   * `process.exitCode` is set (to 1 in the failing case) and the process ends
   * on its own once nothing else keeps it alive.
   * @default true
   * @example shutdownOn(writer, ['SIGTERM'], { exit: false }) // the app closes its servers itself
   */
  exit?: boolean;
  /**
   * Receives one line per event: the signal, each target's report, the exit.
   * @default console.error
   * @example shutdownOn(writer, ['SIGTERM'], { log: (line) => logger.info(line) })
   */
  log?: (message: string) => void;
  /**
   * A repeat of a signal within this many milliseconds of the first one is
   * logged and ignored, so the drain goes on. A process-group kill or a
   * signal-forwarding wrapper (npm, a shell, `tini -g`) can deliver the same
   * SIGTERM twice a few milliseconds apart, and that is not an operator
   * asking to stop now. A repeat after this period forces the exit (a double
   * Ctrl-C). `0` makes every repeat force the exit.
   * @default 1000
   * @example shutdownOn(writer, ['SIGTERM', 'SIGINT'], { repeatGraceMs: 3000 })
   */
  repeatGraceMs?: number;
  /**
   * Time source for `repeatGraceMs`.
   * @default systemClock
   * @example shutdownOn(writer, ['SIGTERM'], { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export type ShutdownSignal = NodeJS.Signals;

/**
 * Drains `targets` when the process receives one of `signals`, then exits.
 *
 * The first signal closes every target and waits (at most `timeoutMs`) for
 * what they buffered to be flushed. A signal repeated within `repeatGraceMs`
 * of the first is ignored (logged). A later one, whether the drain is still
 * running or `exit: false` left the process running, exits at once with code
 * 128 + the signal number, logging how many accepted items are lost (buffered
 * or in flight, for targets with `stats()`): it is how an operator says
 * "stop now".
 *
 * Each target's drain report is logged as flushed, dead-lettered, dropped
 * (accepted items given up on), refused after close (writes made after the
 * close, never accepted), and remaining.
 *
 * Installing a listener replaces Node's default action for these signals
 * (terminate); the returned function removes the listeners again.
 *
 * @example
 * const writer = new BatchWriter({ flush: insertRows });
 * const stop = shutdownOn(writer); // SIGTERM and SIGINT
 * // in tests, or when the writer is replaced:
 * stop();
 */
export function shutdownOn(
  targets: ShutdownTarget | readonly ShutdownTarget[],
  signals: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'],
  options?: ShutdownOptions,
): () => void {
  const list: readonly ShutdownTarget[] = Array.isArray(targets) ? targets : [targets as ShutdownTarget];
  for (const target of list) {
    if (target === null || typeof target !== 'object' || typeof target.drain !== 'function') {
      throw new InvalidArgumentError('shutdownOn(targets): every target must have a drain() method, such as a BatchWriter');
    }
  }
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string' || !(s in constants.signals))) {
    throw new InvalidArgumentError(`shutdownOn(signals): expected a non-empty array of signal names such as 'SIGTERM', got ${String(signals)}`);
  }
  const o = v.optionsObject(options, 'shutdownOn', { timeoutMs: true, exit: true, log: true, repeatGraceMs: true, clock: true });
  const timeoutMs = v.number('timeoutMs', o.timeoutMs, 10_000, { min: 0 });
  const exit = v.boolean('exit', o.exit, true);
  const log = v.optionalFunction<(message: string) => void>('log', o.log) ?? ((message: string) => console.error(message));
  const repeatGraceMs = v.number('repeatGraceMs', o.repeatGraceMs, 1000, { min: 0 });
  const clock = o.clock ?? systemClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock (an object with now())');
  }

  let draining = false;
  let firstSignalAt = 0;
  // droppedBy.closed when the drain began, per target, to count only this drain's refusals.
  const closedBefore: (number | undefined)[] = [];
  const say = (message: string) => {
    try {
      log(`sluice: ${message}`);
    } catch {
      // A broken logger must not stop the drain.
    }
  };

  const statsOf = (target: ShutdownTarget): ShutdownTargetStats | undefined => {
    try {
      return typeof target.stats === 'function' ? target.stats() : undefined;
    } catch {
      return undefined; // counters are for the log only; a failing one must not stop the shutdown
    }
  };

  /** "N item(s) not yet flushed are lost", exact when every target reports its counters. */
  const lossText = (): string => {
    let lost = 0;
    let unknown = 0;
    const parts: string[] = [];
    list.forEach((target, i) => {
      const s = statsOf(target);
      if (s === undefined || !Number.isFinite(s.buffered) || !Number.isFinite(s.inFlight)) {
        unknown++;
        return;
      }
      const n = s.buffered + s.inFlight;
      lost += n;
      if (list.length > 1) parts.push(`${labelOf(target, i)} ${n}`);
    });
    if (unknown === list.length) return 'items not yet flushed are lost';
    const detail = parts.length > 0 ? ` (${parts.join(', ')})` : '';
    const rest = unknown > 0 ? `, plus what ${unknown} writer(s) without stats() held` : '';
    return `${lost} accepted item(s) not yet flushed are lost${detail}${rest}`;
  };

  const onSignal = (signal: ShutdownSignal): void => {
    if (draining) {
      const since = clock.now() - firstSignalAt;
      if (since < repeatGraceMs) {
        say(`${signal} received again ${Math.round(since)} ms after the first; ignored (within repeatGraceMs ${repeatGraceMs}), still draining`);
        return;
      }
      say(`${signal} received again; exiting now, ${lossText()}`);
      process.exit(128 + (constants.signals[signal] ?? 0));
      return; // reached only when process.exit is stubbed, as in tests
    }
    draining = true;
    firstSignalAt = clock.now();
    list.forEach((target, i) => (closedBefore[i] = statsOf(target)?.droppedBy?.closed));
    say(`${signal} received; draining ${list.length} writer(s), up to ${timeoutMs} ms`);
    void Promise.all(list.map((target, i) => drainOne(target, i))).then((clean) => {
      const ok = clean.every(Boolean);
      say(ok ? 'drained; exiting' : 'drain incomplete; exiting with code 1');
      if (exit) process.exit(ok ? undefined : 1);
      if (!ok) process.exitCode = 1;
    });
  };

  const labelOf = (target: ShutdownTarget, index: number): string => target.name ?? `writer ${index + 1}`;

  const drainOne = async (target: ShutdownTarget, index: number): Promise<boolean> => {
    const label = labelOf(target, index);
    try {
      const r = await target.drain({ timeoutMs });
      const before = closedBefore[index];
      const after = statsOf(target)?.droppedBy?.closed;
      // Writes refused after close were never accepted; counting them as "dropped" would read as data loss.
      const refused = before !== undefined && after !== undefined ? Math.min(r.dropped, Math.max(0, after - before)) : undefined;
      const drops = refused === undefined ? `dropped ${r.dropped}` : `dropped ${r.dropped - refused}, refused after close ${refused}`;
      say(`${label}: flushed ${r.flushed}, dead-lettered ${r.deadLettered}, ${drops}, remaining ${r.remaining}${r.timedOut ? ' (timed out)' : ''}`);
      return !r.timedOut && r.remaining === 0;
    } catch (error) {
      say(`${label}: drain failed: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  };

  const handlers = signals.map((signal) => {
    const handler = () => onSignal(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
