import type { Clock, TimerHandle } from '../../core/clock/index.js';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { WaiterList, type ListNode } from '../../internal/waiter-list.js';
import type { RedisClient } from './client.js';
import { RedisTimeoutError, RedisUnavailableError } from './errors.js';
import type { FallbackMode } from './options.js';

/** Passed to `on('degraded', listener)`: Redis stopped answering and the fallback took over. */
export interface DegradedEvent {
  /** Which component: `'RedisTokenBucket'`, `'RedisConcurrencyLimiter'`, … */
  component: string;
  /** The component's key (or stream). */
  key: string;
  /** What went wrong: a {@link RedisTimeoutError} or the client's error. */
  cause: unknown;
  /** What serves calls until Redis answers again. */
  fallback: FallbackMode | 'retry';
}

/** Passed to `on('recovered', listener)`: a probe got an answer; calls go to Redis again. */
export interface RecoveredEvent {
  component: string;
  key: string;
  /** How long the degradation lasted, in clock ms. */
  downMs: number;
}

export interface RedisHealthEvents {
  degraded: DegradedEvent;
  recovered: RecoveredEvent;
}

/** Counters of the Redis link, part of every Redis component's `stats()`. */
export interface RedisHealthStats {
  /** True while the fallback serves calls. */
  degraded: boolean;
  /** Times the component turned degraded. */
  degradations: number;
  /** Times a probe ended a degradation. */
  recoveries: number;
  /** Commands that got no reply within `timeoutMs`. */
  timeouts: number;
  /** Commands that failed with an error (connection lost, refused, a Redis error reply). */
  errors: number;
  /** Probes sent while degraded. */
  probes: number;
  /** Total time spent degraded, including the current degradation. */
  degradedMs: number;
  /** Message of the latest timeout or error, if any. */
  lastError: string | undefined;
}

interface PendingCommand extends ListNode<PendingCommand> {
  deadline: number;
  fail: (error: unknown) => void;
  /** Hands the reply, still on its way, to the caller that asked for it when {@link Connectivity.run} gives up. */
  abandon: (() => void) | undefined;
}

let turn: Promise<void> | undefined;

/**
 * Resolves once the event loop has gone round (setImmediate, so timers and
 * I/O run first). Every answer Redis components give without a reply from
 * Redis (fallbacks, refusals, failures) waits for it: a caller that loops on
 * such answers would otherwise run on microtasks alone and starve the timers,
 * the reconnect and the very probe that ends the degradation. All calls made
 * in one turn share one immediate.
 */
export function nextTurn(): Promise<void> {
  turn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  );
  return turn;
}

type Listener<E extends keyof RedisHealthEvents> = (event: RedisHealthEvents[E]) => void;

// Statuses in which ioredis would only queue a command (offline queue) or
// refuse it: while in one of them Sluice counts Redis as down at once instead
// of piling commands up for a reconnect that may be far off.
const DOWN = new Set(['reconnecting', 'close', 'end']);
// A probe goes out only when the link is up (or not yet opened, 'wait', which
// the command opens). Anything else would only sit in the offline queue.
const PROBE_OK = new Set(['ready', 'wait']);

export interface ConnectivitySettings {
  timeoutMs: number;
  probeIntervalMs: number;
  clock: Clock;
  component: string;
  key: string;
  fallback: FallbackMode | 'retry';
  /** The probe command; a PING unless the component needs more. */
  probe?: () => Promise<unknown>;
}

/**
 * The Redis link as one component sees it. Every command goes through
 * {@link run}, which gives up after `timeoutMs` (one watchdog timer for all
 * commands in flight, since they share the deadline order) and turns the
 * component degraded on a timeout or an error. While degraded, callers use
 * their fallback and only probes go to Redis; the first probe answered ends it.
 */
export class Connectivity {
  private isDegraded = false;
  private isClosed = false;
  private degradedSince = 0;
  private readonly pending = new WaiterList<PendingCommand>();
  private watchdog: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private readonly listeners: { [E in keyof RedisHealthEvents]: Set<Listener<E>> } = { degraded: new Set(), recovered: new Set() };
  private readonly counters = { degradations: 0, recoveries: 0, timeouts: 0, errors: 0, probes: 0, degradedMs: 0 };
  private lastError: string | undefined;
  private lastCause: unknown;
  private readonly probe: () => Promise<unknown>;

  constructor(
    private readonly client: RedisClient,
    private readonly settings: ConnectivitySettings,
  ) {
    this.probe = settings.probe ?? (() => client.call('PING'));
    watchClose(client, this);
  }

  /**
   * The client's connection dropped: degrade now rather than at the next
   * command's timeout, and stop waiting for commands in flight (ioredis keeps
   * them for a resend after the reconnect, which may be far off).
   */
  connectionClosed(): void {
    const error = new RedisUnavailableError('Redis connection closed');
    this.counters.errors++;
    this.degrade(error);
    for (let head = this.pending.head; head; head = this.pending.head) {
      this.pending.remove(head);
      head.fail(error);
      head.abandon?.();
    }
    this.stopWatchdogIfIdle();
  }

  get degraded(): boolean {
    return this.isDegraded;
  }

  /** The latest timeout or error, as the `cause` of errors raised while degraded. */
  get lastFailure(): unknown {
    return this.lastCause;
  }

  /**
   * Sends `command` and resolves with its reply. Rejects with a
   * {@link RedisUnavailableError} (a {@link RedisTimeoutError} after
   * `timeoutMs`) and turns degraded when Redis is down, errs or is late;
   * a failure is reported only after the event loop has turned ({@link nextTurn}).
   *
   * When it stops waiting for a command already handed to the client (timeout,
   * connection closed), Redis may still run it later: ioredis keeps it queued
   * or resends it after a reconnect. `abandoned`, if given, then receives the
   * reply promise, so a command with side effects can be undone once it lands;
   * otherwise the late reply is ignored.
   */
  run<T>(command: () => Promise<T>, abandoned?: (reply: Promise<T>) => void): Promise<T> {
    const status = this.client.status;
    if (status !== undefined && DOWN.has(status)) {
      const error = new RedisUnavailableError(`Redis connection is ${status}`);
      this.counters.errors++;
      this.degrade(error);
      return nextTurn().then(() => Promise.reject(error));
    }
    return new Promise<T>((resolve, reject) => {
      let reply: Promise<T> | undefined;
      const node: PendingCommand = {
        prev: undefined,
        next: undefined,
        linked: false,
        deadline: this.settings.clock.now() + this.settings.timeoutMs,
        fail: reject,
        abandon: abandoned && (() => abandoned(reply!)),
      };
      this.pending.push(node);
      if (this.watchdog === undefined) this.armWatchdog();
      try {
        reply = command();
      } catch (error) {
        reply = Promise.reject(error);
      }
      reply.then(
        (value) => {
          if (node.linked === false) return;
          this.pending.remove(node);
          this.stopWatchdogIfIdle();
          resolve(value);
        },
        (error: unknown) => {
          if (node.linked === false) return;
          this.pending.remove(node);
          this.stopWatchdogIfIdle();
          this.counters.errors++;
          const failure = error instanceof RedisUnavailableError ? error : new RedisUnavailableError(`Redis command failed: ${message(error)}`, error);
          this.degrade(failure);
          void nextTurn().then(() => reject(failure));
        },
      );
    });
  }

  /** Subscribes to `'degraded'` or `'recovered'`. Returns the unsubscribe function. */
  on<E extends keyof RedisHealthEvents>(event: E, listener: Listener<E>): () => void {
    const set = Object.hasOwn(this.listeners, event) ? (this.listeners[event] as Set<Listener<E>>) : undefined;
    if (!set) throw new InvalidArgumentError(`on(event): unknown event ${String(event)}; expected 'degraded' or 'recovered'`);
    if (typeof listener !== 'function') throw new InvalidArgumentError('on(event, listener): listener must be a function');
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * Stops probing. Commands in flight still settle (reply, error or timeout);
   * the watchdog stops with the last of them, so no timer keeps the process alive.
   */
  close(): void {
    this.isClosed = true;
    unwatchClose(this.client, this);
    if (this.probeTimer !== undefined) this.settings.clock.cancel(this.probeTimer);
    this.probeTimer = undefined;
    this.stopWatchdogIfIdle();
  }

  /**
   * While open, the watchdog is left armed for a command that has already
   * answered (it re-arms for the next head when it fires): cheaper than a
   * cancel and a re-arm per command. After close nothing comes next, so it goes.
   */
  private stopWatchdogIfIdle(): void {
    if (!this.isClosed || this.pending.size !== 0 || this.watchdog === undefined) return;
    this.settings.clock.cancel(this.watchdog);
    this.watchdog = undefined;
  }

  stats(): RedisHealthStats {
    const c = this.counters;
    return {
      degraded: this.isDegraded,
      degradations: c.degradations,
      recoveries: c.recoveries,
      timeouts: c.timeouts,
      errors: c.errors,
      probes: c.probes,
      degradedMs: c.degradedMs + (this.isDegraded ? this.settings.clock.now() - this.degradedSince : 0),
      lastError: this.lastError,
    };
  }

  private degrade(cause: unknown): void {
    this.lastError = message(cause);
    this.lastCause = cause;
    if (this.isDegraded || this.isClosed) return;
    this.isDegraded = true;
    this.degradedSince = this.settings.clock.now();
    this.counters.degradations++;
    this.scheduleProbe();
    const { component, key, fallback } = this.settings;
    this.emit('degraded', { component, key, cause, fallback });
  }

  private recover(): void {
    if (!this.isDegraded) return;
    this.isDegraded = false;
    const downMs = this.settings.clock.now() - this.degradedSince;
    this.counters.degradedMs += downMs;
    this.counters.recoveries++;
    this.emit('recovered', { component: this.settings.component, key: this.settings.key, downMs });
  }

  private scheduleProbe(): void {
    if (this.isClosed || this.probeTimer !== undefined) return;
    this.probeTimer = this.settings.clock.schedule(this.settings.probeIntervalMs, this.onProbeTimer, { unref: true });
  }

  private readonly onProbeTimer = (): void => {
    this.probeTimer = undefined;
    if (this.isClosed || !this.isDegraded) return;
    const status = this.client.status;
    if (status !== undefined && !PROBE_OK.has(status)) {
      this.scheduleProbe();
      return;
    }
    this.counters.probes++;
    this.run(this.probe).then(
      () => this.recover(),
      () => this.scheduleProbe(),
    );
  };

  private armWatchdog(): void {
    const head = this.pending.head;
    if (!head) return;
    const clock = this.settings.clock;
    this.watchdog = clock.schedule(head.deadline - clock.now(), this.onWatchdog);
  }

  private readonly onWatchdog = (): void => {
    this.watchdog = undefined;
    const now = this.settings.clock.now();
    let timeout: RedisTimeoutError | undefined;
    // Commands share one timeout and are queued in send order, so the expired ones are at the head.
    for (let head = this.pending.head; head && head.deadline <= now; head = this.pending.head) {
      this.pending.remove(head);
      this.counters.timeouts++;
      timeout ??= new RedisTimeoutError(this.settings.timeoutMs);
      this.degrade(timeout);
      head.fail(timeout);
      head.abandon?.();
    }
    this.armWatchdog();
  };

  private emit<E extends keyof RedisHealthEvents>(event: E, payload: RedisHealthEvents[E]): void {
    for (const listener of this.listeners[event] as Set<Listener<E>>) {
      try {
        listener(payload);
      } catch (error) {
        // A throwing listener must not break the component; rethrow outside so it is not swallowed.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// One 'close' listener per client, however many components share it, so a
// client with many components does not trip Node's max-listeners warning.
const watchers = new WeakMap<RedisClient, { links: Set<Connectivity>; listener: () => void }>();

function watchClose(client: RedisClient, link: Connectivity): void {
  if (typeof client.on !== 'function' || typeof client.removeListener !== 'function') return;
  let entry = watchers.get(client);
  if (!entry) {
    const links = new Set<Connectivity>();
    entry = { links, listener: () => links.forEach((l) => l.connectionClosed()) };
    watchers.set(client, entry);
    client.on('close', entry.listener);
  }
  entry.links.add(link);
}

function unwatchClose(client: RedisClient, link: Connectivity): void {
  const entry = watchers.get(client);
  if (!entry || !entry.links.delete(link) || entry.links.size !== 0) return;
  watchers.delete(client);
  client.removeListener?.('close', entry.listener);
}
