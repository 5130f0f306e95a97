import { systemClock, type Clock } from '../../core/clock/index.js';
import type { Pressure, PressureLike } from '../../core/pressure/index.js';
import * as v from '../../internal/validate.js';
import { resolvePressure } from '../../internal/pressure.js';
import type { FastifyReplyLike, NodeResponseLike } from './load-shed.js';
import { briefMessage } from './shared.js';

/** One answer of a health endpoint: what {@link HealthEndpoint.check} returns and the adapters send. */
export interface HealthAnswer {
  /** 200 (ready / alive) or 503 (not ready). */
  statusCode: 200 | 503;
  /** `content-type`, `content-length`, `cache-control: no-store`, and `retry-after` on a 503. */
  headers: Record<string, string>;
  /** The JSON summary. */
  body: string;
}

/** The request shape the Node and Express adapters read: only the method. */
export interface MethodLike {
  readonly method?: string | undefined;
}

/**
 * The framework adapters shared by {@link Readiness} and {@link Liveness}. Each
 * request gets a fresh {@link HealthAnswer} from `check()`. Every method is
 * answered the same way (load balancers differ: HAProxy's `option httpchk`
 * sends `OPTIONS` unless told otherwise); a `HEAD` answer carries the headers
 * and no body. The request body is never read: Node discards whatever a client
 * sent once the answer is written.
 */
export abstract class HealthEndpoint {
  /** Reads the state and returns the answer to send, for frameworks without an adapter. */
  abstract check(): HealthAnswer;

  /**
   * A `node:http` request listener for the health path; route to it yourself.
   * @example
   * const ready = readiness({ pressure });
   * http.createServer((req, res) => (req.url === '/readyz' ? ready.node(req, res) : res.end('ok')));
   */
  readonly node = (_req: MethodLike, res: NodeResponseLike): void => {
    const answer = this.check();
    res.writeHead(answer.statusCode, answer.headers);
    res.end(answer.body); // Node sends no body for HEAD
  };

  /**
   * An Express / Connect route handler. Express routes `HEAD` to `GET` routes.
   * @example
   * const ready = readiness({ pressure });
   * app.all('/readyz', ready.express);
   */
  readonly express = (req: MethodLike, res: NodeResponseLike): void => this.node(req, res);

  /**
   * A Fastify route handler; Fastify adds the `HEAD` route to a `GET` one.
   * @example
   * const ready = readiness({ pressure });
   * fastify.get('/readyz', ready.fastify);
   */
  readonly fastify = (_request: unknown, reply: FastifyReplyLike): void => {
    const answer = this.check();
    reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
  };

  /**
   * A Hono route handler (`(c) => Response`); `app.get` also answers `HEAD`.
   *
   * Abort safety: takes no signal; the answer is computed synchronously.
   * @example
   * const ready = readiness({ pressure });
   * app.all('/readyz', ready.hono);
   */
  readonly hono = (c: { req: { method: string } }): Response => this.response(c.req.method);

  /**
   * A fetch-style handler (`(request) => Response`) for Bun, Deno, Workers or `@hono/node-server`'s `serve`.
   *
   * Abort safety: takes no signal; the answer is computed synchronously and the request body is never read.
   * @example
   * const ready = readiness({ pressure });
   * serve({ fetch: (request: Request) => (new URL(request.url).pathname === '/readyz' ? ready.fetch(request) : app.fetch(request)) });
   */
  readonly fetch = (request: Request): Response => this.response(request.method);

  /** A fresh `Response` for a request with this method (no body for `HEAD`). */
  response(method = 'GET'): Response {
    const answer = this.check();
    return new Response(method === 'HEAD' ? null : answer.body, { status: answer.statusCode, headers: answer.headers });
  }
}

function jsonAnswer(statusCode: 200 | 503, summary: object, retryAfterSeconds?: number): HealthAnswer {
  const body = JSON.stringify(summary);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return { statusCode, headers, body };
}

function clockOption(value: unknown): Clock {
  const clock = (value ?? systemClock) as Clock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new v.InvalidOptionError('clock', value, 'a Clock with now(), schedule() and cancel()');
  }
  return clock;
}

function nameOption(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new v.InvalidOptionError('name', value, 'a non-empty string');
  return value;
}

/** A reading for the JSON body: 3 decimals; NaN and ±Infinity become null (JSON has no such numbers). */
function shown(reading: number | undefined): number | null {
  return reading === undefined || !Number.isFinite(reading) ? null : Math.round(reading * 1000) / 1000;
}

/** 0.8 × 0.8 is 0.6400000000000001 in floating point; the body shows 0.64. */
function tidy(value: number): number {
  return Number(value.toPrecision(12));
}

/** Whether a {@link Readiness} check tells the load balancer to send traffic. */
export type ReadinessState = 'ready' | 'not-ready';

export interface ReadinessOptions {
  /**
   * What to measure: a `Pressure` (`eventLoopDelay`, `eventLoopStall`,
   * `limiterPressure`, a `pressureLevels(...)` hierarchy, …) or a plain
   * `() => number`, read once per check. Give it the same pressure as your
   * `loadShed` with a lower `threshold`, so the load balancer stops sending
   * before the instance has to shed. You own it: close probes yourself.
   *
   * A reading that throws, or is NaN, counts as no pressure (fail-open, as in
   * `loadShed`): the check answers ready (a not-ready check becomes ready,
   * subject to `minStateMs`), `"pressure": null` and `"readError": true` appear
   * in the body, and the error is counted in `stats().readErrors` /
   * `stats().lastReadError`. Why not report not-ready: every replica runs the
   * same code, so a probe that throws in one throws in all, and a readiness
   * check that fails everywhere leaves Kubernetes' Service, HAProxy's backend or
   * nginx's upstream with no instance at all: the health check would cause the
   * outage it exists to avoid. An instance with a broken probe that is really
   * overloaded is still protected by `loadShed`, and the error shows in stats
   * and in every answer. To fail closed instead, wrap the pressure so that an
   * error reads `Infinity` (see the example).
   * @default none (required)
   * @example readiness({ pressure: () => { try { return pressure.read(); } catch { return Infinity; } } }) // fail closed
   */
  pressure: PressureLike;
  /**
   * Reading above which the check turns not ready (503). Sluice sources read 1
   * at their own threshold, and `loadShed` sheds above 1 by default: 0.8 takes
   * the instance out of rotation before it starts shedding.
   * @default 0.8
   * @example readiness({ pressure: eventLoopDelay({ thresholdMs: 100 }), threshold: 0.5 })
   */
  threshold?: number;
  /**
   * Once not ready, ready again only when a reading is below this. The gap to
   * `threshold` keeps the check from flapping while the load hovers around it.
   * Must be > 0 and <= `threshold`.
   * @default 0.8 × threshold
   * @example readiness({ pressure, threshold: 0.8, resumeBelow: 0.5 })
   */
  resumeBelow?: number;
  /**
   * Seconds sent in the `Retry-After` header and as `retryAfter` in the body of a not-ready answer.
   * @default 1, or `minStateMs` rounded up to whole seconds when that is longer
   * @example readiness({ pressure, retryAfterSeconds: 10 })
   */
  retryAfterSeconds?: number;
  /**
   * Least time, in milliseconds, the check stays in a state after changing it:
   * a reading that would change it sooner is held back (counted in
   * `stats().held`) and the state is decided again at the next check. The
   * first change after start is never held. 0 relies on hysteresis alone.
   * @default 0
   * @example readiness({ pressure, minStateMs: 10_000 })
   */
  minStateMs?: number;
  /**
   * Name shown in the JSON body and in stats.
   * @default 'readiness'
   * @example readiness({ pressure, name: 'api' })
   */
  name?: string;
  /**
   * Time source for `minStateMs` and `stats().stateForMs`.
   * @default systemClock
   * @example readiness({ pressure, minStateMs: 5000, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

export interface ReadinessStats {
  name: string;
  state: ReadinessState;
  /** Milliseconds since the last change of state (since creation if none). */
  stateForMs: number;
  /** Times the state changed, both ways. */
  transitions: number;
  /** Checks answered. */
  checks: number;
  /** Checks whose reading would have changed the state within `minStateMs` of the last change. */
  held: number;
  /** Last reading that did not throw (NaN included), or undefined before the first. */
  lastReading: number | undefined;
  /** Readings that threw; each counted as no pressure (fail-open). */
  readErrors: number;
  /** Message of the last reading that threw (at most 200 characters), or undefined if none has. */
  lastReadError: string | undefined;
  /** True once {@link Readiness.drain} was called: every check answers 503 from then on. */
  draining: boolean;
  threshold: number;
  resumeBelow: number;
  minStateMs: number;
}

/**
 * A readiness endpoint for load balancers (Kubernetes `readinessProbe`,
 * HAProxy `option httpchk`, nginx health checks): `200` with
 * `{"status":"ready",...}` while the pressure is low, `503` with `Retry-After`
 * and `{"status":"not-ready",...}` once it goes above `threshold`, and ready
 * again only when it falls below `resumeBelow` (hysteresis, plus an optional
 * `minStateMs`), so the instance is not put in and out of rotation on every
 * check. Answers carry `Cache-Control: no-store`.
 *
 * When: the pressure is read once per check, as the request arrives, and the
 * state changes only then; between checks nothing runs.
 *
 * Keep it apart from {@link liveness}: not ready under load means "send
 * traffic elsewhere for a while"; a failed liveness probe makes Kubernetes
 * restart the pod, which under load only makes things worse.
 *
 * @example
 * import { eventLoopDelay } from 'sluice';
 * import { loadShed, readiness } from 'sluice/http';
 * const lag = eventLoopDelay({ thresholdMs: 100 });
 * const shed = loadShed({ pressure: lag });           // sheds above 1
 * const ready = readiness({ pressure: lag });         // not ready above 0.8, ready again below 0.64
 * console.log(ready.check().statusCode); // 200
 * lag.close();
 */
export class Readiness extends HealthEndpoint {
  readonly name: string;
  readonly threshold: number;
  readonly resumeBelow: number;
  readonly retryAfterSeconds: number;
  readonly minStateMs: number;

  private readonly pressure: Pressure;
  private readonly clock: Clock;
  private ready = true;
  private changedAt: number;
  private transitionCount = 0;
  private checkCount = 0;
  private heldCount = 0;
  private lastReading: number | undefined;
  private readErrors = 0;
  private lastReadError: string | undefined;
  private isDraining = false;

  constructor(options: ReadinessOptions) {
    super();
    const o = v.optionsObject(options, 'readiness', {
      pressure: true, threshold: true, resumeBelow: true, retryAfterSeconds: true, minStateMs: true, name: true, clock: true,
    });
    this.pressure = resolvePressure('pressure', o.pressure);
    this.threshold = v.number('threshold', o.threshold, 0.8, { min: 0, minExclusive: true });
    this.resumeBelow = v.number('resumeBelow', o.resumeBelow, 0.8 * this.threshold, { min: 0, minExclusive: true, max: this.threshold });
    this.minStateMs = v.number('minStateMs', o.minStateMs, 0, { min: 0 });
    this.retryAfterSeconds = v.integer('retryAfterSeconds', o.retryAfterSeconds, Math.max(1, Math.ceil(this.minStateMs / 1000)), { min: 0 });
    this.name = nameOption(o.name, 'readiness');
    this.clock = clockOption(o.clock);
    this.changedAt = this.clock.now();
  }

  /**
   * Reads the pressure, updates the state and returns the answer to send
   * (for frameworks without an adapter; the adapters call it per request).
   * @example
   * const ready = readiness({ pressure: () => 0.2 });
   * const { statusCode, headers, body } = ready.check(); // 200, {"status":"ready",...}
   */
  check(): HealthAnswer {
    this.checkCount++;
    let reading: number;
    let failed = false;
    try {
      reading = this.pressure.read();
      this.lastReading = reading;
    } catch (error) {
      // Fail open, like a NaN reading: see ReadinessOptions.pressure.
      this.readErrors++;
      this.lastReadError = briefMessage(error);
      reading = NaN;
      failed = true;
    }
    this.update(reading);
    const summary: Record<string, unknown> = {
      status: this.ready ? 'ready' : 'not-ready',
      name: this.name,
      pressure: failed ? null : shown(reading),
      threshold: tidy(this.threshold),
      resumeBelow: tidy(this.resumeBelow),
    };
    if (failed) summary.readError = true;
    if (this.isDraining) summary.draining = true;
    if (this.ready) return jsonAnswer(200, summary);
    summary.retryAfter = this.retryAfterSeconds;
    return jsonAnswer(503, summary, this.retryAfterSeconds);
  }

  /**
   * Takes the instance out of rotation for good, for a graceful shutdown: from
   * this call on every check answers 503 with `"draining": true` in the body,
   * whatever the pressure reads (`minStateMs` does not hold it back), and the
   * state never returns to ready. The pressure is still read, so the body keeps
   * showing it.
   *
   * Call it first on SIGTERM and keep the server listening for a little longer
   * than the load balancer's probe period × failure threshold before closing
   * it: requests already routed here are still served, and the load balancer
   * sees a 503 rather than a refused connection, which some count as a crash.
   * Calling it again does nothing.
   * @example
   * const ready = readiness({ pressure: () => 0.1 });
   * process.once('SIGTERM', () => {
   *   ready.drain(); // /readyz answers 503 from now on
   *   setTimeout(() => server.close(), 10_000); // > periodSeconds × failureThreshold
   * });
   */
  drain(): void {
    if (this.isDraining) return;
    this.isDraining = true;
    if (this.ready) {
      this.ready = false;
      this.changedAt = this.clock.now();
      this.transitionCount++;
    }
  }

  /** The current state, as of the last check (no reading is taken). */
  get state(): ReadinessState {
    return this.ready ? 'ready' : 'not-ready';
  }

  stats(): ReadinessStats {
    return {
      name: this.name,
      state: this.state,
      stateForMs: this.clock.now() - this.changedAt,
      transitions: this.transitionCount,
      checks: this.checkCount,
      held: this.heldCount,
      lastReading: this.lastReading,
      readErrors: this.readErrors,
      lastReadError: this.lastReadError,
      draining: this.isDraining,
      threshold: this.threshold,
      resumeBelow: this.resumeBelow,
      minStateMs: this.minStateMs,
    };
  }

  private update(reading: number): void {
    if (this.isDraining) return; // not ready for good: see drain()
    // NaN (and a reading that threw) is no pressure: it never turns the check not ready, and ends not-ready.
    const wantReady = this.ready ? !(reading > this.threshold) : !(reading >= this.resumeBelow);
    if (wantReady === this.ready) return;
    const now = this.clock.now();
    if (this.transitionCount > 0 && now - this.changedAt < this.minStateMs) {
      this.heldCount++;
      return;
    }
    this.ready = wantReady;
    this.changedAt = now;
    this.transitionCount++;
  }
}

/**
 * Creates a {@link Readiness} endpoint. See {@link ReadinessOptions} for the options.
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming the bad option.
 * @example
 * const ready = readiness({ pressure: eventLoopDelay({ thresholdMs: 100 }), threshold: 0.7, minStateMs: 5000 });
 * fastify.get('/readyz', ready.fastify);
 */
export function readiness(options: ReadinessOptions): Readiness {
  return new Readiness(options);
}

/** What {@link LivenessOptions.eventLoopDelay} needs: an `eventLoopDelay()` probe, or anything with the same `stats()`. */
export interface DelaySource {
  stats(): { readonly value: number };
}

export interface LivenessOptions {
  /**
   * A probe whose last measurement (`stats().value`, in ms: the p99 of
   * `eventLoopDelay` unless you chose another statistic) is reported as
   * `eventLoopDelayMs` in the body. Informational only: liveness never turns
   * 503 because of it. A `stats()` that throws leaves the field out and is
   * counted in `stats().readErrors`. You own it: close it yourself.
   * @default none (the body has no delay figure)
   * @example liveness({ eventLoopDelay: eventLoopDelay({ thresholdMs: 100 }) })
   */
  eventLoopDelay?: DelaySource;
  /**
   * Name shown in the JSON body and in stats.
   * @default 'liveness'
   * @example liveness({ name: 'api' })
   */
  name?: string;
}

export interface LivenessStats {
  name: string;
  /** Checks answered (always 200). */
  checks: number;
  /** `eventLoopDelay.stats()` calls that threw. */
  readErrors: number;
  /** Message of the last one (at most 200 characters), or undefined. */
  lastReadError: string | undefined;
}

/**
 * A liveness endpoint: answers `200` `{"status":"alive",...}` whenever it gets
 * to run. It is served by the event loop, so answering at all proves the loop
 * turns; a loop that is stuck answers nothing and the probe times out, which is
 * what a liveness probe is for. It never answers 503 under load: a failed
 * liveness probe makes Kubernetes restart the pod, which under load throws away
 * the capacity that is short. Use {@link readiness} to take the instance out of
 * rotation under pressure.
 *
 * @example
 * import { liveness } from 'sluice/http';
 * const alive = liveness();
 * console.log(alive.check().body); // {"status":"alive","name":"liveness"}
 */
export class Liveness extends HealthEndpoint {
  readonly name: string;
  private readonly delay: DelaySource | undefined;
  private checkCount = 0;
  private readErrors = 0;
  private lastReadError: string | undefined;

  constructor(options?: LivenessOptions) {
    super();
    const o = v.optionsObject(options, 'liveness', { eventLoopDelay: true, name: true });
    if (o.eventLoopDelay !== undefined && (o.eventLoopDelay === null || typeof o.eventLoopDelay !== 'object' || typeof o.eventLoopDelay.stats !== 'function')) {
      throw new v.InvalidOptionError('eventLoopDelay', o.eventLoopDelay, 'a probe with stats() (e.g. eventLoopDelay({ thresholdMs }))');
    }
    this.delay = o.eventLoopDelay;
    this.name = nameOption(o.name, 'liveness');
  }

  /**
   * Returns the answer to send: always 200 (for frameworks without an adapter).
   * @example
   * const { statusCode, body } = liveness().check(); // 200, {"status":"alive","name":"liveness"}
   */
  check(): HealthAnswer {
    this.checkCount++;
    const summary: Record<string, unknown> = { status: 'alive', name: this.name };
    if (this.delay !== undefined) {
      try {
        const ms = shown(this.delay.stats().value);
        if (ms !== null) summary.eventLoopDelayMs = ms;
      } catch (error) {
        this.readErrors++;
        this.lastReadError = briefMessage(error);
      }
    }
    return jsonAnswer(200, summary);
  }

  stats(): LivenessStats {
    return { name: this.name, checks: this.checkCount, readErrors: this.readErrors, lastReadError: this.lastReadError };
  }
}

/**
 * Creates a {@link Liveness} endpoint. See {@link LivenessOptions} for the options.
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming the bad option.
 * @example
 * const alive = liveness({ eventLoopDelay: eventLoopDelay({ thresholdMs: 100 }) });
 * fastify.get('/livez', alive.fastify);
 */
export function liveness(options?: LivenessOptions): Liveness {
  return new Liveness(options);
}
