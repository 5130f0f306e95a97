#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (TypeScript via tsx).
// Unit tests (src/) run two files at a time; the integration and load tests
// (test/) run one file at a time afterwards, so a latency measurement never
// shares the 2-core machine with another suite.
// With --all-lines (what `npm test` passes) every file runs once on each
// supported Node LTS line (24, then 22); otherwise on the running Node only.
// Except the load measurements (test/http-load/: latency and goodput under
// autocannon): they run on the first line only. What they measure is the
// machine and the algorithms, not the Node line, and on a second line they
// only double the run's longest files; every behaviour they rely on is
// covered on both lines by the unit and integration tests. The run says so.
// Usage: node scripts/run-tests.mjs [--all-lines] [filter-substring ...]
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { nodeBinary, supportedLines } from './node-lines.mjs';

// The floor of package.json's engines ("^22.13.0 || >=24" -> 22.13), so it is stated once.
const minimum = /(\d+)\.(\d+)/.exec(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node).slice(1).map(Number);
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < minimum[0] || (major === minimum[0] && minor < minimum[1])) {
  // Plain `node scripts/run-tests.mjs` on an old system Node: npm scripts use the
  // project's own Node (the `node` devDependency), so say to go through npm.
  console.error(`run-tests: Node ${process.versions.node} is not supported (needs >= ${minimum.join('.')}); run it through npm: npm test, or npm run test:unit -- <filter>`);
  process.exit(1);
}

const roots = ['src', 'test'];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(path);
  }
}
roots.forEach(walk);
const args = process.argv.slice(2);
const allLines = args.includes('--all-lines');
const filters = args.filter((a) => a !== '--all-lines');
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
selected.sort();
const LOAD_TESTS = join('test', 'http-load') + '/';
const phases = [
  { name: 'unit', files: selected.filter((f) => !f.startsWith('test')), concurrency: process.env.TEST_CONCURRENCY ?? 2 },
  { name: 'integration', files: selected.filter((f) => f.startsWith('test')), concurrency: 1 },
];
let lines;
try {
  lines = allLines ? supportedLines.map(nodeBinary) : [{ path: process.execPath, version: process.versions.node }];
} catch (error) {
  console.error(`run-tests: ${error.message}`);
  process.exit(1);
}
let status = 0;
const totals = { pass: 0, fail: 0, skipped: 0 };
const perLine = [];
const tapDir = mkdtempSync(join(tmpdir(), 'sluice-tests-'));
for (const node of lines) {
  const lineTotals = { pass: 0, fail: 0, skipped: 0 };
  if (lines.length > 1) console.log(`\n== Node ${node.version}`);
  for (const [index, phase] of phases.entries()) {
    const { name, concurrency } = phase;
    const loadOnFirstLineOnly = node !== lines[0] ? phase.files.filter((f) => f.startsWith(LOAD_TESTS)) : [];
    const files = phase.files.filter((f) => !loadOnFirstLineOnly.includes(f));
    if (loadOnFirstLineOnly.length !== 0) {
      console.log(`run-tests: ${loadOnFirstLineOnly.length} load measurement file(s) under ${LOAD_TESTS} ran on Node ${lines[0].version} only, not again on ${node.version}`);
    }
    if (files.length === 0) continue;
    const tapFile = join(tapDir, `node${node.version}-phase-${index}.tap`);
    const result = spawnSync(
      node.path,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
        ...files,
      ],
      { stdio: 'inherit' },
    );
    if (result.status !== 0) {
      status = result.status ?? 1;
      console.log(`run-tests: ${name} phase on Node ${node.version} exited ${result.status ?? result.signal}`);
    }
    const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
    for (const key of Object.keys(totals)) {
      const m = tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
      if (m) lineTotals[key] += Number(m[1]);
    }
  }
  for (const key of Object.keys(totals)) totals[key] += lineTotals[key];
  perLine.push(`Node ${node.version}: ${lineTotals.pass} passed, ${lineTotals.fail} failed`);
}
rmSync(tapDir, { recursive: true, force: true });
if (perLine.length > 1) console.log(`\n${perLine.join('; ')}`);
// One closing line for the whole run (every phase, every Node line).
console.log(`\n${totals.pass} passed, ${totals.fail} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
if (status === 0 && totals.fail > 0) status = 1;
process.exit(status);
