// Child process for governor.test.ts: the "consumer" side. Joins a
// PressureCoordinator group as its own node (own process, own connection),
// prints "ready", then for each stdin line "report <pressure>" stores that
// reading in Redis and prints "reported <pressure>"; "leave" drops the node,
// closes and exits.
// Usage: node --import tsx test/redis/fixture-pressure.ts <port> <key> <nodeId>
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { PressureCoordinator } from '../../src/adapters/redis/index.js';

const [port, key, nodeId] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port) });
const coordinator = new PressureCoordinator({ redis, nodeId: nodeId!, ttlMs: 10_000, key: key! });
await redis.ping();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, value] = line.trim().split(/\s+/);
  if (command === 'report') {
    const stored = await coordinator.report(Number(value));
    process.stdout.write(stored ? `reported ${value}\n` : `failed ${value}\n`);
  } else if (command === 'leave') {
    await coordinator.leave();
    break;
  }
}
coordinator.close();
redis.disconnect();
process.stdin.destroy(); // the test keeps its end of the pipe open
