#!/usr/bin/env node
// Bin entry of the `sluice` command. Everything else lives in program.ts so
// tests can run the CLI in process; this file only binds it to the process.
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
});
