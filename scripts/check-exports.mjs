#!/usr/bin/env node
// Build check (Hono-style): the package.json exports map and the src/ folders agree.
// - every public subpath "./x" has src/x/index.ts and points at dist/x/index.{js,d.ts}, types first;
// - every src/<folder>/index.ts is either a public subpath or re-exported by src/index.ts;
// - internals are blocked ("./internal/*": null).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const rootIndex = readFileSync('src/index.ts', 'utf8');
const errors = [];
const notPublic = new Set(['internal', 'demo', 'cli']);

for (const [key, target] of Object.entries(pkg.exports)) {
  if (key === '.' || key === './package.json') continue;
  if (key.endsWith('.json')) {
    // Data files shipped as is (./schema.json: the config JSON Schema).
    if (typeof target !== 'string' || !existsSync(target)) errors.push(`exports["${key}"] must name an existing file`);
    else if (!pkg.files.some((f) => target.slice(2).startsWith(`${f}/`))) errors.push(`exports["${key}"]: ${target} is not in "files"`);
    continue;
  }
  if (key === './internal/*') {
    if (target !== null) errors.push('exports["./internal/*"] must be null so internals are not importable');
    continue;
  }
  const name = key.slice(2);
  if (!existsSync(`src/${name}/index.ts`)) errors.push(`exports["${key}"] has no src/${name}/index.ts`);
  const keys = Object.keys(target);
  if (keys[0] !== 'types') errors.push(`exports["${key}"]: "types" must come first`);
  if (target.types !== `./dist/${name}/index.d.ts`) errors.push(`exports["${key}"].types should be ./dist/${name}/index.d.ts`);
  if (target.import !== `./dist/${name}/index.js`) errors.push(`exports["${key}"].import should be ./dist/${name}/index.js`);
}
if (!('./internal/*' in pkg.exports)) errors.push('exports must contain "./internal/*": null');
const root = pkg.exports['.'];
if (Object.keys(root)[0] !== 'types') errors.push('exports["."]: "types" must come first');

for (const dir of readdirSync('src')) {
  if (!statSync(`src/${dir}`).isDirectory() || notPublic.has(dir)) continue;
  if (!existsSync(`src/${dir}/index.ts`)) {
    errors.push(`src/${dir}/ has no index.ts entry`);
    continue;
  }
  const isSubpath = `./${dir}` in pkg.exports;
  const inCore = rootIndex.includes(`'./${dir}/index.js'`);
  if (!isSubpath && !inCore) errors.push(`src/${dir}/ is neither a subpath export nor re-exported from src/index.ts`);
  if (isSubpath && inCore) errors.push(`src/${dir}/ is both a subpath and part of the core entry; pick one`);
}

if (errors.length) {
  console.error('check-exports: the exports map and src/ disagree:\n  ' + errors.join('\n  '));
  process.exit(1);
}
console.log('check-exports: exports map and src/ folders agree');

// Core (everything reachable from src/index.ts) has zero runtime dependencies and never imports an adapter.
{
  const { dirname, resolve, relative } = await import('node:path');
  const adapters = new Set(Object.keys(pkg.exports).filter((k) => k !== '.' && k.startsWith('./') && !k.includes('*') && !k.endsWith('.json')).map((k) => k.slice(2)));
  adapters.delete('testing');
  const seen = new Set();
  const problems = [];
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'";/@()]*?from\s+['"]([^'"]+)['"]/gm)) {
      const [, typeOnly, spec] = m;
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        if (!typeOnly) problems.push(`${file} imports the package "${spec}"`);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const folder = relative('src', target).split('/')[0];
      if (adapters.has(folder)) problems.push(`${file} imports the adapter sluice/${folder}`);
      if (existsSync(target)) visit(target);
    }
  };
  visit('src/index.ts');
  if (problems.length) {
    console.error('check-exports: the core must stay dependency-free:\n  ' + problems.join('\n  '));
    process.exit(1);
  }
  console.log(`check-exports: core (${seen.size} files) imports no package and no adapter`);
}
