// Keeps the test layout honest (#11 item 6): unit tests beside the code need no
// live service, no helper is named like a test, and no fixture compiles into
// dist/. Reads the source tree only; needs no service.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const posix = (path: string) => path.split(sep).join('/');
const rel = (path: string) => posix(relative(root, path));

/** Packages that only work against a running service or browser. */
const liveServicePackages = ['ioredis', 'amqplib', 'nats', 'pg', 'pg-copy-streams', 'playwright-core', 'playwright'];

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every module a file names: static and dynamic imports, re-exports, and `new URL('./x.js', import.meta.url)`. */
function specifiers(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const found = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  for (const m of text.matchAll(/new URL\(\s*'(\.[^']+)'\s*,\s*import\.meta\.url\s*\)/g)) found.push(m[1]!);
  return found;
}

/** The repository file a relative specifier names, or undefined for a package (or a file that does not exist). */
function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), join(base, 'index.ts')];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return hit && rel(hit);
}

const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

const testFiles = [...walk(join(root, 'src')), ...walk(join(root, 'test'))].filter((f) => f.endsWith('.test.ts')).map(rel);
const unitTests = testFiles.filter((f) => f.startsWith('src/'));

/** What a unit test needs that a unit test may not: a live-service package, or a test/ helper other than test/fixtures/. */
function liveNeeds(file: string): string[] {
  const path = join(root, file);
  return specifiers(path).flatMap((s) => {
    if (liveServicePackages.includes(packageName(s))) return [s];
    const target = resolveRelative(path, s);
    return target?.startsWith('test/') && !target.startsWith('test/fixtures/') ? [target] : [];
  });
}

/** Test files that another file imports: helpers named like tests. */
function importedTestFiles(): Map<string, string> {
  const sources = ['src', 'test', 'bench', 'scripts', 'examples'].flatMap((d) => walk(join(root, d)));
  const importedBy = new Map<string, string>();
  for (const source of sources) {
    for (const s of specifiers(source)) {
      const target = resolveRelative(source, s);
      if (target?.endsWith('.test.ts')) importedBy.set(target, rel(source));
    }
  }
  return importedBy;
}

/** The files `tsc -p tsconfig.build.json` compiles into dist/. */
function buildFiles(): string[] {
  const configPath = join(root, 'tsconfig.build.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  assert.equal(config.error, undefined, 'tsconfig.build.json parses');
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  return parsed.fileNames.map(rel).filter((f) => !f.endsWith('.d.ts'));
}

describe('where tests run', () => {
  it('unit tests (src/**/*.test.ts) - import no live-service package and no test/ helper but test/fixtures/', () => {
    const offenders = unitTests
      .map((f) => ({ file: f, needs: liveNeeds(f) }))
      .filter((o) => o.needs.length > 0);
    assert.deepEqual(offenders, [], 'move these to test/<service>/ (they run one file at a time there)');
  });

  it('*.test.ts - each file registers tests and no other file imports it', () => {
    const importedBy = importedTestFiles();
    const helpers = testFiles
      .flatMap((f) => {
        const text = readFileSync(join(root, f), 'utf8');
        const problems: string[] = [];
        if (!/\b(it|test)(\.\w+)?\s*\(/.test(text)) problems.push(`${f} contains no test`);
        if (importedBy.has(f)) problems.push(`${f} is imported by ${importedBy.get(f)}: a helper, so name it <module>.test-helpers.ts`);
        return problems;
      });
    assert.deepEqual(helpers, []);
  });

  it('tsconfig.build.json - compiles only src/, and no test, type test, test helper or fixture', () => {
    const files = buildFiles();
    assert.ok(files.length > 50, `the build lists ${files.length} files`);
    const fixtures = files.filter(
      (f) => !f.startsWith('src/') || /\.test(-d|-helpers)?\.ts$/.test(f) || f.split('/').includes('fixtures'),
    );
    assert.deepEqual(fixtures, []);
    // The fixture that once shipped in dist/ (#11): it now lives in test/fixtures/.
    assert.ok(!files.includes('src/core/concurrency-limiter/simulated-server.ts'));
  });

  it('tsconfig.build.json - every compiled file is reachable from a public entry, a bin or a folder index.ts', () => {
    // A file only tests import is a fixture: it belongs under test/, not in dist/.
    const files = buildFiles();
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: unknown; bin?: unknown };
    const targets: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') targets.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect(pkg.exports);
    collect(pkg.bin);
    const entries = [
      ...targets.filter((t) => t.startsWith('./dist/') && t.endsWith('.js')).map((t) => t.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
      ...files.filter((f) => f.endsWith('/index.ts')),
    ];
    const reached = new Set<string>();
    const stack = entries.filter((f) => existsSync(join(root, f)));
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      for (const s of specifiers(join(root, file))) {
        const target = resolveRelative(join(root, file), s);
        if (target) stack.push(target);
      }
    }
    assert.deepEqual(files.filter((f) => !reached.has(f)), []);
  });
});
