import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, InvalidOptionError } from '../errors/index.js';
import { VirtualClock } from '../testing/index.js';
import { cgroupCpuLimit, createCpuUsage, type CpuEnvironment } from './cpu.js';
import { cpuUsage } from './index.js';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-cgroup-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

/** A fake cgroup tree: `files` maps paths under the root (and 'self' for /proc/self/cgroup) to contents. */
function fakeCgroup(files: Record<string, string>): { root: string; self: string } {
  const base = join(scratch, String(dirs++));
  const root = join(base, 'sys', 'fs', 'cgroup');
  mkdirSync(root, { recursive: true });
  const self = join(base, 'proc-self-cgroup');
  for (const [path, text] of Object.entries(files)) {
    const file = path === 'self' ? self : join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { root, self };
}

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    return true;
  });
}

describe('cgroupCpuLimit()', () => {
  it('cgroupCpuLimit() - cgroup v2 with a quota: quota / period cores', () => {
    const { root, self } = fakeCgroup({ 'cgroup.controllers': 'cpu memory', 'cpu.max': '150000 100000\n', self: '0::/\n' });
    assert.equal(cgroupCpuLimit(root, self), 1.5);
  });

  it('cgroupCpuLimit() - cgroup v2 with "max": no limit', () => {
    const { root, self } = fakeCgroup({ 'cgroup.controllers': 'cpu', 'cpu.max': 'max 100000\n', self: '0::/\n' });
    assert.equal(cgroupCpuLimit(root, self), undefined);
  });

  it('cgroupCpuLimit() - cgroup v2: the process’s own cgroup and its parents, smallest limit wins', () => {
    const { root, self } = fakeCgroup({
      'cgroup.controllers': 'cpu',
      'system.slice/cpu.max': '100000 100000\n',
      'system.slice/app.service/cpu.max': '300000 100000\n',
      self: '0::/system.slice/app.service\n',
    });
    assert.equal(cgroupCpuLimit(root, self), 1);
  });

  it('cgroupCpuLimit() - cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us under the cpu controller', () => {
    const { root, self } = fakeCgroup({
      'cpu,cpuacct/cpu.cfs_quota_us': '50000\n',
      'cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      self: '4:memory:/x\n3:cpu,cpuacct:/\n0::/\n',
    });
    assert.equal(cgroupCpuLimit(root, self), 0.5);
  });

  it('cgroupCpuLimit() - cgroup v1 in a container: a host path in /proc/self/cgroup falls back to the mount', () => {
    const { root, self } = fakeCgroup({
      'cpu/cpu.cfs_quota_us': '200000\n',
      'cpu/cpu.cfs_period_us': '100000\n',
      self: '2:cpu:/docker/0123abcd\n',
    });
    assert.equal(cgroupCpuLimit(root, self), 2);
  });

  it('cgroupCpuLimit() - cgroup v1 with quota -1: no limit', () => {
    const { root, self } = fakeCgroup({ 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n', self: '2:cpu:/\n' });
    assert.equal(cgroupCpuLimit(root, self), undefined);
  });

  it('cgroupCpuLimit() - no cgroup files at all: no limit', () => {
    const { root, self } = fakeCgroup({});
    assert.equal(cgroupCpuLimit(root, self), undefined);
    assert.equal(cgroupCpuLimit(join(scratch, 'does-not-exist'), join(scratch, 'nor-this')), undefined);
  });
});

describe('cpuUsage()', () => {
  /** A CPU counter the test moves by hand, in microseconds. */
  function fakeEnvironment(files: Record<string, string>, parallelism: number): CpuEnvironment & { burn(ms: number): void } {
    const { root, self } = fakeCgroup(files);
    let micros = 0;
    return {
      cgroupRoot: root,
      selfCgroupFile: self,
      parallelism,
      cpuUsage: () => ({ user: micros * 0.75, system: micros * 0.25 }),
      burn: (ms: number) => void (micros += ms * 1000),
    };
  }

  it('cpuUsage() - divides CPU time by wall time × the cgroup quota in cores, and by the threshold', () => {
    const clock = new VirtualClock();
    const env = fakeEnvironment({ 'cgroup.controllers': 'cpu', 'cpu.max': '200000 100000', self: '0::/' }, 8);
    const cpu = createCpuUsage({ threshold: 0.5, sampleIntervalMs: 1000, clock }, env);
    assert.equal(cpu.read(), 0, 'reads 0 until the first sample');
    env.burn(1500); // 1.5 cores busy for the second
    clock.advance(1000);
    const stats = cpu.stats();
    assert.equal(stats.cores, 2);
    assert.equal(stats.cgroupLimit, 2);
    assert.equal(stats.value, 0.75);
    assert.equal(cpu.read(), 1.5);
    assert.equal(stats.samples, 1);
    clock.advance(1000); // idle second
    assert.equal(cpu.read(), 0);
    cpu.close();
  });

  it('cpuUsage() - without a quota, divides by the cores the machine allows', () => {
    const clock = new VirtualClock();
    const env = fakeEnvironment({ 'cgroup.controllers': 'cpu', 'cpu.max': 'max 100000', self: '0::/' }, 4);
    const cpu = createCpuUsage({ threshold: 1, sampleIntervalMs: 500, clock }, env);
    env.burn(1000);
    clock.advance(500);
    assert.equal(cpu.stats().cores, 4);
    assert.equal(cpu.stats().cgroupLimit, undefined);
    assert.equal(cpu.read(), 0.5);
    cpu.close();
  });

  it('cpuUsage() - a quota above the core count divides by the cores', () => {
    const clock = new VirtualClock();
    const env = fakeEnvironment({ 'cpu/cpu.cfs_quota_us': '800000', 'cpu/cpu.cfs_period_us': '100000', self: '2:cpu:/' }, 2);
    const cpu = createCpuUsage({ threshold: 1, clock }, env);
    assert.equal(cpu.stats().cores, 2);
    assert.equal(cpu.stats().cgroupLimit, 8);
    cpu.close();
  });

  it('cpuUsage() - samples on a timer of its own; close() stops it and is idempotent', () => {
    const clock = new VirtualClock();
    const cpu = cpuUsage({ threshold: 0.9, sampleIntervalMs: 100, clock });
    assert.equal(clock.pending, 1);
    clock.advance(300);
    assert.equal(cpu.stats().samples, 3);
    assert.ok(cpu.read() >= 0 && Number.isFinite(cpu.read()));
    assert.equal(cpu.stats().name, 'cpuUsage');
    assert.ok(cpu.stats().cores > 0);
    cpu.close();
    cpu.close();
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(cpu.stats().samples, 3);
    assert.equal(cpu.stats().closed, true);
  });

  it('cpuUsage() - rejects invalid options naming the field', () => {
    assertInvalidOption(() => cpuUsage({} as never), 'threshold');
    assertInvalidOption(() => cpuUsage({ threshold: 0 }), 'threshold');
    assertInvalidOption(() => cpuUsage({ threshold: 1.5 }), 'threshold');
    assertInvalidOption(() => cpuUsage({ threshold: 0.8, sampleIntervalMs: 0 }), 'sampleIntervalMs');
    assertInvalidOption(() => cpuUsage({ threshold: 0.8, clock: {} as never }), 'clock');
    assertInvalidOption(() => cpuUsage({ threshold: 0.8, name: '' }), 'name');
    assertInvalidOption(() => cpuUsage(null as never), 'cpuUsage options');
    assertInvalidOption(() => cpuUsage({ threshold: 0.8, treshold: 1 } as never), 'treshold');
  });
});
