import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jsonSerializer, type DurableStore, type LeasedItem, type Serializer } from '../../core/durable-channel/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { checkExchangeArguments, checkLeaseArguments } from '../../internal/durable-store.js';
import * as v from '../../internal/validate.js';
import { tagged, toNumber } from './client.js';
import { Connectivity, type RedisHealthEvents, type RedisHealthStats } from './connectivity.js';
import { resolveConnection, resolveKey, type RedisConnectionOptions, type ResolvedConnection } from './options.js';
import { ACK, ACK_AND_LEASE, APPEND, DROP_OLDEST, EXCHANGE, LEASE, NACK, NEXT_VISIBLE } from './stream-store-scripts.js';

export interface RedisStreamStoreOptions<T> extends RedisConnectionOptions {
  /**
   * Name of the store. Items live in the stream `{key}:stream` (read through
   * a consumer group), lease deadlines in the sorted set `{key}:invisible`,
   * items visible again after a lease or nack in `{key}:visible`. The braces
   * are a Redis Cluster hash tag: all three share a slot.
   * @default none (required)
   * @example new RedisStreamStore({ redis, key: 'orders' })
   */
  key: string;
  /**
   * Consumer group all stores on this key lease through. Processes sharing a
   * key and group share the items (each item goes to one of them at a time).
   * @default 'sluice'
   * @example new RedisStreamStore({ redis, key: 'orders', group: 'billing' })
   */
  group?: string;
  /**
   * This store's consumer name in the group; leased items sit in its pending
   * list until acked, or until their lease expires and another consumer claims them.
   * @default `${hostname()}:${process.pid}:<random>`
   * @example new RedisStreamStore({ redis, key: 'orders', consumer: 'worker-3' })
   */
  consumer?: string;
  /**
   * How items become stream fields and back. Text is stored as is (field
   * `d`), bytes as base64 (field `b`).
   * @default jsonSerializer
   * @example new RedisStreamStore<Buffer>({ redis, key: 'blobs', serializer: { serialize: (b) => b, deserialize: (d) => Buffer.from(d as Uint8Array) } })
   */
  serializer?: Serializer<T>;
  /**
   * Store time in ms for lease deadlines and nack delays. By default the
   * Redis server's clock (TIME, read inside each script): one clock for every
   * process, and it survives restarts. Inject one only in tests (virtual time);
   * every process on the key must then use the same.
   * @default undefined (the Redis server clock)
   * @example new RedisStreamStore({ redis, key: 'test', now: () => clock.now() })
   */
  now?: () => number;
}

export interface RedisStreamStoreStats {
  key: string;
  group: string;
  consumer: string;
  /** `append` calls that stored at least one item. */
  commits: number;
  appended: number;
  /** Items handed out by `lease` (redeliveries included). */
  leased: number;
  /** Of those, redeliveries (lease expired or nacked, then claimed here). */
  redelivered: number;
  acked: number;
  nacked: number;
  dropped: number;
  redis: RedisHealthStats;
}

/**
 * A {@link DurableStore} on a Redis Stream with a consumer group, so several
 * processes can share one durable queue (`DurableChannel` from `sluice`).
 *
 * - `append` adds all items with XADD inside one script: one atomic commit.
 *   Durability is whatever the Redis server guarantees (AOF with
 *   `appendfsync always` for every commit, `everysec` for at most a second of loss).
 * - `lease` hands out items through the group (XREADGROUP), so each sits in
 *   this consumer's pending list while leased. Every leased item also gets a
 *   deadline; once it passes (the holder died, or was too slow) or the item
 *   is nacked, the item is visible again and the next `lease` by any consumer
 *   claims it (XCLAIM), with `deliveries` one higher, before younger items.
 *   Per-item deadlines, rather than one XAUTOCLAIM idle time, are what let each
 *   lease and nack choose its own timeout.
 * - `ack` acknowledges and deletes (XACK + XDEL): ids are stream ids, never reused.
 * - `ackAndLease` and `exchange` run those steps together in one script, so
 *   a `DurableChannel` on this store sends its commit, its acks and its next
 *   lease in one round trip.
 *
 * Every method is one round trip and gives up after `timeoutMs`, rejecting
 * with RedisUnavailableError; the `'degraded'` / `'recovered'` events report outages.
 *
 * @example
 * const store = new RedisStreamStore<Order>({ redis, key: 'orders' });
 * const orders = new DurableChannel({ store });
 */
export class RedisStreamStore<T> implements DurableStore<T> {
  readonly key: string;
  readonly group: string;
  readonly consumer: string;
  private readonly keys: [string, string, string];
  private readonly serializer: Serializer<T>;
  private readonly now: (() => number) | undefined;
  private readonly conn: ResolvedConnection;
  private readonly link: Connectivity;
  private isClosed = false;
  private running = 0;
  private idle: (() => void) | undefined;
  private readonly counters = { commits: 0, appended: 0, leased: 0, redelivered: 0, acked: 0, nacked: 0, dropped: 0 };

  constructor(options: RedisStreamStoreOptions<T>) {
    const o = v.optionsObject(options, 'RedisStreamStore', {
      key: true, group: true, consumer: true, serializer: true, now: true, redis: true, timeoutMs: true,
      probeIntervalMs: true, clock: true,
    });
    this.conn = resolveConnection(o);
    this.key = resolveKey('key', o.key);
    this.group = nonEmpty('group', o.group, 'sluice');
    this.consumer = nonEmpty('consumer', o.consumer, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`);
    const serializer = o.serializer ?? (jsonSerializer as Serializer<T>);
    if (serializer === null || typeof serializer !== 'object' || typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw new InvalidOptionError('serializer', serializer, 'an object with serialize() and deserialize()');
    }
    this.serializer = serializer;
    this.now = v.optionalFunction<() => number>('now', o.now);
    this.keys = [tagged(this.key, 'stream'), tagged(this.key, 'invisible'), tagged(this.key, 'visible')];
    const { redis, timeoutMs, probeIntervalMs, clock } = this.conn;
    this.link = new Connectivity(redis, { timeoutMs, probeIntervalMs, clock, component: 'RedisStreamStore', key: this.key, fallback: 'fail-closed' });
  }

  /**
   * Stores `items` in one atomic script (one XADD each) and returns their
   * stream ids in order. All items are serialized first: if one fails, nothing is sent.
   *
   * Abort safety: takes no signal. If the call rejects with a timeout, the
   * items may or may not be stored (the script is atomic: all or none).
   */
  append(items: readonly T[]): Promise<string[]> {
    return this.guard(async () => {
      if (items.length === 0) return [];
      const args = this.fields(items, []);
      const ids = (await this.link.run(() => APPEND.run(this.conn.redis, this.keys[0], ...args))) as string[];
      this.counters.commits++;
      this.counters.appended += ids.length;
      return ids.map(String);
    });
  }

  /** Appends each item's stream field and data (`d` text, `b` base64 bytes) to `args`; a serializer error throws before anything is sent. */
  private fields(items: readonly T[], args: (string | number)[]): (string | number)[] {
    for (const item of items) {
      const data = this.serializer.serialize(item);
      if (typeof data === 'string') args.push('d', data);
      else args.push('b', Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'));
    }
    return args;
  }

  /**
   * Leases up to `max` visible items, oldest first (redeliveries before new
   * items), each invisible for `visibilityTimeoutMs` from now. One round trip.
   *
   * Abort safety: takes no signal; leased items the caller drops become
   * visible again when their lease expires.
   */
  lease(max: number, visibilityTimeoutMs: number): Promise<LeasedItem<T>[]> {
    return this.guard(async () => {
      checkLeaseArguments(max, visibilityTimeoutMs);
      const reply = (await this.link.run(() => LEASE.run(this.conn.redis, ...this.keys, ...this.common(), max, visibilityTimeoutMs))) as unknown[][];
      return this.decodeLeased(reply);
    });
  }

  /**
   * Acknowledges and deletes the items (XACK + XDEL), whoever leased them.
   * Unknown, malformed or already-acked ids are skipped.
   * @returns how many items were removed.
   *
   * Abort safety: takes no signal; repeating an ack is a no-op.
   */
  ack(ids: readonly string[]): Promise<number> {
    return this.guard(async () => {
      if (ids.length === 0) return 0;
      const removed = toNumber(await this.link.run(() => ACK.run(this.conn.redis, ...this.keys, ...this.common(), ...ids.map(String))));
      this.counters.acked += removed;
      return removed;
    });
  }

  /**
   * `ack(ids)` then `lease(max, visibilityTimeoutMs)` in one atomic script:
   * one round trip where the two calls take two. `ids` may be empty.
   * @returns how many items the acks removed, and the leased items.
   * Rejects with InvalidArgumentError for a bad `max` or `visibilityTimeoutMs`, before anything is sent.
   *
   * Abort safety: takes no signal; the script is atomic, so after a timeout
   * both the acks and the lease happened or neither did. Repeating the acks
   * is a no-op; items leased by a call whose reply was lost become visible
   * again when their lease expires.
   */
  ackAndLease(ids: readonly string[], max: number, visibilityTimeoutMs: number): Promise<{ acked: number; leased: LeasedItem<T>[] }> {
    return this.guard(async () => {
      checkLeaseArguments(max, visibilityTimeoutMs);
      const reply = (await this.link.run(() =>
        ACK_AND_LEASE.run(this.conn.redis, ...this.keys, ...this.common(), max, visibilityTimeoutMs, ...ids.map(String)),
      )) as [unknown, unknown[][]];
      const acked = toNumber(reply[0]);
      this.counters.acked += acked;
      return { acked, leased: this.decodeLeased(reply[1]) };
    });
  }

  /**
   * `append(items)`, `ack(ackIds)` and `lease(leaseMax, visibilityTimeoutMs)`
   * in one atomic script, in that order: one round trip where the three
   * calls take three, and the lease can hand out the items just appended.
   * Any part may be empty (`leaseMax` 0: no lease). All items are serialized
   * first: if one fails, nothing is sent.
   * @returns the appended items' stream ids in order, how many items the acks removed, and the leased items.
   * Rejects with InvalidArgumentError for a bad `leaseMax` or `visibilityTimeoutMs`, before anything is sent.
   *
   * Abort safety: takes no signal; the script is atomic, so after a timeout
   * the append, the acks and the lease all happened or none did: the items
   * may or may not be stored, repeating the acks is a no-op, and items
   * leased by a call whose reply was lost become visible again when their
   * lease expires.
   */
  exchange(items: readonly T[], ackIds: readonly string[], leaseMax: number, visibilityTimeoutMs: number): Promise<{ ids: string[]; acked: number; leased: LeasedItem<T>[] }> {
    return this.guard(async () => {
      checkExchangeArguments(leaseMax, visibilityTimeoutMs);
      const args = this.fields(items, [...this.keys, ...this.common(), leaseMax, visibilityTimeoutMs, items.length]);
      for (const id of ackIds) args.push(String(id));
      const reply = (await this.link.run(() => EXCHANGE.run(this.conn.redis, ...args))) as [unknown[], unknown, unknown[][]];
      const ids = reply[0].map(String);
      if (ids.length !== 0) {
        this.counters.commits++;
        this.counters.appended += ids.length;
      }
      const acked = toNumber(reply[1]);
      this.counters.acked += acked;
      return { ids, acked, leased: leaseMax === 0 ? [] : this.decodeLeased(reply[2]) };
    });
  }

  /**
   * Ends the lease on `id`: visible again after `delayMs` (at once by
   * default), keeping its place and its `deliveries`. Unknown or acked ids are a no-op.
   * Rejects with InvalidArgumentError unless `delayMs` is a finite number >= 0.
   *
   * Abort safety: takes no signal; repeating a nack restarts the delay.
   */
  nack(id: string, options?: { delayMs?: number }): Promise<void> {
    return this.guard(async () => {
      const delayMs = options?.delayMs ?? 0;
      if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
        throw new InvalidArgumentError(`nack(): delayMs must be a finite number >= 0, got ${String(delayMs)}`);
      }
      const done = toNumber(await this.link.run(() => NACK.run(this.conn.redis, ...this.keys, ...this.common(), String(id), delayMs)));
      if (done === 1) this.counters.nacked++;
    });
  }

  /**
   * Unacked items (visible, leased, delayed): the stream's length, since acked items are deleted.
   *
   * Abort safety: takes no signal; one read, bounded by `timeoutMs`.
   */
  size(): Promise<number> {
    return this.guard(async () => toNumber(await this.link.run(() => this.conn.redis.call('XLEN', this.keys[0]))));
  }

  /**
   * Ms until the earliest leased or delayed item becomes visible; undefined when none is invisible.
   *
   * Abort safety: takes no signal; one read-only script, bounded by `timeoutMs`.
   */
  nextVisibleInMs(): Promise<number | undefined> {
    return this.guard(async () => {
      const reply = await this.link.run(() => NEXT_VISIBLE.run(this.conn.redis, ...this.keys, ...this.common()));
      return reply === null || reply === undefined ? undefined : Math.max(0, Number(String(reply)));
    });
  }

  /**
   * Deletes up to `count` of the oldest visible items (never leased or delayed ones) and returns their ids.
   *
   * Abort safety: takes no signal; the script is atomic, so after a timeout
   * the items may or may not be dropped (never partly).
   */
  dropOldest(count: number): Promise<string[]> {
    return this.guard(async () => {
      if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`dropOldest(count): count must be an integer >= 1, got ${String(count)}`);
      const ids = ((await this.link.run(() => DROP_OLDEST.run(this.conn.redis, ...this.keys, ...this.common(), count))) as unknown[]).map(String);
      this.counters.dropped += ids.length;
      return ids;
    });
  }

  /** Subscribes to `'degraded'` or `'recovered'`. Returns the unsubscribe function. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void {
    return this.link.on(event, listener);
  }

  /**
   * Lets running calls settle, then stops probing. Items stay in Redis for the
   * next store on the key; leased ones become visible when their leases
   * expire. Leaves the Redis client open. Idempotent.
   *
   * Abort safety: takes no signal; it waits only for calls already running,
   * each bounded by `timeoutMs`.
   */
  async close(): Promise<void> {
    this.isClosed = true;
    if (this.running !== 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.link.close();
  }

  stats(): RedisStreamStoreStats {
    return { key: this.key, group: this.group, consumer: this.consumer, ...this.counters, redis: this.link.stats() };
  }

  private decodeLeased(reply: unknown[][]): LeasedItem<T>[] {
    const out: LeasedItem<T>[] = [];
    for (const [id, fields, deliveries] of reply) {
      const [field, data] = fields as [string, string];
      const item = this.serializer.deserialize(field === 'b' ? new Uint8Array(Buffer.from(data, 'base64')) : data);
      const count = toNumber(deliveries);
      if (count > 1) this.counters.redelivered++;
      out.push({ id: String(id), item, deliveries: count });
    }
    this.counters.leased += out.length;
    return out;
  }

  private common(): [string, string, string] {
    return [this.group, this.consumer, this.now ? String(this.now()) : ''];
  }

  /** Refuses calls after close and counts running ones so `close()` can wait for them. */
  private async guard<R>(fn: () => Promise<R>): Promise<R> {
    if (this.isClosed) throw new ClosedError('RedisStreamStore is closed');
    this.running++;
    try {
      return await fn();
    } finally {
      if (--this.running === 0 && this.idle) {
        this.idle();
        this.idle = undefined;
      }
    }
  }
}

function nonEmpty(field: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(field, value, 'a non-empty string');
  return value;
}
