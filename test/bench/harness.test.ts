import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'bench', 'fixtures');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the orchestrator exactly as `npm run bench -- ...` does (tsx bench/run.ts), minus npm's own banner. */
function bench(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withTmpDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('npm run bench', () => {
  it('run.ts --quick --json - writes the documented JSON shape with checked sums for each contender', { timeout: 60_000 }, () =>
    withTmpDir(async (dir) => {
      const file = join(dir, 'out.json');
      const { code, stdout, stderr } = await bench(['--quick', '--scenario', 'channel', '--contender', 'sluice-fast,node-streams', '--n', '20000', '--json', file]);
      assert.equal(code, 0, stderr);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      assert.match(out.node, /^v\d+\./);
      assert.equal(typeof out.cpu, 'string');
      assert.ok(out.cores >= 1);
      assert.deepEqual(out.failures, []);
      assert.deepEqual(out.results.map((r: { contender: string }) => r.contender), ['sluice-fast', 'node-streams']);
      for (const r of out.results) {
        assert.equal(r.scenario, 'channel');
        assert.equal(r.n, 20_000);
        assert.equal(r.runs.length, 3, 'quick mode measures 3 runs');
        assert.ok(r.itemsPerSecond > 0 && r.min <= r.itemsPerSecond && r.itemsPerSecond <= r.max, JSON.stringify(r));
        assert.ok(r.peakRssBytes > 10 * 1024 * 1024, 'peak RSS is in bytes');
        // 1 warm-up + 3 runs, each checking item count and sum.
        assert.equal(r.checksPassed, 8);
      }
      const baseline = out.results.find((r: { contender: string }) => r.contender === 'node-streams');
      assert.equal(baseline.ratio, 1);
      assert.match(stdout, /\| Contender \| items\/s \(median\) \| min–max \| ×node-streams \| ×handwritten-fast \| peak RSS \|/);
      assert.match(stdout, /\| sluice-fast \| [\d.]+[Mk]? \|/);
    }),
  );

  it('run.ts --scenario memory - a bounded channel keeps <= 1024 buffered while an unbounded queue fills up to the cap', { timeout: 60_000 }, () =>
    withTmpDir(async (dir) => {
      const file = join(dir, 'out.json');
      const args = ['--quick', '--scenario', 'memory', '--contender', 'sluice-block,unbounded-array', '--warmup', '0', '--runs', '1', '--n', '5000', '--json', file];
      const { code, stderr } = await bench(args);
      assert.equal(code, 0, stderr);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      const [sluice, unbounded] = out.results;
      assert.equal(sluice.contender, 'sluice-block');
      assert.ok(sluice.buffered <= 1024 && sluice.maxBuffered <= 1025, JSON.stringify(sluice));
      assert.equal(sluice.capped, 0);
      assert.equal(unbounded.contender, 'unbounded-array');
      assert.ok(unbounded.buffered >= 4990 && unbounded.buffered <= 5000, JSON.stringify(unbounded));
      assert.equal(unbounded.capped, 1);
      // One item per millisecond for 300 ms: the consumer's rate, not the producer's.
      for (const r of out.results) assert.ok(r.itemsPerSecond > 100 && r.itemsPerSecond < 1100, JSON.stringify(r));
    }),
  );

  it('run.ts - a contender whose sum check fails makes the run fail loudly with exit code 1', { timeout: 30_000 }, () =>
    withTmpDir(async (dir) => {
      const file = join(dir, 'out.json');
      const { code, stdout, stderr } = await bench(['--quick', '--runs', '1', '--json', file], { SLUICE_BENCH_SCENARIO_DIR: fixtures });
      assert.equal(code, 1);
      assert.match(stderr, /CHECK FAILED in selftest\/wrong-sum warm-up 1: sum of item\.value expected 10, got 9/);
      assert.match(stdout, /\*\*FAILED\*\* wrong-sum/);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(out.results.map((r: { contender: string }) => r.contender), ['honest']);
      assert.equal(out.failures.length, 1);
      assert.equal(out.failures[0].contender, 'wrong-sum');
    }),
  );

  it('run.ts --passes - pools the runs of every pass into one row per contender', { timeout: 30_000 }, () =>
    withTmpDir(async (dir) => {
      const file = join(dir, 'out.json');
      const { code, stderr } = await bench(['--contender', 'honest', '--warmup', '1', '--runs', '2', '--passes', '2', '--json', file], { SLUICE_BENCH_SCENARIO_DIR: fixtures });
      assert.equal(code, 0, stderr);
      assert.match(stderr, /selftest\/honest \(pass 2\/2\)/);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(out.passes, 2);
      assert.equal(out.results.length, 1);
      assert.equal(out.results[0].runs.length, 4);
      // 2 passes × (1 warm-up + 2 runs) × 1 check.
      assert.equal(out.results[0].checksPassed, 6);
    }),
  );

  it('run.ts - an unknown flag exits with code 2 and names the flag', { timeout: 30_000 }, async () => {
    const { code, stderr, stdout } = await bench(['--bogus-flag']);
    assert.equal(code, 2);
    assert.match(stderr, /--bogus-flag/);
    assert.equal(stdout, '');
  });

  it('run.ts - a bad flag value exits with code 2 and names the flag and the value', { timeout: 30_000 }, async () => {
    const { code, stderr } = await bench(['--runs', 'three']);
    assert.equal(code, 2);
    assert.match(stderr, /--runs must be an integer >= 1, got 'three'/);
  });

  it('run.ts - an unknown scenario or contender exits with code 2 and lists what exists', { timeout: 30_000 }, async () => {
    const scenario = await bench(['--scenario', 'nope']);
    assert.equal(scenario.code, 2);
    assert.match(scenario.stderr, /--scenario: unknown scenario 'nope' \(available: .*channel.*memory/);
    const contender = await bench(['--scenario', 'channel', '--contender', 'sluice-turbo']);
    assert.equal(contender.code, 2);
    assert.match(contender.stderr, /--contender: unknown contender 'sluice-turbo'.*sluice-fast/);
  });

  it('run.ts --help - prints every flag and exits 0', { timeout: 30_000 }, async () => {
    const { code, stdout } = await bench(['--help']);
    assert.equal(code, 0);
    for (const flag of ['--scenario', '--contender', '--runs', '--warmup', '--passes', '--n', '--quick', '--json', '--help']) assert.ok(stdout.includes(flag), flag);
  });
});
