import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The real binary in a child process: exit codes, streams and --help as a user sees them.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-bin-'));

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('sluice binary', () => {
  it('main.ts --help - every command has help and exits 0', async () => {
    const [root, validate, plan, simulate, demo, top] = await Promise.all([
      sluice('--help'),
      sluice('validate', '--help'),
      sluice('plan', '--help'),
      sluice('simulate', '--help'),
      sluice('demo', '--help'),
      sluice('top', '--help'),
    ]);
    for (const r of [root, validate, plan, simulate, demo, top]) assert.equal(r.code, 0);
    assert.match(top.stdout, /Usage: sluice top \[options\] <url>/);
    assert.match(root.stdout, /Commands:\n\s+validate \[options\] <file>/);
    assert.match(validate.stdout, /Usage: sluice validate \[options\] <file>/);
    assert.match(plan.stdout, /--arrival-rate <rate>\s+mean arrival rate, e\.g\. 1000\/s/);
    assert.match(plan.stdout, /--burst <factor:duration>/);
    assert.match(simulate.stdout, /--scenario <name>\s+what happens to the load \(choices: "normal",\s+"burst",/);
    assert.match(demo.stdout, /--no-dashboard/);
  });

  it('main.ts --version - prints the package version', async () => {
    const { code, stdout } = await sluice('--version');
    assert.equal(code, 0);
    assert.equal(stdout.trim(), (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('main.ts - exit codes: 0 valid, 2 invalid config, 2 bad flag, 2 no command, 1 failed check', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'queues:\n  input_queue: { capacity: 10, strategy: blok }\n');
    const small = join(dir, 'small.yaml');
    writeFileSync(small, 'queues:\n  q: { capacity: 5, strategy: drop-newest }\nsimulation: { arrival_rate: 900/s, service_time: 1ms, duration: 20s }\n');
    const [valid, invalid, badFlag, none, failed] = await Promise.all([
      sluice('validate', 'examples/sluice.yaml'),
      sluice('validate', bad),
      sluice('simulate', '--config', small, '--duration', 'soon'),
      sluice(),
      sluice('simulate', '--config', small, '--max-loss', '1%'),
    ]);
    assert.equal(valid.code, 0);
    assert.match(valid.stdout, /valid; it would build 6 components/);
    assert.equal(invalid.code, 2);
    assert.equal(invalid.stderr, `${bad}: invalid configuration (1 problem)\n  queues.input_queue.strategy: "blok" is not one of block, drop-newest, drop-oldest, sample, reject\n`);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /error: option '--duration <duration>' argument 'soon' is invalid\. Expected a duration such as 250ms, 5s/);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: sluice/);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /check failed: q: lost .*, above --max-loss 1%/);
  });

  it('main.ts simulate --json - prints a deterministic result on stdout', async () => {
    const small = join(dir, 'det.yaml');
    writeFileSync(small, 'queues:\n  q: { capacity: 20, strategy: drop-oldest }\nsimulation: { arrival_rate: 500/s, service_time: 1.5ms, duration: 30s }\n');
    const [a, b] = await Promise.all([sluice('simulate', '--config', small, '--seed', '3', '--json'), sluice('simulate', '--config', small, '--seed', '3', '--json')]);
    assert.equal(a.code, 0);
    assert.equal(a.stderr, '', 'no progress when stderr is not a terminal');
    assert.equal(a.stdout, b.stdout);
    assert.equal(JSON.parse(a.stdout).queues[0].queue.strategy, 'drop-oldest');
  });
});
