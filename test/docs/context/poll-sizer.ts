// Placeholders for the PollSizer example: a broker client that fetches up to n messages.
import type { Job } from './common.js';

export declare const consumer: { fetch: (max: number) => Promise<Job[]> };
export declare const lastPoll: number;
