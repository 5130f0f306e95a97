import type { Clock } from '../../core/clock/index.js';
import { NotFoundError } from '../../core/errors/index.js';
import type { Pressure } from '../../core/pressure/index.js';
import * as v from '../../internal/validate.js';
import { LagPoller, lagPollKeys, requiredName, resolveLagPoll, type LagPollStats } from '../internal/lag-poller.js';
import { LuaScript, toNumber, type RedisClient } from './client.js';
import type { NodeRedisClient } from './node-redis.js';
import { resolveRedisClient } from './options.js';

/** Where the undelivered count comes from. */
export type StreamLagSource = 'auto' | 'count';

export interface StreamLagOptions {
  /**
   * The stream key, as given (no prefix, no hash tag added).
   * @default none (required)
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000 })
   */
  stream: string;
  /**
   * The consumer group whose backlog is read.
   * @default none (required)
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000 })
   */
  group: string;
  /**
   * The backlog (`undelivered + pending` entries) that reads as pressure 1.
   * @default none (required)
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 50_000 })
   */
  threshold: number;
  /**
   * Time between two polls, from the start of one to the start of the next.
   * A poll never starts while the previous one is still waiting for Redis.
   * The timer is unref'd: it never keeps the process alive.
   * @default 1000
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000, intervalMs: 250 })
   */
  intervalMs?: number;
  /**
   * How long a reading stays fresh without a successful poll. Past it,
   * `stats().stale` is true; `read()` still returns the last reading.
   * @default 3 × intervalMs
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000, staleAfterMs: 10_000 })
   */
  staleAfterMs?: number;
  /**
   * Where `undelivered` comes from. `'auto'`: the group's `lag` from
   * `XINFO GROUPS` (Redis 7+, constant cost) when Redis can compute it, else
   * counted. `'count'`: always counted, as on Redis 6: the entries after the
   * group's last-delivered-id, scanned from both ends of the stream at once so
   * a poll costs O(min(undelivered, delivered entries still in the stream)).
   * @default 'auto'
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000, lagSource: 'count' })
   */
  lagSource?: StreamLagSource;
  /**
   * Name shown in stats and diagnostics.
   * @default `streamLag:${stream}/${group}`
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000, name: 'billing-lag' })
   */
  name?: string;
  /**
   * Time source for the poll timer and staleness.
   * @default systemClock
   * @example streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

/** The figures of one poll. */
export interface StreamLagFigures {
  /** Entries in the stream not yet delivered to the group. */
  undelivered: number;
  /** Entries delivered to the group's consumers and not acknowledged (the PEL). */
  pending: number;
  /** The group's last-delivered-id; `'0-0'` before the first poll. */
  lastDeliveredId: string;
  /** How `undelivered` was obtained by the last poll: `'xinfo'` (Redis 7 `lag` field) or `'count'`. */
  lagFrom: 'xinfo' | 'count';
}

export type StreamLagStats = LagPollStats & StreamLagFigures;

/** A Redis Streams consumer group's backlog as a {@link Pressure}. */
export interface StreamLag extends Pressure {
  readonly name: string;
  /** `(undelivered + pending) / threshold` of the last successful poll; 0 before it. Never throws. */
  read(): number;
  /**
   * Polls now (or joins the poll in flight) and resolves with the reading
   * after it; a failed poll resolves with the kept reading and shows in
   * `stats().lastError`. Rejects with ClosedError after close().
   * Abort safety: close() resolves a waiting call at once with the last reading.
   */
  poll(): Promise<number>;
  stats(): StreamLagStats;
  /** Stops polling; read() keeps the last reading. Idempotent. Does not close your client. */
  close(): void;
}

// KEYS[1] stream. ARGV[1] group, ARGV[2] 'auto' | 'count', ARGV[3] scan batch (>= 2).
// Reply: { 'ok', pending, undelivered, 'xinfo' | 'count', last-delivered-id },
// { 'nogroup' } or { 'error', message }.
const STREAM_LAG = new LuaScript(
  `
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if type(groups) == 'table' and groups.err then return { 'error', groups.err } end
local info
for i = 1, #groups do
  local g = groups[i]
  for j = 1, #g, 2 do
    if g[j] == 'name' and g[j + 1] == ARGV[1] then info = g end
  end
end
if not info then return { 'nogroup' } end
local pending, last, lag = 0, '0-0', false
for j = 1, #info, 2 do
  local k = info[j]
  if k == 'pending' then pending = info[j + 1]
  elseif k == 'last-delivered-id' then last = info[j + 1]
  elseif k == 'lag' then lag = info[j + 1] end
end
if ARGV[2] == 'auto' and lag then return { 'ok', pending, lag, 'xinfo', last } end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function after(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am > bm or (am == bm and as > bs)
end
local len = redis.call('XLEN', KEYS[1])
if len == 0 then return { 'ok', pending, 0, 'count', last } end
if after(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1], last) then return { 'ok', pending, len, 'count', last } end
if not after(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1][1], last) then return { 'ok', pending, 0, 'count', last } end
-- Entries on both sides of last-delivered-id: count from both ends, stop at the shorter side.
local batch = tonumber(ARGV[3])
local fwd, fwdCursor, back, backCursor = 0, last, 0, '-'
while true do
  local r = redis.call('XRANGE', KEYS[1], fwdCursor, '+', 'COUNT', batch)
  local n = #r
  if n > 0 and r[1][1] == fwdCursor then n = n - 1 end
  fwd = fwd + n
  if #r < batch then return { 'ok', pending, fwd, 'count', last } end
  fwdCursor = r[#r][1]
  r = redis.call('XRANGE', KEYS[1], backCursor, last, 'COUNT', batch)
  n = #r
  if n > 0 and r[1][1] == backCursor then n = n - 1 end
  back = back + n
  if #r < batch then return { 'ok', pending, len - back, 'count', last } end
  backCursor = r[#r][1]
end
`,
  1,
);

const SCAN_BATCH = 1000;
const lagSources: readonly StreamLagSource[] = ['auto', 'count'];

function text(reply: unknown): string {
  return Buffer.isBuffer(reply) ? reply.toString() : String(reply);
}

/**
 * The backlog of a Redis Streams consumer group, polled: `undelivered`
 * (entries the group has not read yet) and `pending` (read, not acknowledged)
 * reported apart; `read()` is their sum divided by `threshold`.
 *
 * One round trip per poll: a Lua script (EVALSHA) runs `XINFO GROUPS` and,
 * where Redis gives no `lag` (Redis 6, or Redis 7 after deletions it cannot
 * account for), counts the undelivered entries. The first poll after a
 * restart or SCRIPT FLUSH costs a second round trip (EVAL after NOSCRIPT).
 * A missing stream or group is `ERR_SLUICE_NOT_FOUND` in `stats().lastError`
 * at the first poll, not a throw and not a zero; polling goes on, so the
 * figure appears once the group is created. A poll that fails keeps the last
 * reading; it is marked `stale` after `staleAfterMs`.
 *
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming a bad option.
 * @example
 * const lag = streamLag(redis, { stream: 'orders', group: 'billing', threshold: 10_000 });
 * await lag.poll();
 * console.log(lag.stats().undelivered, lag.stats().pending, lag.read());
 * lag.close();
 */
export function streamLag(client: RedisClient | NodeRedisClient, options: StreamLagOptions): StreamLag {
  const redis = resolveRedisClient(client);
  const o = v.optionsObject(options, 'streamLag', { ...lagPollKeys, stream: true, group: true, lagSource: true });
  const stream = requiredName('stream', o.stream);
  const group = requiredName('group', o.group);
  const lagSource = v.oneOf('lagSource', o.lagSource, lagSources, 'auto');
  const common = resolveLagPoll(o, `streamLag:${stream}/${group}`);
  const fetch = async (): Promise<StreamLagFigures> => {
    const reply = (await STREAM_LAG.run(redis, stream, group, lagSource, SCAN_BATCH)) as unknown[];
    const kind = text(reply[0]);
    if (kind === 'nogroup') throw new NotFoundError(`Consumer group "${group}" does not exist on Redis stream "${stream}"`);
    if (kind === 'error') {
      const message = text(reply[1]);
      if (/no such key/i.test(message)) throw new NotFoundError(`Redis stream "${stream}" does not exist`);
      throw Object.assign(new Error(message), { code: /^[A-Z]+/.exec(message)?.[0] });
    }
    return {
      undelivered: toNumber(reply[2]),
      pending: toNumber(reply[1]),
      lastDeliveredId: text(reply[4]),
      lagFrom: text(reply[3]) === 'xinfo' ? 'xinfo' : 'count',
    };
  };
  return new LagPoller<StreamLagFigures>(
    common,
    { undelivered: 0, pending: 0, lastDeliveredId: '0-0', lagFrom: lagSource === 'count' ? 'count' : 'xinfo' },
    fetch,
    (f) => f.undelivered + f.pending,
  );
}
