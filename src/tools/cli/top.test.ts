import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './program.js';
import type { TopIo } from '../top/index.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const topIo: TopIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, columns: () => 80, rows: () => 24, color: false };
  return { out, err, cli: { stdout: topIo.stdout, stderr: topIo.stderr, stderrIsTTY: false }, topIo };
}

describe('sluice top (CLI)', () => {
  it('run top - a bad URL: one line on stderr, exit 2, nothing on stdout', async () => {
    for (const bad of ['not a url', 'ftp://127.0.0.1/metrics']) {
      const x = io();
      assert.equal(await run(['top', bad], x.cli, { topIo: x.topIo }), 2);
      assert.equal(x.out.length, 0);
      const text = x.err.join('');
      assert.equal(text.trimEnd().split('\n').length, 1, text);
      assert.match(text, /^sluice top: '.+' is not (a URL|an http\(s\) URL)/);
    }
  });

  it('run top - bad flags are usage errors (exit 2): --source outside its choices, --interval not a duration, no URL', async () => {
    for (const argv of [['top', 'http://127.0.0.1:9/', '--source', 'statsd'], ['top', 'http://127.0.0.1:9/', '--interval', 'soon'], ['top']]) {
      const x = io();
      assert.equal(await run(argv, x.cli, { topIo: x.topIo }), 2, argv.join(' '));
      assert.match(x.err.join(''), /error:/);
    }
  });

  it('run top --help - documents the bottleneck rule, --once, --json and --order; exit 0', async () => {
    const x = io();
    assert.equal(await run(['top', '--help'], x.cli), 0);
    const help = x.out.join('');
    assert.match(help, /Usage: sluice top \[options\] <url>/);
    for (const flag of ['--once', '--json', '--order <names>', '--source <kind>', '--interval <duration>', '--prefix <prefix>']) assert.ok(help.includes(flag), flag);
    assert.match(help, /pinned at its\s+concurrency limit/);
  });
});
