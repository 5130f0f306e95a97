// The examples are copyable: they import Sluice by its package name, and what
// examples/sluice.yaml points editors at is reachable from the installed package.
// (test/postgres/example.test.ts runs examples/log-ingest.ts itself.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { repoRoot } from './snippets.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; files: string[]; exports: Record<string, unknown> };
const examples = readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.ts'));

function importSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((s) => (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) ? [s.moduleSpecifier.text] : []));
}

describe('examples', () => {
  it('examples/*.ts - import Sluice by package name through a public entry, never from ../src', () => {
    assert.ok(examples.includes('log-ingest.ts'));
    for (const example of examples) {
      const specifiers = importSpecifiers(join(repoRoot, 'examples', example));
      assert.deepEqual(specifiers.filter((s) => s.startsWith('.')), [], `${example} imports by relative path`);
      const own = specifiers.filter((s) => s === pkg.name || s.startsWith(`${pkg.name}/`));
      assert.ok(own.length > 0, `${example} does not import ${pkg.name}`);
      for (const s of own) assert.ok(`.${s.slice(pkg.name.length)}` in pkg.exports, `${example}: ${s} is not in package.json exports`);
    }
    assert.deepEqual(importSpecifiers(join(repoRoot, 'examples', 'log-ingest.ts')).filter((s) => s.startsWith('sluice')), ['sluice', 'sluice/http', 'sluice/postgres']);
  });

  it('sluice/schema.json - resolves through exports to the committed config schema, shipped by "files"', () => {
    const resolved = fileURLToPath(import.meta.resolve('sluice/schema.json'));
    assert.equal(resolved, join(repoRoot, 'schema', 'sluice.config.schema.json'));
    assert.ok(pkg.files.includes('schema'));
    const schema = JSON.parse(readFileSync(resolved, 'utf8')) as { title?: string };
    assert.equal(schema.title, 'Sluice configuration');
  });

  it('examples/sluice.yaml - names the schema path that works in the repository and the one that works once installed', () => {
    const yaml = readFileSync(join(repoRoot, 'examples', 'sluice.yaml'), 'utf8');
    const [first] = yaml.split('\n');
    assert.equal(first, '# yaml-language-server: $schema=../schema/sluice.config.schema.json');
    const target = pkg.exports['./schema.json'];
    assert.equal(typeof target, 'string');
    assert.ok(yaml.includes(`$schema=./node_modules/${pkg.name}/${(target as string).slice(2)}`));
    assert.ok(readFileSync(join(repoRoot, 'examples', 'README.md'), 'utf8').includes(`./node_modules/${pkg.name}/${(target as string).slice(2)}`));
  });
});
