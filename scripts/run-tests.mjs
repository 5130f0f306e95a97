#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (TypeScript via tsx).
// Unit tests (src/) run two files at a time; the integration and load tests
// (test/) run one file at a time afterwards, so a latency measurement never
// shares the 2-core machine with another suite.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
import { readdirSync, statSync } from 'node:fs';
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
for (const { files, concurrency } of phases) {
  if (files.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
