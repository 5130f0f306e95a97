// node-redis (the `redis` package) clients for the Redis tests: the same
// server as the ioredis ones (127.0.0.1:6379 or a PrivateRedis port).
import { createClient, type RedisClientType } from 'redis';
import { REDIS_PORT } from './helpers.js';

export type NodeRedis = RedisClientType;

/**
 * A connected node-redis client; errors are swallowed (the tests look at the
 * components' stats and events). RESP 3 is node-redis 6's default; 2 is the older one.
 */
export async function connectNodeRedis(options: { port?: number; RESP?: 2 | 3; reconnectMs?: number } = {}): Promise<NodeRedis> {
  const client = createClient({
    socket: { host: '127.0.0.1', port: options.port ?? REDIS_PORT, reconnectStrategy: () => options.reconnectMs ?? 50 },
    RESP: options.RESP ?? 3,
  }) as NodeRedis;
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
