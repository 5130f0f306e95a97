#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (TypeScript via tsx).
// Unit tests (src/) run two files at a time; the integration and load tests
// (test/) run one file at a time afterwards, so a latency measurement never
// shares the 2-core machine with another suite.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
selected.sort();
const phases = [
  { files: selected.filter((f) => !f.startsWith('test')), concurrency: process.env.TEST_CONCURRENCY ?? 2 },
  { files: selected.filter((f) => f.startsWith('test')), concurrency: 1 },
];
let status = 0;
const totals = { pass: 0, fail: 0, skipped: 0 };
const tapDir = mkdtempSync(join(tmpdir(), 'sluice-tests-'));
for (const [index, { files, concurrency }] of phases.entries()) {
  if (files.length === 0) continue;
  const tapFile = join(tapDir, `phase-${index}.tap`);
  const result = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) status = result.status ?? 1;
  const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
  for (const key of Object.keys(totals)) {
    const m = tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
    if (m) totals[key] += Number(m[1]);
  }
}
rmSync(tapDir, { recursive: true, force: true });
// One closing line for the whole run (both phases).
console.log(`\n${totals.pass} passed, ${totals.fail} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
if (status === 0 && totals.fail > 0) status = 1;
process.exit(status);
