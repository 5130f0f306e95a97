/**
 * `npm run bench -- [options]`: the benchmark orchestrator. See `--help`.
 * Each (scenario, contender) pair runs in a fresh child process
 * (`bench/worker.ts`); scenarios are the files in `bench/scenarios/`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { helpText, parseBenchArgs, UsageError } from './lib/args.js';
import { runBench } from './lib/orchestrator.js';

async function main(argv: readonly string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args.help) {
    console.log(helpText);
    return 0;
  }
  const output = await runBench(args);
  if (args.json !== undefined) {
    const file = resolve(args.json);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
  }
  if (output.failures.length > 0) {
    console.error(`\n${output.failures.length} contender(s) FAILED: ${output.failures.map((f) => `${f.scenario}/${f.contender}`).join(', ')}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`bench: ${error.message}\nRun 'npm run bench -- --help' for the options.`);
      process.exitCode = 2;
      return;
    }
    console.error(error);
    process.exitCode = 1;
  },
);
