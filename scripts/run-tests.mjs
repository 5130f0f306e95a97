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
// A run cannot hang: each test fails after TEST_TIMEOUT_MS unless it sets its
// own timeout, and the whole run is stopped, its process group killed, once it
// passes SLUICE_TEST_DEADLINE_MIN minutes (CI allows 90; the run takes about
// 20), so a file kept alive by a handle a failed test left open ends the run
// with a failure instead of hanging it. Not --test-force-exit: it ends a file
// before every test is registered (measured: 1,788 to 1,811 tests of the 1,811
// under src/ from run to run), skipping tests without a word.
// Usage: node scripts/run-tests.mjs [--all-lines] [filter-substring ...]
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
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
const TEST_TIMEOUT_MS = 240_000;
const deadlineMin = Number(process.env.SLUICE_TEST_DEADLINE_MIN ?? 60);
if (!(deadlineMin > 0)) {
  console.error(`run-tests: SLUICE_TEST_DEADLINE_MIN must be a number of minutes > 0; got ${JSON.stringify(process.env.SLUICE_TEST_DEADLINE_MIN)}`);
  process.exit(1);
}
const deadline = Date.now() + deadlineMin * 60_000;
let running;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    // The test runner has a process group of its own (so the deadline can kill
    // every file it started); pass the user's Ctrl-C on to it.
    if (running) process.kill(-running.pid, signal);
    process.exit(130);
  });
}

/** Runs one phase's test runner; resolves to its exit status, or to 'deadline' if the run's deadline killed it. */
function runPhase(path, args) {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: 'inherit', detached: true });
    running = child;
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-child.pid, 'SIGKILL');
    }, Math.max(0, deadline - Date.now()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      resolve(killed ? 'deadline' : (code ?? signal));
    });
  });
}

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
run: for (const node of lines) {
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
    const phaseStarted = Date.now();
    const result = await runPhase(
      node.path,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
        ...files,
      ],
    );
    if (result === 'deadline') {
      status = 1;
      totals.fail++;
      console.log(`run-tests: stopped: the run passed its deadline of ${deadlineMin} min (SLUICE_TEST_DEADLINE_MIN) in the ${name} phase on Node ${node.version}; the files it had not finished and every later phase did not run`);
      break run;
    }
    if (result !== 0) {
      status = typeof result === 'number' ? result : 1;
      console.log(`run-tests: ${name} phase on Node ${node.version} exited ${result}`);
    }
    console.log(`run-tests: ${name} phase on Node ${node.version}: ${files.length} files in ${Math.round((Date.now() - phaseStarted) / 1000)} s`);
    const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
    for (const key of Object.keys(totals)) {
      const m = tap.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
      if (m) lineTotals[key] += Number(m[1]);
    }
    // A test that timed out (or was cut short with its file) is "cancelled" in TAP: a failure here.
    const cancelled = tap.match(/^# cancelled (\d+)$/m);
    if (cancelled) lineTotals.fail += Number(cancelled[1]);
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
