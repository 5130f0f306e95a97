import { systemClock, type Clock } from '../clock/index.js';
import { InvalidOptionError } from '../errors/index.js';
import * as v from '../internal/validate.js';

/**
 * How a governed stream handles a consumer slower than its producer.
 * - `'Buffer'`: buffer up to `bufferSize` items; stop reading the source at
 *   `highWaterMark` percent full and resume at `lowWaterMark` percent. Nothing
 *   is lost; the producer is slowed down.
 * - `'Throttle'`: hand items to the consumer at most `maxItemsPerSecond`
 *   (a token bucket); the source is read at that pace. Nothing is buffered.
 * - `'Drop'`: read the source as fast as it produces, buffer up to
 *   `bufferSize` items and drop (and count) newer ones while the buffer is
 *   full. The producer is never slowed down.
 */
export type StreamStrategy = 'Buffer' | 'Throttle' | 'Drop';

/** Accepted spellings: the seed's `'Buffer' | 'Throttle' | 'Drop'` and their lowercase forms. */
export type StreamStrategyName = StreamStrategy | 'buffer' | 'throttle' | 'drop';

const strategyNames: Readonly<Record<StreamStrategyName, StreamStrategy>> = {
  Buffer: 'Buffer',
  Throttle: 'Throttle',
  Drop: 'Drop',
  buffer: 'Buffer',
  throttle: 'Throttle',
  drop: 'Drop',
};

export interface StreamPolicyOptions {
  /**
   * The backpressure strategy, as in the seed's `BackpressureStrategy`
   * (`'Buffer'`, `'Throttle'`, `'Drop'`; lowercase accepted too). Options
   * that another strategy uses are still validated but have no effect.
   * @default 'Buffer'
   * @example streamPolicy({ strategy: 'Drop', bufferSize: 500 })
   */
  strategy?: StreamStrategyName;
  /**
   * Most items buffered per stream (`'Buffer'`, `'Drop'`). An integer >= 1.
   * @default 1000
   * @example streamPolicy({ strategy: 'Buffer', bufferSize: 1000 })
   */
  bufferSize?: number;
  /**
   * Fill level, in percent of `bufferSize`, at which a stream counts as under
   * pressure (a backpressure event) and, under `'Buffer'`, stops reading its
   * source. From 0 to 100.
   * @default 80
   * @example streamPolicy({ bufferSize: 1000, highWaterMark: 80, lowWaterMark: 20 }) // pause at 800 items, resume at 200
   */
  highWaterMark?: number;
  /**
   * Fill level, in percent of `bufferSize`, at or below which a stream under
   * pressure recovers and, under `'Buffer'`, reads its source again. From 0
   * to `highWaterMark`.
   * @default 20 (or `highWaterMark` when that is lower)
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
  highWaterMark: number;
  lowWaterMark: number;
  maxItemsPerSecond: number | undefined;
  clock: Clock;
  name: string;
}

export function resolveStreamPolicyOptions(options: StreamPolicyOptions | undefined): ResolvedStreamPolicyOptions {
  const o = v.optionsObject(options, 'streamPolicy', {
    strategy: true, bufferSize: true, highWaterMark: true, lowWaterMark: true, maxItemsPerSecond: true, clock: true,
    name: true,
  });
  const spelled = o.strategy === undefined ? 'Buffer' : o.strategy;
  if (typeof spelled !== 'string' || !Object.hasOwn(strategyNames, spelled)) {
    throw new InvalidOptionError('strategy', spelled, `one of ${Object.keys(strategyNames).join(', ')}`);
  }
  const strategy = strategyNames[spelled as StreamStrategyName];
  const bufferSize = v.integer('bufferSize', o.bufferSize, 1000, { min: 1 });
  const highWaterMark = v.number('highWaterMark', o.highWaterMark, 80, { min: 0, max: 100 });
  const lowWaterMark = v.number('lowWaterMark', o.lowWaterMark, Math.min(20, highWaterMark), { min: 0, max: 100 });
  if (lowWaterMark > highWaterMark) {
    throw new InvalidOptionError('lowWaterMark', lowWaterMark, `a percentage <= highWaterMark (${highWaterMark})`);
  }
  const maxItemsPerSecond = v.optionalNumber('maxItemsPerSecond', o.maxItemsPerSecond, { min: 0, minExclusive: true });
  if (strategy === 'Throttle' && maxItemsPerSecond === undefined) {
    throw new InvalidOptionError('maxItemsPerSecond', undefined, 'a finite number > 0', "required when strategy is 'Throttle'");
  }
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name === undefined ? 'stream-policy' : o.name;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
  return { strategy, bufferSize, highWaterMark, lowWaterMark, maxItemsPerSecond, clock, name };
}
