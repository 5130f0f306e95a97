/**
 * Runs the chaos pipeline as a child process and restarts it when it exits.
 * Every exit is recorded with what caused it: an injected SIGKILL, an injected
 * SIGTERM (which must end in exit code 0 with its stats written, and without
 * a handle left open), or nothing the harness did (a crash: a failure).
 * Samples the child's RSS from /proc every 250 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineConfig } from './pipeline.js';

export interface ExitRecord {
  generation: number;
  cause: 'sigkill' | 'sigterm' | 'final' | 'none';
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms from the first SIGTERM to the exit. */
  shutdownMs?: number;
  stats?: PipelineStatsFile;
  /** Why this exit breaks a promise, if it does. */
  problem?: string;
  stderrTail: string;
}

/** What the pipeline writes at the end of a clean shutdown (see pipeline.ts). */
export interface PipelineStatsFile {
  counts: Record<string, number>;
  writer: { written: number; flushed: number; buffered: number; inFlight: number; dropped: number; deadLettered: number; droppedBy: Record<string, number>; waiting: number };
  outbox: { accepted: number; delivered: number; size: number; dropped: number; droppedBy: Record<string, number>; offered: number };
  shed: { served: number; shed: number };
  readiness: { checks: number; transitions: number; readErrors: number; lastReadError: string | undefined };
  consumer?: { held: number; running: number; waiting: number };
  publisher?: { published: number; acked: number; failed: number; inFlight: number; waiting: number };
  limiter: { held: number };
  stagesMedianMs?: { samples: number; published: number; consumed: number; committed: number };
  waiters: number;
  waiterIds: number[];
  drain: { remaining: number; timedOut: boolean };
  drainMs: number;
}

const readyTimeoutMs = 60_000;

export class Supervisor {
  private child: ChildProcess | undefined;
  generation = 0;
  readonly exits: ExitRecord[] = [];
  peakRssBytes = 0;
  ready = false;
  private cause: ExitRecord['cause'] = 'none';
  private sigtermAt = 0;
  private stopped = false;
  private stderr = '';
  private sampler: NodeJS.Timeout | undefined;
  private exitedPromise: Promise<void> | undefined;
  private readonly file: string;

  constructor(
    private readonly base: Omit<PipelineConfig, 'generation' | 'statsFile'>,
    private readonly dir: string,
    private readonly onLog: (line: string) => void = () => {},
  ) {
    this.file = join(import.meta.dirname, 'pipeline.ts');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts generation n+1 and resolves when it prints "ready". */
  async start(): Promise<void> {
    const generation = ++this.generation;
    const statsFile = join(this.dir, `stats-${generation}.json`);
    const cfg: PipelineConfig = { ...this.base, generation, statsFile };
    const child = spawn(process.execPath, ['--import', 'tsx', this.file, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // If the harness process ends without cleanup, do not leave the pipeline running.
    const reap = () => child.kill('SIGKILL');
    process.on('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    this.ready = false;
    this.cause = 'none';
    this.sigtermAt = 0;
    this.stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-8000);
      for (const line of c.toString().split('\n')) if (line) this.onLog(line);
    });
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`pipeline g${generation} not ready after ${readyTimeoutMs} ms:\n${this.stderr}`)), readyTimeoutMs);
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready')) {
          clearTimeout(t);
          this.ready = true;
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(t);
        reject(new Error(`pipeline g${generation} exited before it was ready:\n${this.stderr}`));
      });
    });
    this.exitedPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(generation, code, signal, statsFile);
        resolve();
      });
    });
    this.sampler ??= setInterval(() => this.sample(), 250);
    await ready;
  }

  private sample(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.peakRssBytes = Math.max(this.peakRssBytes, Number(m[1]) * 1024);
    } catch {
      // exited between the check and the read
    }
  }

  private onExit(generation: number, code: number | null, signal: NodeJS.Signals | null, statsFile: string): void {
    this.child = undefined;
    this.ready = false;
    const record: ExitRecord = { generation, cause: this.cause, code, signal, stderrTail: this.stderr.slice(-3000) };
    if (this.sigtermAt) record.shutdownMs = Date.now() - this.sigtermAt;
    if (existsSync(statsFile)) record.stats = JSON.parse(readFileSync(statsFile, 'utf8')) as PipelineStatsFile;
    if (this.cause === 'sigkill') {
      if (signal !== 'SIGKILL') record.problem = `expected death by SIGKILL, got code ${code} signal ${signal}`;
    } else if (this.cause === 'sigterm' || this.cause === 'final') {
      if (this.forcedKill) record.problem = `did not exit within ${this.hangMs} ms of SIGTERM (a handle left open?)`;
      else if (code !== 0) record.problem = `SIGTERM shutdown ended with code ${code} signal ${signal}`;
      else if (!record.stats) record.problem = 'SIGTERM shutdown wrote no stats';
    } else {
      record.problem = `died without an injected kill: code ${code} signal ${signal}`;
    }
    this.forcedKill = false;
    this.exits.push(record);
    if (record.problem) this.onLog(`!! g${generation}: ${record.problem}`);
    if (!this.stopped) {
      // The supervisor's restart, like systemd's Restart=always with a short delay.
      setTimeout(() => {
        if (this.stopped) return;
        this.start().catch((e: Error) => this.onLog(`!! restart failed: ${e.message}`));
      }, 200);
    }
  }

  private forcedKill = false;
  private readonly hangMs = 30_000;

  /** SIGKILL the pipeline (an injected fault). */
  kill(): boolean {
    if (!this.child || this.cause !== 'none') return false;
    this.cause = 'sigkill';
    this.ready = false;
    this.child.kill('SIGKILL');
    return true;
  }

  /** SIGTERM the pipeline; `repeatAfterMs` sends a second SIGTERM (a doubled signal). */
  terminate(repeatAfterMs?: number, final = false): boolean {
    const child = this.child;
    if (!child || this.cause !== 'none') return false;
    this.cause = final ? 'final' : 'sigterm';
    this.sigtermAt = Date.now();
    // Not ready from now on, so waitReady() waits for the next generation.
    this.ready = false;
    child.kill('SIGTERM');
    if (repeatAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), repeatAfterMs);
    const hang = setTimeout(() => {
      if (this.child === child) {
        this.forcedKill = true;
        child.kill('SIGKILL');
      }
    }, this.hangMs);
    child.once('exit', () => clearTimeout(hang));
    return true;
  }

  /** Final shutdown: SIGTERM, wait for the exit, no restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.child) {
      if (this.cause === 'none') this.terminate(undefined, true);
      await this.exitedPromise;
    }
    if (this.sampler) clearInterval(this.sampler);
  }

  /** Kill whatever runs, for an `after` hook on a failed run. */
  forceKill(): void {
    this.stopped = true;
    this.child?.kill('SIGKILL');
    if (this.sampler) clearInterval(this.sampler);
  }

  /** Resolves once a generation is ready (after a restart), or after `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.ready;
  }
}
