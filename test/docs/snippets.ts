// Doc snippets as code: finds every TypeScript example in the docs (TSDoc
// `@example` blocks under src/, ```ts blocks in README.md, docs/ and examples/
// markdown), type-checks them all in one TypeScript program, and runs the
// self-contained ones. Used by test/docs/snippets.test.ts; also a CLI:
//
//   npx tsx test/docs/snippets.ts            list, type-check and run; exit 1 on a failure
//   npx tsx test/docs/snippets.ts --list     list what was found and how it is treated
//
// Rules a snippet is held to:
// - Markdown snippets are what a user copies: they import what they use from
//   'sluice' / 'sluice/<subpath>' (resolved to src/ through tsconfig.json
//   "paths") and declare everything else. ```ts no-run type-checks without
//   running (servers that listen forever, external systems).
// - TSDoc examples are usually one line and rely on the reader's context: names
//   exported by Sluice are imported automatically (the module's own entry first),
//   and the placeholders an example stands on (`flush`, `store`, `redis`, ...)
//   come, typed, from test/docs/context/<module>.ts or test/docs/context/common.ts.
//   A name found in neither fails the check. An example that uses a placeholder
//   is type-checked only; one that needs nothing but Sluice also runs.
// - Runnable snippets must exit 0 within the timeout (so they must not leave
//   timers or sockets open), one process each, with tsx.
// - A fenced example in another language (```yaml, ```sh) is not TypeScript and
//   is skipped; ```ts no-check opts a TypeScript fragment out (listed, visible).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
const contextDir = join(repoRoot, 'test', 'docs', 'context');

export interface Snippet {
  /** "file:line", the line of the snippet's first code line. */
  id: string;
  /** Repository-relative path of the file it was found in. */
  file: string;
  line: number;
  code: string;
  origin: 'tsdoc' | 'markdown';
  /** For TSDoc: the src/ folder it documents ("channel", "amqp", ...). */
  module?: string;
  /** Words after the language in the fence's info string: "no-run", "no-check". */
  flags: string[];
}

export interface SkippedBlock {
  id: string;
  lang: string;
}

const tsLangs = new Set(['ts', 'typescript', 'mts']);
const blockTag = /(?<![{\w])@(example|default|defaultValue|param|returns|throws|remarks|see|deprecated|since|module|typeParam|internal|privateRemarks)\b/;
// Files whose @example blocks are not TypeScript (they document YAML keys of sluice.yaml).
const exampleLanguage: Record<string, string> = { 'src/tools/config/types.ts': 'yaml' };

/** The layer folders of src/ (#11): a feature folder is src/<layer>/<module>/. */
const layers = ['core', 'adapters', 'tools'];

/** The src/ folder of a feature ("channel" -> src/core/channel), or src/<module> for the others (internal). */
function moduleDir(root: string, module: string): string {
  for (const layer of layers) if (existsSync(join(root, 'src', layer, module))) return join(root, 'src', layer, module);
  return join(root, 'src', module);
}

function walk(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Splits a code block that may itself be fenced (```ts no-run) into language, flags and code. */
function unfence(lines: { text: string; line: number }[]): { lang: string; flags: string[]; lines: { text: string; line: number }[] } {
  const open = lines.findIndex((l) => /^\s*```/.test(l.text));
  if (open === -1) return { lang: 'ts', flags: [], lines };
  const [lang = '', ...flags] = lines[open]!.text.trim().slice(3).trim().split(/\s+/);
  const close = lines.findIndex((l, i) => i > open && /^\s*```\s*$/.test(l.text));
  return { lang: lang || 'ts', flags, lines: lines.slice(open + 1, close === -1 ? undefined : close) };
}

function trimBlank(lines: { text: string; line: number }[]): { text: string; line: number }[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.text.trim() === '') start++;
  while (end > start && lines[end - 1]!.text.trim() === '') end--;
  return lines.slice(start, end);
}

export function tsdocExamples(file: string, text: string, skipped: SkippedBlock[] = []): Snippet[] {
  const rel = relative(repoRoot, file);
  const parts = rel.split('/');
  const module = layers.includes(parts[1]!) ? parts[2] : parts[1];
  const out: Snippet[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const first = lineAt(text, comment.index);
    const body = comment[0].split('\n').map((raw, i) => ({
      text: raw.replace(/^\s*\/\*\*\s?/, '').replace(/\s*\*\/$/, '').replace(/^\s*\* ?/, '').replace(/^\s*\*$/, ''),
      line: first + i,
    }));
    let current: { text: string; line: number }[] | undefined;
    const examples: { text: string; line: number }[][] = [];
    for (const l of body) {
      // Block tags may also sit mid-line (`/** Key x. @default 1 @example x: 2 */`).
      const parts = l.text.split(blockTag);
      if (parts.length === 1) {
        current?.push(l);
        continue;
      }
      if (parts[0]!.trim() !== '') current?.push({ text: parts[0]!, line: l.line });
      for (let p = 1; p < parts.length; p += 2) {
        if (current) examples.push(current);
        current = parts[p] === 'example' ? [{ text: parts[p + 1]!.replace(/^ /, ''), line: l.line }] : undefined;
      }
    }
    if (current) examples.push(current);
    for (const example of examples) {
      const fenced = unfence(trimBlank(example));
      const { flags, lines } = fenced;
      const lang = exampleLanguage[rel] ?? fenced.lang;
      const code = trimBlank(lines);
      if (code.length === 0) continue;
      const id = `${rel}:${code[0]!.line}`;
      if (!tsLangs.has(lang)) {
        skipped.push({ id, lang });
        continue;
      }
      out.push({ id, file: rel, line: code[0]!.line, code: code.map((l) => l.text).join('\n'), origin: 'tsdoc', module, flags });
    }
  }
  return out;
}

export function markdownSnippets(file: string, text: string, skipped: SkippedBlock[] = []): Snippet[] {
  const rel = relative(repoRoot, file);
  const lines = text.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [lang = '', ...flags] = open[3]!.trim().split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !new RegExp(`^\\s*${open[2]}\\s*$`).test(lines[end]!)) end++;
    i = end;
    if (!tsLangs.has(lang)) {
      if (lang) skipped.push({ id: `${rel}:${start + 1}`, lang });
      continue;
    }
    const indent = open[1]!.length;
    const code = lines.slice(start, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)));
    out.push({ id: `${rel}:${start + 1}`, file: rel, line: start + 1, code: code.join('\n'), origin: 'markdown', flags });
  }
  return out;
}

export function findSnippets(root = repoRoot): { snippets: Snippet[]; skipped: SkippedBlock[] } {
  const skipped: SkippedBlock[] = [];
  const snippets: Snippet[] = [];
  const sources = walk(join(root, 'src'), (p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.test-d.ts') && !p.endsWith('.test-helpers.ts')).sort();
  for (const file of sources) snippets.push(...tsdocExamples(file, readFileSync(file, 'utf8'), skipped));
  const docs = [join(root, 'README.md'), ...['docs', 'examples'].flatMap((d) => (existsSync(join(root, d)) ? walk(join(root, d), (p) => p.endsWith('.md')) : []))].sort();
  for (const file of docs) if (existsSync(file)) snippets.push(...markdownSnippets(file, readFileSync(file, 'utf8'), skipped));
  return { snippets, skipped };
}

/** The import specifiers of the public entries, from package.json "exports" (the package's own name first). */
export function publicEntries(root = repoRoot): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const entries = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (target === null || typeof target !== 'object' || !('import' in target)) continue;
    const sub = key === '.' ? '' : key.slice(2);
    // dist/<layer>/<module>/index.js is built from src/<layer>/<module>/index.ts.
    const source = String(target.import).replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    entries.set(sub === '' ? pkg.name : `${pkg.name}/${sub}`, join(root, source));
  }
  return entries;
}

export interface CheckedSnippet {
  snippet: Snippet;
  /** Generated module, absolute. */
  path: string;
  /** Type errors, "file:line:col message" pointing into the doc. */
  errors: string[];
  /** Placeholders it took from test/docs/context (then it is not run). */
  placeholders: string[];
  runnable: boolean;
}

const missingName = /^Cannot find name '([^']+)'|^Cannot find namespace '([^']+)'|^No value exists in scope for the shorthand property '([^']+)'/;
const missingCodes = new Set([2304, 2503, 2552, 2580, 2582, 2591, 18004]);

function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, rootDir: undefined, outDir: undefined, incremental: false };
}

function moduleSymbolExports(checker: ts.TypeChecker, program: ts.Program, file: string): Map<string, boolean> {
  const names = new Map<string, boolean>();
  const source = program.getSourceFile(file);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) return names;
  for (const s of checker.getExportsOfModule(symbol)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    names.set(s.name, (target.flags & ts.SymbolFlags.Value) !== 0);
  }
  return names;
}

function flatten(message: string | ts.DiagnosticMessageChain): string {
  return ts.flattenDiagnosticMessageText(message, ' ');
}

/**
 * Writes each snippet as a module under `outDir` (which must be inside the
 * repository, so 'sluice' and the dev dependencies resolve) and type-checks
 * them together. Two programs: the first finds each snippet's free names, the
 * second checks the snippets with those names imported.
 */
export function checkSnippets(snippets: Snippet[], outDir: string, root = repoRoot): CheckedSnippet[] {
  mkdirSync(outDir, { recursive: true });
  const options = compilerOptions(root);
  const entries = publicEntries(root);
  const paths = snippets.map((s, i) => join(outDir, `${String(i).padStart(3, '0')}-${s.file.replace(/[^\w]+/g, '_')}_${s.line}.ts`));
  const checked = snippets.filter((s) => !s.flags.includes('no-check'));
  const write = (i: number, preamble: string[]): void => writeFileSync(paths[i]!, `${preamble.join('\n')}${preamble.length ? '\n' : ''}${snippets[i]!.code}\nexport {};\n`);
  snippets.forEach((s, i) => (checked.includes(s) ? write(i, []) : undefined));
  const rootNames = snippets.flatMap((s, i) => (checked.includes(s) ? [paths[i]!] : []));

  const contexts = existsSync(contextDir) ? readdirSync(contextDir).filter((f) => f.endsWith('.ts')).map((f) => join(contextDir, f)) : [];
  const modules = layers.flatMap((layer) => readdirSync(join(root, 'src', layer)).map((d) => join(root, 'src', layer, d, 'index.ts'))).filter((f) => existsSync(f));
  const first = ts.createProgram({ rootNames: [...rootNames, ...entries.values(), ...modules, ...contexts], options });
  const checker = first.getTypeChecker();
  const exportsOf = new Map<string, Map<string, boolean>>();
  const exportsFrom = (file: string): Map<string, boolean> => {
    let names = exportsOf.get(file);
    if (!names) exportsOf.set(file, (names = moduleSymbolExports(checker, first, file)));
    return names;
  };
  const importPath = (from: string, file: string): string => {
    const rel = relative(dirname(from), file).replace(/\.ts$/, '.js');
    return rel.startsWith('.') ? rel : `./${rel}`;
  };

  const results: CheckedSnippet[] = snippets.map((snippet, i) => ({ snippet, path: paths[i]!, errors: [], placeholders: [], runnable: false }));
  const preambles = new Map<number, string[]>();
  snippets.forEach((snippet, i) => {
    if (!checked.includes(snippet) || snippet.origin !== 'tsdoc') return;
    const free = new Set<string>();
    for (const d of first.getSemanticDiagnostics(first.getSourceFile(paths[i]!))) {
      if (!missingCodes.has(d.code)) continue;
      const m = missingName.exec(flatten(d.messageText));
      if (m) free.add((m[1] ?? m[2] ?? m[3])!);
    }
    if (free.size === 0) return;
    // Where a free name may come from, in order: the module's own entry, the core,
    // sluice/testing, this module's placeholders, the shared placeholders, the other entries.
    const own = [...entries.entries()].find(([, file]) => file === join(moduleDir(root, snippet.module ?? ''), 'index.ts'));
    const ownPrivate = join(moduleDir(root, snippet.module ?? ''), 'index.ts');
    const sources: { spec: string; file: string; context: boolean }[] = [];
    if (own) sources.push({ spec: own[0], file: own[1], context: false });
    else if (isCore(root, snippet.module)) sources.push({ spec: 'sluice', file: entries.get('sluice')!, context: false });
    else if (existsSync(ownPrivate)) sources.push({ spec: importPath(paths[i]!, ownPrivate), file: ownPrivate, context: false });
    for (const [spec, file] of entries) if (spec === 'sluice' || spec === 'sluice/testing') sources.push({ spec, file, context: false });
    for (const name of [snippet.module ?? '', 'common']) {
      const file = join(contextDir, `${name}.ts`);
      if (existsSync(file)) sources.push({ spec: importPath(paths[i]!, file), file, context: true });
    }
    for (const [spec, file] of entries) sources.push({ spec, file, context: false });
    const imports = new Map<string, { values: string[]; types: string[] }>();
    const placeholders: string[] = [];
    for (const name of free) {
      const from = sources.find((s) => exportsFrom(s.file).has(name));
      if (!from) continue;
      const group = imports.get(from.spec) ?? { values: [], types: [] };
      imports.set(from.spec, group);
      (exportsFrom(from.file).get(name) ? group.values : group.types).push(name);
      if (from.context) placeholders.push(name);
    }
    const preamble = [...imports].flatMap(([spec, { values, types }]) => [
      ...(values.length ? [`import { ${values.sort().join(', ')} } from '${spec}';`] : []),
      ...(types.length ? [`import type { ${types.sort().join(', ')} } from '${spec}';`] : []),
    ]);
    results[i]!.placeholders = placeholders.sort();
    preambles.set(i, preamble);
    write(i, preamble);
  });

  const second = ts.createProgram({ rootNames, options, oldProgram: first });
  snippets.forEach((snippet, i) => {
    const result = results[i]!;
    if (!checked.includes(snippet)) return;
    const source = second.getSourceFile(paths[i]!)!;
    const offset = preambles.get(i)?.length ?? 0;
    const diagnostics = [...second.getSyntacticDiagnostics(source), ...second.getSemanticDiagnostics(source)];
    for (const d of diagnostics) {
      const { line, character } = source.getLineAndCharacterOfPosition(d.start ?? 0);
      const docLine = snippet.line + line - offset;
      result.errors.push(`${snippet.file}:${docLine}:${character + 1} TS${d.code}: ${flatten(d.messageText)}`);
    }
    result.runnable = result.errors.length === 0 && result.placeholders.length === 0 && !snippet.flags.includes('no-run') && (snippet.origin === 'markdown' || runsStandalone(root, snippet.module));
  });
  return results;
}

// TSDoc examples run only where the module needs nothing outside the process:
// the core and the subpaths without a peer dependency. Adapter examples
// (Redis, PostgreSQL, brokers, servers) are type-checked only.
const standaloneSubpaths = new Set(['testing', 'simulate', 'config', 'http']);
function runsStandalone(root: string, module: string | undefined): boolean {
  return module !== undefined && (standaloneSubpaths.has(module) || isCore(root, module));
}

/** A src/ folder re-exported by src/index.ts, so imported from 'sluice'. */
function isCore(root: string, module: string | undefined): boolean {
  return module !== undefined && readFileSync(join(root, 'src', 'index.ts'), 'utf8').includes(`'./core/${module}/index.js'`);
}

export interface RunResult {
  id: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ms: number;
  output: string;
}

/**
 * Runs the snippets with tsx, `concurrency` processes at a time, in `cwd`
 * (files a snippet writes, such as 'spill.db', land there; examples/sluice.yaml
 * is copied there for the snippets that load 'sluice.yaml'). Snippets with the
 * same `group` (those of one source file) share a process
 * that imports them one after the other, which keeps the run short; if that
 * process fails, each of them is run again alone to name the one at fault. A
 * snippet passes when its process exits 0 within `timeoutMs`, so it must not
 * leave timers or sockets open.
 */
export async function runSnippets(items: { id: string; path: string; group?: string }[], { cwd, timeoutMs = 15_000, concurrency = 2, root = repoRoot }: { cwd: string; timeoutMs?: number; concurrency?: number; root?: string }): Promise<RunResult[]> {
  copyFileSync(join(root, 'examples', 'sluice.yaml'), join(cwd, 'sluice.yaml'));
  const runner = join(cwd, 'run-group.mjs');
  writeFileSync(runner, [
    "import { pathToFileURL } from 'node:url';",
    'for (const file of process.argv.slice(2)) await import(pathToFileURL(file).href);',
  ].join('\n'));
  const batches = new Map<string, { id: string; path: string }[]>();
  for (const item of items) {
    const key = item.group ?? item.id;
    batches.set(key, [...(batches.get(key) ?? []), item]);
  }
  const runOne = async (paths: string[]): Promise<Omit<RunResult, 'id'>> => {
    const started = Date.now();
    const args = paths.length === 1 ? [paths[0]!] : [runner, ...paths];
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.once('close', (c, s) => done([c, s])));
    clearTimeout(timer);
    return { code, signal, timedOut, ms: Date.now() - started, output: output.slice(-2000) };
  };
  const results: RunResult[] = [];
  const queue = [...batches.values()];
  const worker = async (): Promise<void> => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const together = await runOne(batch.map((b) => b.path));
      if (batch.length === 1 || together.code === 0) {
        for (const b of batch) results.push({ id: b.id, ...together });
        continue;
      }
      for (const b of batch) results.push({ id: b.id, ...(await runOne([b.path])) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results.sort((a, b) => items.findIndex((i) => i.id === a.id) - items.findIndex((i) => i.id === b.id));
}

/** The snippets of one file run in one process (alone again if that fails). */
export function runItem(c: CheckedSnippet): { id: string; path: string; group: string } {
  return { id: c.snippet.id, path: c.path, group: c.snippet.file };
}

export function scratchDir(root = repoRoot): string {
  mkdirSync(join(root, 'test-output'), { recursive: true });
  return mkdtempSync(join(root, 'test-output', 'snippets-'));
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  const { snippets, skipped } = findSnippets();
  const dir = scratchDir();
  try {
    const checked = checkSnippets(snippets, dir);
    const failing = checked.filter((c) => c.errors.length);
    if (process.argv.includes('--list')) {
      for (const c of checked) {
        const how = c.snippet.flags.includes('no-check') ? 'no-check' : c.errors.length ? 'FAILS' : c.runnable ? 'runs' : c.placeholders.length ? `checked (placeholders: ${c.placeholders.join(', ')})` : 'checked';
        console.log(`${c.snippet.id}  ${how}`);
      }
      for (const s of skipped) console.log(`${s.id}  skipped (${s.lang})`);
    }
    for (const c of failing) console.log(c.errors.join('\n'));
    const runnable = checked.filter((c) => c.runnable);
    const runs = process.argv.includes('--list') ? [] : await runSnippets(runnable.map(runItem), { cwd: dir });
    const bad = runs.filter((r) => r.code !== 0);
    for (const r of bad) console.log(`${r.id} ${r.timedOut ? 'timed out' : `exited ${r.code ?? r.signal}`}:\n${r.output}`);
    const unchecked = checked.filter((c) => c.snippet.flags.includes('no-check')).length;
    console.log(`${snippets.length} snippets (${skipped.length} non-TypeScript blocks skipped, ${unchecked} no-check): ${checked.length - unchecked - failing.length} type-check, ${failing.length} fail; ${runs.length - bad.length}/${runs.length} run`);
    process.exitCode = failing.length || bad.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
