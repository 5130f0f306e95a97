import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Channel } from '../../src/core/channel/index.js';
import { ConcurrencyLimiter, type Permit } from '../../src/core/concurrency-limiter/index.js';
import { registerSluiceMetrics } from '../../src/adapters/prometheus/index.js';
import { topCommand, type TopIo, type TopJson } from '../../src/tools/top/index.js';

// `sluice top URL/metrics` against a real prom-client endpoint over HTTP, in real time.
describe('sluice top against a Prometheus /metrics endpoint', { timeout: 30_000 }, () => {
  it('topCommand --once --json on /metrics - rates from two scrapes, and the limiter pinned at 2/2 named after the filling queue', async () => {
    const queue = new Channel<number>({ name: 'queue', capacity: 1000 });
    const workers = new ConcurrencyLimiter({ algorithm: 'fixed', initialLimit: 2 });
    const registry = new Registry();
    registerSluiceMetrics(registry, { queue, workers });
    const server = createServer((req, res) => {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const permits: Permit[] = [];
    for (let i = 0; i < 2; i++) permits.push(await workers.acquire());
    const feeder = setInterval(() => {
      for (let i = 0; i < 10; i++) queue.trySend(i);
    }, 20);
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io: TopIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, columns: () => 80, rows: () => 24, color: false };
      assert.equal(await topCommand(url, { once: true, json: true, interval: 500 }, io), 0, err.join(''));
      const doc = JSON.parse(out.join('')) as TopJson;
      const q = doc.components.find((c) => c.name === 'queue')!;
      assert.ok(q.inRate! > 100 && q.inRate! < 1000, `queue in-rate ${q.inRate}/s (10 items per 20 ms)`);
      assert.ok(q.size! > 0);
      assert.equal(doc.bottleneck?.component, 'workers');
      assert.match(doc.bottleneck!.reason, /^workers: pinned at 2\/2 in flight while its input fills at [\d,]+ items\/s \(queue\)$/);
    } finally {
      clearInterval(feeder);
      for (const permit of permits) permit.success();
      queue.close();
      server.close();
    }
  });
});
