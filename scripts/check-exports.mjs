#!/usr/bin/env node
// Build check (Hono-style): the package.json exports map and the src/ folders agree.
// - every public subpath "./x" has src/<layer>/x/index.ts and points at dist/<layer>/x/index.{js,d.ts},
//   types first (layers: core, adapters, tools; the subpath names do not say the layer);
// - every src/<layer>/<folder>/index.ts is either a public subpath or re-exported by src/index.ts;
// - internals are blocked ("./internal/*": null).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const rootIndex = readFileSync('src/index.ts', 'utf8');
const errors = [];
const notPublic = new Set(['internal', 'demo', 'cli', 'top']);
const layers = ['core', 'adapters', 'tools'];
/** src/<layer>/<name>/, found by the feature name alone. */
const layerOf = (name) => layers.find((layer) => existsSync(`src/${layer}/${name}`));
/** Feature folders: [layer, name]. */
const features = layers.flatMap((layer) => readdirSync(`src/${layer}`).filter((d) => statSync(`src/${layer}/${d}`).isDirectory()).map((d) => [layer, d]));

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
  const layer = layerOf(name);
  if (!layer || !existsSync(`src/${layer}/${name}/index.ts`)) errors.push(`exports["${key}"] has no src/<layer>/${name}/index.ts`);
  const dir = `${layer ?? '<layer>'}/${name}`;
  const keys = Object.keys(target);
  if (keys[0] !== 'types') errors.push(`exports["${key}"]: "types" must come first`);
  if (target.types !== `./dist/${dir}/index.d.ts`) errors.push(`exports["${key}"].types should be ./dist/${dir}/index.d.ts`);
  if (target.import !== `./dist/${dir}/index.js`) errors.push(`exports["${key}"].import should be ./dist/${dir}/index.js`);
}
if (!('./internal/*' in pkg.exports)) errors.push('exports must contain "./internal/*": null');
const root = pkg.exports['.'];
if (Object.keys(root)[0] !== 'types') errors.push('exports["."]: "types" must come first');

for (const dir of readdirSync('src')) {
  if (statSync(`src/${dir}`).isDirectory() && !layers.includes(dir) && dir !== 'internal') errors.push(`src/${dir}/ is outside the layers (src/core, src/adapters, src/tools, src/internal)`);
}
for (const [layer, dir] of features) {
  if (notPublic.has(dir)) continue;
  if (!existsSync(`src/${layer}/${dir}/index.ts`)) {
    errors.push(`src/${layer}/${dir}/ has no index.ts entry`);
    continue;
  }
  const isSubpath = `./${dir}` in pkg.exports;
  const inCore = rootIndex.includes(`'./${layer}/${dir}/index.js'`);
  if (!isSubpath && !inCore) errors.push(`src/${layer}/${dir}/ is neither a subpath export nor re-exported from src/index.ts`);
  if (isSubpath && inCore) errors.push(`src/${layer}/${dir}/ is both a subpath and part of the core entry; pick one`);
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
      const parts = relative('src', target).split('/');
      const folder = layers.includes(parts[0]) ? parts[1] : parts[0];
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

// Layering (#11): src/core <- src/adapters <- src/tools, with src/internal/ under all of them.
// - core (and src/internal/) imports no adapter and no tool;
// - an adapter imports the core, src/internal/ and src/adapters/internal/, never another adapter;
// - a file reaches into another feature folder only through its index.ts, or through a
//   folder named internal/ (src/internal/, src/adapters/internal/, src/tools/<x>/internal/).
// Tests and test helpers are exempt: they may open up what they test.
{
  const { dirname, join, relative, resolve } = await import('node:path');
  const ts = (await import('typescript')).default;
  const rank = { core: 0, internal: 0, adapters: 1, tools: 2 };
  /** Where a src/ file sits: its layer, its feature folder (if any) and whether it is under an internal/ folder. */
  const place = (file) => {
    const parts = relative('src', file).split('/');
    if (parts.length === 1) return { layer: 'root', feature: undefined, parts };
    if (parts[0] === 'internal') return { layer: 'internal', feature: undefined, parts };
    if (parts[1] === 'internal') return { layer: parts[0], feature: undefined, parts };
    return { layer: parts[0], feature: `${parts[0]}/${parts[1]}`, parts };
  };
  const sources = (dir) => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return path.endsWith('dashboard/browser') ? [] : sources(path);
    return /\.ts$/.test(name) && !/\.(test|test-d|test-helpers)\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
  const problems = [];
  let checked = 0;
  for (const file of sources('src')) {
    const from = place(file);
    for (const { fileName: spec } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!spec.startsWith('.')) continue;
      let target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (existsSync(target) && statSync(target).isDirectory()) target = join(target, 'index.ts');
      target = relative('.', target);
      if (!target.startsWith('src/')) {
        // The dashboard's development asset loader runs the build script's bundler (tsconfig.build.json leaves it out of dist/).
        if (file === 'src/tools/dashboard/dev-assets.ts' && target === 'scripts/build-client.mjs') continue;
        problems.push(`${file} imports ${spec}, outside src/`);
        continue;
      }
      checked++;
      const to = place(target);
      if (from.layer === 'root') continue; // src/index.ts re-exports the core entries
      if (to.layer === 'root') {
        problems.push(`${file} imports src/index.ts; import the feature's own index.ts`);
        continue;
      }
      if (rank[to.layer] > rank[from.layer]) problems.push(`${file} (${from.layer}) imports ${target} (${to.layer}): a lower layer never imports a higher one`);
      else if (from.layer === 'adapters' && to.layer === 'adapters' && to.feature && to.feature !== from.feature) problems.push(`${file} imports another adapter, ${target}: adapters build on the core only`);
      else if (to.feature && to.feature !== from.feature) {
        const inside = to.parts.slice(2);
        if (inside.join('/') !== 'index.ts' && !inside.slice(0, -1).includes('internal')) {
          problems.push(`${file} reaches past ${to.feature}/index.ts to ${target}: import the index.ts, or move the shared piece to an internal/ folder`);
        }
      }
    }
  }
  if (problems.length) {
    console.error('check-exports: the layers are crossed:\n  ' + problems.join('\n  '));
    process.exit(1);
  }
  console.log(`check-exports: layers hold (${checked} imports between src/ files: core <- adapters <- tools, other folders only through index.ts or internal/)`);
}
