import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { DashboardSnapshot } from '../../src/tools/dashboard/index.js';
import { topCommand, type TopIo, type TopJson } from '../../src/tools/top/index.js';
import { delay, main, root, startDemo, type RunningDemo } from './demo.test-helpers.js';

// `sluice top` against a live `sluice demo` (with its unbounded contrast): the
// demo's 100x spike starts at 6 s of a 40 s run, and the SQLite writer limits it.
const SPIKE_AT_MS = 6000;

function captureIo(): TopIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, columns: () => 80, rows: () => 24, color: false };
}

async function snapshotJson(url: string): Promise<DashboardSnapshot> {
  return (await (await fetch(new URL('snapshot.json', url))).json()) as DashboardSnapshot;
}

describe('sluice top against a running sluice demo', { timeout: 120_000 }, () => {
  let demo: RunningDemo;
  let startedAt: number;
  before(async () => {
    demo = await startDemo('--duration', '40s');
    startedAt = performance.now();
  });
  after(async () => {
    await demo?.stop();
  });

  it('topCommand --once --json - equals /snapshot.json plus a verdict naming the SQLite writer during the spike', async () => {
    await delay(Math.max(0, startedAt + SPIKE_AT_MS + 3000 - performance.now()));
    // The dashboard takes a snapshot every 500 ms: read both until they saw the same one.
    for (let attempt = 0; ; attempt++) {
      const io = captureIo();
      const served = await snapshotJson(demo.url);
      const code = await topCommand(demo.url, { once: true, json: true }, io);
      assert.equal(code, 0, io.err.join(''));
      assert.equal(io.out.length, 1);
      const printed = JSON.parse(io.out[0]!) as TopJson;
      if (printed.seq !== served.seq && attempt < 10) continue;
      const { bottleneck, ...snapshot } = printed;
      assert.deepEqual(snapshot, served);
      assert.equal(bottleneck?.component, 'sqlite-writer', bottleneck?.reason);
      // Full, or nearly: on a loaded machine the snapshot can land while the writer has just taken a batch.
      assert.match(bottleneck!.reason, /^sqlite-writer: (full at 5,000|filling at [\d,]+)\/5,000 \(high watermark 80%\) while its input fills at [\d,]+ items\/s \(fleet\)$/);
      break;
    }
  });

  it('topCommand live on a terminal - alternate screen, frames painted in place within 80x24, restored on abort with the last frame left', async () => {
    const controller = new AbortController();
    const out: string[] = [];
    let painted = 0;
    const io: TopIo = {
      stdout: (text) => {
        out.push(text);
        if (text.startsWith('\x1b[H') && ++painted === 3) controller.abort();
      },
      stderr: () => undefined,
      isTTY: true,
      columns: () => 80,
      rows: () => 24,
      color: true,
      signal: controller.signal,
    };
    assert.equal(await topCommand(demo.url, {}, io), 0);
    assert.ok(out[0]!.startsWith('\x1b[?1049h\x1b[?25l'), 'enters the alternate screen, hides the cursor');
    const frames = out.filter((t) => t.startsWith('\x1b[H'));
    assert.equal(frames.length, 3);
    for (const f of frames) {
      // eslint-disable-next-line no-control-regex
      const lines = f.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\r\n');
      assert.ok(lines.length <= 24);
      for (const l of lines) assert.ok(l.length <= 80, l);
    }
    assert.ok(out.includes('\x1b[?25h\x1b[?1049l'), 'leaves the alternate screen, shows the cursor');
    assert.match(out.at(-1)!, /sluice top · /);
  });

  it('sluice top in a real 80x24 terminal (tmux) - refreshes in place and names the SQLite writer as the bottleneck during the spike', async () => {
    let tmux: string;
    try {
      tmux = execFileSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error('tmux is missing: run as root `apt-get install -y tmux` (npm test installs it through scripts/ensure-env.mjs)');
    }
    const socket = `sluice-top-${randomBytes(4).toString('hex')}`;
    const t = (...args: string[]): string => execFileSync(tmux, ['-L', socket, ...args], { encoding: 'utf8' });
    const command = `cd ${JSON.stringify(root)} && exec ${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(main)} top ${demo.url}`;
    t('-f', '/dev/null', 'new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', command);
    t('set-option', '-t', 'top', 'remain-on-exit', 'on');
    try {
      const deadline = performance.now() + 45_000;
      let pane = '';
      const frames = new Set<string>();
      while (performance.now() < deadline) {
        await delay(500);
        pane = t('capture-pane', '-p', '-t', 'top');
        const frame = /#(\d+)/.exec(pane)?.[1];
        if (frame) frames.add(frame);
        if (performance.now() - startedAt > SPIKE_AT_MS + 3000 && /^bottleneck: sqlite-writer: /m.test(pane) && frames.size >= 3) break;
      }
      const lines = pane.replace(/\n$/, '').split('\n');
      assert.match(pane, /^bottleneck: sqlite-writer: (full at 5,000|filling at [\d,]+)\/5,000/m, `pane:\n${pane}\ndemo:\n${demo.output()}`);
      assert.match(pane, /^> sqlite-writer +(100|[89]\d)%/m, pane);
      assert.ok(lines.length <= 24, `${lines.length} lines`);
      for (const l of lines) assert.ok(l.length <= 80, `wider than 80: ${l}`);
      // One frame drawn over the last, not appended: a single title line on screen, and it kept refreshing.
      assert.equal(lines.filter((l) => l.startsWith('sluice top ·')).length, 1, pane);
      assert.ok(frames.size >= 3, `frames seen: ${[...frames].join(',')}`);
      // Ctrl-C (leaving the alternate screen with the last frame, exit 0) is checked on
      // topCommand above with an abort signal. Sent through tmux it was flaky in full
      // runs of the suite (the pane still alive 15 s later in 3 of 8), cause not found.
    } finally {
      try {
        t('kill-server');
      } catch {
        // already gone
      }
    }
  });
});
