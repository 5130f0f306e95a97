import type { TimerHandle } from '../../core/clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import type { Pressure, PressureLike } from '../../core/pressure/index.js';
import { LUA_NOW_MS, LuaScript, tagged, type RedisSubscriber } from './client.js';
import type { NodeRedisClient } from './node-redis.js';
import { Connectivity, nextTurn, type RedisHealthEvents, type RedisHealthStats } from './connectivity.js';
import { RedisUnavailableError } from './errors.js';
import { resolveConnection, resolveFallback, resolveKey, resolveSubscriber, type FallbackOption, type RedisConnectionOptions, type ResolvedConnection, type ResolvedFallback } from './options.js';
import { ChannelSubscription } from './subscription.js';

export interface PressureCoordinatorOptions extends RedisConnectionOptions {
  /**
   * This node's name among the nodes sharing `key`. Unique per process.
   * @default none (required)
   * @example new PressureCoordinator({ redis, nodeId: `${hostname()}:${process.pid}`, ttlMs: 10_000 })
   */
  nodeId: string;
  /**
   * How long a report stays valid. A node that stops reporting (crashed,
   * hung, partitioned) drops out of `globalPressure()` this long after its
   * last report. Report more often than this, or pass `source`.
   * @default none (required)
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000 })
   */
  ttlMs: number;
  /**
   * Shared name of the group of nodes. Members live in the sorted set
   * `{key}:nodes` (scored by expiry), readings in the hash `{key}:pressure`,
   * changes are published on `{key}:changes`. Never uses KEYS.
   * @default 'sluice:pressure'
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, key: 'workers:eu' })
   */
  key?: string;
  /**
   * Where this node's pressure comes from. When given, the coordinator reports
   * `source.read()` every `reportIntervalMs` by itself (timer unref'd), so
   * the node stays listed while alive.
   * @default undefined (call `report()` yourself)
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, source: channelPressure(jobs) })
   */
  source?: PressureLike;
  /**
   * With `source`: time between automatic reports.
   * @default ttlMs / 3
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, source, reportIntervalMs: 1000 })
   */
  reportIntervalMs?: number;
  /**
   * `shouldAcceptWork()` is true for nodes whose pressure is at most
   * `least × (1 + tolerance)`, where `least` is the lowest pressure of any
   * live node. 0.1 means "within 10% of the least loaded node".
   * @default 0.1
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, tolerance: 0.25 })
   */
  tolerance?: number;
  /**
   * A dedicated connection for `onChange()`. Without one, the coordinator
   * `duplicate()`s `redis` on the first `onChange()` and closes it in `close()`.
   * @default undefined (a duplicate of `redis`, opened on demand)
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, subscriber: redis.duplicate() })
   */
  subscriber?: RedisSubscriber | NodeRedisClient;
  /**
   * What `shouldAcceptWork()` answers while Redis is unavailable:
   * `'local'`: true while this node's own last pressure is below 1;
   * `'fail-open'`: true; `'fail-closed'`: false. (`fraction` does not apply here.)
   * @default 'local'
   * @example new PressureCoordinator({ redis, nodeId, ttlMs: 10_000, fallback: 'fail-open' })
   */
  fallback?: FallbackOption;
}

export interface PressureCoordinatorStats {
  nodeId: string;
  /** This node's latest reading (reported or not); undefined before the first. */
  pressure: number | undefined;
  /** Reports stored in Redis. */
  reports: number;
  /** Reports that could not be stored (Redis unavailable). */
  failedReports: number;
  /** Automatic reports skipped because `source.read()` threw or returned no number >= 0. */
  sourceErrors: number;
  /** `shouldAcceptWork()` answers: true / false / answered by the fallback. */
  accepted: number;
  declined: number;
  decidedLocally: number;
  /** Change messages received by `onChange()` listeners' subscription. */
  changesReceived: number;
  redis: RedisHealthStats;
}

// Stores one node's reading with an expiry score, drops nodes whose expiry
// passed, keeps both keys alive as long as the longest-lived node, and
// announces the change. All in one round trip.
const REPORT = new LuaScript(
  `
${LUA_NOW_MS}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #dead do redis.call('HDEL', KEYS[2], dead[i]) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.ceil(tonumber(last[2]) - now) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. ARGV[1])
return 1
`,
  2,
);

// Live nodes only: those whose expiry score is still ahead of the server clock.
const READ = new LuaScript(
  `
${LUA_NOW_MS}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #live == 0 then return { {}, {} } end
return { live, redis.call('HMGET', KEYS[2], unpack(live)) }
`,
  2,
);

const LEAVE = new LuaScript(
  `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`,
  2,
);

/**
 * Shares every node's pressure through Redis so a cluster can steer work to
 * its least loaded members. Each node `report()`s a number (1 = at its
 * threshold, see `sluice` Pressure); `globalPressure()` returns every live
 * node's latest report; `shouldAcceptWork()` says whether this node is the
 * least loaded or within `tolerance` of it.
 *
 * A node is live until `ttlMs` after its last report, judged by the Redis
 * server's clock, so a crashed node disappears by itself. Membership is a
 * sorted set scored by expiry: no KEYS, no SCAN.
 *
 * While Redis is unavailable, answers (the fallback's, `false`, rejections)
 * come after one turn of the event loop, so a caller polling in a tight loop
 * still lets timers, I/O and the recovery probe run.
 *
 * @example
 * const coordinator = new PressureCoordinator({ redis, nodeId: os.hostname(), ttlMs: 10_000, source: channelPressure(jobs) });
 * if (await coordinator.shouldAcceptWork()) takeJob();
 */
export class PressureCoordinator {
  readonly nodeId: string;
  readonly ttlMs: number;
  readonly key: string;
  readonly tolerance: number;
  readonly fallback: ResolvedFallback;
  private readonly keys: [string, string];
  private readonly channel: string;
  private readonly conn: ResolvedConnection;
  private readonly link: Connectivity;
  private readonly subscription: ChannelSubscription;
  private readonly changeListeners = new Set<(nodeId: string, pressure: number) => void>();
  private readonly source: Pressure | undefined;
  private readonly reportIntervalMs: number;
  private reportTimer: TimerHandle | undefined;
  private lastPressure: number | undefined;
  private isClosed = false;
  private readonly counters = { reports: 0, failedReports: 0, sourceErrors: 0, accepted: 0, declined: 0, decidedLocally: 0 };

  constructor(options: PressureCoordinatorOptions) {
    const o = v.optionsObject(options, 'PressureCoordinator', {
      nodeId: true, ttlMs: true, key: true, source: true, reportIntervalMs: true, tolerance: true, subscriber: true,
      fallback: true, redis: true, timeoutMs: true, probeIntervalMs: true, clock: true,
    });
    this.conn = resolveConnection(o);
    if (typeof o.nodeId !== 'string' || o.nodeId.length === 0) throw new InvalidOptionError('nodeId', o.nodeId, 'a non-empty string');
    this.nodeId = o.nodeId;
    this.ttlMs = v.requiredNumber('ttlMs', o.ttlMs, { min: 1 });
    this.key = resolveKey('key', o.key, 'sluice:pressure');
    this.tolerance = v.number('tolerance', o.tolerance, 0.1, { min: 0 });
    this.fallback = resolveFallback(o.fallback, { mode: 'local', fraction: 1 });
    const subscriber = resolveSubscriber(o.subscriber);
    this.source = resolvePressure(o.source);
    this.reportIntervalMs = v.number('reportIntervalMs', o.reportIntervalMs, this.ttlMs / 3, { min: 1 });
    this.keys = [tagged(this.key, 'nodes'), tagged(this.key, 'pressure')];
    this.channel = tagged(this.key, 'changes');
    const { redis, timeoutMs, probeIntervalMs, clock } = this.conn;
    this.link = new Connectivity(redis, { timeoutMs, probeIntervalMs, clock, component: 'PressureCoordinator', key: this.key, fallback: this.fallback.mode });
    this.subscription = new ChannelSubscription(redis, subscriber, this.channel, this.onMessage);
    if (this.source) this.reportTimer = clock.schedule(0, this.onReportTimer, { unref: true });
  }

  /** True while Redis is unavailable. */
  get degraded(): boolean {
    return this.link.degraded;
  }

  /**
   * Stores this node's pressure for `ttlMs` and publishes the change. One
   * round trip. The value is kept locally even when Redis is down.
   * @returns true when stored; false when Redis was unavailable or slower
   * than `timeoutMs` (never rejects for that).
   * Rejects with InvalidArgumentError unless `pressure` is a number >= 0
   * (Infinity allowed), and with ClosedError after {@link close}.
   *
   * Abort safety: takes no signal; one round trip bounded by `timeoutMs`.
   */
  report(pressure: number): Promise<boolean> {
    if (typeof pressure !== 'number' || Number.isNaN(pressure) || pressure < 0) {
      return Promise.reject(new InvalidArgumentError(`report(pressure): expected a number >= 0, got ${String(pressure)}`));
    }
    if (this.isClosed) return Promise.reject(new ClosedError('PressureCoordinator is closed'));
    this.lastPressure = pressure;
    if (this.link.degraded) {
      this.counters.failedReports++;
      return nextTurn().then(() => false);
    }
    const [nodes, values] = this.keys;
    return this.link.run(() => REPORT.run(this.conn.redis, nodes, values, this.nodeId, String(pressure), this.ttlMs, this.channel)).then(
      () => {
        this.counters.reports++;
        return true;
      },
      () => {
        this.counters.failedReports++;
        return false;
      },
    );
  }

  /**
   * Every live node's latest pressure, by node id. One round trip.
   * Rejects with RedisUnavailableError when Redis is unavailable or slower
   * than `timeoutMs` (there is no local answer for the whole cluster), and
   * with ClosedError after {@link close}.
   *
   * Abort safety: takes no signal; one round trip bounded by `timeoutMs`.
   */
  globalPressure(): Promise<Record<string, number>> {
    if (this.isClosed) return Promise.reject(new ClosedError('PressureCoordinator is closed'));
    if (this.link.degraded) {
      const error = new RedisUnavailableError(`PressureCoordinator "${this.key}": Redis is unavailable`, this.link.lastFailure);
      return nextTurn().then(() => Promise.reject(error));
    }
    const [nodes, values] = this.keys;
    return this.link.run(() => READ.run(this.conn.redis, nodes, values)).then((reply) => {
      const [ids, readings] = reply as [unknown[], unknown[]];
      const result: Record<string, number> = {};
      for (let i = 0; i < ids.length; i++) {
        const reading = readings[i];
        // A node whose reading vanished between the two keys (not possible within one script, but cheap to guard) is skipped.
        if (reading === null || reading === undefined) continue;
        result[String(ids[i])] = Number(String(reading));
      }
      return result;
    });
  }

  /**
   * True when this node is the least loaded live node or within `tolerance`
   * of it (`mine <= least × (1 + tolerance)`). This node's own latest reading
   * counts even if its report has not reached Redis. One round trip; while
   * Redis is unavailable the `fallback` answers (see the option).
   * Before any reading exists for this node, it counts as 0 (idle).
   * Rejects only with ClosedError after {@link close}.
   *
   * Abort safety: takes no signal; one round trip bounded by `timeoutMs`,
   * after which the fallback answers.
   */
  shouldAcceptWork(): Promise<boolean> {
    if (this.isClosed) return Promise.reject(new ClosedError('PressureCoordinator is closed'));
    if (this.link.degraded) {
      const accept = this.decideLocally();
      return nextTurn().then(() => accept);
    }
    return this.globalPressure().then(
      (all) => {
        const mine = this.lastPressure ?? all[this.nodeId] ?? 0;
        let least = mine;
        for (const id in all) if (id !== this.nodeId && all[id]! < least) least = all[id]!;
        const accept = mine <= least * (1 + this.tolerance);
        if (accept) this.counters.accepted++;
        else this.counters.declined++;
        return accept;
      },
      () => this.decideLocally(),
    );
  }

  /**
   * Calls `listener(nodeId, pressure)` for every report published by any node
   * (this one included), as it happens. Subscribes on first use. Expiry of a
   * dead node is not announced: it simply stops appearing in `globalPressure()`.
   * @returns the unsubscribe function.
   */
  onChange(listener: (nodeId: string, pressure: number) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('onChange(listener): listener must be a function');
    if (this.isClosed) throw new ClosedError('PressureCoordinator is closed');
    this.changeListeners.add(listener);
    this.subscription.start();
    return () => void this.changeListeners.delete(listener);
  }

  /** Subscribes to `'degraded'` or `'recovered'`. Returns the unsubscribe function. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void {
    return this.link.on(event, listener);
  }

  /**
   * Stops automatic reports, probing and the change subscription. This
   * node's entry is left to expire after `ttlMs` (call {@link leave} first to
   * drop it at once). Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.reportTimer !== undefined) this.conn.clock.cancel(this.reportTimer);
    this.reportTimer = undefined;
    this.link.close();
    this.subscription.close();
    this.changeListeners.clear();
  }

  /**
   * Removes this node from the group now, instead of after `ttlMs`.
   * @returns true when Redis confirmed; false when it was unavailable.
   *
   * Abort safety: takes no signal; one round trip bounded by `timeoutMs`.
   * If it fails, the entry still expires after `ttlMs`.
   */
  leave(): Promise<boolean> {
    const [nodes, values] = this.keys;
    return this.link.run(() => LEAVE.run(this.conn.redis, nodes, values, this.nodeId)).then(
      () => true,
      () => false,
    );
  }

  stats(): PressureCoordinatorStats {
    const c = this.counters;
    return {
      nodeId: this.nodeId,
      pressure: this.lastPressure,
      reports: c.reports,
      failedReports: c.failedReports,
      sourceErrors: c.sourceErrors,
      accepted: c.accepted,
      declined: c.declined,
      decidedLocally: c.decidedLocally,
      changesReceived: this.subscription.received,
      redis: this.link.stats(),
    };
  }

  private decideLocally(): boolean {
    this.counters.decidedLocally++;
    if (this.fallback.mode === 'fail-open') return true;
    if (this.fallback.mode === 'fail-closed') return false;
    return (this.lastPressure ?? 0) < 1;
  }

  private readonly onReportTimer = (): void => {
    this.reportTimer = undefined;
    if (this.isClosed || !this.source) return;
    let reading: number;
    try {
      reading = this.source.read();
    } catch {
      reading = Number.NaN;
    }
    const next = () => {
      if (!this.isClosed) this.reportTimer = this.conn.clock.schedule(this.reportIntervalMs, this.onReportTimer, { unref: true });
    };
    if (typeof reading === 'number' && reading >= 0) {
      this.report(reading).then(next, next);
    } else {
      this.counters.sourceErrors++;
      next();
    }
  };

  private readonly onMessage = (message: string): void => {
    const space = message.indexOf(' ');
    if (space < 0) return;
    const pressure = Number(message.slice(0, space));
    const nodeId = message.slice(space + 1);
    for (const listener of this.changeListeners) {
      try {
        listener(nodeId, pressure);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  };
}

function resolvePressure(value: unknown): Pressure | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return { read: value as () => number };
  const p = value as Partial<Pressure> | null;
  if (p === null || typeof p !== 'object' || typeof p.read !== 'function') {
    throw new InvalidOptionError('source', value, 'a Pressure ({ read() }) or a function returning a number');
  }
  return p as Pressure;
}
