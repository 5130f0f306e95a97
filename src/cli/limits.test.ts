import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { run } from './index.js';

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
      const expected = `${path}: invalid configuration (1 problem)\n  (root): empty; expected a configuration (a mapping with queues, flow_control, adaptive, rate_limits, credits, concurrency, monitoring or simulation)\n`;
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
    assert.match(stdout, /Budgets not met\n {2}- Memory budget 3 KiB holds 3 items of 1 KiB, but keeping producers blocked under 1 % of arrivals needs 13 \(13 KiB\)\./);
    assert.doesNotMatch(stdout, /Warnings\n.*memory budget allows/, 'not repeated as a warning');
    const json = JSON.parse((await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '3KiB', '--json'])).stdout);
    assert.equal(json.ok, false);
    assert.equal(json.issues.length, 1);
    const burst = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '2ms', '--burst', '10x:10s', '--can-lose', '--loss-budget', '50%', '--memory-budget', '10KiB']);
    assert.equal(burst.code, 1);
    assert.match(burst.stdout, /- Memory budget 10 KiB holds 10 items of 1 KiB, but absorbing the burst needs \d+/);
  });

  it('plan - a budget the plan fits in changes nothing (exit 0)', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--memory-budget', '1MiB']);
    assert.equal(code, 0);
    assert.doesNotMatch(stdout, /Budgets not met/);
  });
});
