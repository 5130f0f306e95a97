import type { TimerHandle } from '../../core/clock/index.js';
import { ClosedError, InvalidArgumentError } from '../../core/errors/index.js';
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
// then serves the batch's requests in arrival order: ARGV[3..] are signed
// token counts, n > 0 to reserve n (always taken, the balance may go
// negative, the reply says how long until the debt is paid off: the caller
// sleeps that long, no polling) and -n to try for n (taken only if there).
// ARGV[3] = 'refund' gives ARGV[4] tokens back instead.
// Reply: one integer per request, the wait in microseconds (0: at once), or
// -1 for a try that got nothing. Refill, HSET and PEXPIRE happen once per
// batch, so a batch of 100 costs Redis little more than a single call.
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
  for i = 3, #ARGV do
    local n = tonumber(ARGV[i])
    if n < 0 then
      if tokens >= -n - 1e-9 then tokens = tokens + n; out[i - 2] = 0 else out[i - 2] = -1 end
    else
      tokens = tokens - n
      if tokens < 0 then out[i - 2] = math.ceil(-tokens / rate * 1000) else out[i - 2] = 0 end
    end
  end
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
  private readonly counters = { acquired: 0, acquiredLocally: 0, rejected: 0, refused: 0, waitedMs: 0, refunded: 0, adjustments: 0 };
  private readonly reconfigureListeners = new Listeners<RedisTokenBucketReconfigureEvent>();

  constructor(options: RedisTokenBucketOptions) {
    const o = v.optionsObject(options, 'RedisTokenBucket', {
      key: true, ratePerSecond: true, burst: true, fallback: true, redis: true, timeoutMs: true, probeIntervalMs: true,
      clock: true,
    });
    this.conn = resolveConnection(o);
    this.key = resolveKey('key', o.key);
    this.rate = v.requiredNumber('ratePerSecond', o.ratePerSecond, { min: 0, minExclusive: true });
    this.burst = v.number('burst', o.burst, Math.max(1, this.rate), { min: 1 });
    this.fallback = resolveFallback(o.fallback, { mode: 'local', fraction: 0.5 });
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
   * tokens. One round trip, shared with the other calls of this turn; while
   * degraded, answered by the fallback without one (`'local'`: the local bucket; `'fail-open'`: true; `'fail-closed'`: false).
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
   * polling). While degraded the fallback serves it: the local bucket
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
    if (gathered.length === 0) return;
    this.batch = [];
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
    if (sent.length === 0) return;
    this.link.run(
      () => SCRIPT.run(this.conn.redis, this.stateKey, this.ratePerMs, this.burst, ...counts),
      // Tokens Redis grants after the calls stopped waiting for them (and were served by the fallback) are handed back.
      (late) => late.then((reply) => this.refund(grantedIn(counts, reply as unknown[]), true), noop),
    ).then(
      (reply) => this.onReply(sent, reply as unknown[]),
      () => this.onBatchFailed(sent),
    );
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
    if (n === 0 || (this.link.degraded && !late)) return;
    this.link.run(() => SCRIPT.run(this.conn.redis, this.stateKey, this.ratePerMs, this.burst, 'refund', n)).then(
      () => void (this.counters.refunded += n),
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

/** Tokens a batch's reply granted: every reservation, and the tries that got theirs. */
function grantedIn(counts: number[], reply: unknown[]): number {
  let granted = 0;
  for (let i = 0; i < counts.length; i++) if (toNumber(reply[i]) >= 0) granted += Math.abs(counts[i]!);
  return granted;
}
