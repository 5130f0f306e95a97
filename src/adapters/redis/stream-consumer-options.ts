import type { ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import type { PollSizer } from '../../core/poll-sizer/index.js';
import type { RedisHealthEvents, RedisHealthStats } from './connectivity.js';
import type { RedisConnectionOptions } from './options.js';

/** One stream entry as the handler gets it. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface ConsumeStreamOptions extends RedisConnectionOptions {
  /**
   * The stream key, used as given (no prefix, no hash tag added).
   * @default none (required)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler })
   */
  stream: string;
  /**
   * Consumer group; created (with MKSTREAM) at `startId` if it does not exist.
   * @default none (required)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler })
   */
  group: string;
  /**
   * This consumer's name in the group. Reusing the name after a restart makes
   * the consumer first re-process what it had read but not acked.
   * @default none (required)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', handler, consumer: `${hostname()}-${process.pid}` })
   */
  consumer: string;
  /**
   * Processes one entry. The entry is acked (XACK) after the returned promise
   * fulfils. If it throws or rejects, the entry is not acked: it stays pending
   * and is delivered again (to this or another consumer) once it has been
   * idle for `visibilityTimeoutMs`. Delivery is at-least-once.
   * @default none (required)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler: async (entry) => { await bill(JSON.parse(entry.fields.order ?? 'null')); } })
   */
  handler: (entry: StreamEntry) => unknown;
  /**
   * Most entries held at once: fetched and not yet acked (handlers running,
   * waiting for a limiter permit, or being acked). Each read asks for at most
   * the free slots, so memory stays bounded however fast entries arrive.
   * Ignored when `limiter` is given (its limit is the bound).
   * @default 100
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, maxInFlight: 32 })
   */
  maxInFlight?: number;
  /**
   * Adapts how many entries are held to processing speed, so all of them can
   * be handled before their visibility timeout: at most `pollSizer.next()`
   * entries are held at once (and never more than `maxInFlight`); every
   * handler's duration is recorded into it. The sizer assumes entries are
   * handled one after another, which is conservative for concurrent async
   * handlers (prefer `limiter` for those). Give it
   * `maxPollIntervalMs` ≈ `visibilityTimeoutMs`.
   * @default undefined (COUNT = free slots)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, pollSizer: new PollSizer({ maxPollIntervalMs: 30_000 }) })
   */
  pollSizer?: PollSizer;
  /**
   * Bounds in-flight entries by an (adaptive) ConcurrencyLimiter instead of
   * `maxInFlight`: COUNT is `limit - inflight`, every handler runs under a
   * permit, released with `success()` or `dropped()` (handler failed), so an
   * AIMD/Vegas/Gradient2 limit follows the handler's latency.
   * @default undefined
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, limiter: new ConcurrencyLimiter({ algorithm: 'vegas', maxLimit: 200 }) })
   */
  limiter?: ConcurrencyLimiter;
  /**
   * How long one read blocks waiting for new entries (XREADGROUP BLOCK).
   * Also the longest between two checks for idle entries of dead consumers.
   * @default 1000
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, blockMs: 5000 })
   */
  blockMs?: number;
  /**
   * How long an entry may stay pending (read, not acked) before any consumer
   * of the group may claim it (XAUTOCLAIM): the redelivery delay after a
   * consumer dies or a handler fails. Keep it above the slowest handler run.
   * @default 30000
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, visibilityTimeoutMs: 60_000 })
   */
  visibilityTimeoutMs?: number;
  /**
   * How often the consumer looks for entries idle longer than
   * `visibilityTimeoutMs` and claims them.
   * @default Math.min(visibilityTimeoutMs / 2, 5000)
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, claimIntervalMs: 1000 })
   */
  claimIntervalMs?: number;
  /**
   * Where a newly created group starts: `'0'` (everything in the stream) or
   * `'$'` (only entries added from now on).
   * @default '0'
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, startId: '$' })
   */
  startId?: string;
  /**
   * Called when a handler throws or rejects, after the failure is counted. The entry will be redelivered.
   * @default undefined
   * @example consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', handler, onError: (error, entry) => log.warn({ error, id: entry.id }) })
   */
  onError?: (error: unknown, entry: StreamEntry) => void;
}

export interface StreamConsumerStats {
  /** Entries read (new, own pending after a restart, and claimed). */
  fetched: number;
  /** Of those, entries claimed from idle consumers (XAUTOCLAIM). */
  claimed: number;
  /** Handlers that fulfilled / failed. */
  processed: number;
  failed: number;
  /** Entries acked. */
  acked: number;
  /** Entries whose XACK failed; they stay pending and come back after `visibilityTimeoutMs`. */
  ackFailures: number;
  /** Entries held now: fetched and not yet acked or given up. */
  inFlight: number;
  /** Highest `inFlight` seen. */
  maxInFlight: number;
  /** Handlers running now, and the most seen at once. */
  running: number;
  maxRunning: number;
  /** Reads sent, and the COUNT of the latest one. */
  reads: number;
  lastCount: number;
  /** Reads or claims that failed (Redis down); the loop retries with backoff. */
  readErrors: number;
  stopped: boolean;
  redis: RedisHealthStats;
}

/** A running {@link consumeStream} loop. */
export interface StreamConsumer {
  /**
   * Stops reading (an in-progress blocking read is cut short), lets every
   * handler already started finish and its ack go out, then resolves.
   * Entries read but not handled stay pending and are claimed later.
   * Idempotent: every call returns the same promise.
   *
   * Abort safety: takes no signal; it resolves once the running handlers
   * settle, so a handler that never settles keeps it pending: bound your
   * handlers' own time.
   */
  stop(): Promise<void>;
  stats(): StreamConsumerStats;
  /** `'degraded'` when an ack or claim fails or times out; `'recovered'` when Redis answers again. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void;
}
