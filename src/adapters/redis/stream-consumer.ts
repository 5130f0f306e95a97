import type { Clock, TimerHandle } from '../../core/clock/index.js';
import type { ConcurrencyLimiter, Permit } from '../../core/concurrency-limiter/index.js';
import type { PollSizer } from '../../core/poll-sizer/index.js';
import { InvalidOptionError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import type { RedisClient, RedisConnection } from './client.js';
import { Connectivity, type RedisHealthEvents } from './connectivity.js';
import { resolveConnection } from './options.js';
import type { ConsumeStreamOptions, StreamConsumer, StreamConsumerStats, StreamEntry } from './stream-consumer-options.js';

export type { ConsumeStreamOptions, StreamConsumer, StreamConsumerStats, StreamEntry } from './stream-consumer-options.js';

const MAX_BACKOFF_MS = 5000;

/**
 * Reads a Redis Stream through a consumer group with bounded concurrency and
 * calls `handler` for each entry, acking after success.
 *
 * - **Bounded:** at most `maxInFlight` (or the limiter's limit) entries are
 *   held at once; each XREADGROUP asks only for the free slots (further cut
 *   by `pollSizer`), so a flood of entries waits in Redis, not in memory.
 * - **At-least-once:** XACK after the handler fulfils (acks are batched, one
 *   XACK in flight at a time). Entries of consumers that died, or whose
 *   handler failed, are claimed with XAUTOCLAIM once idle for
 *   `visibilityTimeoutMs` and handled again.
 * - Blocking reads use a `duplicate()` of `redis` owned by the consumer, so
 *   they never hold up your other commands; `stop()` closes it.
 *
 * @example
 * const consumer = consumeStream({ redis, stream: 'orders', group: 'billing', consumer: 'b-1', maxInFlight: 50, handler: bill });
 * process.on('SIGTERM', () => consumer.stop());
 */
export function consumeStream(options: ConsumeStreamOptions): StreamConsumer {
  return new StreamConsumerLoop(options);
}

class StreamConsumerLoop implements StreamConsumer {
  private readonly redis: RedisClient;
  private readonly clock: Clock;
  private readonly stream: string;
  private readonly group: string;
  private readonly consumer: string;
  private readonly handler: (entry: StreamEntry) => unknown;
  private readonly maxInFlightOption: number;
  private readonly pollSizer: PollSizer | undefined;
  private readonly limiter: ConcurrencyLimiter | undefined;
  private readonly blockMs: number;
  private readonly visibilityTimeoutMs: number;
  private readonly claimIntervalMs: number;
  private readonly startId: string;
  private readonly onError: ((error: unknown, entry: StreamEntry) => void) | undefined;
  private readonly link: Connectivity;
  private readonly reader: RedisConnection;
  private readonly held = new Set<string>();
  private ackQueue: string[] = [];
  private acking = false;
  private runningCount = 0;
  private slotWaiter: (() => void) | undefined;
  private sleepWaker: (() => void) | undefined;
  private drainWaiter: (() => void) | undefined;
  private nextClaimAt = 0;
  private claimCursor = '0-0';
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly loop: Promise<void>;
  private readonly counters = { fetched: 0, claimed: 0, processed: 0, failed: 0, acked: 0, ackFailures: 0, maxInFlight: 0, maxRunning: 0, reads: 0, lastCount: 0, readErrors: 0 };

  constructor(options: ConsumeStreamOptions) {
    const o = v.optionsObject(options, 'consumeStream', {
      stream: true, group: true, consumer: true, handler: true, maxInFlight: true, pollSizer: true, limiter: true,
      blockMs: true, visibilityTimeoutMs: true, claimIntervalMs: true, startId: true, onError: true, redis: true,
      timeoutMs: true, probeIntervalMs: true, clock: true,
    });
    const conn = resolveConnection(o);
    this.redis = conn.redis;
    this.clock = conn.clock;
    this.stream = text('stream', o.stream);
    this.group = text('group', o.group);
    this.consumer = text('consumer', o.consumer);
    this.handler = v.requiredFunction('handler', o.handler);
    this.maxInFlightOption = v.integer('maxInFlight', o.maxInFlight, 100, { min: 1 });
    if (o.pollSizer !== undefined && (o.pollSizer === null || typeof o.pollSizer.next !== 'function' || typeof o.pollSizer.record !== 'function')) {
      throw new InvalidOptionError('pollSizer', o.pollSizer, 'a PollSizer (with next() and record())');
    }
    this.pollSizer = o.pollSizer;
    if (o.limiter !== undefined && (o.limiter === null || typeof o.limiter.tryAcquire !== 'function' || typeof o.limiter.acquire !== 'function')) {
      throw new InvalidOptionError('limiter', o.limiter, 'a ConcurrencyLimiter (with limit, inflight, tryAcquire() and acquire())');
    }
    this.limiter = o.limiter;
    this.blockMs = v.integer('blockMs', o.blockMs, 1000, { min: 1 });
    this.visibilityTimeoutMs = v.integer('visibilityTimeoutMs', o.visibilityTimeoutMs, 30_000, { min: 1 });
    this.claimIntervalMs = v.number('claimIntervalMs', o.claimIntervalMs, Math.min(this.visibilityTimeoutMs / 2, 5000), { min: 1 });
    this.startId = text('startId', o.startId ?? '0');
    this.onError = v.optionalFunction('onError', o.onError);
    this.link = new Connectivity(conn.redis, {
      timeoutMs: conn.timeoutMs,
      probeIntervalMs: conn.probeIntervalMs,
      clock: conn.clock,
      component: 'consumeStream',
      key: this.stream,
      fallback: 'retry',
    });
    this.reader = conn.redis.duplicate();
    this.reader.on('error', () => undefined); // the same outage shows up as read errors and in the link's stats
    this.loop = this.run();
  }

  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    this.wakeSlot();
    this.sleepWaker?.();
    this.reader.disconnect();
    this.stopped = (async () => {
      await this.loop;
      if (this.held.size !== 0) await new Promise<void>((resolve) => (this.drainWaiter = resolve));
      this.link.close();
    })();
    return this.stopped;
  }

  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void {
    return this.link.on(event, listener);
  }

  stats(): StreamConsumerStats {
    const c = this.counters;
    return {
      fetched: c.fetched,
      claimed: c.claimed,
      processed: c.processed,
      failed: c.failed,
      acked: c.acked,
      ackFailures: c.ackFailures,
      inFlight: this.held.size,
      maxInFlight: c.maxInFlight,
      running: this.runningCount,
      maxRunning: c.maxRunning,
      reads: c.reads,
      lastCount: c.lastCount,
      readErrors: c.readErrors,
      stopped: this.stopping,
      redis: this.link.stats(),
    };
  }

  private get capacity(): number {
    return this.limiter ? this.limiter.limit : this.maxInFlightOption;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    let groupReady = false;
    // First the entries this consumer name read before a restart and never acked, then new ones.
    let ownPendingFrom: string | undefined = '0';
    while (!this.stopping) {
      try {
        if (!groupReady) {
          await this.createGroup();
          groupReady = true;
        }
        if (!(await this.waitForSlot())) break;
        const free = this.capacity - this.held.size;
        if (this.clock.now() >= this.nextClaimAt) {
          await this.claim(free);
          if (this.capacity - this.held.size <= 0) continue;
        }
        const count = this.countFor(this.capacity - this.held.size);
        if (count <= 0) {
          // The poll sizer wants fewer entries held than there are now: wait for one to finish.
          await this.waitForRelease();
          continue;
        }
        this.counters.reads++;
        this.counters.lastCount = count;
        const reply =
          ownPendingFrom === undefined
            ? await this.reader.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'BLOCK', Math.min(this.blockMs, this.msToClaim()), 'STREAMS', this.stream, '>')
            : await this.reader.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.stream, ownPendingFrom);
        backoff = 0;
        const entries = streamEntries(reply);
        if (ownPendingFrom !== undefined) ownPendingFrom = entries.length === 0 ? undefined : String((entries[entries.length - 1] as unknown[])[0]);
        this.take(entries, false);
      } catch (error) {
        if (this.stopping) break;
        this.counters.readErrors++;
        if (error instanceof Error && error.message.includes('NOGROUP')) groupReady = false;
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 100 : backoff * 2);
        await this.sleep(backoff);
      }
    }
  }

  private async createGroup(): Promise<void> {
    await this.link.run(() =>
      this.redis.call('XGROUP', 'CREATE', this.stream, this.group, this.startId, 'MKSTREAM').catch((error: unknown) => {
        // The group exists already: the usual case, and an answer, not a failure of the link.
        if (error instanceof Error && error.message.startsWith('BUSYGROUP')) return 'OK';
        throw error;
      }),
    );
  }

  /** Claims entries idle longer than the visibility timeout (dead consumers, failed handlers), at most `free`. */
  private async claim(free: number): Promise<void> {
    const reply = (await this.link.run(() =>
      this.redis.call('XAUTOCLAIM', this.stream, this.group, this.consumer, this.visibilityTimeoutMs, this.claimCursor, 'COUNT', free),
    )) as [string, unknown[], unknown[]?];
    this.claimCursor = String(reply[0]);
    // A full scan of the pending list ends at cursor 0-0; until then, keep claiming on every turn.
    if (this.claimCursor === '0-0') this.nextClaimAt = this.clock.now() + this.claimIntervalMs;
    this.take(reply[1] ?? [], true);
  }

  /** Free slots, or with a poll sizer, what it allows to be held at once minus what is held. */
  private countFor(free: number): number {
    if (!this.pollSizer) return free;
    return Math.min(free, this.pollSizer.next(0) - this.held.size);
  }

  private msToClaim(): number {
    return Math.max(1, Math.ceil(this.nextClaimAt - this.clock.now()));
  }

  private take(entries: unknown[], claimed: boolean): void {
    const orphans: string[] = [];
    for (const raw of entries) {
      const [rawId, rawFields] = raw as [unknown, unknown];
      const id = String(rawId);
      if (!Array.isArray(rawFields)) {
        // Deleted from the stream while pending: nothing to handle, only the pending entry to clear.
        orphans.push(id);
        continue;
      }
      if (this.held.has(id)) continue; // claimed back from ourselves: its handler is still running
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < rawFields.length; i += 2) fields[String(rawFields[i])] = String(rawFields[i + 1]);
      this.counters.fetched++;
      if (claimed) this.counters.claimed++;
      this.held.add(id);
      if (this.held.size > this.counters.maxInFlight) this.counters.maxInFlight = this.held.size;
      this.dispatch({ id, fields });
    }
    if (orphans.length > 0) this.link.run(() => this.redis.call('XACK', this.stream, this.group, ...orphans)).catch(() => undefined);
  }

  private dispatch(entry: StreamEntry): void {
    if (!this.limiter) {
      this.start(entry, undefined);
      return;
    }
    const permit = this.limiter.tryAcquire();
    if (permit) this.start(entry, permit);
    else
      this.limiter.acquire().then(
        (p) => this.start(entry, p),
        (error: unknown) => this.fail(entry, undefined, false, error),
      );
  }

  private start(entry: StreamEntry, permit: Permit | undefined): void {
    this.runningCount++;
    if (this.runningCount > this.counters.maxRunning) this.counters.maxRunning = this.runningCount;
    const started = this.clock.now();
    let result: unknown;
    try {
      result = this.handler(entry);
    } catch (error) {
      this.fail(entry, permit, true, error);
      return;
    }
    Promise.resolve(result).then(
      () => {
        this.runningCount--;
        this.counters.processed++;
        this.pollSizer?.record(Math.max(0, this.clock.now() - started));
        permit?.success();
        this.ackQueue.push(entry.id);
        this.flushAcks();
      },
      (error: unknown) => this.fail(entry, permit, true, error),
    );
  }

  private fail(entry: StreamEntry, permit: Permit | undefined, started: boolean, error: unknown): void {
    if (started) this.runningCount--;
    this.counters.failed++;
    permit?.dropped();
    this.release(entry.id);
    if (this.onError) {
      try {
        this.onError(error, entry);
      } catch (listenerError) {
        queueMicrotask(() => {
          throw listenerError;
        });
      }
    }
  }

  /** One XACK in flight at a time; acks that arrive meanwhile go out together in the next. */
  private flushAcks(): void {
    if (this.acking || this.ackQueue.length === 0) return;
    const ids = this.ackQueue;
    this.ackQueue = [];
    this.acking = true;
    this.link
      .run(() => this.redis.call('XACK', this.stream, this.group, ...ids))
      .then(
        () => void (this.counters.acked += ids.length),
        () => void (this.counters.ackFailures += ids.length),
      )
      .then(() => {
        this.acking = false;
        for (const id of ids) this.release(id);
        this.flushAcks();
      });
  }

  private release(id: string): void {
    this.held.delete(id);
    if (this.held.size < this.capacity) this.wakeSlot();
    if (this.held.size === 0 && this.drainWaiter) {
      this.drainWaiter();
      this.drainWaiter = undefined;
    }
  }

  /** Resolves true once a slot is free, false when stopping. */
  private waitForSlot(): Promise<boolean> | boolean {
    if (this.stopping) return false;
    if (this.held.size < this.capacity) return true;
    return new Promise<boolean>((resolve) => (this.slotWaiter = () => resolve(!this.stopping)));
  }

  private waitForRelease(): Promise<void> {
    return new Promise<void>((resolve) => (this.slotWaiter = resolve));
  }

  private wakeSlot(): void {
    const wake = this.slotWaiter;
    this.slotWaiter = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const done = () => {
        if (timer !== undefined) this.clock.cancel(timer);
        this.sleepWaker = undefined;
        resolve();
      };
      timer = this.clock.schedule(ms, done);
      this.sleepWaker = done;
    });
  }
}

/** Entries of an XREADGROUP reply: RESP2 gives [[stream, entries]], RESP3 (ioredis 'legacy' mapping) [stream, entries]. */
function streamEntries(reply: unknown): unknown[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0];
  const entries = Array.isArray(first) ? (first as unknown[])[1] : reply[1];
  return Array.isArray(entries) ? entries : [];
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(field, value, 'a non-empty string');
  return value;
}
