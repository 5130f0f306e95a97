import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TimerHandle } from '../../core/clock/index.js';
import { WaiterList } from '../../internal/waiter-list.js';
import { checkSources } from '../../internal/stats-sources.js';
import { assets } from './assets.js';
import { resolveDashboardOptions, type DashboardOptions, type DashboardSource, type DashboardSources, type ResolvedDashboardOptions } from './options.js';
import { renderPage } from './page.js';
import { DashboardSampler, type DashboardSnapshot } from './snapshot.js';
import { FetchSseClient, NodeSseClient, type SseClient } from './sse.js';

export interface DashboardStats {
  /** Pages streaming `/events` now. */
  clients: number;
  /** Snapshots taken. */
  snapshots: number;
  /** Snapshot messages written to pages. */
  sent: number;
  /** Snapshot messages skipped because a page's connection was full. */
  skipped: number;
  /** Requests handled (any path). */
  requests: number;
  /** Requests for a path the dashboard does not serve (answered 404, or passed to `next`). */
  notFound: number;
  /**
   * Streams ended to make room for a new page when `maxClients` were streaming:
   * the stalest one goes (see {@link DashboardOptions.maxClients}).
   */
  evicted: number;
  /** Streams dropped because their connection accepted nothing for `clientStallTimeoutMs`. */
  stalled: number;
  closed: boolean;
}

/** The parts of a Fastify `request` the route handler uses. */
export interface DashboardFastifyRequest {
  raw: IncomingMessage;
}

/** The parts of a Fastify `reply` the route handler uses. */
export interface DashboardFastifyReply {
  raw: ServerResponse;
  hijack(): unknown;
}

/** The parts of a Hono context the handler uses. */
export interface DashboardHonoContext {
  req: { raw: Request };
}

type Route = { kind: 'page' } | { kind: 'redirect' } | { kind: 'events' } | { kind: 'snapshot' } | { kind: 'asset'; name: string } | { kind: 'none' };

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const securityHeaders = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};
const pageHeaders = {
  ...securityHeaders,
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'",
};
const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no', // nginx would otherwise hold the stream back
};

/**
 * The live dashboard: one page per process showing every component's buffer,
 * rates, drops, latency, limits, state and alerts, updated over Server-Sent
 * Events. Serves everything itself (page, script, uPlot); nothing is fetched
 * from the internet.
 *
 * When: the first snapshot is taken at construction, then one every
 * `intervalMs` on an unref'd timer (it does not keep the process alive), and
 * each is sent to every page connected to `/events` right away. A page that
 * connects first receives the last `historySize` snapshots.
 *
 * Callable as a `node:http` request listener or Connect/Express middleware;
 * `fastify`, `fetch` and `hono` serve the other frameworks.
 */
export class DashboardServer {
  private readonly options: ResolvedDashboardOptions;
  private readonly sampler: DashboardSampler;
  private readonly clients = new WaiterList<SseClient>();
  private readonly history: string[] = [];
  private historyNext = 0;
  private readonly page: string;
  private readonly unsubscribe: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private nextAt: number;
  private latest: DashboardSnapshot | undefined;
  private counts = { snapshots: 0, sent: 0, skipped: 0, requests: 0, notFound: 0, evicted: 0, stalled: 0 };
  private isClosed = false;

  constructor(components: DashboardSources, options?: DashboardOptions) {
    const sources = checkSources(components, 'dashboardHandler()') as [string, DashboardSource][];
    this.options = resolveDashboardOptions(options);
    this.sampler = new DashboardSampler(sources, this.options);
    this.unsubscribe = this.options.alerts?.onAlert(this.sampler.onAlert);
    this.page = renderPage({ title: this.options.title, subtitle: this.options.subtitle, intervalMs: this.options.intervalMs, historySize: this.options.historySize });
    this.nextAt = this.options.clock.now();
    this.tick();
  }

  private readonly now = (): number => this.options.clock.now();

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.isClosed) return;
    this.broadcast(this.sampler.sample());
    const clock = this.options.clock;
    // Scheduled from the planned time, not the actual one, so the period does not drift.
    this.nextAt = Math.max(this.nextAt + this.options.intervalMs, clock.now());
    this.timer = clock.schedule(this.nextAt - clock.now(), this.tick, { unref: true });
  };

  private broadcast(snapshot: DashboardSnapshot): void {
    this.latest = snapshot;
    this.counts.snapshots++;
    const json = JSON.stringify(snapshot);
    if (this.history.length < this.options.historySize) this.history.push(json);
    else this.history[this.historyNext] = json;
    this.historyNext = (this.historyNext + 1) % this.options.historySize;
    const chunk = `data: ${json}\n\n`;
    const now = this.options.clock.now();
    for (let c = this.clients.head, next: SseClient | undefined; c; c = next) {
      next = c.next;
      if (c.send(chunk)) this.counts.sent++;
      else this.counts.skipped++;
      // A page that has taken nothing for this long is not reading (a stalled
      // or idle client): its slot is worth more to a page that will.
      if (now - c.stalledSince >= this.options.clientStallTimeoutMs) {
        this.clients.remove(c);
        c.destroy();
        this.counts.stalled++;
      }
    }
  }

  /**
   * Frees a slot for a new page: the stalest stream goes. That is the one
   * stalled longest, else the one with the most bytes waiting, else the one
   * connected longest. A page that is still reading is told why (event
   * `evicted`) so it does not reconnect and take the slot back.
   */
  private evictStalest(): void {
    let victim: SseClient | undefined;
    for (let c = this.clients.head; c; c = c.next) {
      if (victim === undefined || stalerThan(c, victim)) victim = c;
    }
    if (victim === undefined) return;
    this.clients.remove(victim);
    this.counts.evicted++;
    if (Number.isNaN(victim.stalledSince) && victim.pendingBytes() === 0) {
      victim.send('event: evicted\ndata: "another viewer took this slot (maxClients)"\n\n');
      victim.end();
    } else {
      victim.destroy();
    }
  }

  /** The snapshots kept, oldest first, as one JSON array. */
  private historyJson(): string {
    const h = this.history;
    if (h.length < this.options.historySize) return `[${h.join(',')}]`;
    return `[${[...h.slice(this.historyNext), ...h.slice(0, this.historyNext)].join(',')}]`;
  }

  private route(url: string | undefined): Route {
    const base = this.options.basePath;
    let path = url ?? '/';
    const q = path.search(/[?#]/);
    if (q >= 0) path = path.slice(0, q);
    if (path === base) return { kind: 'page' };
    if (base !== '/' && path === base.slice(0, -1)) return { kind: 'redirect' };
    if (!path.startsWith(base)) return { kind: 'none' };
    const rest = path.slice(base.length);
    if (rest === 'events') return { kind: 'events' };
    if (rest === 'snapshot.json') return { kind: 'snapshot' };
    if (rest.startsWith('assets/') && Object.hasOwn(assets, rest.slice(7))) return { kind: 'asset', name: rest.slice(7) };
    return { kind: 'none' };
  }

  /** Everything but the event stream, as a status, headers and body. */
  private async reply(route: Route, url: string): Promise<Reply> {
    switch (route.kind) {
      case 'page':
        return { status: 200, headers: pageHeaders, body: this.page };
      case 'redirect': {
        const q = url.search(/[?#]/);
        return { status: 308, headers: { location: this.options.basePath + (q >= 0 ? url.slice(q) : '') }, body: '' };
      }
      case 'snapshot':
        return { status: 200, headers: { ...securityHeaders, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(this.latest ?? null) };
      case 'asset': {
        const asset = assets[route.name]!;
        try {
          return { status: 200, headers: { ...securityHeaders, 'content-type': asset.type }, body: await asset.body() };
        } catch (error) {
          return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `dashboard asset ${route.name} unavailable: ${(error as Error).message}\n` };
        }
      }
      default:
        return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Not found\n' };
    }
  }

  /** The opening of an event stream: reconnect delay, then the history. */
  private streamPreamble(): string {
    return `retry: 2000\n\nevent: history\ndata: ${this.historyJson()}\n\n`;
  }

  /** Status for an `/events` request that cannot stream, or undefined when it can. */
  private refuseEvents(method: string | undefined): number | undefined {
    if (method !== 'GET') return 405;
    // 204 tells an EventSource to stop reconnecting: the dashboard is gone for good.
    if (this.isClosed) return 204;
    if (this.clients.size >= this.options.maxClients) this.evictStalest();
    return undefined;
  }

  /**
   * `node:http` request listener and Connect/Express middleware. Paths outside
   * the dashboard go to `next` when given, else get `404`.
   * @example http.createServer(dashboard).listen(8080)
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void {
    this.counts.requests++;
    const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const route = this.route(url);
    if (route.kind === 'none') {
      this.counts.notFound++;
      if (next) {
        next();
        return;
      }
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (route.kind === 'events') {
      this.streamToNode(req, res);
      return;
    }
    void this.reply(route, url).then(({ status, headers, body }) => {
      if (res.destroyed) return;
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }

  private streamToNode(req: IncomingMessage, res: ServerResponse): void {
    const refused = this.refuseEvents(req.method);
    if (refused !== undefined) {
      res.writeHead(refused, refused === 405 ? { allow: 'GET' } : {}).end();
      return;
    }
    const client = new NodeSseClient(res, this.now);
    res.writeHead(200, sseHeaders);
    req.socket.setNoDelay(true);
    client.send(this.streamPreamble());
    this.clients.push(client);
    res.on('close', () => this.clients.remove(client));
  }

  /**
   * Fetch-style handler (Hono's `c.req.raw`, Bun, Deno, `@hono/node-server`).
   * The event stream ends when the client goes away (`request.signal`) or on `close()`.
   * Paths outside the dashboard get `404`.
   *
   * Abort safety: when `request.signal` fires, the stream's client is removed
   * at once and nothing more is enqueued; the returned promise has already settled.
   * @example app.all('/dashboard/*', (c) => dashboard.fetch(c.req.raw))
   */
  async fetch(request: Request): Promise<Response> {
    this.counts.requests++;
    const url = new URL(request.url);
    const route = this.route(url.pathname + url.search);
    if (route.kind === 'none') this.counts.notFound++;
    else if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } });
    if (route.kind === 'events') {
      const refused = this.refuseEvents(request.method);
      if (refused !== undefined) return new Response(null, { status: refused });
      const client = new FetchSseClient((c) => this.clients.remove(c), this.now);
      client.send(this.streamPreamble());
      this.clients.push(client);
      request.signal?.addEventListener(
        'abort',
        () => {
          this.clients.remove(client);
          client.end();
        },
        { once: true },
      );
      return new Response(client.stream, { status: 200, headers: sseHeaders });
    }
    const { status, headers, body } = await this.reply(route, url.pathname + url.search);
    return new Response(request.method === 'HEAD' || status === 308 ? null : body, { status, headers });
  }

  /** The latest snapshot, as the pages received it. */
  snapshot(): DashboardSnapshot | undefined {
    return this.latest;
  }

  /**
   * Stops the snapshot timer, ends every event stream and unsubscribes from the
   * alerts and the components' knob events. Pages and assets are still served; `/events` then answers `204`,
   * which stops browsers from reconnecting. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) this.options.clock.cancel(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.sampler.close();
    for (let c = this.clients.shift(); c; c = this.clients.shift()) c.end();
  }

  stats(): DashboardStats {
    return { clients: this.clients.size, ...this.counts, closed: this.isClosed };
  }
}

/** True when `a` should be evicted before `b`; the list is in connection order, so ties keep the older one first. */
function stalerThan(a: SseClient, b: SseClient): boolean {
  const aStalled = !Number.isNaN(a.stalledSince);
  const bStalled = !Number.isNaN(b.stalledSince);
  if (aStalled !== bStalled) return aStalled;
  if (aStalled) return a.stalledSince < b.stalledSince;
  return a.pendingBytes() > b.pendingBytes();
}

/** What {@link dashboardHandler} returns: a request listener with the dashboard's methods and adapters. */
export interface DashboardHandler {
  /** `node:http` request listener; with `next` (Connect/Express), paths outside the dashboard go to `next`. */
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Express / Connect middleware: `app.use(dashboard.express)`. */
  readonly express: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  /**
   * Fastify route handler: takes the raw request over (`reply.hijack()`), so it
   * can stream. `fastify.get('/dashboard/*', dashboard.fastify)` with `basePath: '/dashboard/'`
   * (register `'/dashboard'` too, for the redirect).
   */
  readonly fastify: (request: DashboardFastifyRequest, reply: DashboardFastifyReply) => void;
  /**
   * Fetch-style handler; see {@link DashboardServer.fetch}.
   *
   * Abort safety: `request.signal` ends the event stream and removes its client at once.
   */
  readonly fetch: (request: Request) => Promise<Response>;
  /**
   * Hono handler: `app.get('/dashboard/*', dashboard.hono)`.
   *
   * Abort safety: as {@link DashboardServer.fetch}, through `c.req.raw.signal`.
   */
  readonly hono: (c: DashboardHonoContext) => Promise<Response>;
  /** The latest snapshot. */
  snapshot(): DashboardSnapshot | undefined;
  /** See {@link DashboardServer.close}. */
  close(): void;
  stats(): DashboardStats;
  /** The server behind the handler. */
  readonly server: DashboardServer;
}

/**
 * Creates the live dashboard for `components` and returns its request handler.
 * See {@link DashboardOptions} for the options and {@link DashboardServer} for when things happen.
 * @throws InvalidArgumentError when a component has no `stats()`; InvalidOptionError
 * (code `ERR_SLUICE_INVALID_OPTION`) naming a bad option.
 * @example
 * import { dashboardHandler } from 'sluice/dashboard';
 * const dashboard = dashboardHandler({ ingest: channel, writer }, { basePath: '/dashboard/', alerts: monitor });
 * http.createServer(dashboard).listen(8080, '127.0.0.1'); // open http://127.0.0.1:8080/dashboard/
 * // or: app.use(dashboard.express)
 * // or: fastify.get('/dashboard/*', dashboard.fastify)
 * // or: honoApp.get('/dashboard/*', dashboard.hono)
 * process.on('SIGTERM', () => dashboard.close());
 */
export function dashboardHandler(components: DashboardSources, options?: DashboardOptions): DashboardHandler {
  const server = new DashboardServer(components, options);
  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => server.handle(req, res, next)) as DashboardHandler;
  return Object.assign(handler, {
    express: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => server.handle(req, res, next),
    fastify: (request: DashboardFastifyRequest, reply: DashboardFastifyReply) => {
      reply.hijack();
      server.handle(request.raw, reply.raw);
    },
    fetch: (request: Request) => server.fetch(request),
    hono: (c: DashboardHonoContext) => server.fetch(c.req.raw),
    snapshot: () => server.snapshot(),
    close: () => server.close(),
    stats: () => server.stats(),
    server,
  });
}
