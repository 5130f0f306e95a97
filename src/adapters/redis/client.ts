import { createHash } from 'node:crypto';

// Sluice never imports ioredis: these are the few members it calls, written out
// so an ioredis `Redis` or `Cluster` fits them structurally and the package
// keeps zero runtime dependencies. ioredis is an optional peer dependency.
// A node-redis client is wrapped to fit them (node-redis.ts).

/** A Redis command argument as ioredis accepts it. */
export type RedisArgument = string | number | Buffer;

/**
 * What Sluice needs from a Redis connection. An ioredis `Redis` or `Cluster`
 * instance fits as is; pass yours, Sluice never creates a connection from
 * scratch (it only `duplicate()`s yours for pub/sub and blocking reads).
 * A node-redis client does not fit this interface but is accepted wherever
 * it is (see `NodeRedisClient`): Sluice recognises it and wraps it.
 * @example
 * import { Redis } from 'ioredis';
 * const redis: RedisClient = new Redis({ host: '127.0.0.1', port: 6379 });
 */
export interface RedisClient {
  call(command: string, ...args: RedisArgument[]): Promise<unknown>;
  /** ioredis connection status (`'ready'`, `'reconnecting'`, …). Sluice sends nothing while it says the link is down. */
  readonly status?: string;
  /** A new connection with the same settings; used for pub/sub and blocking reads, and closed by Sluice. */
  duplicate(): RedisConnection;
  /**
   * ioredis emits `'close'` the moment the connection drops; Sluice listens
   * (one listener per client, shared by all components) to degrade at once
   * instead of waiting for a command to time out. Optional.
   */
  on?(event: 'close', listener: () => void): unknown;
  removeListener?(event: 'close', listener: () => void): unknown;
}

/** A connection Sluice may subscribe on, block on, and close. */
export interface RedisConnection extends RedisClient {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'message', listener: (channel: string, message: string) => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
  disconnect(): void;
}

/** A client that can also subscribe: a dedicated ioredis connection for pub/sub. */
export type RedisSubscriber = Pick<RedisConnection, 'subscribe' | 'unsubscribe' | 'on' | 'removeListener'>;

/**
 * A Lua script run with EVALSHA: one round trip when Redis has it cached, and
 * EVAL (which caches it) after a NOSCRIPT reply, e.g. after a restart or
 * SCRIPT FLUSH. Unlike `defineCommand` it adds nothing to the user's client.
 */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly source: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  run(client: RedisClient, ...keysAndArgs: RedisArgument[]): Promise<unknown> {
    return client.call('EVALSHA', this.sha, this.numberOfKeys, ...keysAndArgs).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return client.call('EVAL', this.source, this.numberOfKeys, ...keysAndArgs);
      }
      throw error;
    });
  }
}

/**
 * `{key}:suffix`. The braces make Redis Cluster hash only `key`, so every key
 * and channel of one component lands in the same slot and one script may
 * touch them all.
 */
export function tagged(key: string, suffix: string): string {
  return `{${key}}:${suffix}`;
}

// Server time read inside every script: one clock for all processes, so no
// clock skew between them. Redis >= 5 replicates scripts by effects, which
// makes TIME before a write legal; older servers need the explicit switch.
export const LUA_NOW_MS = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
`;

/** An integer reply (or its string form) as a number; NaN when it is neither. */
export function toNumber(reply: unknown): number {
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'string' || Buffer.isBuffer(reply)) return Number(reply.toString());
  return Number.NaN;
}
