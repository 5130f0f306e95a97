import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock/index.js';
import * as v from '../../internal/validate.js';
import type { PressureProbe, ProbeStats } from './probes.js';

export interface CpuUsageOptions {
  /**
   * Share of the CPU available to the process (0..1) that reads as pressure 1.
   * "Available" is the container's cgroup CPU quota when one is set, else
   * `os.availableParallelism()` cores: 0.8 on a 2-core quota means 1.6 cores busy.
   * @default none (required)
   * @example cpuUsage({ threshold: 0.8 })
   */
  threshold: number;
  /**
   * How often the probe measures: each reading is the CPU time the process used
   * over the last interval divided by the interval. Readings in between return
   * the last measurement. The timer is unref'd: it never keeps the process alive.
   * @default 1000
   * @example cpuUsage({ threshold: 0.8, sampleIntervalMs: 250 })
   */
  sampleIntervalMs?: number;
  /**
   * Time source for the sampling timer and the wall time each measurement divides by.
   * @default systemClock
   * @example cpuUsage({ threshold: 0.8, clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
  /**
   * Name shown in stats.
   * @default 'cpuUsage'
   * @example cpuUsage({ threshold: 0.8, name: 'worker-cpu' })
   */
  name?: string;
}

/** Snapshot of a {@link cpuUsage} probe: `value` is the share of the available CPU used (0..1, may pass 1 briefly). */
export interface CpuUsageStats extends ProbeStats {
  /** Cores the usage is divided by: the cgroup quota when set (and below the core count), else `os.availableParallelism()`. */
  cores: number;
  /** The cgroup CPU quota in cores, `undefined` when none is set or none could be read. */
  cgroupLimit: number | undefined;
}

/** A {@link PressureProbe} whose `stats()` also says how many cores the usage is divided by. */
export interface CpuUsageProbe extends PressureProbe {
  stats(): CpuUsageStats;
}

/** Where the CPU limit is looked up; tests point it at a directory of fake files. @internal */
export interface CpuEnvironment {
  /** Mount point of the cgroup hierarchy. @default '/sys/fs/cgroup' */
  cgroupRoot: string;
  /** The process's cgroup membership file. @default '/proc/self/cgroup' */
  selfCgroupFile: string;
  /** Cores the machine lets this process use. @default os.availableParallelism() */
  parallelism: number;
  /** CPU time used so far, in microseconds. @default process.cpuUsage() */
  cpuUsage: () => { user: number; system: number };
}

const defaultEnvironment = (): CpuEnvironment => ({
  cgroupRoot: '/sys/fs/cgroup',
  selfCgroupFile: '/proc/self/cgroup',
  parallelism: availableParallelism(),
  cpuUsage: () => process.cpuUsage(),
});

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process's cgroup path for a hierarchy: the v2 line (`0::/path`) when `controller` is undefined, else the v1 line listing it. */
function selfCgroupPath(file: string, controller: string | undefined): string {
  const text = readText(file);
  if (text === undefined) return '/';
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim() || '/';
    if (controller === undefined ? line.slice(0, first) === '0' && controllers === '' : controllers.split(',').includes(controller)) return path;
  }
  return '/';
}

/** Directories from `root + path` up to `root`, deepest first (a limit set on a parent applies too). */
function upFrom(root: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p.length > 0 && p !== '..');
  const dirs: string[] = [];
  for (let i = parts.length; i >= 0; i--) dirs.push(join(root, ...parts.slice(0, i)));
  return dirs;
}

/**
 * The CPU quota of the process's cgroup in cores (quota / period), or
 * `undefined` when there is none. cgroup v2 (`cgroup.controllers` at the root):
 * `cpu.max` ("max 100000" or "200000 100000") in the process's cgroup and
 * each parent, the smallest limit winning. cgroup v1: `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us` (-1 for none) under the `cpu` controller's mount
 * (`cpu/`, `cpu,cpuacct/`, or the root itself when it is that mount), in the
 * process's cgroup or, inside a container that sees its own cgroup as the
 * mount's root, the mount itself. Unreadable files count as no limit.
 * @internal Exported for tests, which point `root` at fake files.
 */
export function cgroupCpuLimit(root = '/sys/fs/cgroup', selfCgroupFile = '/proc/self/cgroup'): number | undefined {
  if (readText(join(root, 'cgroup.controllers')) !== undefined) {
    let limit: number | undefined;
    for (const dir of upFrom(root, selfCgroupPath(selfCgroupFile, undefined))) {
      const text = readText(join(dir, 'cpu.max'));
      if (text === undefined) continue;
      const [quota, period] = text.trim().split(/\s+/);
      const cores = Number(quota) / Number(period ?? 100_000);
      if (quota !== 'max' && Number.isFinite(cores) && cores > 0 && (limit === undefined || cores < limit)) limit = cores;
    }
    return limit;
  }
  const path = selfCgroupPath(selfCgroupFile, 'cpu');
  for (const mount of [join(root, 'cpu'), join(root, 'cpu,cpuacct'), join(root, 'cpuacct,cpu'), root]) {
    for (const dir of [...new Set([upFrom(mount, path)[0]!, mount])]) {
      const quota = readText(join(dir, 'cpu.cfs_quota_us'));
      if (quota === undefined) continue;
      const cores = Number(quota.trim()) / Number(readText(join(dir, 'cpu.cfs_period_us'))?.trim() ?? 100_000);
      return Number.isFinite(cores) && cores > 0 ? cores : undefined;
    }
  }
  return undefined;
}

class CpuProbe implements CpuUsageProbe {
  readonly name: string;
  private value = 0;
  private samples = 0;
  private closed = false;
  private timer: TimerHandle | undefined;
  private lastCpuMicros: number;
  private lastAt: number;

  constructor(
    private readonly threshold: number,
    private readonly intervalMs: number,
    private readonly clock: Clock,
    name: string,
    private readonly cores: number,
    private readonly cgroupLimit: number | undefined,
    private readonly usage: () => { user: number; system: number },
  ) {
    this.name = name;
    const u = usage();
    this.lastCpuMicros = u.user + u.system;
    this.lastAt = clock.now();
    this.timer = clock.schedule(intervalMs, this.tick, { unref: true });
  }

  read(): number {
    return this.value / this.threshold;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  stats(): CpuUsageStats {
    return { name: this.name, value: this.value, pressure: this.read(), samples: this.samples, closed: this.closed, cores: this.cores, cgroupLimit: this.cgroupLimit };
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.closed) return;
    const u = this.usage();
    const cpuMicros = u.user + u.system;
    const now = this.clock.now();
    const wallMs = now - this.lastAt;
    if (wallMs > 0) {
      this.value = Math.max(0, (cpuMicros - this.lastCpuMicros) / 1000 / (wallMs * this.cores));
      this.samples++;
    }
    this.lastCpuMicros = cpuMicros;
    this.lastAt = now;
    this.timer = this.clock.schedule(this.intervalMs, this.tick, { unref: true });
  };
}

/**
 * Builds the probe against a given environment (cgroup files, core count, CPU counter).
 * @internal `cpuUsage()` is this with the real environment; tests pass fakes.
 */
export function createCpuUsage(options: CpuUsageOptions, env: CpuEnvironment): CpuUsageProbe {
  const o = v.optionsObject(options, 'cpuUsage', { threshold: true, sampleIntervalMs: true, clock: true, name: true });
  const threshold = v.requiredNumber('threshold', o.threshold, { min: 0, minExclusive: true, max: 1 });
  const sampleIntervalMs = v.number('sampleIntervalMs', o.sampleIntervalMs, 1000, { min: 1 });
  const clock = (o.clock ?? systemClock) as Clock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.schedule !== 'function' || typeof clock.cancel !== 'function') {
    throw new v.InvalidOptionError('clock', o.clock, 'a Clock with now(), schedule() and cancel()');
  }
  const name = o.name ?? 'cpuUsage';
  if (typeof name !== 'string' || name.length === 0) throw new v.InvalidOptionError('name', o.name, 'a non-empty string');
  const limit = cgroupCpuLimit(env.cgroupRoot, env.selfCgroupFile);
  const cores = limit !== undefined && limit < env.parallelism ? limit : env.parallelism;
  return new CpuProbe(threshold, sampleIntervalMs, clock, name, cores, limit, env.cpuUsage);
}

/**
 * CPU used by this process (user + system, from `process.cpuUsage()`) as a
 * share of the CPU available to it, divided by `threshold`. Available means
 * the container's cgroup CPU quota when one is set (cgroup v2 `cpu.max`, v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`) and it is below the core count,
 * else `os.availableParallelism()`. A quota caps the process at that many
 * cores even on a bigger machine, so a busy pod reads 1 where a core count
 * would say it is half idle. The quota is read once, at creation.
 *
 * When: every `sampleIntervalMs` (default 1000), the CPU time used since the
 * previous sample over the wall time between them; reads 0 until the first
 * sample. Worker threads count too: `process.cpuUsage()` covers the process.
 *
 * @example
 * const cpu = cpuUsage({ threshold: 0.85 });
 * const levels = pressureLevels({ system: { source: cpu } });
 * if (levels.check().over) console.warn('CPU above 85% of the quota');
 * cpu.close();
 */
export function cpuUsage(options: CpuUsageOptions): CpuUsageProbe {
  return createCpuUsage(options, defaultEnvironment());
}
