// Placeholders for the sluice/redis examples: an ioredis client (and node-redis's createClient) and what the examples do with it.
import type { Redis as RedisClient } from 'ioredis';
import type { Channel, ConcurrencyLimiter, Pressure } from 'sluice';
import type { RedisTokenBucket, StreamEntry } from 'sluice/redis';
import type { Job } from './common.js';

export { Redis } from 'ioredis';
export { createClient } from 'redis';
export declare const redis: RedisClient;
export declare const limiter: ConcurrencyLimiter;
export declare const bucket: RedisTokenBucket;
export declare const jobs: Channel<Job>;
export declare const nodeId: string;
export declare const source: Pressure;
export declare const handler: (entry: StreamEntry) => Promise<void>;
export declare const bill: (entry: StreamEntry) => Promise<void>;
export declare const writeBatch: () => Promise<void>;
export declare const takeJob: () => void;
export declare const callPartner: (job: Job) => Promise<void>;
