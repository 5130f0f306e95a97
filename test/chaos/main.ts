/**
 * `npm run chaos -- [--minutes N] [--seed S]`: one chaos run of N minutes
 * (default 2) with seed S (default: from the clock, printed), then the table.
 * Exits 1 if any promise broke, printing the seed and the fault schedule;
 * `--seed S --minutes N` replays the same schedule.
 */
import { formatTable, runChaos, ChaosRun } from './harness.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const minutes = Number(arg('minutes') ?? 2);
const seed = Number(arg('seed') ?? (Date.now() % 1_000_000));
const verbose = args.includes('--verbose');
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run chaos -- [--minutes N] [--seed S] [--verbose]');
  process.exit(2);
}
console.log(`chaos: seed ${seed}, ${minutes} min`);
const run = new ChaosRun();
const stop = () => void run.cleanup().finally(() => process.exit(130));
process.once('SIGINT', stop);
try {
  const report = await runChaos({ seed, durationMs: minutes * 60_000, verbose, log: (l) => console.log(l) }, run);
  console.log(`\n${formatTable([report])}\n`);
  console.log(`client: ${JSON.stringify(report.client)}; rows in PostgreSQL ${report.committedRows}; p50 ${report.p50Ms.toFixed(0)} ms`);
  console.log(`last generation, median ms from arrival (every 10th id): ${JSON.stringify(report.stagesMedianMs)}`);
  if (report.problems.length > 0 || report.lost.length > 0) {
    console.log(`\nFAILED (seed ${seed}):\n${report.problems.join('\n')}\n\n${report.scheduleText}`);
    process.exitCode = 1;
  } else {
    console.log(`ok: lost 0 of ${report.acked} acked`);
  }
} catch (error) {
  console.error(`chaos run crashed (seed ${seed}): ${(error as Error).stack}`);
  process.exitCode = 1;
} finally {
  await run.cleanup();
}
