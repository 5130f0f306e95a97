// Child process for distributed-leases.test.ts: takes `count` permits of a
// RedisConcurrencyLimiter, prints "held", then idles until it is SIGKILLed,
// never releasing them.
// Usage: node --import tsx test/redis/fixture-leases.ts <port> <key> <limit> <leaseMs> <count>
import { Redis } from 'ioredis';
import { RedisConcurrencyLimiter } from '../../src/adapters/redis/index.js';

const [port, key, limit, leaseMs, count] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port) });
const limiter = new RedisConcurrencyLimiter({ redis, key: key!, limit: Number(limit), leaseMs: Number(leaseMs) });
for (let i = 0; i < Number(count); i++) await limiter.acquire();
process.stdout.write('held\n');
setInterval(() => undefined, 1000);
