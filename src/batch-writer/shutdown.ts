import { constants } from 'node:os';
import { InvalidArgumentError } from '../errors/index.js';
import * as v from '../internal/validate.js';
import type { BatchWriterDrainOptions, BatchWriterDrainReport } from './options.js';

/** Anything `shutdownOn` can drain: a `BatchWriter`, or your own component with the same `drain()`. */
export interface ShutdownTarget {
  drain(options?: BatchWriterDrainOptions): Promise<BatchWriterDrainReport>;
  readonly name?: string;
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
}

export type ShutdownSignal = NodeJS.Signals;

/**
 * Drains `targets` when the process receives one of `signals`, then exits.
 *
 * The first signal closes every target and waits (at most `timeoutMs`) for
 * what they buffered to be flushed. Any later signal, whether the drain is
 * still running or `exit: false` left the process running, exits at once with
 * code 128 + the signal number, logging that items may remain: it is how an
 * operator says "stop now".
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
  const o = v.optionsObject(options, 'shutdownOn', { timeoutMs: true, exit: true, log: true });
  const timeoutMs = v.number('timeoutMs', o.timeoutMs, 10_000, { min: 0 });
  const exit = v.boolean('exit', o.exit, true);
  const log = v.optionalFunction<(message: string) => void>('log', o.log) ?? ((message: string) => console.error(message));

  let draining = false;
  const say = (message: string) => {
    try {
      log(`sluice: ${message}`);
    } catch {
      // A broken logger must not stop the drain.
    }
  };

  const onSignal = (signal: ShutdownSignal): void => {
    if (draining) {
      say(`${signal} received again; exiting now, items not yet flushed are lost`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    draining = true;
    say(`${signal} received; draining ${list.length} writer(s), up to ${timeoutMs} ms`);
    void Promise.all(list.map((target, i) => drainOne(target, i))).then((clean) => {
      const ok = clean.every(Boolean);
      say(ok ? 'drained; exiting' : 'drain incomplete; exiting with code 1');
      if (exit) process.exit(ok ? undefined : 1);
      if (!ok) process.exitCode = 1;
    });
  };

  const drainOne = async (target: ShutdownTarget, index: number): Promise<boolean> => {
    const label = target.name ?? `writer ${index + 1}`;
    try {
      const r = await target.drain({ timeoutMs });
      say(`${label}: flushed ${r.flushed}, dead-lettered ${r.deadLettered}, dropped ${r.dropped}, remaining ${r.remaining}${r.timedOut ? ' (timed out)' : ''}`);
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
