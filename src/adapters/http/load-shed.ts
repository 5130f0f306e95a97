import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import type { Pressure, PressureLike } from '../../core/pressure/index.js';
import { resolvePressure } from '../../internal/pressure.js';
import { briefMessage } from './shared.js';

/** How {@link LoadShedder} turns a pressure reading into a decision. */
export type ShedMode = 'threshold' | 'probabilistic';

export interface LoadShedOptions {
  /**
   * What to measure: a `Pressure` (for example `eventLoopStall`, `eventLoopDelay`,
   * `limiterPressure`, or a `pressureLevels(...)` hierarchy, which is itself a
   * Pressure) or a plain `() => number`. Read once per request. You own it:
   * close probes yourself when the server stops. A NaN reading counts as no pressure.
   * A reading that throws fails open: the request is served as if the reading
   * were NaN (threshold mode stops shedding), and the error is counted in
   * `stats().readErrors` / `stats().lastReadError`. A broken probe must not
   * take the service down, and an answer is always sent: the shedder protects
   * the service, it is not a reason to refuse it.
   * @default none (required)
   * @example loadShed({ pressure: eventLoopStall({ thresholdMs: 10 }) })
   */
  pressure: PressureLike;
  /**
   * Reading above which requests are shed (mode `'threshold'`) or start to be
   * (mode `'probabilistic'`). Sluice sources read 1 at their own threshold.
   * @default 1
   * @example loadShed({ pressure: () => queue.length / 100, threshold: 1.5 })
   */
  threshold?: number;
  /**
   * - `'threshold'`: shed every request once the reading goes above `threshold`,
   *   and keep shedding until it falls below `resumeBelow`.
   * - `'probabilistic'`: above `threshold`, shed each request with probability
   *   `(reading - threshold) / threshold`, rising linearly from 0 at the threshold
   *   to 1 at twice it (as toobusy-js does). No hysteresis.
   * @default 'threshold'
   * @example loadShed({ pressure, mode: 'probabilistic' })
   */
  mode?: ShedMode;
  /**
   * Mode `'threshold'` only: once shedding, serve again only when a reading is
   * below this. The gap to `threshold` keeps the server from flapping between
   * shedding and serving. Must be > 0 and <= `threshold`.
   * @default 0.9 × threshold
   * @example loadShed({ pressure, threshold: 1, resumeBelow: 0.7 })
   */
  resumeBelow?: number;
  /**
   * Seconds sent in the `Retry-After` header and in the JSON body of a shed response.
   * @default 1
   * @example loadShed({ pressure, retryAfterSeconds: 5 })
   */
  retryAfterSeconds?: number;
  /**
   * Mode `'probabilistic'`: source of uniform numbers in [0, 1). Inject one for deterministic tests.
   * @default Math.random
   * @example loadShed({ pressure, mode: 'probabilistic', random: () => 0.5 })
   */
  random?: () => number;
}

export interface LoadShedStats {
  /** Requests let through. */
  served: number;
  /** Requests answered 503. */
  shed: number;
  /** Mode `'threshold'`: shedding right now (between crossing `threshold` and falling below `resumeBelow`). */
  shedding: boolean;
  /** Times shedding switched on (mode `'threshold'`). */
  shedEvents: number;
  /** Last successful reading (a reading that threw leaves it as it was). */
  pressure: number;
  /** Readings that threw; each of those requests was served (fail-open). */
  readErrors: number;
  /** Message of the last reading that threw (at most 200 characters), or undefined if none has. */
  lastReadError: string | undefined;
  mode: ShedMode;
  threshold: number;
  resumeBelow: number;
}

/** The parts of a Node `ServerResponse` (or Express `res`) a shed response uses. */
export interface NodeResponseLike {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/** The parts of a Fastify `reply` a shed response uses. */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload: string): unknown;
}

/** A fetch-style handler: Hono's `app.fetch`, Bun, Deno, Cloudflare Workers. */
export type FetchHandler<Args extends unknown[]> = (request: Request, ...args: Args) => Response | Promise<Response>;

const modes: readonly ShedMode[] = ['threshold', 'probabilistic'];

/**
 * Load shedding for HTTP servers: answers `503 Service Unavailable` with
 * `Retry-After` and `{"error":"overloaded","retryAfter":N}` while a pressure
 * reading is too high, before the request reaches your handler.
 *
 * When: the pressure is read once per request, as it enters the adapter,
 * and the decision is made right then (see {@link LoadShedOptions.mode}).
 * Shed responses are written without touching the request body; Node discards it.
 *
 * Framework adapters are properties created once, so mounting them allocates nothing per request:
 * - `shed.node(handler)` wraps a `node:http` request listener;
 * - `shed.express` is Express/Connect middleware `(req, res, next)`;
 * - `shed.fastify` is a Fastify `onRequest` hook;
 * - `shed.hono` is Hono middleware `(c, next)`;
 * - `shed.fetch(handler)` wraps a fetch-style `(request) => Response` handler.
 *
 * @example
 * import { eventLoopStall } from 'sluice';
 * import { loadShed } from 'sluice/http';
 * const shed = loadShed({ pressure: eventLoopStall({ thresholdMs: 10 }) });
 * http.createServer(shed.node((req, res) => res.end('ok'))).listen(3000);
 * // or: expressApp.use(shed.express)
 * // or: fastify.addHook('onRequest', shed.fastify)
 * // or: honoApp.use(shed.hono)
 * // or: serve({ fetch: shed.fetch(honoApp.fetch) })
 */
export class LoadShedder {
  readonly mode: ShedMode;
  readonly threshold: number;
  readonly resumeBelow: number;
  readonly retryAfterSeconds: number;
  /** The JSON body of a shed response. */
  readonly body: string;

  private readonly pressure: Pressure;
  private readonly random: () => number;
  private readonly headers: Record<string, string>;
  private shedding = false;
  private servedCount = 0;
  private shedCount = 0;
  private shedEvents = 0;
  private lastPressure = 0;
  private readErrors = 0;
  private lastReadError: string | undefined;

  constructor(options: LoadShedOptions) {
    const o = v.optionsObject(options, 'loadShed', {
      pressure: true, threshold: true, mode: true, resumeBelow: true, retryAfterSeconds: true, random: true,
    });
    this.pressure = resolvePressure('pressure', o.pressure);
    this.threshold = v.number('threshold', o.threshold, 1, { min: 0, minExclusive: true });
    this.mode = v.oneOf('mode', o.mode, modes, 'threshold');
    if (o.resumeBelow !== undefined && this.mode !== 'threshold') {
      throw new v.InvalidOptionError('resumeBelow', o.resumeBelow, `no value unless mode is 'threshold'`, `mode is '${this.mode}'`);
    }
    this.resumeBelow = v.number('resumeBelow', o.resumeBelow, 0.9 * this.threshold, { min: 0, minExclusive: true, max: this.threshold });
    this.retryAfterSeconds = v.integer('retryAfterSeconds', o.retryAfterSeconds, 1, { min: 0 });
    this.random = v.optionalFunction<() => number>('random', o.random) ?? Math.random;
    this.body = JSON.stringify({ error: 'overloaded', retryAfter: this.retryAfterSeconds });
    this.headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(this.body)),
      'retry-after': String(this.retryAfterSeconds),
    };
  }

  /**
   * Decides one request, for frameworks without an adapter: reads the pressure and
   * returns true to serve it (counted as served) or false to shed it (counted as
   * shed; send `503`, `Retry-After: retryAfterSeconds` and `body` yourself).
   * @example
   * koa.use((ctx, next) => (shed.admit() ? next() : ((ctx.status = 503), (ctx.body = shed.body))));
   */
  admit(): boolean {
    let reading: number;
    try {
      reading = this.pressure.read();
      this.lastPressure = reading;
    } catch (error) {
      // Fail open, like a NaN reading: see LoadShedOptions.pressure.
      this.readErrors++;
      this.lastReadError = briefMessage(error);
      reading = NaN;
    }
    if (this.shouldShed(reading)) {
      this.shedCount++;
      return false;
    }
    this.servedCount++;
    return true;
  }

  /**
   * Wraps a `node:http` request listener: shed requests get the 503 and never reach `handler`.
   * @example
   * http.createServer(shed.node((req, res) => res.end('ok')));
   */
  node<Req = IncomingMessage, Res extends NodeResponseLike = ServerResponse>(handler: (req: Req, res: Res) => unknown): (req: Req, res: Res) => unknown {
    if (typeof handler !== 'function') throw new InvalidArgumentError(`node(handler): handler must be a function (req, res) => void, got ${typeof handler}`);
    return (req, res) => {
      if (this.admit()) return handler(req, res);
      res.writeHead(503, this.headers);
      res.end(this.body);
      return undefined;
    };
  }

  /**
   * Express / Connect middleware. Mount it first so shed requests cost as little as possible.
   * @example
   * app.use(shed.express);
   */
  readonly express = (_req: unknown, res: NodeResponseLike, next: (error?: unknown) => void): void => {
    if (this.admit()) {
      next();
      return;
    }
    res.writeHead(503, this.headers);
    res.end(this.body);
  };

  /**
   * Fastify `onRequest` hook: shed requests are answered before routing and body parsing.
   * @example
   * fastify.addHook('onRequest', shed.fastify);
   */
  readonly fastify = (_request: unknown, reply: FastifyReplyLike, done: (error?: Error) => void): void => {
    if (this.admit()) {
      done();
      return;
    }
    reply.code(503).headers(this.headers).send(this.body);
  };

  /**
   * Hono middleware: returns the 503 `Response` instead of calling `next()`.
   *
   * Abort safety: takes no signal. The decision is made synchronously on entry;
   * once admitted, the returned promise is `next()`'s, so a request the client
   * abandons behaves exactly as it would without this middleware.
   * @example
   * app.use(shed.hono);
   */
  readonly hono = (_c: unknown, next: () => Promise<void>): Promise<Response | void> => {
    return this.admit() ? next() : Promise.resolve(this.response());
  };

  /**
   * Wraps a fetch-style handler (Hono's `app.fetch`, Bun, Deno, Workers); extra arguments pass through.
   *
   * Abort safety: takes no signal of its own. The decision is made synchronously
   * before `handler` runs; an admitted request's `request.signal` reaches `handler` untouched.
   * @example
   * serve({ fetch: shed.fetch(app.fetch), port: 3000 }); // @hono/node-server
   */
  fetch<Args extends unknown[]>(handler: FetchHandler<Args>): FetchHandler<Args> {
    if (typeof handler !== 'function') throw new InvalidArgumentError(`fetch(handler): handler must be a function (request) => Response, got ${typeof handler}`);
    return (request, ...args) => (this.admit() ? handler(request, ...args) : this.response());
  }

  /** A fresh 503 `Response` (a body can be read only once, so each shed request gets its own). */
  response(): Response {
    return new Response(this.body, { status: 503, headers: this.headers });
  }

  stats(): LoadShedStats {
    return {
      served: this.servedCount,
      shed: this.shedCount,
      shedding: this.shedding,
      shedEvents: this.shedEvents,
      pressure: this.lastPressure,
      mode: this.mode,
      threshold: this.threshold,
      resumeBelow: this.resumeBelow,
      readErrors: this.readErrors,
      lastReadError: this.lastReadError,
    };
  }

  private shouldShed(reading: number): boolean {
    if (this.mode === 'probabilistic') {
      if (!(reading > this.threshold)) return false;
      const chance = (reading - this.threshold) / this.threshold;
      return chance >= 1 || this.random() < chance;
    }
    if (this.shedding) {
      if (reading >= this.resumeBelow) return true;
      this.shedding = false; // NaN lands here too: a broken source must not keep the service down
      return false;
    }
    if (reading > this.threshold) {
      this.shedding = true;
      this.shedEvents++;
      return true;
    }
    return false;
  }
}

/**
 * Creates a {@link LoadShedder}. See {@link LoadShedOptions} for the options.
 * @throws InvalidOptionError (code `ERR_SLUICE_INVALID_OPTION`) naming the bad option.
 * @example
 * const shed = loadShed({ pressure: eventLoopDelay({ thresholdMs: 100 }), retryAfterSeconds: 2 });
 * app.use(shed.express);
 */
export function loadShed(options: LoadShedOptions): LoadShedder {
  return new LoadShedder(options);
}
