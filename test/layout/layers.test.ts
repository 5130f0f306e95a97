// The layering check of scripts/check-exports.mjs (#11 item 2), run on copies of
// src/ with one planted violation each: it must pass the tree as it is and fail,
// naming the file, on each kind of crossing. Reads and copies files only.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs the check on a copy of the tree, after appending `line` to `file` (a path under src/). */
function check(plant?: { file: string; line: string }): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-layers-'));
  dirs.push(dir);
  for (const path of ['src', 'schema', 'package.json']) cpSync(join(root, path), join(dir, path), { recursive: true });
  if (plant) appendFileSync(join(dir, plant.file), `\n${plant.line}\n`);
  const result = spawnSync(process.execPath, [join(root, 'scripts/check-exports.mjs')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('check-exports layering', () => {
  it('check-exports - the tree as it is holds its layers', () => {
    const { status, output } = check();
    assert.equal(status, 0, output);
    assert.match(output, /layers hold/);
  });

  it('check-exports - an adapter reaching past a core folder\'s index.ts fails, naming both files', () => {
    const { status, output } = check({ file: 'src/adapters/http/load-shed.ts', line: "import { fromFunction as _planted } from '../../core/pressure/sources.js';" });
    assert.equal(status, 1);
    assert.match(output, /src\/adapters\/http\/load-shed\.ts reaches past core\/pressure\/index\.ts to src\/core\/pressure\/sources\.ts/);
  });

  it('check-exports - an adapter importing another adapter fails', () => {
    const { status, output } = check({ file: 'src/adapters/http/index.ts', line: "export type { SqliteStore } from '../sqlite/index.js';" });
    assert.equal(status, 1);
    assert.match(output, /src\/adapters\/http\/index\.ts imports another adapter, src\/adapters\/sqlite\/index\.ts/);
  });

  it('check-exports - a lower layer importing a tool fails, type imports included', () => {
    const { status, output } = check({ file: 'src/adapters/internal/brokers.ts', line: "import type { CliIo as _Planted } from '../../tools/cli/index.js';" });
    assert.equal(status, 1);
    assert.match(output, /src\/adapters\/internal\/brokers\.ts \(adapters\) imports src\/tools\/cli\/index\.ts \(tools\): a lower layer never imports a higher one/);
  });

  it('check-exports - a tool reaching into another tool fails unless through its internal/ folder', () => {
    const deep = check({ file: 'src/tools/cli/validate.ts', line: "import { readConfigFile as _planted } from '../config/load.js';" });
    assert.equal(deep.status, 1);
    assert.match(deep.output, /src\/tools\/cli\/validate\.ts reaches past tools\/config\/index\.ts/);
    const throughInternal = check({ file: 'src/tools/cli/simulate.ts', line: "import { MAX_LISTED_ISSUES as _planted } from '../config/internal/index.js';" });
    assert.equal(throughInternal.status, 0, throughInternal.output);
  });
});
