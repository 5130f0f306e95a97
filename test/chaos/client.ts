/**
 * The load client: posts one item per request (`POST /items?id=N`, ids never
 * reused) at a base rate, with bursts, and records the ids the pipeline
 * acknowledged (HTTP 200, which the pipeline sends only after the row is
 * committed) with each ack's latency. Runs in the harness process; the
 * pipeline is another process.
 */
import http from 'node:http';

export interface ClientStats {
  sent: number;
  acked: number;
  rejected: number;
  /** Connection refused/reset: the pipeline was down or died. */
  connectionErrors: number;
  /** Not sent because `maxOpen` requests were already open. */
  skipped: number;
}

export class LoadClient {
  readonly ackedIds: number[] = [];
  readonly latenciesMs: number[] = [];
  readonly stats: ClientStats = { sent: 0, acked: 0, rejected: 0, connectionErrors: 0, skipped: 0 };
  private nextId = 1;
  private open = 0;
  private timer: NodeJS.Timeout | undefined;
  private multiplier = 1;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(
    private readonly port: number,
    private readonly baseRatePerSec: number,
    private readonly maxOpen = 2000,
  ) {}

  start(): void {
    const tickMs = 20;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += (this.baseRatePerSec * this.multiplier * tickMs) / 1000;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) this.post();
    }, tickMs);
  }

  /** Multiplies the rate by `factor` for `durationMs` (a load burst). */
  burst(factor: number, durationMs: number): void {
    this.multiplier = factor;
    setTimeout(() => (this.multiplier = 1), durationMs);
  }

  private post(): void {
    if (this.open >= this.maxOpen) {
      this.stats.skipped++;
      return;
    }
    const id = this.nextId++;
    const started = performance.now();
    this.open++;
    this.stats.sent++;
    let settled = false;
    const settle = (ok: boolean, connectionError: boolean) => {
      if (settled) return;
      settled = true;
      this.open--;
      if (ok) {
        this.stats.acked++;
        this.ackedIds.push(id);
        this.latenciesMs.push(performance.now() - started);
      } else if (connectionError) this.stats.connectionErrors++;
      else this.stats.rejected++;
    };
    const req = http.request({ host: '127.0.0.1', port: this.port, method: 'POST', path: `/items?id=${id}`, agent: this.agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('error', () => {});
      // Only a complete 200 is an ack; a response cut mid-body is not.
      res.on('close', () => settle(res.statusCode === 200 && res.complete, !res.complete));
    });
    req.on('error', () => settle(false, true));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  }

  /** Stops sending and waits (at most `timeoutMs`) for the open requests to settle. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.agent.destroy();
  }

  get openRequests(): number {
    return this.open;
  }
}
