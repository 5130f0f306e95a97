// The simulated fleet: N servers writing log lines at a base rate, then, from
// `spikeAtMs` on, at `spikeMultiplier` times it (the outage). A server's lines
// exist as a count until they are shipped: what a server has produced but not
// shipped sits in its own log file (its spool), not in the aggregator's memory.
// Used by both sides of the demo, in the main thread and in the worker.

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

export interface LogLine {
  server: number;
  seq: number;
  /** Clock time (ms) at which the server wrote the line. */
  emittedAt: number;
  /** Clock time (ms) at which the server first tried to hand it to the aggregator. */
  shippedAt: number;
  level: LogLevel;
  message: string;
}

export interface FleetShape {
  servers: number;
  linesPerServerPerSecond: number;
  spikeMultiplier: number;
  /** Time from the start (ms) at which the spike begins; it lasts until the end. */
  spikeAtMs: number;
}

const services = ['api-gateway', 'checkout', 'payments', 'search', 'inventory', 'auth', 'profile', 'shipping'];
const calm = [
  'GET /v1/orders 200 in 12ms',
  'cache hit ratio 0.97',
  'health check ok',
  'POST /v1/cart 201 in 31ms',
  'worker heartbeat',
  'GET /v1/items 200 in 8ms',
];
const outage = [
  'upstream timeout after 3000ms (db-primary)',
  'connection refused: db-primary:5432',
  'retrying request (attempt 3/5)',
  'circuit open for db-primary, failing fast',
  'request failed: 503 Service Unavailable',
  'pool exhausted: 0/50 connections free',
];

/** Deterministic, cheap mixing of (server, seq) so a run is reproducible. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

export class Fleet {
  readonly servers: number;
  /** Lines per ms per server before and during the spike. */
  private readonly baseRate: number;
  private readonly spikeRate: number;
  private readonly spikeAt: number;
  /** Lines one server has produced when the spike begins. */
  private readonly atSpike: number;

  /** Clock time (ms) of the start: line times are `startAt + offset`. */
  startAt: number;

  constructor(shape: FleetShape, startAt: number) {
    this.startAt = startAt;
    this.servers = shape.servers;
    this.baseRate = shape.linesPerServerPerSecond / 1000;
    this.spikeRate = this.baseRate * shape.spikeMultiplier;
    this.spikeAt = shape.spikeAtMs;
    this.atSpike = this.baseRate * this.spikeAt;
  }

  /** Lines one server has produced `elapsedMs` after the start (before the per-server offset). */
  private produced(elapsedMs: number): number {
    if (elapsedMs <= this.spikeAt) return this.baseRate * elapsedMs;
    return this.atSpike + this.spikeRate * (elapsedMs - this.spikeAt);
  }

  private elapsedAt(produced: number): number {
    if (produced <= this.atSpike) return produced / this.baseRate;
    return this.spikeAt + (produced - this.atSpike) / this.spikeRate;
  }

  /** Servers are offset by a fraction of a line so that they do not all write at the same instant. */
  private offset(server: number): number {
    return server / this.servers;
  }

  /** Lines `server` has written by `elapsedMs` after the start. */
  due(server: number, elapsedMs: number): number {
    return Math.floor(this.produced(elapsedMs) + this.offset(server));
  }

  /** Lines the whole fleet has written by `elapsedMs`. */
  total(elapsedMs: number): number {
    let sum = 0;
    for (let i = 0; i < this.servers; i++) sum += this.due(i, elapsedMs);
    return sum;
  }

  /** Lines per second the fleet writes at `elapsedMs`. */
  rateAt(elapsedMs: number): number {
    return (elapsedMs < this.spikeAt ? this.baseRate : this.spikeRate) * 1000 * this.servers;
  }

  phaseAt(elapsedMs: number): 'baseline' | 'spike' {
    return elapsedMs < this.spikeAt ? 'baseline' : 'spike';
  }

  /** Line `seq` (from 0) of `server`, with the time the server wrote it, shipped at `now`. */
  line(server: number, seq: number, now: number): LogLine {
    const emittedAt = this.startAt + this.elapsedAt(seq + 1 - this.offset(server));
    const r = mix(server, seq);
    const inOutage = emittedAt - this.startAt >= this.spikeAt;
    const level: LogLevel = inOutage ? (r < 0.7 ? 'ERROR' : r < 0.9 ? 'WARN' : 'INFO') : r < 0.01 ? 'ERROR' : r < 0.05 ? 'WARN' : 'INFO';
    const texts = level === 'INFO' ? calm : outage;
    const message = services[server % services.length]! + '-' + (server % 125) + ' ' + texts[Math.floor(r * 997) % texts.length]! + ' req=' + seq.toString(36);
    return { server, seq, emittedAt, shippedAt: now, level, message };
  }
}
