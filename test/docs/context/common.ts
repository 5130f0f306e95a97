// Placeholders the TSDoc examples stand on: the reader's own objects
// (`writer`, `store`, `db`...), typed so that the Sluice calls around them are
// checked for real. test/docs/snippets.ts imports from here only the names an
// example uses and does not declare; an example that uses any of them is
// type-checked but not run. Module-specific names live in ./<module>.ts.
import type { AlertThresholds, BatchWriter, Channel, ConcurrencyLimiter, Credits, DurableStore, LatencyRecorder, MetricsSink, Pressure, PressureLevels, Publisher, StreamPolicy } from 'sluice';
import type { SluiceConfig } from 'sluice/config';
import type { LoadShedder } from 'sluice/http';
import type { SimulationOptions, SimulationResult } from 'sluice/simulate';
import type { VirtualClock } from 'sluice/testing';
import type { Registry } from 'prom-client';
import type pg from 'pg';

export { default as http } from 'node:http';
export { default as fs } from 'node:fs';
export { default as os, hostname } from 'node:os';
export { default as stream } from 'node:stream';
export { writeFileSync } from 'node:fs';

export interface Job { id: string; payload: unknown }
export interface Order { id: string; total: number }
export interface LogLine { ts: number; msg: string }
export interface Row { id: number; body: string }

export declare const clock: VirtualClock;
export declare const server: import('node:http').Server;
export declare const channel: Channel<Job>;
export declare const jobs: Channel<Job>;
export declare const work: Channel<Job>;
export declare const orders: Channel<Order>;
export declare const limiter: ConcurrencyLimiter;
export declare const dbLimiter: ConcurrencyLimiter;
export declare const credits: Credits;
export declare const writer: BatchWriter<Row>;
export declare const store: DurableStore<Job>;
export declare const recorder: LatencyRecorder;
export declare const latency: LatencyRecorder;
export declare const pressure: Pressure;
export declare const levels: PressureLevels;
export declare const thresholds: AlertThresholds;
export declare const components: Record<string, { stats(): object }>;
export declare const sink: MetricsSink;
export declare const statsdSink: MetricsSink;
export declare const shed: LoadShedder;
export declare const policy: StreamPolicy;
export declare const publisher: Publisher<Job>;
export declare const config: SluiceConfig;
export declare const queues: SimulationOptions['queues'];
export declare const result: SimulationResult;
export declare const registry: Registry;
export declare const register: Registry;
export declare const pool: pg.Pool;
export declare const shutdown: AbortController;
export declare const signal: AbortSignal;
export declare const job: Job;
export declare const item: Job;
export declare const msg: Job;
export declare const event: Row;
export declare const rows: AsyncIterable<Row>;
export declare const lines: AsyncIterable<string>;
export declare const source: AsyncIterable<Job>;
export declare const events: AsyncIterable<Row>;
export declare const queue: Job[];
export declare const text: string;
export declare const url: string;
export declare const table: string;
export declare const path: string;

// The reader's own functions and clients: only their being callable matters here.
type Fn = (...args: any[]) => any;
export declare const db: { insert: Fn; insertMany: Fn; inflight: number; limit: number };
export declare const logger: { info: Fn; warn: Fn; error: Fn };
export declare const log: { debug: Fn; info: Fn; warn: Fn };
export declare const statsd: { gauge: Fn };
export declare const pager: { notify: Fn };
export declare const metrics: { set: Fn };
export declare const socket: { send: Fn };
export declare const app: { use: Fn; all: Fn; fetch: (request: Request) => Response | Promise<Response> };
export declare const fastify: { get: Fn; addHook: Fn };
export declare const koa: { use: (middleware: (ctx: { status: number; body: unknown }, next: () => Promise<void>) => unknown) => void };
export declare const serve: Fn;
export declare const open: Fn;
export declare const handle: Fn;
export declare const write: Fn;
export declare const send: Fn;
export declare const save: Fn;
export declare const run: Fn;
export declare const use: Fn;
export declare const publish: Fn;
export declare const insertRows: (rows: Row[]) => Promise<void>;
export declare const saveForLater: Fn;
export declare const flush: (rows: Row[]) => Promise<void>;
