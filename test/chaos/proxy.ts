/**
 * A TCP forwarder the chaos harness puts between the pipeline and each
 * private service. `cut()` destroys every open connection (both sides) but
 * keeps listening, so clients see a reset and must reconnect; the port never
 * changes, so the pipeline is configured once.
 */
import net from 'node:net';

export class ChaosProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  connections = 0;
  cuts = 0;

  constructor(readonly name: string, private readonly targetPort: number) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this.port;
  }

  /** Resets every open connection; new ones are accepted at once. Returns how many were cut. */
  cut(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    this.cuts++;
    return n;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}
