import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../../core/errors/index.js';
import * as v from '../../internal/validate.js';
import type { Pressure, PressureLike } from '../../core/pressure/index.js';
import { resolvePressure } from '../../internal/pressure.js';
import { describe } from '../../internal/describe.js';
import { briefMessage } from './shared.js';

/** How {@link LoadShedder} turns a pressure reading into a decision. */
export type ShedMode = 'threshold' | 'probabilistic';

export interface LoadShedOptions<Req = IncomingMessage> {
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
   * Not with `thresholds`, which gives each priority level its own.
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
   * shedding and serving. Must be > 0 and <= `threshold`. Not with
   * `thresholds`: each level then resumes below 0.9 × its own threshold.
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
  /**
   * Shedding by criticality: names each request's priority level, one of the
   * keys of `thresholds`. Called once per request with what the framework
   * adapter gets: the `node:http` / Express `req` (the default type), the
   * Fastify `request`, the Hono context `c`, the fetch `Request`, or what you
   * pass to `admit(request)`; type it with `loadShed<Request>({ ... })`.
   *
   * A level that is not a key of `thresholds` (a typo, a header a client
   * made up, `undefined`), or a function that throws, is runtime input, not a
   * bug to answer with a 500: the request is treated as the lowest level (the
   * one with the lowest threshold), counted in `stats().unknownLevels` and
   * described in `stats().lastUnknownLevel`.
   * @default undefined (every request is alike, judged against `threshold`)
   * @example loadShed({ pressure, priority: (req) => (req.url?.startsWith('/checkout') ? 'critical' : 'batch'), thresholds: { batch: 0.8, critical: 1.5 } })
   */
  priority?: (request: Req) => string | undefined;
  /**
   * With `priority`: each level's threshold on the same pressure reading. As
   * the pressure rises, the levels with the lowest thresholds are shed first
   * and the most critical last; each level has its own hysteresis (it sheds
   * above its threshold until a reading falls below 0.9 × it) or, in mode
   * `'probabilistic'`, its own ramp from its threshold to twice it.
   * Thresholds must be finite and > 0; at least one level.
   * @default undefined (required with `priority`)
   * @example loadShed({ pressure, priority: (req) => String(req.headers['x-priority'] ?? 'normal'), thresholds: { batch: 0.8, normal: 1, critical: 1.5 } })
   */
  thresholds?: Record<string, number>;
}

/** One priority level of a shedder built with `thresholds`, as `stats()` reports it. */
export interface LoadShedLevelStats {
  threshold: number;
  /** Mode `'threshold'`: once shedding, this level is served again below this reading (0.9 × threshold). */
  resumeBelow: number;
  /** Requests of this level let through (requests of an unknown level count under the lowest level). */
  served: number;
  /** Requests of this level answered 503. */
  shed: number;
  /** Mode `'threshold'`: this level is being shed right now. */
  shedding: boolean;
  /** Times shedding of this level switched on (mode `'threshold'`). */
  shedEvents: number;
}

export interface LoadShedStats {
  /** Requests let through. */
  served: number;
  /** Requests answered 503. */
  shed: number;
  /**
   * Mode `'threshold'`: shedding right now (between crossing `threshold` and
   * falling below `resumeBelow`); with `thresholds`, any level is.
   */
  shedding: boolean;
  /** Times shedding switched on (mode `'threshold'`); with `thresholds`, summed over the levels. */
  shedEvents: number;
  /** Last successful reading (a reading that threw leaves it as it was). */
  pressure: number;
  /** Readings that threw; each of those requests was served (fail-open). */
  readErrors: number;
  /** Message of the last reading that threw (at most 200 characters), or undefined if none has. */
  lastReadError: string | undefined;
  mode: ShedMode;
  /** With `thresholds`: the lowest level's threshold (where shedding starts). */
  threshold: number;
  /** With `thresholds`: the lowest level's. */
  resumeBelow: number;
  /** Only with `thresholds`: each level, in the order given. */
  levels?: Record<string, LoadShedLevelStats>;
  /** Only with `thresholds`: requests whose level was not one of them (or whose `priority` threw), treated as the lowest. */
  unknownLevels?: number;
  /** Only with `thresholds`: the last unknown level seen, or `threw <error>` (at most 200 characters); undefined if none. */
  lastUnknownLevel?: string | undefined;
}

/** A class of requests with its own threshold and hysteresis; a shedder without `thresholds` has one. */
class ShedLevel {
  shedding = false;
  served = 0;
  shed = 0;
  shedEvents = 0;
  constructor(
    readonly threshold: number,
    readonly resumeBelow: number,
  ) {}

  stats(): LoadShedLevelStats {
    return { threshold: this.threshold, resumeBelow: this.resumeBelow, served: this.served, shed: this.shed, shedding: this.shedding, shedEvents: this.shedEvents };
  }
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
export class LoadShedder<Req = IncomingMessage> {
  readonly mode: ShedMode;
  readonly threshold: number;
  readonly resumeBelow: number;
  readonly retryAfterSeconds: number;
  /** The JSON body of a shed response. */
  readonly body: string;

  private readonly pressure: Pressure;
  private readonly random: () => number;
  private readonly headers: Record<string, string>;
  /** Without `thresholds`, the only level; with them, the lowest. */
  private readonly base: ShedLevel;
  private readonly priority: ((request: Req) => string | undefined) | undefined;
  private readonly levels: Map<string, ShedLevel> | undefined;
  private unknownLevels = 0;
  private lastUnknownLevel: string | undefined;
  private servedCount = 0;
  private shedCount = 0;
  private lastPressure = 0;
  private readErrors = 0;
  private lastReadError: string | undefined;

  constructor(options: LoadShedOptions<Req>) {
    const o = v.optionsObject(options, 'loadShed', {
      pressure: true, threshold: true, mode: true, resumeBelow: true, retryAfterSeconds: true, random: true, priority: true, thresholds: true,
    });
    this.pressure = resolvePressure('pressure', o.pressure);
    this.mode = v.oneOf('mode', o.mode, modes, 'threshold');
    if (o.resumeBelow !== undefined && this.mode !== 'threshold') {
      throw new v.InvalidOptionError('resumeBelow', o.resumeBelow, `no value unless mode is 'threshold'`, `mode is '${this.mode}'`);
    }
    this.priority = v.optionalFunction<(request: Req) => string | undefined>('priority', o.priority);
    if (o.thresholds !== undefined || this.priority !== undefined) {
      if (this.priority === undefined) throw new v.InvalidOptionError('priority', undefined, 'a function (request) => level name, to go with thresholds');
      for (const field of ['threshold', 'resumeBelow'] as const) {
        if (o[field] !== undefined) throw new v.InvalidOptionError(field, o[field], 'no value with thresholds (each level has its own)');
      }
      this.levels = resolveLevels(o.thresholds);
      let lowest: ShedLevel | undefined;
      for (const level of this.levels.values()) if (lowest === undefined || level.threshold < lowest.threshold) lowest = level;
      this.base = lowest!;
      this.threshold = this.base.threshold;
      this.resumeBelow = this.base.resumeBelow;
    } else {
      this.threshold = v.number('threshold', o.threshold, 1, { min: 0, minExclusive: true });
      this.resumeBelow = v.number('resumeBelow', o.resumeBelow, 0.9 * this.threshold, { min: 0, minExclusive: true, max: this.threshold });
      this.base = new ShedLevel(this.threshold, this.resumeBelow);
    }
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
   * With `priority`, pass the request: it is what `priority` is called with.
   * @example
   * koa.use((ctx, next) => (shed.admit() ? next() : ((ctx.status = 503), (ctx.body = shed.body))));
   */
  admit(request?: Req): boolean {
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
    const level = this.levels === undefined ? this.base : this.levelOf(request as Req);
    if (this.shouldShed(reading, level)) {
      this.shedCount++;
      level.shed++;
      return false;
    }
    this.servedCount++;
    level.served++;
    return true;
  }

  /** The request's level; an unknown one (or a `priority` that throws) is counted and treated as the lowest. */
  private levelOf(request: Req): ShedLevel {
    let name: unknown;
    try {
      name = this.priority!(request);
    } catch (error) {
      this.unknownLevels++;
      this.lastUnknownLevel = briefMessage(`threw ${briefMessage(error)}`);
      return this.base;
    }
    const level = typeof name === 'string' ? this.levels!.get(name) : undefined;
    if (level !== undefined) return level;
    this.unknownLevels++;
    this.lastUnknownLevel = briefMessage(typeof name === 'string' ? JSON.stringify(name) : describe(name));
    return this.base;
  }

  /**
   * Wraps a `node:http` request listener: shed requests get the 503 and never reach `handler`.
   * @example
   * http.createServer(shed.node((req, res) => res.end('ok')));
   */
  node<NodeReq = IncomingMessage, Res extends NodeResponseLike = ServerResponse>(handler: (req: NodeReq, res: Res) => unknown): (req: NodeReq, res: Res) => unknown {
    if (typeof handler !== 'function') throw new InvalidArgumentError(`node(handler): handler must be a function (req, res) => void, got ${typeof handler}`);
    return (req, res) => {
      if (this.admit(req as unknown as Req)) return handler(req, res);
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
  readonly express = (req: unknown, res: NodeResponseLike, next: (error?: unknown) => void): void => {
    if (this.admit(req as Req)) {
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
  readonly fastify = (request: unknown, reply: FastifyReplyLike, done: (error?: Error) => void): void => {
    if (this.admit(request as Req)) {
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
  readonly hono = (c: unknown, next: () => Promise<void>): Promise<Response | void> => {
    return this.admit(c as Req) ? next() : Promise.resolve(this.response());
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
    return (request, ...args) => (this.admit(request as unknown as Req) ? handler(request, ...args) : this.response());
  }

  /** A fresh 503 `Response` (a body can be read only once, so each shed request gets its own). */
  response(): Response {
    return new Response(this.body, { status: 503, headers: this.headers });
  }

  stats(): LoadShedStats {
    const stats: LoadShedStats = {
      served: this.servedCount,
      shed: this.shedCount,
      shedding: this.base.shedding,
      shedEvents: this.base.shedEvents,
      pressure: this.lastPressure,
      mode: this.mode,
      threshold: this.threshold,
      resumeBelow: this.resumeBelow,
      readErrors: this.readErrors,
      lastReadError: this.lastReadError,
    };
    if (this.levels === undefined) return stats;
    const levels: Record<string, LoadShedLevelStats> = {};
    let shedEvents = 0;
    for (const [name, level] of this.levels) {
      levels[name] = level.stats();
      shedEvents += level.shedEvents;
      if (level.shedding) stats.shedding = true;
    }
    stats.shedEvents = shedEvents;
    stats.levels = levels;
    stats.unknownLevels = this.unknownLevels;
    stats.lastUnknownLevel = this.lastUnknownLevel;
    return stats;
  }

  private shouldShed(reading: number, level: ShedLevel): boolean {
    const threshold = level.threshold;
    if (this.mode === 'probabilistic') {
      if (!(reading > threshold)) return false;
      const chance = (reading - threshold) / threshold;
      return chance >= 1 || this.random() < chance;
    }
    if (level.shedding) {
      if (reading >= level.resumeBelow) return true;
      level.shedding = false; // NaN lands here too: a broken source must not keep the service down
      return false;
    }
    if (reading > threshold) {
      level.shedding = true;
      level.shedEvents++;
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
export function loadShed<Req = IncomingMessage>(options: LoadShedOptions<Req>): LoadShedder<Req> {
  return new LoadShedder<Req>(options);
}

/** `thresholds`: a non-empty object of level names to finite thresholds > 0. */
function resolveLevels(value: unknown): Map<string, ShedLevel> {
  const example = 'an object of priority levels to thresholds, e.g. { batch: 0.8, normal: 1, critical: 1.5 }';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new v.InvalidOptionError('thresholds', value, example, 'required with priority');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new v.InvalidOptionError('thresholds', value, example, 'it has no levels');
  const levels = new Map<string, ShedLevel>();
  for (const [name, threshold] of entries) {
    const checked = v.requiredNumber(`thresholds.${name}`, threshold, { min: 0, minExclusive: true });
    levels.set(name, new ShedLevel(checked, 0.9 * checked));
  }
  return levels;
}
