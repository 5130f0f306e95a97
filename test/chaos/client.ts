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
  /** Of `rejected`: 503s from loadShed (its `{"error":"overloaded"}` body), as opposed to the pipeline's own refusals. */
  shed: number;
  /** Connection refused/reset: the pipeline was down or died. */
  connectionErrors: number;
  /** Not sent because `maxOpen` requests were already open. */
  skipped: number;
}

export class LoadClient {
  readonly ackedIds: number[] = [];
  readonly latenciesMs: number[] = [];
  readonly stats: ClientStats = { sent: 0, acked: 0, rejected: 0, shed: 0, connectionErrors: 0, skipped: 0 };
  private nextId = 1;
  private open = 0;
  private timer: NodeJS.Timeout | undefined;
  private multiplier = 1;
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    private readonly baseRatePerSec: number,
    private readonly maxOpen = 2000,
    /** Called for each 503 from loadShed, when it arrives. */
    private readonly onShed: () => void = () => {},
  ) {
    // One socket per open request: with fewer, the agent queues the rest in this process and the
    // pipeline never sees the load (with 256 it saw at most 256 open requests, so loadShed and
    // readiness, which count open requests, never moved).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: maxOpen });
  }

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
    const settle = (ok: boolean, connectionError: boolean, shed = false) => {
      if (settled) return;
      settled = true;
      this.open--;
      if (ok) {
        this.stats.acked++;
        this.ackedIds.push(id);
        this.latenciesMs.push(performance.now() - started);
      } else if (connectionError) this.stats.connectionErrors++;
      else {
        this.stats.rejected++;
        if (shed) {
          this.stats.shed++;
          this.onShed();
        }
      }
    };
    const req = http.request({ host: '127.0.0.1', port: this.port, method: 'POST', path: `/items?id=${id}`, agent: this.agent, timeout: 30_000 }, (res) => {
      // Only a 503's body is read: loadShed's is JSON, the pipeline's own refusals are plain text.
      let body = '';
      if (res.statusCode === 503) {
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
      } else res.resume();
      res.on('error', () => {});
      // Only a complete 200 is an ack; a response cut mid-body is not.
      res.on('close', () => settle(res.statusCode === 200 && res.complete, !res.complete, res.complete && body.startsWith('{"error":"overloaded"')));
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
