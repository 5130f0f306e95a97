// Node binaries for the LTS lines the suite runs on. Users are on 22 and 24,
// so `npm test` runs every test file on both. Line 24 is the `node`
// devDependency (npm scripts put node_modules/.bin first on PATH); line 22 is
// installed from the npm registry on first use into node_modules/.cache, the
// same way, so nothing but npm is needed and a clean `npm ci` removes it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The lines `npm test` runs on, newest first. Keep in step with `engines` in package.json. */
export const supportedLines = ['24', '22'];

const cacheRoot = resolve('node_modules/.cache/sluice-node');

function majorOf(binary) {
  const out = spawnSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/**
 * Path of a Node binary of `line` (e.g. '22'): the running Node if it is of that
 * line, else a copy installed from the npm registry's `node@<line>` package.
 * Returns `{ path, version }` or throws with one line saying what to run.
 */
export function nodeBinary(line) {
  if (process.versions.node.split('.')[0] === line) return { path: process.execPath, version: process.versions.node };
  const dir = join(cacheRoot, line);
  const binary = join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    // A package.json of its own keeps this install from touching the project's.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }));
    console.log(`run-tests: installing Node ${line} from the npm registry into ${dir}`);
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `node@${line}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (install.status !== 0 || !existsSync(binary)) {
      throw new Error(`could not install Node ${line}; run: npm install --prefix ${dir} node@${line}`);
    }
  }
  const version = majorOf(binary);
  if (!version || version.split('.')[0] !== line) {
    throw new Error(`${binary} is not Node ${line} (${version ?? 'does not run'}); remove ${dir} and retry`);
  }
  return { path: binary, version };
}
