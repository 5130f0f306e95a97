// Placeholders for the pipeline examples: sources, stage functions and sinks of the reader's own.
import type { Channel } from 'sluice';
import type { Job, Order, Row } from './common.js';

type Fn = (...args: any[]) => any;
export declare const source: AsyncIterable<string>;
export declare const socketMessages: AsyncIterable<string>;
export declare const emails: AsyncIterable<{ to: string }>;
export declare const ids: AsyncIterable<number>;
export declare const orders: AsyncIterable<Order>;
export declare const jobs: AsyncIterable<Job>;
export declare const partA: AsyncIterable<Job>;
export declare const sharedChannel: Channel<Job>;
export declare const file: string;
export declare const readLines: (file: string) => AsyncIterable<string>;
export declare const f: (line: string) => string;
export declare const parse: (line: string) => Row;
export declare const toCsvLine: (row: Row) => string;
export declare const store: (message: string) => Promise<void>;
export declare const sink: (item: any) => Promise<void>;
export declare const save: Fn;
export declare const run: Fn;
export declare const callApi: (item: Job, context: { signal: AbortSignal }) => Promise<unknown>;
export declare const fetchUser: (id: number, options?: { signal: AbortSignal }) => Promise<{ id: number }>;
export declare const resize: (image: Buffer) => Promise<Buffer>;
export declare const enrich: (row: Row, options: { signal: AbortSignal }) => Promise<Row>;
export declare const api: { charge: (order: Order, options: { signal: AbortSignal }) => Promise<unknown> };
export declare const callback: (error?: Error | null) => void;
export declare const events: AsyncIterable<{ type: string }>;
