/**
 * The load balancer's side of the pipeline's `GET /readyz`: one probe at a
 * time, `intervalMs` after the last one settled, each on a fresh connection
 * (as kubelet's HTTP probes are) with a bounded timeout. Every answer is
 * classified; an answer that breaks the readiness contract while the pipeline
 * was up (see checker.ts `probeProblem`) is recorded as a violation.
 *
 * It also relates what the client saw from loadShed to what the probes said,
 * for the report only (not an invariant: a 100x burst fills 1500 open requests
 * in well under one probe interval, so a probe cannot always see it coming):
 * how many shed 503s arrived while the last probe answer said ready, and of
 * the shed episodes (sheds less than 1 s apart), how many the probes had
 * flagged not-ready before their first shed, and how soon after it the rest were.
 */
import http from 'node:http';
import { probeProblem, type ProbeAnswer } from './checker.js';

export interface ReadinessReport {
  /** Probes sent. */
  probes: number;
  /** 200 answers. */
  ready: number;
  /** 503 answers with the readiness body. */
  notReady: number;
  /** No answer while the pipeline was down or changing generation (refused, reset, timed out): an LB counts these as not ready. */
  noAnswerDown: number;
  /** 503 answers with `"draining": true`: the pipeline had its SIGTERM and still listened, as a load balancer wants. */
  draining: number;
  /** Answers (or missing answers) that break the contract while the pipeline was up, each a problem. */
  violations: number;
  violationExamples: string[];
  /** Slowest answer while the pipeline was up, ms. */
  maxLatencyMs: number;
  /** Times consecutive answers went from ready to not-ready. */
  turnedNotReady: number;
  /** 503s from loadShed the client received (a subset of its `rejected`). */
  shed: number;
  /** Of those, how many arrived while the last probe answer was 200. */
  shedWhileLastProbeReady: number;
  /** Runs of shed 503s with gaps under 1 s. */
  shedEpisodes: number;
  /** Episodes whose first shed came after a probe had already answered 503 (the LB was told first). */
  shedEpisodesWarned: number;
  /** Episodes a probe answered 503 during, after their first shed (the LB was told late). */
  shedEpisodesFlaggedLate: number;
  /** Median ms from an episode's first shed to the first 503 probe answer, for those told late. */
  medianLateMs: number;
}

/** What the prober needs to know of the supervisor: the generation that is up, or undefined while none is. */
export type UpGeneration = () => number | undefined;

export class ReadinessProber {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private last: 'ready' | 'not-ready' | 'none' = 'none';
  private lastShedAt = -Infinity;
  private episodeStart = 0;
  private episodeFlagged = false;
  private readonly lateMs: number[] = [];
  private readonly report: ReadinessReport = {
    probes: 0, ready: 0, notReady: 0, noAnswerDown: 0, draining: 0, violations: 0, violationExamples: [], maxLatencyMs: 0,
    turnedNotReady: 0, shed: 0, shedWhileLastProbeReady: 0, shedEpisodes: 0, shedEpisodesWarned: 0, shedEpisodesFlaggedLate: 0, medianLateMs: 0,
  };

  constructor(
    private readonly port: number,
    private readonly up: UpGeneration,
    private readonly intervalMs = 250,
    private readonly timeoutMs = 2000,
    /** Sheds closer than this belong to one episode. */
    private readonly episodeGapMs = 1000,
  ) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  /** Stops probing and waits for the probe in flight (bounded by its timeout). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
  }

  /** The client received a 503 from loadShed (called by LoadClient). */
  noteShed(): void {
    const now = performance.now();
    const r = this.report;
    r.shed++;
    if (this.last === 'ready') r.shedWhileLastProbeReady++;
    if (now - this.lastShedAt >= this.episodeGapMs) {
      r.shedEpisodes++;
      this.episodeStart = now;
      this.episodeFlagged = this.last === 'not-ready';
      if (this.episodeFlagged) r.shedEpisodesWarned++;
    }
    this.lastShedAt = now;
  }

  summary(): ReadinessReport {
    const sorted = [...this.lateMs].sort((a, b) => a - b);
    return { ...this.report, violationExamples: [...this.report.violationExamples], medianLateMs: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]!) : 0 };
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.probe().finally(() => this.schedule());
    }, this.intervalMs);
  }

  private probe(): Promise<void> {
    const generation = this.up();
    const started = performance.now();
    this.report.probes++;
    return new Promise<void>((resolve) => {
      let settled = false;
      const settle = (answer: ProbeAnswer | 'timeout' | 'error', detail = '') => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        // Up throughout: the same generation was up when the probe was sent and when it settled
        // (a SIGTERM or SIGKILL makes the supervisor not ready at once, a restart is a new generation).
        const upThroughout = generation !== undefined && this.up() === generation;
        this.record(answer, detail, upThroughout, performance.now() - started);
        resolve();
      };
      const req = http.request({ host: '127.0.0.1', port: this.port, method: 'GET', path: '/readyz', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('error', () => {});
        res.on('close', () => {
          if (!res.complete) settle('error', 'answer cut mid-body');
          else settle({ statusCode: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body });
        });
      });
      req.on('error', (e) => settle('error', e.message));
      // Decide on a timeout only after one more poll phase: if the harness's own loop was late
      // (timers run before I/O in a loop iteration), an answer already waiting in the socket is read first.
      const deadline = setTimeout(() => setImmediate(() => {
        if (settled) return;
        settle('timeout');
        req.destroy();
      }), this.timeoutMs);
      req.end();
    });
  }

  private record(answer: ProbeAnswer | 'timeout' | 'error', detail: string, upThroughout: boolean, latencyMs: number): void {
    const r = this.report;
    if (typeof answer === 'string') {
      if (!upThroughout) {
        r.noAnswerDown++;
        this.last = 'none';
        return;
      }
      this.violation(answer === 'timeout' ? `no answer within ${this.timeoutMs} ms while the pipeline was up` : `no answer while the pipeline was up (${detail})`);
      return;
    }
    const problem = probeProblem(answer);
    // A probe that spanned a restart or a SIGTERM may get anything; only hold an up pipeline to the contract.
    if (problem !== undefined) {
      if (upThroughout) this.violation(problem);
      else r.noAnswerDown++;
      return;
    }
    if (upThroughout) r.maxLatencyMs = Math.max(r.maxLatencyMs, Math.round(latencyMs));
    if (answer.statusCode === 503 && answer.body.includes('"draining":true')) {
      r.draining++;
      this.last = 'not-ready';
      return;
    }
    if (answer.statusCode === 200) {
      r.ready++;
      this.last = 'ready';
    } else {
      r.notReady++;
      if (this.last === 'ready') r.turnedNotReady++;
      this.last = 'not-ready';
      const now = performance.now();
      if (!this.episodeFlagged && now - this.lastShedAt < this.episodeGapMs) {
        this.episodeFlagged = true;
        r.shedEpisodesFlaggedLate++;
        this.lateMs.push(now - this.episodeStart);
      }
    }
  }

  private violation(text: string): void {
    this.report.violations++;
    if (this.report.violationExamples.length < 5) this.report.violationExamples.push(text);
  }
}
