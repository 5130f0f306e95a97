import { parseArgs } from 'node:util';

/** A mistake on the command line; the CLI prints it and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface BenchArgs {
  help: boolean;
  /** Empty means every scenario. */
  scenarios: string[];
  /** Empty means every contender. */
  contenders: string[];
  runs: number;
  warmup: number;
  /** Rounds over the contenders, each in fresh processes; samples are pooled. */
  passes: number;
  /** Undefined means each scenario's own default (or quick) size. */
  n: number | undefined;
  quick: boolean;
  json: string | undefined;
}

export const helpText = `Usage: npm run bench -- [options]

Runs every (scenario, contender) pair in a fresh child process: warm-up runs,
then measured runs; prints a markdown table per scenario.

Options:
  --scenario NAME[,NAME]   only these scenarios (default: all in bench/scenarios/)
  --contender NAME[,NAME]  only these contenders (default: all)
  --runs N                 measured runs per contender (default 5; 3 with --quick)
  --warmup N               warm-up runs per contender, at most (default 3; 1 with --quick);
                           the warm-up stops early once it has taken 2 s, so a slow
                           contender warms up with one run
  --passes N               repeat the whole contender list N times, round-robin,
                           pooling the runs (default 1); steadies ratios on a busy machine
  --n N                    items per run (default: the scenario's own)
  --quick                  smaller N, 1 warm-up + 3 runs (smoke test)
  --json FILE              also write the results as JSON to FILE
  --help                   show this help

Exit codes: 0 all runs passed, 1 a run failed (e.g. a sum check), 2 bad usage.`;

const optionSpec = {
  help: { type: 'boolean', short: 'h' },
  scenario: { type: 'string', multiple: true },
  contender: { type: 'string', multiple: true },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  passes: { type: 'string' },
  n: { type: 'string' },
  quick: { type: 'boolean' },
  json: { type: 'string' },
} as const;

/** Parses the orchestrator's flags; throws {@link UsageError} naming the offending flag. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: optionSpec, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs already names the flag ("Unknown option '--foo'"); keep its words.
    throw new UsageError((error as Error).message);
  }
  const quick = values.quick ?? false;
  const json = values.json;
  if (json !== undefined && json.trim() === '') throw new UsageError('--json needs a file name');
  return {
    help: values.help ?? false,
    scenarios: splitNames('--scenario', values.scenario),
    contenders: splitNames('--contender', values.contender),
    runs: values.runs === undefined ? (quick ? 3 : 5) : positiveInteger('--runs', values.runs, 1),
    warmup: values.warmup === undefined ? (quick ? 1 : 3) : positiveInteger('--warmup', values.warmup, 0),
    passes: values.passes === undefined ? 1 : positiveInteger('--passes', values.passes, 1),
    n: values.n === undefined ? undefined : positiveInteger('--n', values.n, 1),
    quick,
    json,
  };
}

/** Accepts `1000000`, `1_000_000` and `1e6`; anything else is a usage error. */
export function positiveInteger(flag: string, raw: string, min: number): number {
  const value = Number(raw.replaceAll('_', ''));
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got '${raw}'`);
  }
  return value;
}

const namePattern = /^[a-z0-9][a-z0-9-]*$/i;

function splitNames(flag: string, raw: string[] | undefined): string[] {
  if (raw === undefined) return [];
  const names = raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError(`${flag} needs at least one name`);
  for (const name of names) {
    if (!namePattern.test(name)) throw new UsageError(`${flag}: '${name}' is not a valid name (letters, digits and '-')`);
  }
  return names;
}
