import { InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import * as v from '../../internal/validate.js';
import { BufferedStream } from './buffered.js';
import { openSource, type ApplyOptions, type GovernedStream, type GovernedStreamState, type GovernedStreamStats } from './governed.js';
import { ThrottledStream } from './throttled.js';
import { resolveStreamPolicyOptions, type ResolvedStreamPolicyOptions, type StreamPolicyOptions, type StreamStrategy } from './options.js';
import { describe } from '../../internal/describe.js';

/** A policy's counters: per stream for the live ones, summed over every stream it governed. */
export interface StreamPolicyStats {
  name: string;
  strategy: StreamStrategy;
  /** Streams applied and not yet ended. */
  activeStreams: number;
  /** Streams applied so far. */
  totalStreams: number;
  /** Ended streams by final state. */
  ended: Record<Exclude<GovernedStreamState, 'active'>, number>;
  /** Items buffered now, over the active streams. */
  buffered: number;
  /** Buffer capacity of the active streams together. */
  bufferCapacity: number;
  /** `buffered / bufferCapacity` over the active streams (0 when none): `mediator_stream_buffer_usage`. */
  bufferUsage: number;
  /** Over every stream, ended ones included: `mediator_stream_backpressure_events`. */
  backpressureEvents: number;
  /** Over every stream, ended ones included: `mediator_stream_dropped_items`. */
  droppedItems: number;
  received: number;
  delivered: number;
  discarded: number;
  /** The active streams, one entry each. */
  streams: GovernedStreamStats[];
}

type Totals = Pick<StreamPolicyStats, 'backpressureEvents' | 'droppedItems' | 'received' | 'delivered' | 'discarded'>;

/**
 * One backpressure configuration, applied to any number of streams. Each
 * `apply()` wraps a source in its own governed stream (its own buffer or
 * token bucket); the policy sums their counters.
 *
 * @example
 * const policy = streamPolicy({ strategy: 'block', bufferSize: 1000, highWatermark: 0.8, lowWatermark: 0.2 });
 * for await (const event of policy.apply(source)) await handle(event);
 * metrics.set('mediator_stream_buffer_usage', policy.stats().bufferUsage);
 */
export class StreamPolicy {
  readonly name: string;
  readonly strategy: StreamStrategy;
  /** The resolved options, defaults filled in. */
  readonly options: Readonly<ResolvedStreamPolicyOptions>;
  private readonly active = new Set<GovernedStream<unknown>>();
  private streamCount = 0;
  private readonly ended: StreamPolicyStats['ended'] = { completed: 0, failed: 0, cancelled: 0 };
  private readonly totals: Totals = { backpressureEvents: 0, droppedItems: 0, received: 0, delivered: 0, discarded: 0 };
  private readonly onFinish = (stream: GovernedStream<unknown>): void => {
    if (!this.active.delete(stream)) return;
    const s = stream.stats();
    if (s.state !== 'active') this.ended[s.state]++;
    this.totals.backpressureEvents += s.backpressureEvents;
    this.totals.droppedItems += s.droppedItems;
    this.totals.received += s.received;
    this.totals.delivered += s.delivered;
    this.totals.discarded += s.discarded;
  };

  constructor(options?: StreamPolicyOptions) {
    this.options = Object.freeze(resolveStreamPolicyOptions(options));
    this.name = this.options.name;
    this.strategy = this.options.strategy;
  }

  /**
   * Governs `source` under this policy. Nothing is read from the source
   * before the first `next()`. Items must not be `undefined` under `'block'`
   * and `'drop-newest'` (the buffer reserves it); such an item fails the stream.
   * @throws InvalidArgumentError when `source` is not iterable; InvalidOptionError for bad options.
   * @example for await (const quote of policy.apply(quotes, { name: 'quotes', signal })) render(quote);
   */
  apply<T>(source: AsyncIterable<T> | Iterable<T>, options?: ApplyOptions): GovernedStream<T> {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new InvalidArgumentError(`apply(source, options): options must be an object, got ${describe(options)}`);
    }
    v.optionsObject(options, 'apply()', { name: true, signal: true });
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidOptionError('signal', signal, 'an AbortSignal');
    const name = options?.name ?? `${this.name}#${this.streamCount + 1}`;
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', name, 'a non-empty string');
    const iterator = openSource(source, 'apply(source)');
    const onFinish = this.onFinish as (stream: GovernedStream<T>) => void;
    const stream =
      this.strategy === 'throttle'
        ? new ThrottledStream<T>(iterator, name, this.options, onFinish, signal)
        : new BufferedStream<T>(iterator, name, this.options, onFinish, signal);
    this.streamCount++;
    this.active.add(stream as GovernedStream<unknown>);
    return stream;
  }

  stats(): StreamPolicyStats {
    const streams: GovernedStreamStats[] = [];
    let buffered = 0;
    let bufferCapacity = 0;
    const sums: Totals = { ...this.totals };
    for (const stream of this.active) {
      const s = stream.stats();
      streams.push(s);
      buffered += s.buffered;
      bufferCapacity += s.bufferSize;
      sums.backpressureEvents += s.backpressureEvents;
      sums.droppedItems += s.droppedItems;
      sums.received += s.received;
      sums.delivered += s.delivered;
      sums.discarded += s.discarded;
    }
    return {
      name: this.name,
      strategy: this.strategy,
      activeStreams: this.active.size,
      totalStreams: this.streamCount,
      ended: { ...this.ended },
      buffered,
      bufferCapacity,
      bufferUsage: bufferCapacity === 0 ? 0 : buffered / bufferCapacity,
      ...sums,
      streams,
    };
  }
}

/**
 * A stream policy, as the seed's `AddStreamingBackpressure(strategy, bufferSize,
 * highWaterMark, lowWaterMark, maxItemsPerSecond)`: `'block'` (default, the
 * seed's `'Buffer'`), `'throttle'` or `'drop-newest'` (the seed's `'Drop'`),
 * watermarks as fractions (`highWatermark`) or the seed's percentages (`highWaterMark`).
 * @throws InvalidOptionError naming the field for a bad option.
 * @example const drop = streamPolicy({ strategy: 'drop-newest', bufferSize: 500 });
 */
export function streamPolicy(options?: StreamPolicyOptions): StreamPolicy {
  return new StreamPolicy(options);
}

/**
 * Named stream policies for an application: define each once, then govern
 * every streaming handler by name.
 *
 * @example
 * const policies = policyRegistry({
 *   default: { strategy: 'block', bufferSize: 1000 },
 *   realtime: { strategy: 'drop-newest', bufferSize: 500 },
 * });
 * policies.define('exports', { strategy: 'throttle', maxItemsPerSecond: 500 });
 * for await (const row of policies.apply('exports', rows)) write(row);
 */
export class StreamPolicies {
  private readonly policies = new Map<string, StreamPolicy>();

  /**
   * Adds a policy under `name`, from options (named after the registry entry)
   * or an existing {@link StreamPolicy}.
   * @throws InvalidArgumentError for an empty name or one already defined; InvalidOptionError for bad options.
   */
  define(name: string, policy: StreamPolicyOptions | StreamPolicy): StreamPolicy {
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidArgumentError(`define(name): name must be a non-empty string, got ${describe(name)}`);
    }
    if (this.policies.has(name)) throw new InvalidArgumentError(`define(name): a stream policy named "${name}" is already defined`);
    const resolved = policy instanceof StreamPolicy ? policy : new StreamPolicy({ ...policy, name });
    this.policies.set(name, resolved);
    return resolved;
  }

  /** @throws InvalidArgumentError naming the known policies when `name` is not defined. */
  get(name: string): StreamPolicy {
    const policy = this.policies.get(name);
    if (policy !== undefined) return policy;
    const known = [...this.policies.keys()].map((n) => `"${n}"`).join(', ');
    throw new InvalidArgumentError(`Unknown stream policy "${String(name)}"; known policies: ${known || '(none defined)'}`);
  }

  has(name: string): boolean {
    return this.policies.has(name);
  }

  names(): string[] {
    return [...this.policies.keys()];
  }

  /**
   * Governs `source` under the policy called `name`; see {@link StreamPolicy.apply}.
   * @throws InvalidArgumentError when no policy has that name.
   */
  apply<T>(name: string, source: AsyncIterable<T> | Iterable<T>, options?: ApplyOptions): GovernedStream<T> {
    return this.get(name).apply(source, options);
  }

  /** Each policy's stats, by name. */
  stats(): Record<string, StreamPolicyStats> {
    const out: Record<string, StreamPolicyStats> = {};
    for (const [name, policy] of this.policies) out[name] = policy.stats();
    return out;
  }
}

/**
 * A registry of named stream policies, optionally pre-filled.
 * @throws InvalidOptionError for a bad definition.
 * @example const policies = policyRegistry({ default: {}, realtime: { strategy: 'drop-newest', bufferSize: 500 } });
 */
export function policyRegistry(definitions?: Record<string, StreamPolicyOptions | StreamPolicy>): StreamPolicies {
  const registry = new StreamPolicies();
  if (definitions !== undefined) {
    if (definitions === null || typeof definitions !== 'object') {
      throw new InvalidArgumentError(`policyRegistry(definitions): definitions must be an object, got ${describe(definitions)}`);
    }
    for (const [name, definition] of Object.entries(definitions)) registry.define(name, definition);
  }
  return registry;
}
