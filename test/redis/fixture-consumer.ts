// Child process for distributed-consumer.test.ts: consumes a stream slowly and
// prints {"done": n} for each entry its handler finished, until SIGKILLed.
// Usage: node --import tsx test/redis/fixture-consumer.ts <port> <stream> <group> <consumer> <handlerMs> <maxInFlight>
import { Redis } from 'ioredis';
import { consumeStream } from '../../src/adapters/redis/index.js';

const [port, stream, group, consumer, handlerMs, maxInFlight] = process.argv.slice(2);
const redis = new Redis({ host: '127.0.0.1', port: Number(port) });
consumeStream({
  redis,
  stream: stream!,
  group: group!,
  consumer: consumer!,
  maxInFlight: Number(maxInFlight),
  handler: async (entry) => {
    await new Promise((resolve) => setTimeout(resolve, Number(handlerMs)));
    process.stdout.write(`${JSON.stringify({ done: entry.fields.n })}\n`);
  },
});
