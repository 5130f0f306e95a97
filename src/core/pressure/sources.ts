import { InvalidArgumentError } from '../errors/index.js';

/**
 * A number that says how loaded something is, where `1` means "at its threshold".
 * `0.5` is half way there, `2` is twice over. Readings are cheap and synchronous,
 * so a request path can call `read()` every time.
 *
 * @example
 * const pressure: Pressure = { name: 'queue', read: () => queue.length / 1000 };
 */
export interface Pressure {
  /** The current reading; `1` is the threshold. */
  read(): number;
  /** Shown in stats and diagnostics. */
  readonly name?: string;
  /** Stops any background sampling. Sources without a timer may omit it. */
  close?(): void;
}

/** Anything Sluice accepts where it needs a pressure: a {@link Pressure} or a plain `() => number`. */
export type PressureLike = Pressure | (() => number);

/**
 * Wraps a function as a {@link Pressure}. The function is called on every `read()`.
 * @throws InvalidArgumentError when `fn` is not a function.
 * @example
 * const backlog = fromFunction(() => queue.length / 500, 'jobs');
 */
export function fromFunction(fn: () => number, name = 'function'): Pressure {
  if (typeof fn !== 'function') {
    throw new InvalidArgumentError(`fromFunction(fn): fn must be a function returning a number, got ${typeof fn}`);
  }
  return { name, read: fn };
}

/** What {@link channelPressure} needs: a Sluice `Channel`, or anything shaped like one. */
export interface UtilizationSource {
  /** Fill level as a fraction of capacity. */
  readonly utilization: number;
  /** Fill fraction at which the source counts as pressured. */
  readonly highWatermark: number;
  readonly name?: string;
}

/**
 * Pressure of a buffer: `utilization / highWatermark`, so it reaches `1` exactly
 * when the channel becomes pressured. Read live on every call; no timer.
 * A high watermark of 0 reads `Infinity` as soon as anything is buffered.
 * @throws InvalidArgumentError when `channel` lacks numeric `utilization` and `highWatermark`.
 * @example
 * const jobs = new Channel<Job>({ capacity: 1000, highWatermark: 0.8 });
 * const pressure = channelPressure(jobs); // 1 when 800 jobs wait
 */
export function channelPressure(channel: UtilizationSource): Pressure {
  if (channel === null || typeof channel !== 'object' || typeof channel.utilization !== 'number' || typeof channel.highWatermark !== 'number') {
    throw new InvalidArgumentError('channelPressure(channel): channel must have numeric utilization and highWatermark (e.g. a Channel)');
  }
  return {
    name: typeof channel.name === 'string' ? `channel:${channel.name}` : 'channel',
    read: () => ratio(channel.utilization, channel.highWatermark),
  };
}

/** What {@link limiterPressure} needs: a concurrency limiter, or anything shaped like one. */
export interface InflightSource {
  /** Operations running now. */
  readonly inflight: number;
  /** Most operations allowed to run at once. */
  readonly limit: number;
  readonly name?: string;
}

/**
 * Pressure of a concurrency limiter: `inflight / limit`, read live on every call.
 * A limit of 0 reads `Infinity` while anything runs; an infinite limit reads 0.
 * @throws InvalidArgumentError when `limiter` lacks numeric `inflight` and `limit`.
 * @example
 * const pressure = limiterPressure(dbLimiter); // 1 when every slot is taken
 */
export function limiterPressure(limiter: InflightSource): Pressure {
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.inflight !== 'number' || typeof limiter.limit !== 'number') {
    throw new InvalidArgumentError('limiterPressure(limiter): limiter must have numeric inflight and limit');
  }
  return {
    name: typeof limiter.name === 'string' ? `limiter:${limiter.name}` : 'limiter',
    read: () => ratio(limiter.inflight, limiter.limit),
  };
}

function ratio(value: number, threshold: number): number {
  if (threshold > 0) return value / threshold;
  return value > 0 ? Infinity : 0;
}
