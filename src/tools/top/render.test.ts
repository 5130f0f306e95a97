import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { DashboardSnapshot } from '../dashboard/index.js';
import { findBottleneck } from './bottleneck.js';
import { compactNumber, elide, paint, renderFrame, wrap } from './render.js';

const spike = JSON.parse(readFileSync(new URL('./fixtures/demo-spike.json', import.meta.url), 'utf8')) as DashboardSnapshot;
// eslint-disable-next-line no-control-regex
const visible = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('renderFrame', () => {
  it('renderFrame - 80x24 without colour: every line fits, the verdict is on top, the bottleneck row is marked', () => {
    const lines = renderFrame(spike, findBottleneck(spike), { columns: 80, rows: 24, color: false }, 'http://127.0.0.1:1/');
    assert.ok(lines.length <= 24);
    for (const l of lines) assert.ok(l.length <= 80, `${l.length}: ${l}`);
    assert.ok(lines.every((l) => !l.includes('\x1b')));
    assert.match(lines[1]!, /^bottleneck: sqlite-writer: full at 5,000\/5,000/);
    assert.match(lines.find((l) => l.startsWith('> '))!, /^> sqlite-writer\s+100%\s+5000\/5000/);
    assert.match(lines.find((l) => l.includes('NAME'))!, /UTIL\s+SIZE\/CAP\s+IN\/s\s+OUT\/s\s+DROP\/s\s+INFL\/LIM/);
  });

  it('renderFrame - 40 columns: less important columns go first, names are elided, nothing wider than 40', () => {
    const lines = renderFrame(spike, findBottleneck(spike), { columns: 40, rows: 24, color: false }, 'x');
    for (const l of lines) assert.ok(l.length <= 40, `${l.length}: ${l}`);
    const header = lines.find((l) => l.includes('NAME'))!;
    assert.match(header, /UTIL/);
    assert.doesNotMatch(header, /STATE|LAG/);
  });

  it('renderFrame - fewer rows than components: the rest summarised, never more lines than rows', () => {
    const lines = renderFrame(spike, undefined, { columns: 80, rows: 6, color: false }, 'x');
    assert.equal(lines.length, 6);
    assert.match(lines.at(-1)!, /… 3 more/);
  });

  it('renderFrame - colour on: the bottleneck row in bold red, visible width still within the terminal', () => {
    const lines = renderFrame(spike, findBottleneck(spike), { columns: 80, rows: 24, color: true }, 'x');
    assert.ok(lines.some((l) => l.startsWith('\x1b[1;31m> sqlite-writer')));
    for (const l of lines) assert.ok(visible(l).length <= 80);
  });
});

describe('render helpers', () => {
  it('compactNumber - integers as is below 10k, then k/M/G (one decimal below ten M or G)', () => {
    assert.deepEqual([5000, 10_000, 12_345, 200_001, 1_300_000, 2.25].map(compactNumber), ['5000', '10k', '12k', '200k', '1.3M', '2.3']);
  });

  it('elide and wrap - cut with an ellipsis; wrap at spaces to at most n lines', () => {
    assert.equal(elide('abcdef', 4), 'abc…');
    assert.equal(elide('abc', 4), 'abc');
    assert.deepEqual(wrap('one two three four', 9, 2), ['one two', '  three…']);
  });

  it('paint - cursor home, erase to end of every line and below', () => {
    assert.equal(paint(['a', 'b']), '\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J');
  });
});
