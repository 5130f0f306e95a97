// The set-up a new user meets: the README's two commands on a fresh clone, the
// Node lines we claim, the lockfile npm install leaves alone, the licence, and
// the package that `npm pack` (and so an install from git) produces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import semver from 'semver';
import { supportedLines } from '../../scripts/node-lines.mjs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const floor = semver.minVersion(pkg.engines.node)!.version;

describe('Node versions', () => {
  it('engines - the floor is a supported LTS line and the suite runs on a supported line', () => {
    assert.ok(supportedLines.includes(String(semver.major(floor))), `engines floor ${floor} is not one of ${supportedLines}`);
    assert.ok(supportedLines.includes(process.versions.node.split('.')[0]!), `tests are running on Node ${process.versions.node}`);
    assert.ok(semver.satisfies(process.versions.node, pkg.engines.node), `Node ${process.versions.node} does not satisfy engines ${pkg.engines.node}`);
  });

  it('engines - the node devDependency that runs npm scripts is the newest supported line', () => {
    const dev = semver.minVersion(pkg.devDependencies.node)!;
    assert.equal(String(dev.major), supportedLines[0]);
    assert.ok(semver.satisfies(dev, pkg.engines.node));
  });

  it('engines - every package in the lockfile runs on every Node that engines allows (no EBADENGINE on 22.13+)', () => {
    const conflicts: string[] = [];
    for (const [path, entry] of Object.entries<any>(lock.packages)) {
      const range: string | undefined = entry.engines?.node;
      if (!path || !range) continue;
      if (!semver.validRange(range)) continue; // a few old packages write prose here
      // A dependency that needs more than our floor would warn (or break) on a Node we claim.
      if (!semver.subset(pkg.engines.node, range, { includePrerelease: false })) conflicts.push(`${path} needs node ${range}`);
    }
    assert.deepEqual(conflicts, []);
  });
});

describe('package-lock.json', () => {
  it('lockfile - its root entry matches package.json, so npm install does not rewrite it', () => {
    const root = lock.packages[''];
    for (const field of ['name', 'version', 'license', 'bin', 'engines', 'dependencies', 'devDependencies', 'peerDependencies']) {
      assert.deepEqual(root[field], field === 'bin' ? normalizeBin(pkg.bin) : pkg[field], `package-lock.json packages[""].${field} differs from package.json`);
    }
  });
});

function normalizeBin(bin: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(bin).map(([k, v]) => [k, v.replace(/^\.\//, '')]));
}

describe('licence', () => {
  it('LICENSE - the MIT text that package.json names is in the repository and the package', () => {
    assert.equal(pkg.license, 'MIT');
    const text = readFileSync('LICENSE', 'utf8');
    assert.match(text, /^MIT License/);
    assert.match(text, /Permission is hereby granted, free of charge/);
  });
});

describe('npm pack', () => {
  it('pack - builds dist/ through prepare and ships it without source maps, tests or fixtures of src', () => {
    assert.match(pkg.scripts.prepare ?? '', /npm run build/, 'an install from git runs prepare; it must build dist/');
    const out = spawnSync('npm', ['pack', '--dry-run', '--json', '--silent'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(out.status, 0, out.stderr.slice(-2000));
    const files: string[] = JSON.parse(out.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'schema/sluice.config.schema.json']) {
      assert.ok(files.includes(needed), `${needed} is not in the package`);
    }
    for (const [sub, target] of Object.entries<any>(pkg.exports)) {
      if (target === null || typeof target === 'string') continue;
      for (const file of Object.values<string>(target)) assert.ok(files.includes(file.replace(/^\.\//, '')), `exports["${sub}"] → ${file} is not in the package`);
    }
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps would point at src/, which is not shipped');
    assert.deepEqual(files.filter((f) => /\.test(-d)?\.[jt]s$/.test(f) || f.startsWith('src/')), []);
    assert.ok(existsSync('dist/index.js'));
  });
});
