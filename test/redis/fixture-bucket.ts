// Child process for distributed-rate.test.ts: shares one RedisTokenBucket with
// its siblings. Prints "ready", waits for "go" on stdin, then acquires with
// `loops` concurrent loops for `durationMs` and prints {"count": n}.
// Usage: node --import tsx test/redis/fixture-bucket.ts <port> <key> <rate> <burst> <durationMs> <loops>
import { Redis } from 'ioredis';
import { RedisTokenBucket } from '../../src/adapters/redis/index.js';

const [port, key, rate, burst, durationMs, loops] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port) });
const bucket = new RedisTokenBucket({ redis, key: key!, ratePerSecond: Number(rate), burst: Number(burst) });
await redis.ping();
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('window over')), Number(durationMs));
  let count = 0;
  const loop = async () => {
    while (!stop.signal.aborted) {
      try {
        await bucket.acquire(1, { signal: stop.signal });
        count++;
      } catch {
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Number(loops) }, loop));
  process.stdout.write(`${JSON.stringify({ count, stats: bucket.stats() })}\n`);
  bucket.close();
  redis.disconnect();
});
