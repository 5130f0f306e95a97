import { systemClock, type Clock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';

/**
 * How a governed stream handles a consumer slower than its producer, in the
 * words a {@link Channel} uses for the same behaviour:
 * - `'block'`: buffer up to `bufferSize` items; stop reading the source at
 *   `highWatermark` full and resume at `lowWatermark`. Nothing is lost; the
 *   producer is slowed down. (The seed's `'Buffer'`.)
 * - `'drop-newest'`: read the source as fast as it produces, buffer up to
 *   `bufferSize` items and drop (and count) newer ones while the buffer is
 *   full. The producer is never slowed down. (The seed's `'Drop'`.)
 * - `'throttle'`: hand items to the consumer at most `maxItemsPerSecond`
 *   (a token bucket); the source is read at that pace. Nothing is buffered.
 *   (The seed's `'Throttle'`.)
 */
export type StreamStrategy = 'block' | 'drop-newest' | 'throttle';

/**
 * Accepted spellings: the strategy names, and the seed's
 * `'Buffer' | 'Throttle' | 'Drop'` (any case) as documented aliases.
 */
export type StreamStrategyName = StreamStrategy | 'Buffer' | 'Throttle' | 'Drop' | 'buffer' | 'throttle' | 'drop';

const strategyNames: Readonly<Record<StreamStrategyName, StreamStrategy>> = {
  block: 'block',
  'drop-newest': 'drop-newest',
  throttle: 'throttle',
  Buffer: 'block',
  buffer: 'block',
  Drop: 'drop-newest',
  drop: 'drop-newest',
  Throttle: 'throttle',
};

export interface StreamPolicyOptions {
  /**
   * The backpressure strategy: `'block'`, `'drop-newest'` or `'throttle'`
   * (see {@link StreamStrategy}); the seed's `'Buffer'`, `'Drop'` and
   * `'Throttle'` are accepted as aliases. Options that another strategy uses
   * are still validated but have no effect.
   * @default 'block'
   * @example streamPolicy({ strategy: 'drop-newest', bufferSize: 500 })
   */
  strategy?: StreamStrategyName;
  /**
   * Most items buffered per stream (`'block'`, `'drop-newest'`). An integer >= 1.
   * @default 1000
   * @example streamPolicy({ strategy: 'block', bufferSize: 1000 })
   */
  bufferSize?: number;
  /**
   * Fill level, as a fraction of `bufferSize` (as a Channel's), at which a
   * stream counts as under pressure (a backpressure event) and, under
   * `'block'`, stops reading its source. From 0 to 1.
   * @default 0.8
   * @example streamPolicy({ bufferSize: 1000, highWatermark: 0.8, lowWatermark: 0.2 }) // pause at 800 items, resume at 200
   */
  highWatermark?: number;
  /**
   * Fill level, as a fraction of `bufferSize`, at or below which a stream
   * under pressure recovers and, under `'block'`, reads its source again.
   * From 0 to `highWatermark`.
   * @default 0.2 (or `highWatermark` when that is lower)
   * @example streamPolicy({ highWatermark: 0.9, lowWatermark: 0.5 })
   */
  lowWatermark?: number;
  /**
   * The seed's spelling of `highWatermark`, in percent (0 to 100). Give one or the other.
   * @deprecated alias, kept for the seed's `AddStreamingBackpressure(...)`; use `highWatermark`.
   * @default 80
   * @example streamPolicy({ bufferSize: 1000, highWaterMark: 80, lowWaterMark: 20 })
   */
  highWaterMark?: number;
  /**
   * The seed's spelling of `lowWatermark`, in percent (0 to `highWaterMark`). Give one or the other.
   * @deprecated alias; use `lowWatermark`.
   * @default 20
   * @example streamPolicy({ highWaterMark: 90, lowWaterMark: 50 })
   */
  lowWaterMark?: number;
  /**
   * Items per second handed to the consumer under `'Throttle'`, where it is
   * required. A finite number > 0. Bursts up to one second's worth are let
   * through after a quiet period.
   * @default undefined
   * @example streamPolicy({ strategy: 'Throttle', maxItemsPerSecond: 500 })
   */
  maxItemsPerSecond?: number;
  /**
   * Time source for the throttle's token bucket and the buffer's timings.
   * @default systemClock
   * @example streamPolicy({ strategy: 'Throttle', maxItemsPerSecond: 10, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name used in stats and metrics. A registry names its policies itself.
   * @default 'stream-policy'
   * @example streamPolicy({ name: 'market-data', strategy: 'Drop' })
   */
  name?: string;
}

export interface ResolvedStreamPolicyOptions {
  strategy: StreamStrategy;
  bufferSize: number;
  /** A fraction of `bufferSize`, 0 to 1. */
  highWatermark: number;
  /** A fraction of `bufferSize`, 0 to `highWatermark`. */
  lowWatermark: number;
  maxItemsPerSecond: number | undefined;
  clock: Clock;
  name: string;
}

export function resolveStreamPolicyOptions(options: StreamPolicyOptions | undefined): ResolvedStreamPolicyOptions {
  const o = v.optionsObject(options, 'streamPolicy', {
    strategy: true, bufferSize: true, highWatermark: true, lowWatermark: true, highWaterMark: true, lowWaterMark: true,
    maxItemsPerSecond: true, clock: true, name: true,
  });
  const spelled = o.strategy === undefined ? 'block' : o.strategy;
  if (typeof spelled !== 'string' || !Object.hasOwn(strategyNames, spelled)) {
    throw new InvalidOptionError('strategy', spelled, `one of ${Object.keys(strategyNames).join(', ')}`);
  }
  const strategy = strategyNames[spelled as StreamStrategyName];
  const bufferSize = v.integer('bufferSize', o.bufferSize, 1000, { min: 1 });
  const { highWatermark, lowWatermark } = resolveWatermarks(o);
  const maxItemsPerSecond = v.optionalNumber('maxItemsPerSecond', o.maxItemsPerSecond, { min: 0, minExclusive: true });
  if (strategy === 'throttle' && maxItemsPerSecond === undefined) {
    throw new InvalidOptionError('maxItemsPerSecond', undefined, 'a finite number > 0', "required when strategy is 'throttle'");
  }
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name === undefined ? 'stream-policy' : o.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
  return { strategy, bufferSize, highWatermark, lowWatermark, maxItemsPerSecond, clock, name };
}

/**
 * Fractions (the Channel's words) or the seed's percentages, never both for
 * one mark: two spellings of one setting would leave a reader guessing which won.
 */
function resolveWatermarks(o: Partial<StreamPolicyOptions>): { highWatermark: number; lowWatermark: number } {
  if (o.highWatermark !== undefined && o.highWaterMark !== undefined) {
    throw new InvalidOptionError('highWaterMark', o.highWaterMark, 'to be left out when highWatermark is given (one spelling per setting)');
  }
  if (o.lowWatermark !== undefined && o.lowWaterMark !== undefined) {
    throw new InvalidOptionError('lowWaterMark', o.lowWaterMark, 'to be left out when lowWatermark is given (one spelling per setting)');
  }
  const high =
    o.highWaterMark !== undefined
      ? v.requiredNumber('highWaterMark', o.highWaterMark, { min: 0, max: 100 }) / 100
      : v.number('highWatermark', o.highWatermark, 0.8, { min: 0, max: 1 });
  const low =
    o.lowWaterMark !== undefined
      ? v.requiredNumber('lowWaterMark', o.lowWaterMark, { min: 0, max: 100 }) / 100
      : v.number('lowWatermark', o.lowWatermark, Math.min(0.2, high), { min: 0, max: 1 });
  if (low > high) {
    const field = o.lowWaterMark !== undefined ? 'lowWaterMark' : 'lowWatermark';
    throw new InvalidOptionError(field, o.lowWaterMark ?? o.lowWatermark, `at most the high watermark (${high * 100}% full)`);
  }
  return { highWatermark: high, lowWatermark: low };
}
