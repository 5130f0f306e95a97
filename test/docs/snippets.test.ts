// Every TypeScript example in the docs compiles, and the self-contained ones
// run: TSDoc @example blocks under src/, ```ts blocks in README.md, docs/*.md
// and examples/README.md. See test/docs/snippets.ts for the rules.
// A few deliberately broken snippets go through the same program and runner,
// so this file also shows that a broken example is caught and named.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { type CheckedSnippet, type RunResult, type Snippet, checkSnippets, findSnippets, publicEntries, repoRoot, runItem, runSnippets, scratchDir } from './snippets.js';

const planted: Snippet[] = [
  // The bug of issue #10: eventLoopDelay() needs its options.
  { id: 'planted.md:3', file: 'planted.md', line: 3, origin: 'markdown', flags: [], code: "import { eventLoopDelay } from 'sluice';\n\nconst lag = eventLoopDelay();\nlag.close();" },
  // A TSDoc one-liner: Channel is imported for it, `nowhere` is no placeholder.
  { id: 'src/core/channel/planted.ts:7', file: 'src/core/channel/planted.ts', line: 7, origin: 'tsdoc', module: 'channel', flags: [], code: 'new Channel({ capacity: nowhere })' },
  // Uses a placeholder: type-checked, never run.
  { id: 'src/core/batch-writer/planted.ts:9', file: 'src/core/batch-writer/planted.ts', line: 9, origin: 'tsdoc', module: 'batch-writer', flags: [], code: 'new BatchWriter({ flush, batchSize: 500 })' },
  // Compiles, then throws, or never ends.
  { id: 'planted-throws.md:1', file: 'planted-throws.md', line: 1, origin: 'markdown', flags: [], code: "throw new Error('planted failure');" },
  { id: 'planted-hangs.md:1', file: 'planted-hangs.md', line: 1, origin: 'markdown', flags: [], code: 'setInterval(() => {}, 1000);' },
  { id: 'planted-ok.md:1', file: 'planted-ok.md', line: 1, origin: 'markdown', flags: [], code: "import { Channel } from 'sluice';\nnew Channel<number>({ capacity: 1 }).trySend(1);" },
];
const isPlanted = (id: string): boolean => id.startsWith('planted') || id.includes('/planted.ts');

let dir: string;
let found: ReturnType<typeof findSnippets>;
let checked: CheckedSnippet[];
let runs: RunResult[];

before(async () => {
  dir = scratchDir();
  found = findSnippets();
  checked = checkSnippets([...found.snippets, ...planted], dir);
  const runnable = checked.filter((c) => c.runnable && !isPlanted(c.snippet.id));
  runs = await runSnippets(runnable.map(runItem), { cwd: dir, timeoutMs: 30_000 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const byId = (id: string): CheckedSnippet => {
  const c = checked.find((x) => x.snippet.id === id);
  assert.ok(c, `no snippet ${id}`);
  return c;
};

describe('doc snippets', { timeout: 180_000 }, () => {
  it('findSnippets - finds the TSDoc examples of src/ and the ts blocks of README.md, docs/ and examples/', () => {
    const files = new Set(found.snippets.map((s) => s.file));
    // Folders, not files, so that moving code between files inside them does not break the check.
    for (const f of ['README.md', 'docs/metrics.md']) assert.ok(files.has(f), `no snippet found in ${f}`);
    for (const dir of ['src/adapters/amqp/', 'src/core/pipeline/', 'src/core/channel/', 'src/tools/config/']) assert.ok([...files].some((f) => f.startsWith(dir)), `no snippet found under ${dir}`);
    assert.ok(found.snippets.filter((s) => s.origin === 'tsdoc').length > 300, 'TSDoc @example blocks');
    assert.ok(found.snippets.filter((s) => s.origin === 'markdown').length >= 6, 'markdown ts blocks');
    // Mid-line tags are examples too; the YAML keys of config/types.ts are not TypeScript.
    assert.ok(found.snippets.some((s) => s.file === 'src/tools/config/simulation.ts' && s.code.startsWith('toSimulation(config, {')));
    assert.ok(found.skipped.some((s) => s.id.startsWith('src/tools/config/types.ts:') && s.lang === 'yaml'));
    assert.ok(!found.snippets.some((s) => s.file === 'src/tools/config/types.ts'));
  });

  it('checkSnippets - every example type-checks', () => {
    const failing = checked.filter((c) => !isPlanted(c.snippet.id) && c.errors.length > 0);
    assert.deepEqual(failing.flatMap((c) => c.errors), [], `${failing.length} doc snippets do not compile`);
  });

  it('runSnippets - every self-contained example exits 0 in time', () => {
    const bad = runs.filter((r) => r.code !== 0);
    assert.deepEqual(bad.map((r) => `${r.id}: ${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}\n${r.output}`), []);
    assert.ok(runs.length >= 80, `only ${runs.length} snippets ran`);
    assert.ok(runs.some((r) => r.id.startsWith('README.md:')), 'the README quick start runs');
  });

  it('checkSnippets - a broken snippet fails with the doc file and line of the error', () => {
    assert.deepEqual(byId('planted.md:3').errors, ['planted.md:5:13 TS2554: Expected 1 arguments, but got 0.']);
    const tsdoc = byId('src/core/channel/planted.ts:7');
    assert.equal(tsdoc.errors.length, 1);
    assert.match(tsdoc.errors[0]!, /^src\/core\/channel\/planted\.ts:7:25 TS2304: Cannot find name 'nowhere'/);
    assert.equal(tsdoc.runnable, false);
  });

  it('checkSnippets - a TSDoc example gets Sluice exports and typed placeholders, and then is not run', () => {
    const c = byId('src/core/batch-writer/planted.ts:9');
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.placeholders, ['flush']);
    assert.equal(c.runnable, false);
    assert.match(readFileSync(c.path, 'utf8'), /^import \{ BatchWriter \} from 'sluice';$/m);
    assert.equal(byId('planted-ok.md:1').runnable, true);
  });

  it('runSnippets - a snippet that throws or never exits fails, and is named alone when its group fails', async () => {
    const items = ['planted-ok.md:1', 'planted-throws.md:1', 'planted-hangs.md:1'].map((id) => ({ ...runItem(byId(id)), group: 'planted' }));
    const results = await runSnippets(items, { cwd: dir, timeoutMs: 2_500 });
    const summary = Object.fromEntries(results.map((r) => [r.id, r.timedOut ? 'timeout' : r.code]));
    assert.deepEqual(summary, { 'planted-ok.md:1': 0, 'planted-throws.md:1': 1, 'planted-hangs.md:1': 'timeout' });
    assert.match(results[1]!.output, /planted failure/);
  });

  it('tsconfig paths - map every public entry of package.json exports to its source, and nothing else', () => {
    const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (p) => ts.sys.readFile(p)).config as { compilerOptions: { paths: Record<string, string[]> } };
    const expected = Object.fromEntries([...publicEntries()].map(([spec, file]) => [spec, [`./${file.slice(repoRoot.length + 1)}`]]));
    assert.deepEqual(config.compilerOptions.paths, expected);
  });
});
