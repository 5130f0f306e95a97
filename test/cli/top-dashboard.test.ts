import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Channel } from '../../src/core/channel/index.js';
import { dashboardHandler } from '../../src/tools/dashboard/index.js';
import { topCommand, type TopIo, type TopJson } from '../../src/tools/top/index.js';

// `sluice top --json` (no --once) following a dashboard's event stream over HTTP, in real time.
describe('sluice top --json against a dashboard event stream', { timeout: 30_000 }, () => {
  it('topCommand --json - one object per snapshot in seq order, each with a verdict; exits 0 with one line when the dashboard closes', async () => {
    const orders = new Channel<number>({ name: 'orders', capacity: 10 });
    for (let i = 0; i < 9; i++) orders.trySend(i); // 90 %: over the 80 % high watermark
    const dashboard = dashboardHandler({ orders }, { intervalMs: 100 });
    const server = createServer(dashboard);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const out: string[] = [];
    const err: string[] = [];
    const io: TopIo = {
      stdout: (t) => {
        out.push(t);
        if (out.length === 4) dashboard.close(); // ends every event stream from the server's side
      },
      stderr: (t) => void err.push(t),
      isTTY: false,
      columns: () => 80,
      rows: () => 24,
      color: false,
      signal: new AbortController().signal,
    };
    try {
      assert.equal(await topCommand(url, { json: true }, io), 0);
      assert.ok(out.length >= 4);
      const docs = out.map((line) => {
        assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line per snapshot');
        return JSON.parse(line) as TopJson;
      });
      for (let i = 1; i < docs.length; i++) assert.ok(docs[i]!.seq > docs[i - 1]!.seq, 'seq increases');
      for (const d of docs) assert.equal(d.bottleneck?.reason, 'orders: filling at 9/10 (high watermark 80%)');
      assert.deepEqual(err, [`sluice top: ${url} ended the stream\n`]);
    } finally {
      dashboard.close();
      orders.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
