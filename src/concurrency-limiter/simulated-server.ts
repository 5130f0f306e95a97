import type { Clock, TimerHandle } from '../clock/index.js';
import { RingBuffer } from '../internal/ring-buffer.js';

// A downstream service in virtual time, for testing concurrency limiters
// against something that behaves like a real overloaded server. Not exported
// from the package: tests import it from this file.

/** Raised to the caller when its request took longer than `clientTimeoutMs`. */
export class SimulatedTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`simulated request timed out after ${timeoutMs} ms`);
    this.name = 'SimulatedTimeoutError';
  }
}

export interface SimulatedServerOptions {
  clock: Clock;
  /** Requests served at once. Later ones queue FIFO. */
  slots: number;
  /** Time one request occupies a slot. */
  serviceMs: number;
  /**
   * The caller gives up after this long (queue + service) and its call rejects
   * with SimulatedTimeoutError. The server does not know: an abandoned request
   * still occupies its place in the queue and its slot, as on a real server.
   */
  clientTimeoutMs: number;
  /**
   * Each service time is drawn uniformly from serviceMs × [1 − jitter, 1 + jitter]
   * by a seeded generator, so runs stay deterministic. 0 makes every request
   * take exactly serviceMs, which keeps requests in lockstep batches.
   * @default 0
   */
  jitter?: number;
  /** Seed of the jitter generator. @default 1 */
  seed?: number;
}

interface Request {
  resolve(): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  abandoned: boolean;
}

export interface SimulatedServerStats {
  /** Requests whose caller got an answer in time. */
  completed: number;
  /** Requests whose caller gave up. */
  timedOut: number;
  /** Requests served after their caller had given up: wasted capacity. */
  wasted: number;
  /** Requests in a slot right now. */
  busy: number;
  /** Requests waiting for a slot right now. */
  queued: number;
}

/**
 * A server with `slots` workers taking `serviceMs` per request, FIFO queue in
 * front, and callers that time out. Capacity is `slots / serviceMs` requests
 * per ms; change `slots` at any time to model losing or gaining capacity.
 */
export class SimulatedServer {
  private readonly clock: Clock;
  private serviceTime: number;
  private readonly clientTimeoutMs: number;
  private readonly jitter: number;
  private seed: number;
  private readonly queue = new RingBuffer<Request>();
  private slotCount: number;
  private busy = 0;
  private completedCount = 0;
  private timedOutCount = 0;
  private wastedCount = 0;

  constructor(options: SimulatedServerOptions) {
    this.clock = options.clock;
    this.slotCount = options.slots;
    this.serviceTime = options.serviceMs;
    this.clientTimeoutMs = options.clientTimeoutMs;
    this.jitter = options.jitter ?? 0;
    this.seed = (options.seed ?? 1) >>> 0 || 1;
  }

  get slots(): number {
    return this.slotCount;
  }

  /** Changes capacity. Requests already in a slot finish; growth starts queued ones at once. */
  set slots(n: number) {
    this.slotCount = n;
    this.startQueued();
  }

  get serviceMs(): number {
    return this.serviceTime;
  }

  /** Changes the time per request from the next request served on. */
  set serviceMs(ms: number) {
    this.serviceTime = ms;
  }

  /**
   * One request: resolves when served in time, rejects with SimulatedTimeoutError otherwise.
   *
   * Abort safety: takes no signal; the caller's own timeout (`clientTimeoutMs`) is the only way out.
   */
  call(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const request: Request = { resolve, reject, timer: undefined, abandoned: false };
      request.timer = this.clock.schedule(this.clientTimeoutMs, () => {
        request.timer = undefined;
        request.abandoned = true;
        this.timedOutCount++;
        reject(new SimulatedTimeoutError(this.clientTimeoutMs));
      });
      if (this.busy < this.slotCount) this.serve(request);
      else this.queue.push(request);
    });
  }

  stats(): SimulatedServerStats {
    return {
      completed: this.completedCount,
      timedOut: this.timedOutCount,
      wasted: this.wastedCount,
      busy: this.busy,
      queued: this.queue.length,
    };
  }

  private serve(request: Request): void {
    this.busy++;
    const serviceMs = this.jitter === 0 ? this.serviceTime : this.serviceTime * (1 + this.jitter * (2 * this.random() - 1));
    this.clock.schedule(serviceMs, () => {
      this.busy--;
      if (request.abandoned) {
        this.wastedCount++;
      } else {
        this.clock.cancel(request.timer!);
        this.completedCount++;
        request.resolve();
      }
      this.startQueued();
    });
  }

  /** xorshift32 in [0, 1): deterministic for a given seed. */
  private random(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 0x1_0000_0000;
  }

  private startQueued(): void {
    while (this.busy < this.slotCount && this.queue.length !== 0) this.serve(this.queue.shift());
  }
}

/** Closed-loop load: `workers` callers, each issuing its next call as soon as the last one settles. */
export interface ClosedLoop {
  /** Calls that resolved. */
  readonly succeeded: number;
  /** Calls that rejected (timeouts, refusals). */
  readonly failed: number;
  /** Workers finish their current call and issue no more. */
  stop(): void;
}

export function startClosedLoop(workers: number, call: () => Promise<unknown>): ClosedLoop {
  let running = true;
  const state = {
    succeeded: 0,
    failed: 0,
    stop() {
      running = false;
    },
  };
  const worker = async () => {
    while (running) {
      try {
        await call();
        state.succeeded++;
      } catch {
        state.failed++;
      }
    }
  };
  for (let i = 0; i < workers; i++) void worker();
  return state;
}

export interface TracePoint {
  at: number;
  limit: number;
  /** Server completions (in time) since the start of the trace. */
  completed: number;
}

export interface TraceSummary {
  meanLimit: number;
  lowestLimit: number;
  highestLimit: number;
  /** Requests served in time per second over the window. */
  throughputPerSec: number;
}

/** Records the limit and the server's completions every `everyMs` of clock time. */
export class Trace {
  readonly points: TracePoint[] = [];
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly readLimit: () => number,
    private readonly server: SimulatedServer,
    private readonly everyMs: number,
  ) {
    this.record();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /** Summary of the points with `from <= at <= to`. */
  summary(from: number, to: number): TraceSummary {
    const window = this.points.filter((p) => p.at >= from && p.at <= to);
    if (window.length < 2) throw new Error(`Trace.summary(): fewer than two points in [${from}, ${to}]`);
    let sum = 0;
    let lowest = Infinity;
    let highest = -Infinity;
    for (const p of window) {
      sum += p.limit;
      lowest = Math.min(lowest, p.limit);
      highest = Math.max(highest, p.limit);
    }
    const first = window[0]!;
    const last = window[window.length - 1]!;
    return {
      meanLimit: sum / window.length,
      lowestLimit: lowest,
      highestLimit: highest,
      throughputPerSec: ((last.completed - first.completed) * 1000) / (last.at - first.at),
    };
  }

  /** Share of the points with `from <= at <= to` whose limit lies within [low, high]. */
  shareWithin(from: number, to: number, low: number, high: number): number {
    const window = this.points.filter((p) => p.at >= from && p.at <= to);
    return window.filter((p) => p.limit >= low && p.limit <= high).length / window.length;
  }

  /** Longest run of consecutive points in [from, to] whose limit lies outside [low, high], in ms. */
  longestOutside(from: number, to: number, low: number, high: number): number {
    let longest = 0;
    let since: number | undefined;
    for (const p of this.points) {
      if (p.at < from || p.at > to) continue;
      if (p.limit < low || p.limit > high) {
        since ??= p.at;
        longest = Math.max(longest, p.at - since + this.everyMs);
      } else {
        since = undefined;
      }
    }
    return longest;
  }

  private record(): void {
    this.points.push({ at: this.clock.now(), limit: this.readLimit(), completed: this.server.stats().completed });
    this.timer = this.clock.schedule(this.everyMs, () => this.record());
  }
}
