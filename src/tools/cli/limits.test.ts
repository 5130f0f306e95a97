import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { progressReporter } from './format.js';
import { run } from './index.js';
import { estimateArrivals } from './simulate.js';

// Hostile and degenerate input to validate and simulate: junk, alias bombs,
// oversized, empty and not-quite-JSON files. Each must end in exit 2 and a
// short message, never a stack trace or the input echoed back.

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-limits-'));

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
  return { code, stdout, stderr };
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(',')}]`);
  return `${lines.join('\n')}\n`;
}

describe('sluice validate and simulate on hostile input', () => {
  it('validate - junk bytes: at most 20 problems plus a count, each echo cut short', async () => {
    // Deterministic "random" bytes: the same junk every run.
    const junk = Buffer.alloc(900_000);
    for (let i = 0, x = 12345; i < junk.length; i++) junk[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const path = file('junk.bin', junk);
    const { code, stdout, stderr } = await cli(['validate', path]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    const lines = stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^.*junk\.bin: invalid configuration \(\d+ problems?\)$/);
    assert.ok(lines.length <= 22, `${lines.length} lines`);
    if (lines.length === 22) assert.match(lines[21]!, /^ {2}\.\.\. and \d+ more$/);
    for (const line of lines) assert.ok(line.length < 250, `line of ${line.length} chars: ${line.slice(0, 100)}`);
    // eslint-disable-next-line no-control-regex -- no raw control bytes reach the terminal
    assert.doesNotMatch(stderr.replace(/\n/g, ''), /[\u0000-\u001f]/);
    assert.ok(stderr.length < 6000, `${stderr.length} chars`);
  });

  it('validate --json - lists at most 20 issues and counts them all', async () => {
    const queues = Array.from({ length: 50 }, (_, i) => `  q${i}: { capacity: 0 }`).join('\n');
    const { code, stdout } = await cli(['validate', file('many.yaml', `queues:\n${queues}\n`), '--json']);
    assert.equal(code, 2);
    const out = JSON.parse(stdout);
    assert.equal(out.ok, false);
    assert.equal(out.issues.length, 20);
    assert.equal(out.issueCount, 50);
    assert.equal(out.issues[0], 'queues.q0.capacity: 0 is not an integer >= 1');
  });

  it('validate - a long value is echoed cut at 80 characters', async () => {
    const { code, stderr } = await cli(['validate', file('long.yaml', `queues:\n  q: { capacity: 1, strategy: ${'x'.repeat(100_000)} }\n`)]);
    assert.equal(code, 2);
    assert.match(stderr, /queues\.q\.strategy: "x{79}…\(100000 chars\)" is not one of block/);
    assert.ok(stderr.length < 400, `${stderr.length} chars`);
  });

  it('validate and simulate - a file over 1 MiB is refused unread, in one line', async () => {
    const path = file('big.yaml', Buffer.alloc(3 * 1024 * 1024, 'a'));
    const expected = `${path}: invalid configuration (1 problem)\n  (root): too large (3.0 MiB); a configuration may be at most 1.0 MiB\n`;
    const validate = await cli(['validate', path]);
    assert.deepEqual([validate.code, validate.stderr], [2, expected]);
    const simulate = await cli(['simulate', '--config', path]);
    assert.deepEqual([simulate.code, simulate.stderr], [2, expected]);
    await assert.rejects(loadConfig(path), (e: unknown) => e instanceof ConfigError && e.message === expected.trimEnd());
  });

  it('validate, simulate and loadConfig - an alias bomb is exit 2 and one line, no stack', async () => {
    const path = file('bomb.yaml', aliasBomb());
    const line = '  (root): not acceptable YAML: its aliases expand more than 100 times (an alias bomb?)';
    const validate = await cli(['validate', path]);
    assert.deepEqual([validate.code, validate.stderr], [2, `${path}: invalid configuration (1 problem)\n${line}\n`]);
    const simulate = await cli(['simulate', '--config', path]);
    assert.deepEqual([simulate.code, simulate.stderr], [2, `${path}: invalid configuration (1 problem)\n${line}\n`]);
    await assert.rejects(loadConfig(path), (e: unknown) => e instanceof ConfigError && e.issues[0]!.message === line.trim());
  });

  it('validate and simulate - agree that an empty file is not a configuration', async () => {
    for (const content of ['', '# just a comment\n']) {
      const path = file('empty.yaml', content);
      const expected = `${path}: invalid configuration (1 problem)\n  (root): empty; expected a configuration (a mapping with queues, writers, flow_control, adaptive, rate_limits, credits, concurrency, monitoring or simulation)\n`;
      const validate = await cli(['validate', path]);
      const simulate = await cli(['simulate', '--config', path]);
      assert.deepEqual([validate.code, validate.stderr], [2, expected]);
      assert.deepEqual([simulate.code, simulate.stderr], [2, expected]);
    }
  });

  it('validate - a .json file is strict JSON: a trailing comma is refused with line and column', async () => {
    const path = file('trailing.json', '{\n  "queues": {\n    "q": { "capacity": 5 },\n  }\n}\n');
    const { code, stderr } = await cli(['validate', path]);
    assert.equal(code, 2);
    assert.equal(stderr, `${path}: invalid configuration (1 problem)\n  (root): not valid JSON: unexpected "}" at line 4, column 3\n`);
    const same = file('trailing.yaml', '{\n  "queues": {\n    "q": { "capacity": 5 },\n  }\n}\n');
    assert.equal((await cli(['validate', same])).code, 0, 'the same text is valid YAML');
    assert.equal((await cli(['validate', file('ok.json', '{ "queues": { "q": { "capacity": 5 } } }')])).code, 0);
  });

  it('simulate - random bytes as --config: exit 2, short output', async () => {
    const { code, stdout, stderr } = await cli(['simulate', '--config', file('random.bin', randomBytes(200_000))]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.ok(stderr.split('\n').length <= 23 && stderr.length < 6000, `${stderr.length} chars`);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('run() - an unexpected error prints one line with its name and code, never a stack', async () => {
    let stderr = '';
    const io = { stdout: () => {}, stderr: (t: string) => void (stderr += t), stderrIsTTY: false };
    const boom = Object.assign(new RangeError('went wrong'), { stack: 'RangeError: went wrong\n    at secret (/internal/path.ts:1:1)' });
    const code = await run(['demo'], io, { runDemo: () => Promise.reject(boom) });
    assert.equal(code, 1);
    assert.equal(stderr, 'sluice: RangeError: went wrong\n');
  });
});

describe('sluice plan --memory-budget', () => {
  it('plan - a budget that cannot hold one item is bad usage: exit 2, one line naming the flag', async () => {
    const { code, stdout, stderr } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '1']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, 'error: --memory-budget 1 B cannot hold one item of 1 KiB (--item-bytes); give at least 1 KiB\n');
    const fits = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '512', '--item-bytes', '512', '--json']);
    assert.equal(JSON.parse(fits.stdout).capacity, 1, 'exactly one item fits: allowed, though it is an issue');
  });

  it('plan - a budget smaller than the plan needs is an issue: reported, exit 1', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '3KiB']);
    assert.equal(code, 1);
    assert.match(stdout, /Budgets not met\n {2}- Keeping blocking under 1 % needs 13 items but the memory budget allows 3 \(13 KiB needed, 3 KiB allowed\)\./);
    assert.doesNotMatch(stdout, /Warnings\n.*memory budget allows/, 'not repeated as a warning');
    const json = JSON.parse((await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '3KiB', '--json'])).stdout);
    assert.equal(json.ok, false);
    assert.equal(json.issues.length, 1);
    const burst = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '2ms', '--burst', '10x:10s', '--can-lose', '--loss-budget', '50%', '--memory-budget', '10KiB']);
    assert.equal(burst.code, 1);
    assert.match(burst.stdout, /- Absorbing the burst needs \d+ items but the memory budget allows 10 \([\d.]+ MiB needed, 10 KiB allowed\)/);
  });

  it('plan - a budget the plan fits in changes nothing (exit 0)', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '1MiB']);
    assert.equal(code, 0);
    assert.doesNotMatch(stdout, /Budgets not met/);
  });
});

describe('sluice simulate work estimate and progress', () => {
  const small = file(
    'small.yaml',
    'queues:\n  jobs: { capacity: 50, strategy: drop_newest }\n  orders: { capacity: 50 }\nsimulation: { arrival_rate: 800/s, service_time: 1ms, duration: 2m }\n',
  );

  it('simulate - a run above --max-events is refused before it starts, naming the estimate and the flag', async () => {
    const huge = await cli(['simulate', '--config', small, '--duration', '100000h', '--progress']);
    assert.equal(huge.code, 2);
    assert.equal(huge.stdout, '');
    assert.equal(
      huge.stderr,
      'error: this run would simulate about 576 billion events (arrivals over 100000h of normal, summed over 2 queues), more than --max-events 50 million; shorten --duration, lower the arrival rate, or raise --max-events\n',
    );
    const fast = await cli(['simulate', '--config', small, '--arrival-rate', '1000000/s', '--duration', '1h']);
    assert.equal(fast.code, 2);
    assert.match(fast.stderr, /about 7\.2 billion events .* more than --max-events 50 million/);
    const lowered = await cli(['simulate', '--config', small, '--max-events', '100000']);
    assert.equal(lowered.code, 2);
    assert.match(lowered.stderr, /about 192,000 events .* more than --max-events 100,000;/);
    assert.equal((await cli(['simulate', '--config', small, '--max-events', '192000'])).code, 0, 'at the bound it runs');
  });

  it('estimateArrivals() - sums rate × time over every phase and queue', () => {
    const q = { name: 'q', capacity: 10, strategy: 'block' as const, arrivalRate: 800, serviceTimeMs: 1 };
    assert.equal(estimateArrivals([q], { scenario: 'normal', durationMs: 120_000 }), 96_000);
    // Four bursts of min(20 s, 2 min / 8) = 15 s at 10x: 60 s at 8000/s and 60 s at 800/s.
    assert.equal(estimateArrivals([q, { ...q, name: 'r' }], { scenario: 'burst', durationMs: 120_000 }), 2 * (60 * 8000 + 60 * 800));
    // Overload runs at 1.5 × the service rate (1000/s) for the middle two thirds.
    assert.equal(Math.round(estimateArrivals([q], { scenario: 'sustained-overload', durationMs: 60_000 })), 20 * 800 + 40 * 1500);
  });

  it('progressReporter() - on a terminal it moves in 0.1 % steps, at most every 100 ms', () => {
    let out = '';
    let t = 0;
    const p = progressReporter({ stdout: () => {}, stderr: (s) => void (out += s), stderrIsTTY: true }, 'sim', () => t);
    p.update(0);
    t += 150;
    p.update(0.0012);
    t += 50;
    p.update(0.0023); // too soon after the last redraw
    t += 100;
    p.update(0.0034);
    p.update(1);
    p.done();
    assert.equal(out, '\rsim 0.0%\rsim 0.1%\rsim 0.3%\rsim 100.0%\n');
  });

  it('progressReporter() - in a log: a line per 10 % and one every 5 s of wall time while it advances', () => {
    const lines: string[] = [];
    let t = 0;
    const p = progressReporter({ stdout: () => {}, stderr: (s) => void lines.push(s), stderrIsTTY: false }, 'sim', () => t);
    p.update(0);
    t = 1000;
    p.update(0.004);
    t = 5000;
    p.update(0.008);
    t = 9000;
    p.update(0.008); // no progress, no line
    t = 11_000;
    p.update(0.013);
    p.update(0.25);
    p.update(1);
    p.done();
    assert.deepEqual(lines, ['sim 0%\n', 'sim 0.8%\n', 'sim 1.3%\n', 'sim 20%\n', 'sim 100%\n']);
  });

  it('simulate --progress - the reported percentages advance through the run', async () => {
    const { code, stderr } = await cli(['simulate', '--config', small, '--progress']);
    assert.equal(code, 0);
    const percents = [...stderr.matchAll(/\(~192,000 events\) ([\d.]+)%/g)].map((m) => Number(m[1]));
    assert.ok(percents.length >= 4, stderr);
    assert.equal(percents[0], 0);
    assert.equal(percents.at(-1), 100);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! > percents[i - 1]!, `not increasing: ${percents.join(', ')}`);
  });
});

describe('sluice validate on the seed template', () => {
  const template = new URL('../config/fixtures/seed-template.yaml', import.meta.url);

  it('validate - the template verbatim is valid: exit 0, with min_credits, credit_timeout and adjustment_interval in effect and the defaulted rates listed', async () => {
    const path = file('seed.yaml', readFileSync(template));
    const { code, stdout, stderr } = await cli(['validate', path]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /flow_control\s+Credits\s+flow_control\s+initial=1000 minCredits=100 acquireTimeoutMs=30000\n/);
    assert.match(stdout, /adaptive\s+AdaptiveRate\s+adaptive\s+targetLatencyMs=100 minRate=1 maxRate=1000 increase=1\.1 decrease=0\.9 adjustmentIntervalMs=10000\n/);
    assert.match(stdout, /Warnings:\n {2}backpressure\.adaptive\.min_rate: not given; using 1\/s\n {2}backpressure\.adaptive\.max_rate: not given; using 1000\/s\n/);
    assert.doesNotMatch(stdout, /no effect/);
  });
});
