#!/usr/bin/env node
// npm run build: dist/ as users install it, with no runtime dependency.
// 1. tsc emits dist/ module for module, with .d.ts (src/ keeps one file per module,
//    so `sluice` and `sluice/config` share one Channel class, one ConfigError).
// 2. The CLI's and the config loader's libraries (commander, yaml, zod; devDependencies)
//    are bundled by esbuild into dist/vendor/<name>.js, and dist's imports of them are
//    rewritten to those files. Only the names dist imports are kept.
// 3. The dashboard's browser files go to dist/tools/dashboard/assets/: uPlot's script and
//    stylesheet copied from the uplot package, and the page script bundled from
//    src/tools/dashboard/browser/ (scripts/build-client.mjs).
// 4. Checks: no file in dist/ imports a package other than node built-ins and the
//    optional peer dependencies, and no public .d.ts names a bundled package's types.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import { buildClient } from './build-client.mjs';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const VENDORED = ['commander', 'yaml', 'zod'];
const allowed = new Set([...Object.keys(pkg.peerDependencies ?? {}), ...builtinModules]);

rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const jsFiles = walk('dist').filter((f) => f.endsWith('.js'));

// --- 2. vendor ---------------------------------------------------------------
// tsc writes one import per line: `import { a, b as c } from 'pkg';`
const importLine = /^(import|export)\s+(.*?)\s+from\s+'([^']+)';$/gm;
const names = new Map(VENDORED.map((p) => [p, new Set()]));
for (const file of jsFiles) {
  for (const [, , clause, spec] of readFileSync(file, 'utf8').matchAll(importLine)) {
    if (!names.has(spec)) continue;
    const m = /^\{([^}]*)\}$/.exec(clause);
    if (!m) fail(`${file}: only named imports of ${spec} can be vendored, found "${clause}"`);
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0];
      if (name) names.get(spec).add(name);
    }
  }
}
mkdirSync('dist/vendor', { recursive: true });
for (const [name, used] of names) {
  if (used.size === 0) continue;
  const dir = join('node_modules', name); // not require.resolve: some packages do not export ./package.json
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const licenseFile = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const licenseText = licenseFile ? readFileSync(join(dir, licenseFile), 'utf8').replaceAll('*/', '* /').trim() : '';
  await build({
    stdin: { contents: `export { ${[...used].sort().join(', ')} } from '${name}';`, resolveDir: process.cwd(), loader: 'js' },
    outfile: `dist/vendor/${name}.js`,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    legalComments: 'none', // the package's whole licence is in the banner instead
    // commander is CommonJS: its require('events') etc. need a real require in an ES module.
    banner: { js: `/*! ${name}@${version} (${license}), bundled into sluice.\n${licenseText}\n*/\nimport { createRequire as __sluiceRequire } from 'node:module';\nconst require = __sluiceRequire(import.meta.url);` },
    logLevel: 'warning',
  });
}
for (const file of jsFiles) {
  const text = readFileSync(file, 'utf8');
  const out = text.replace(importLine, (line, kind, clause, spec) => {
    if (!names.has(spec)) return line;
    let target = relative(dirname(file), `dist/vendor/${spec}.js`);
    if (!target.startsWith('.')) target = `./${target}`;
    return `${kind} ${clause} from '${target}';`;
  });
  if (out !== text) writeFileSync(file, out);
}

// --- 3. dashboard assets -----------------------------------------------------
const assets = 'dist/tools/dashboard/assets';
mkdirSync(assets, { recursive: true });
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(require.resolve(`uplot/dist/${file}`), join(assets, file));
copyFileSync('node_modules/uplot/LICENSE', join(assets, 'uPlot.LICENSE')); // shipped with the copy, not served
writeFileSync(join(assets, 'dashboard.js'), await buildClient());

// --- 4. checks -----------------------------------------------------------------
const problems = [];
const bare = (spec) => !spec.startsWith('.') && !spec.startsWith('/');
const packageOf = (spec) => spec.replace(/^node:/, '').split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
for (const file of walk('dist').filter((f) => f.endsWith('.js') && !f.startsWith('dist/vendor/'))) {
  for (const spec of specifiers(readFileSync(file, 'utf8'))) {
    if (bare(spec) && !allowed.has(packageOf(spec))) problems.push(`${file} imports "${spec}", which users do not have`);
  }
}
// Types users see: every .d.ts reachable from an exports "types" entry.
const seen = new Set();
const visit = (file) => {
  if (seen.has(file)) return;
  seen.add(file);
  for (const spec of specifiers(readFileSync(file, 'utf8'))) {
    if (bare(spec)) {
      if (!allowed.has(packageOf(spec))) problems.push(`${file} refers to the types of "${spec}", which users do not have`);
    } else visit(join(dirname(file), spec.replace(/\.js$/, '.d.ts')));
  }
};
for (const target of Object.values(pkg.exports)) if (target?.types) visit(target.types.slice(2));
if (problems.length) fail(`dist/ would need packages that are not installed with sluice:\n  ${problems.join('\n  ')}`);
// stderr: `npm pack --json` runs this (prepare) and its stdout must stay JSON.
console.error(`build: dist/ ready; vendored ${[...names].filter(([, s]) => s.size).map(([n]) => n).join(', ')}; ${seen.size} public .d.ts files checked`);

// TypeScript's scanner: real imports, static and dynamic, not the @example lines in comments.
function specifiers(text) {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}
