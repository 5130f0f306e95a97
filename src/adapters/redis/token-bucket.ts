import type { TimerHandle } from '../../core/clock/index.js';
import { ClosedError, InvalidArgumentError, InvalidOptionError } from '../../core/errors/index.js';
import { checkAmount, RESOLVED_VOID } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { describe } from '../../internal/describe.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import { Listeners } from '../../internal/listeners.js';
import { governedSetRate } from '../../internal/governed-rate.js';
import { TokenBucket, type TokenBucketStats } from '../../core/token-bucket/index.js';
import type { ReconfigureEvent } from '../../core/channel/index.js';
import { LUA_NOW_MS, LuaScript, tagged, toNumber } from './client.js';
import { Connectivity, nextTurn, type RedisHealthEvents, type RedisHealthStats } from './connectivity.js';
import { RedisUnavailableError } from './errors.js';
import { resolveConnection, resolveFallback, resolveKey, type FallbackOption, type RedisConnectionOptions, type ResolvedConnection, type ResolvedFallback } from './options.js';

export interface RedisTokenBucketOptions extends RedisConnectionOptions {
  /**
   * Name of the shared bucket. Every process using the same key (and Redis)
   * shares one rate. The state lives in the hash `{key}:tokens`; the braces
   * are a Redis Cluster hash tag. It expires on its own after twice the time
   * a full refill takes, so an unused bucket leaves nothing behind.
   * @default none (required)
   * @example new RedisTokenBucket({ redis, key: 'github-api', ratePerSecond: 80 })
   */
  key: string;
  /**
   * Tokens added per second, shared by all processes. Refill is continuous and
   * computed in Redis from the Redis server's clock (TIME), so every process
   * uses the same clock and their skew does not matter. A finite number > 0.
   * @default none (required)
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 300 })
   */
  ratePerSecond: number;
  /**
   * Most tokens the shared bucket holds: the burst allowed after a quiet
   * period, and the largest `n` one call may ask for. The bucket starts full.
   * A finite number >= 1.
   * @default Math.max(1, ratePerSecond) (one second's worth)
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 300, burst: 10 })
   */
  burst?: number;
  /**
   * What serves calls while Redis is down or slower than `timeoutMs`. With
   * `'local'`, a local `TokenBucket` at `fraction × ratePerSecond` (same
   * burst) takes over; set `fraction` to about 1 / the number of processes.
   * The switch happens on the first failed or late command; the way back on
   * the first answered probe.
   * @default { mode: 'local', fraction: 0.5 }
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 100, fallback: { mode: 'local', fraction: 0.25 } })
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 100, fallback: 'fail-closed' })
   */
  fallback?: FallbackOption;
  /**
   * Tokens this process takes from the shared bucket ahead of its calls and
   * hands out itself, so that most calls need no round trip. Off by default:
   * every call asks Redis, and one caller awaiting `acquire()` in a loop gets
   * one token per round trip.
   *
   * When it happens: every command the bucket sends also asks for up to
   * `tokens` minus what this process already holds, taken only if the shared
   * bucket has them after the calls it carries are served (never as debt, so
   * a bucket that is short gives none). A call served from held tokens that
   * leaves `tokens / 2` or fewer sends one such command in the background. A
   * call for more tokens than are held goes to Redis, as without prefetch,
   * and held tokens keep serving the calls that come after it. Tokens held
   * unused for `holdMs` are handed back to the shared bucket, and so are all
   * held tokens on {@link RedisTokenBucket.close}; `stats().held` shows them.
   *
   * The trade: every token still comes out of the shared bucket, so the
   * shared rate holds over time and a bucket that is short prefetches
   * nothing. But a process may hand out a token up to `holdMs` after Redis
   * granted it, and holds up to `tokens` that the other processes cannot
   * have meanwhile. So any window can see up to `tokens` more admissions per
   * process than the bucket alone allows, and a process with demand can take
   * a burst's worth ahead of processes that asked later. Keep `tokens` a
   * small share of `burst` when several processes share one key. Held tokens
   * also serve calls while Redis is unavailable, before the fallback does.
   *
   * `tokens`: an integer from 1 to `burst`. `holdMs`: > 0.
   * @default undefined (no prefetch); `holdMs` defaults to 500
   * @example new RedisTokenBucket({ redis, key: 'api', ratePerSecond: 5000, burst: 100, prefetch: { tokens: 20 } })
   */
  prefetch?: { tokens: number; holdMs?: number };
}

export interface RedisTokenBucketAcquireOptions {
  /**
   * Aborting while the call waits rejects with `signal.reason`; a reservation already made is handed back.
   * @default undefined (wait until served, closed, or degraded to a refusing fallback)
   * @example bucket.acquire(1, { signal: AbortSignal.timeout(2000) })
   */
  signal?: AbortSignal;
}

const acquireSpec: v.CallOptionSpec<RedisTokenBucketAcquireOptions> = { signal: 'signal' };

export interface RedisTokenBucketStats {
  key: string;
  ratePerSecond: number;
  burst: number;
  /** Tokens granted by Redis (the sum of `n`). */
  acquired: number;
  /** Tokens granted while degraded, by the local bucket or by `'fail-open'`. */
  acquiredLocally: number;
  /** `tryAcquire()` calls that returned false. */
  rejected: number;
  /** Calls refused because Redis was unavailable under `'fail-closed'`. */
  refused: number;
  /** `acquire()` calls pending now: in a round trip or waiting for their reserved tokens to accrue. */
  waiting: number;
  /** Total ms `acquire()` calls waited for reserved tokens, as Redis told them to. */
  waitedMs: number;
  /** Tokens handed back to Redis by aborted or closed `acquire()` calls. */
  refunded: number;
  /**
   * With `prefetch`: tokens taken from Redis ahead of calls, in total. Each
   * ends up handed to a call (counted in `acquired`), still held (`held`), or
   * handed back (`returned`; one whose hand-back failed is in none of them:
   * the shared bucket lost it, which errs on the safe side). 0 without prefetch.
   */
  prefetched: number;
  /** With `prefetch`: tokens held by this process now, ready for calls without a round trip. */
  held: number;
  /** With `prefetch`: held tokens handed back to Redis unused, after `holdMs` or on close(). */
  returned: number;
  /**
   * `setRate()` calls that changed this process's rate (a call with the
   * current rate is not counted): the operator's changes. A `governor()`
   * driving this bucket moves the rate without counting here. Only grows.
   */
  adjustments: number;
  redis: RedisHealthStats;
  /** The local stand-in under `fallback: 'local'`. */
  local: TokenBucketStats | undefined;
}

/**
 * What {@link RedisTokenBucket.onReconfigure} listeners receive: the setting
 * that changed in this process, its value before and its value now.
 */
export type RedisTokenBucketReconfigureEvent = ReconfigureEvent<'ratePerSecond'>;

// One script for every operation, so each batch is a single round trip. It
// refills the bucket once (continuous refill from the Redis server's clock),
// then serves the batch's requests in arrival order: ARGV[4..] are signed
// token counts, n > 0 to reserve n (always taken, the balance may go
// negative, the reply says how long until the debt is paid off: the caller
// sleeps that long, no polling) and -n to try for n (taken only if there).
// ARGV[3] is the prefetch: after the requests, take up to that many whole
// tokens if the bucket still has them (never as debt).
// ARGV[3] = 'refund' gives ARGV[4] tokens back instead.
// Reply: one integer per request, the wait in microseconds (0: at once), or
// -1 for a try that got nothing; then the tokens prefetched. Refill, HSET and
// PEXPIRE happen once per batch, so a batch of 100 costs Redis little more
// than a single call.
const SCRIPT = new LuaScript(
  `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
${LUA_NOW_MS}
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local out = {}
if ARGV[3] == 'refund' then
  tokens = math.min(burst, tokens + tonumber(ARGV[4]))
else
  for i = 4, #ARGV do
    local n = tonumber(ARGV[i])
    if n < 0 then
      if tokens >= -n - 1e-9 then tokens = tokens + n; out[i - 3] = 0 else out[i - 3] = -1 end
    else
      tokens = tokens - n
      if tokens < 0 then out[i - 3] = math.ceil(-tokens / rate * 1000) else out[i - 3] = 0 end
    end
  end
  local fetched = 0
  local want = tonumber(ARGV[3])
  if want > 0 and tokens >= 1 - 1e-9 then
    fetched = math.min(want, math.floor(tokens + 1e-9))
    tokens = tokens - fetched
  end
  out[#ARGV - 2] = fetched
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
redis.call('PEXPIRE', KEYS[1], math.max(1000, math.ceil(2 * (burst - tokens) / rate)))
return out
`,
  1,
);

const SENDING = 0;
const SLEEPING = 1;
const SETTLED = 2;

const RESERVE = 0;
const TRY = 1;

/** An `acquire()` call: in the batch being gathered, in a round trip, or sleeping off its reservation. */
interface Pending extends ListNode<Pending> {
  kind: typeof RESERVE;
  n: number;
  phase: typeof SENDING | typeof SLEEPING | typeof SETTLED;
  sleptFrom: number;
  timer: TimerHandle | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A `tryAcquire()` call in the batch being gathered or in its round trip. */
interface TryRequest {
  kind: typeof TRY;
  n: number;
  resolve: (granted: boolean) => void;
}

type Request = Pending | TryRequest;

/** Prefetched tokens that arrived in one reply, handed back if still held at `expiresAt`. */
interface Lot {
  count: number;
  expiresAt: number;
}

const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true);

/**
 * A token bucket shared by every process that uses the same Redis and `key`:
 * together they get `ratePerSecond`, with bursts up to `burst`.
 *
 * The calls a process makes in the same turn of the event loop share ONE
 * round trip: an atomic Lua script (EVALSHA) refills the bucket once from the
 * Redis server's clock and serves them in the order they were made, each
 * taking its tokens as if it had come alone (a lone call is one round trip of
 * its own). With 100 concurrent callers that is one command per turn instead
 * of 100, so Redis stops being the limit. `acquire()` reserves its tokens even
 * when the bucket is short (the balance goes negative) and then sleeps locally
 * for exactly the time the script says the debt takes to accrue, so waiting
 * costs no further commands and waiters are served in the order they reached
 * Redis.
 *
 * When Redis errs, is unreachable, or does not answer within `timeoutMs`,
 * the call is served by the `fallback` and the bucket turns degraded (event
 * `'degraded'`); it probes Redis every `probeIntervalMs` and goes back to it
 * on the first answer (event `'recovered'`). No call waits on Redis longer
 * than `timeoutMs`; tokens Redis reserves for a call after it stopped waiting
 * are handed back when that late reply arrives. Answers given without Redis
 * (fallback, refusal) come after one turn of the event loop, so even a tight
 * `while (…) await bucket.acquire()` lets timers, I/O and the probe run.
 *
 * @example
 * const bucket = new RedisTokenBucket({ redis, key: 'partner-api', ratePerSecond: 300, burst: 10 });
 * bucket.on('degraded', (e) => log.warn('rate limit is local now', e.cause));
 * for await (const job of jobs) {
 *   await bucket.acquire();
 *   await callPartner(job);
 * }
 */
export class RedisTokenBucket {
  readonly key: string;
  readonly burst: number;
  readonly fallback: ResolvedFallback;
  private readonly stateKey: string;
  private rate: number;
  private ratePerMs: string;
  private readonly link: Connectivity;
  private readonly conn: ResolvedConnection;
  private readonly local: TokenBucket | undefined;
  private readonly pending = new WaiterList<Pending>();
  /** Calls made this turn, sent together by {@link flush} (a microtask). */
  private batch: Request[] = [];
  private flushQueued = false;
  private isClosed = false;
  /** `prefetch.tokens`, or 0 without prefetch. */
  private readonly prefetchTokens: number;
  private readonly holdMs: number;
  /** Tokens held now: the sum of {@link lots}' counts. */
  private held = 0;
  /** Held tokens by arrival, oldest first; calls take from the oldest. */
  private lots: Lot[] = [];
  private lotTimer: TimerHandle | undefined;
  /** Prefetch tokens asked for by commands in flight, so a refill does not ask twice. */
  private fetching = 0;
  private readonly counters = {
    acquired: 0, acquiredLocally: 0, rejected: 0, refused: 0, waitedMs: 0, refunded: 0, adjustments: 0, prefetched: 0, returned: 0,
  };
  private readonly reconfigureListeners = new Listeners<RedisTokenBucketReconfigureEvent>();

  constructor(options: RedisTokenBucketOptions) {
    const o = v.optionsObject(options, 'RedisTokenBucket', {
      key: true, ratePerSecond: true, burst: true, fallback: true, prefetch: true, redis: true, timeoutMs: true, probeIntervalMs: true,
      clock: true,
    });
    this.conn = resolveConnection(o);
    this.key = resolveKey('key', o.key);
    this.rate = v.requiredNumber('ratePerSecond', o.ratePerSecond, { min: 0, minExclusive: true });
    this.burst = v.number('burst', o.burst, Math.max(1, this.rate), { min: 1 });
    this.fallback = resolveFallback(o.fallback, { mode: 'local', fraction: 0.5 });
    if (o.prefetch !== undefined && (o.prefetch === null || typeof o.prefetch !== 'object')) {
      throw new InvalidOptionError('prefetch', o.prefetch, 'an object { tokens, holdMs? }');
    }
    const prefetch = v.optionsObject(o.prefetch, 'RedisTokenBucket prefetch', { tokens: true, holdMs: true });
    this.prefetchTokens = o.prefetch === undefined ? 0 : v.requiredInteger('prefetch.tokens', prefetch.tokens, { min: 1, max: Math.floor(this.burst) });
    this.holdMs = v.number('prefetch.holdMs', prefetch.holdMs, 500, { min: 0, minExclusive: true });
    this.stateKey = tagged(this.key, 'tokens');
    this.ratePerMs = String(this.rate / 1000);
    const { redis, timeoutMs, probeIntervalMs, clock } = this.conn;
    this.link = new Connectivity(redis, { timeoutMs, probeIntervalMs, clock, component: 'RedisTokenBucket', key: this.key, fallback: this.fallback.mode });
    if (this.fallback.mode === 'local') {
      this.local = new TokenBucket({ ratePerSecond: this.rate * this.fallback.fraction, burst: this.burst, clock });
    }
  }

  /** Tokens added per second, as this process refills the shared bucket. Change it with {@link setRate}. */
  get ratePerSecond(): number {
    return this.rate;
  }

  /**
   * Changes the refill rate this process uses from now on (and the local
   * fallback's, at `fraction ×` the new rate). A call that changes the rate
   * counts in `stats().adjustments` and is reported to {@link onReconfigure}
   * listeners; a call with the current rate does neither. A bad value throws
   * and changes nothing.
   *
   * The rate is this process's setting, not stored in Redis: it travels with
   * every command, and a command refills the shared bucket for the time since
   * the previous command (of any process) at the rate it carries. So that the
   * time before the change is not refilled at the new rate, `setRate()` first
   * sends one command that brings the bucket up to date at the old rate (not
   * waited for; skipped while degraded; the commands after it on the same
   * connection come after it). Calls already waiting for reserved tokens keep
   * the wait Redis gave them.
   *
   * Rule for a shared key: set the same rate in every process. While
   * processes disagree (a rollout, a config file not yet reloaded everywhere)
   * the bucket refills at a rate between the lowest and the highest of theirs,
   * each stretch of time at the rate of the process whose command ended it:
   * never above the highest rate set, never below the lowest. `watchConfig()`
   * on the same file in every process, or a `governor()` in each reading the
   * same shared pressure, keeps them in step.
   * @throws InvalidArgumentError unless `ratePerSecond` is a finite number > 0.
   * @example
   * const bucket = new RedisTokenBucket({ redis, key: 'ingest', ratePerSecond: 500 });
   * bucket.setRate(125); // a quarter of the pace while the consumers catch up
   */
  setRate(ratePerSecond: number): void {
    if (typeof ratePerSecond !== 'number' || !Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new InvalidArgumentError(`setRate(ratePerSecond): expected a finite number > 0, got ${describe(ratePerSecond)}`);
    }
    const previous = this.rate;
    if (!this.changeRate(ratePerSecond)) return;
    this.counters.adjustments++;
    this.reconfigureListeners.emit({ setting: 'ratePerSecond', previous, value: ratePerSecond });
  }

  /**
   * The pressure governor's rate moves: the same change as {@link setRate},
   * neither counted in `stats().adjustments` nor reported to listeners (those
   * are for the operator's changes). The governor passes only rates > 0.
   * @internal
   */
  [governedSetRate](ratePerSecond: number): void {
    this.changeRate(ratePerSecond);
  }

  /**
   * Calls `listener(event)` after every change made by {@link setRate} in this
   * process, with the setting, its previous value and its new value (not for
   * a `governor()`'s moves). Listeners run synchronously once the change is in
   * effect; one that throws does not stop the others (its error surfaces as an
   * uncaught error). Returns an unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   * @example
   * const bucket = new RedisTokenBucket({ redis, key: 'ingest', ratePerSecond: 500 });
   * const off = bucket.onReconfigure((e) => console.log(`${e.setting}: ${e.previous} -> ${e.value}`));
   * bucket.setRate(250); // logs "ratePerSecond: 500 -> 250"
   * off();
   */
  onReconfigure(listener: (event: RedisTokenBucketReconfigureEvent) => void): () => void {
    return this.reconfigureListeners.add(listener);
  }

  /** Sets this process's rate from now on; false when it is already the rate. */
  private changeRate(ratePerSecond: number): boolean {
    if (ratePerSecond === this.rate) return false;
    // Calls made before the change go out at the old rate.
    if (this.batch.length !== 0) this.flush();
    if (!this.isClosed && !this.link.degraded) {
      // A refund of 0 tokens at the old rate: refills up to now, takes nothing.
      const oldRatePerMs = this.ratePerMs;
      this.link.run(() => SCRIPT.run(this.conn.redis, this.stateKey, oldRatePerMs, this.burst, 'refund', 0)).then(noop, noop);
    }
    this.rate = ratePerSecond;
    this.ratePerMs = String(ratePerSecond / 1000);
    this.local?.[governedSetRate](ratePerSecond * this.fallback.fraction);
    return true;
  }

  /** True while Redis is unavailable and the fallback serves calls. */
  get degraded(): boolean {
    return this.link.degraded;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Takes `n` tokens if the shared bucket has them now; never waits for
   * tokens. One round trip, shared with the other calls of this turn; with
   * `prefetch`, none while this process holds `n` tokens (they are taken at
   * once, even while degraded). While degraded, answered by the fallback
   * without one (`'local'`: the local bucket; `'fail-open'`: true; `'fail-closed'`: false).
   * @returns true when the tokens were taken.
   * Rejects with InvalidArgumentError when `n` is not an integer from 1 to
   * `burst`, and with ClosedError after {@link close}. Resolves within
   * `timeoutMs` even when Redis hangs (then from the fallback).
   *
   * Abort safety: takes no signal; it never waits for tokens, only for one
   * round trip bounded by `timeoutMs`.
   */
  tryAcquire(n = 1): Promise<boolean> {
    if (n !== 1) {
      const bad = checkAmount('tryAcquire(n)', n, this.burst, 'burst');
      if (bad) return Promise.reject(bad);
    }
    if (this.isClosed) return Promise.reject(new ClosedError('RedisTokenBucket is closed'));
    if (this.held >= n) {
      this.takeHeld(n);
      return RESOLVED_TRUE;
    }
    if (this.link.degraded) {
      const ok = this.tryFallback(n);
      return nextTurn().then(() => ok);
    }
    return new Promise<boolean>((resolve) => this.enqueue({ kind: TRY, n, resolve }));
  }

  /**
   * Takes `n` tokens, waiting until they have accrued: one round trip (shared
   * with the other calls of this turn) reserves them in Redis and returns how long the shared bucket needs to pay
   * them off; the call then resolves after that wait (a local timer, no
   * polling). With `prefetch`, a call for at most the tokens this process
   * holds takes them and resolves at once, with no round trip (even while
   * degraded). While degraded the fallback serves it: the local bucket
   * (`'local'`), at once (`'fail-open'`), or a rejection with
   * RedisUnavailableError (`'fail-closed'`).
   * Rejects with InvalidArgumentError when `n` is not an integer from 1 to
   * `burst`, and with ClosedError after or during {@link close}.
   *
   * Abort safety: a signal that has already fired rejects at once with its
   * reason and has no effect (no round trip, no fallback), even on a closed
   * bucket (checked before closed). Options of the wrong type or with an
   * unknown key reject with `ERR_SLUICE_INVALID_OPTION` before anything else
   * but a bad `n`. If `signal` fires before the call resolves, it rejects at
   * once with `signal.reason`. An abort in the same turn as the call sends
   * nothing for it. Tokens it had reserved are handed back to
   * Redis (a refund command, sent in the background), so the shared rate does
   * not lose them; a reservation still on its way is handed back when the reply arrives.
   * An abort after the promise resolved changes nothing.
   */
  acquire(n = 1, options?: RedisTokenBucketAcquireOptions): Promise<void> {
    if (n !== 1) {
      const bad = checkAmount('acquire(n)', n, this.burst, 'burst');
      if (bad) return Promise.reject(bad);
    }
    const invalid = v.callOptionsError(options, 'acquire()', acquireSpec);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.isClosed) return Promise.reject(new ClosedError('RedisTokenBucket is closed'));
    if (this.held >= n) {
      this.takeHeld(n);
      return RESOLVED_VOID;
    }
    if (this.link.degraded) return nextTurn().then(() => this.acquireFallback(n, signal));
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { prev: undefined, next: undefined, linked: false, kind: RESERVE, n, phase: SENDING, sleptFrom: 0, timer: undefined, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        p.onAbort = () => this.cancel(p, signal.reason);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.push(p);
      this.enqueue(p);
    });
  }

  /** Subscribes to `'degraded'` (Redis stopped answering; the fallback serves) or `'recovered'`. Returns the unsubscribe function. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: (event: RedisHealthEvents[E]) => void): () => void {
    return this.link.on(event, listener);
  }

  /**
   * Rejects every pending `acquire()` with ClosedError (handing their
   * reserved tokens back) and refuses new calls. Stops probing. Leaves the
   * Redis client open: it is yours. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.link.close();
    this.local?.close();
    for (let p = this.pending.head; p; p = this.pending.head) {
      this.cancel(p, new ClosedError('RedisTokenBucket closed while the caller was waiting for tokens'));
    }
    if (this.lotTimer !== undefined) this.conn.clock.cancel(this.lotTimer);
    this.lotTimer = undefined;
    const held = this.held;
    this.held = 0;
    this.lots = [];
    this.handBack(held, 'returned');
  }

  stats(): RedisTokenBucketStats {
    const c = this.counters;
    return {
      key: this.key,
      ratePerSecond: this.rate,
      burst: this.burst,
      acquired: c.acquired,
      acquiredLocally: c.acquiredLocally,
      rejected: c.rejected,
      refused: c.refused,
      waiting: this.pending.size,
      waitedMs: c.waitedMs,
      refunded: c.refunded,
      prefetched: c.prefetched,
      held: this.held,
      returned: c.returned,
      adjustments: c.adjustments,
      redis: this.link.stats(),
      local: this.local?.stats(),
    };
  }

  private enqueue(request: Request): void {
    this.batch.push(request);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  /**
   * Sends the calls gathered this turn as one script call, in the order they
   * were made. An `acquire()` aborted or closed before this point is left out:
   * it takes no token. Redis runs the commands of one connection in the order
   * sent, so batches keep the order of calls across batches too.
   */
  private readonly flush = (): void => {
    this.flushQueued = false;
    const gathered = this.batch;
    // An empty batch is a prefetch refill on its own (see takeHeld).
    if (gathered.length !== 0) this.batch = [];
    const sent: Request[] = [];
    const counts: number[] = [];
    for (const r of gathered) {
      if (r.kind === RESERVE) {
        if (r.phase === SETTLED) continue;
        counts.push(r.n);
      } else {
        counts.push(-r.n);
      }
      sent.push(r);
    }
    // Held tokens are handed out even while degraded, but no command goes to ask for more.
    const want = this.prefetchTokens === 0 || this.isClosed || this.link.degraded ? 0 : Math.max(0, this.prefetchTokens - this.held - this.fetching);
    if (sent.length === 0 && want === 0) return;
    this.fetching += want;
    this.link.run(
      () => SCRIPT.run(this.conn.redis, this.stateKey, this.ratePerMs, this.burst, want, ...counts),
      // Tokens Redis grants after the calls stopped waiting for them (and were served by the fallback) are handed back.
      (late) => late.then((reply) => this.refund(grantedIn(counts, reply as unknown[]), true), noop),
    ).then(
      (reply) => {
        this.fetching -= want;
        this.onPrefetched(toNumber((reply as unknown[])[counts.length]));
        this.onReply(sent, reply as unknown[]);
      },
      () => {
        this.fetching -= want;
        this.onBatchFailed(sent);
      },
    );
  };

  /** Serves `n` tokens from the held ones (the caller checked there are enough), oldest first. */
  private takeHeld(n: number): void {
    this.held -= n;
    this.counters.acquired += n;
    const lots = this.lots;
    let emptied = 0;
    for (let left = n; left > 0; ) {
      const lot = lots[emptied]!;
      if (lot.count > left) {
        lot.count -= left;
        break;
      }
      left -= lot.count;
      emptied++;
    }
    if (emptied === 1) lots.shift();
    else if (emptied !== 0) lots.splice(0, emptied);
    // Refill in the background once half is used, so a steady caller finds
    // tokens held instead of waiting a round trip at each empty hold.
    if (this.held * 2 <= this.prefetchTokens && this.fetching === 0 && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  private onPrefetched(got: number): void {
    if (!(got > 0)) return;
    this.counters.prefetched += got;
    if (this.isClosed) {
      this.handBack(got, 'returned');
      return;
    }
    this.held += got;
    this.lots.push({ count: got, expiresAt: this.conn.clock.now() + this.holdMs });
    // Unref'd: held tokens never keep a process alive (ones not handed back are lost to the shared rate, the safe side).
    this.lotTimer ??= this.conn.clock.schedule(this.holdMs, this.expireLots, { unref: true });
  }

  /** Hands back the tokens held for `holdMs`, and waits for the next lot to reach it. */
  private readonly expireLots = (): void => {
    this.lotTimer = undefined;
    const now = this.conn.clock.now();
    let expired = 0;
    let i = 0;
    for (; i < this.lots.length && this.lots[i]!.expiresAt <= now; i++) expired += this.lots[i]!.count;
    if (i !== 0) this.lots.splice(0, i);
    this.held -= expired;
    this.handBack(expired, 'returned');
    const next = this.lots[0];
    if (next !== undefined) this.lotTimer = this.conn.clock.schedule(next.expiresAt - now, this.expireLots, { unref: true });
  };

  private onReply(sent: Request[], reply: unknown[]): void {
    for (let i = 0; i < sent.length; i++) {
      const r = sent[i]!;
      const waitUs = toNumber(reply[i]);
      if (r.kind === RESERVE) {
        this.onReserved(r, waitUs);
      } else if (waitUs >= 0) {
        this.counters.acquired += r.n;
        r.resolve(true);
      } else {
        this.counters.rejected++;
        r.resolve(false);
      }
    }
  }

  private onBatchFailed(sent: Request[]): void {
    for (const r of sent) {
      if (r.kind === RESERVE) this.onReserveFailed(r);
      else r.resolve(this.tryFallback(r.n));
    }
  }

  private onReserved(p: Pending, waitUs: number): void {
    if (p.phase === SETTLED) {
      // Aborted or closed during the round trip: the reservation is not used.
      this.refund(p.n);
      return;
    }
    this.counters.acquired += p.n;
    const waitMs = waitUs / 1000;
    if (!(waitMs > 0)) {
      this.settle(p);
      p.resolve();
      return;
    }
    p.phase = SLEEPING;
    p.sleptFrom = this.conn.clock.now();
    p.timer = this.conn.clock.schedule(waitMs, () => {
      p.timer = undefined;
      this.settle(p);
      p.resolve();
    });
  }

  private onReserveFailed(p: Pending): void {
    if (p.phase === SETTLED) return;
    this.settle(p);
    this.acquireFallback(p.n, p.signal).then(p.resolve, p.reject);
  }

  private cancel(p: Pending, reason: unknown): void {
    if (p.phase === SETTLED) return;
    const reserved = p.phase === SLEEPING;
    this.settle(p);
    if (reserved) {
      this.counters.acquired -= p.n;
      this.refund(p.n);
    }
    p.reject(reason);
  }

  private settle(p: Pending): void {
    if (p.phase === SLEEPING) this.counters.waitedMs += this.conn.clock.now() - p.sleptFrom;
    p.phase = SETTLED;
    this.pending.remove(p);
    if (p.timer !== undefined) this.conn.clock.cancel(p.timer);
    p.timer = undefined;
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    p.onAbort = undefined;
  }

  /**
   * Hands unused reserved tokens back. Best effort: if Redis is down they are
   * gone, which only errs on the safe side. `late`: Redis has just answered
   * (a reply the call had stopped waiting for), so send even while degraded.
   */
  private refund(n: number, late = false): void {
    if (this.link.degraded && !late) return;
    this.handBack(n, 'refunded');
  }

  /**
   * Gives `n` tokens back to the shared bucket (capped at `burst` there),
   * counted in `counter` once Redis took them: `refunded` for reservations a
   * call did not use, `returned` for held (prefetched) tokens.
   */
  private handBack(n: number, counter: 'refunded' | 'returned'): void {
    if (n === 0) return;
    this.link.run(() => SCRIPT.run(this.conn.redis, this.stateKey, this.ratePerMs, this.burst, 'refund', n)).then(
      () => void (this.counters[counter] += n),
      () => undefined,
    );
  }

  private tryFallback(n: number): boolean {
    switch (this.fallback.mode) {
      case 'local':
        if (this.local!.tryAcquire(n)) {
          this.counters.acquiredLocally += n;
          return true;
        }
        this.counters.rejected++;
        return false;
      case 'fail-open':
        this.counters.acquiredLocally += n;
        return true;
      default:
        this.counters.refused++;
        return false;
    }
  }

  private acquireFallback(n: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.isClosed) return Promise.reject(new ClosedError('RedisTokenBucket is closed'));
    switch (this.fallback.mode) {
      case 'local':
        return this.local!.acquire(n, { signal }).then(() => void (this.counters.acquiredLocally += n));
      case 'fail-open':
        this.counters.acquiredLocally += n;
        return RESOLVED_VOID;
      default:
        this.counters.refused++;
        return Promise.reject(new RedisUnavailableError(`RedisTokenBucket "${this.key}": Redis is unavailable and fallback is 'fail-closed'`, this.link.lastFailure));
    }
  }
}

function noop(): void {}

/** Tokens a batch's reply granted: every reservation, the tries that got theirs, and the prefetch. */
function grantedIn(counts: number[], reply: unknown[]): number {
  let granted = Math.max(0, toNumber(reply[counts.length]));
  for (let i = 0; i < counts.length; i++) if (toNumber(reply[i]) >= 0) granted += Math.abs(counts[i]!);
  return granted;
}
