import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { overflowStrategies } from '../../core/channel/index.js';
import { ConfigError } from '../config/index.js';
import { SluiceError } from '../../core/errors/index.js';
import { scenarioNames } from '../simulate/index.js';
import type { DemoFlags, DemoOptions } from '../demo/index.js';
import type { TopFlags, TopIo } from '../top/index.js';
import type { CliIo } from './format.js';
import { burstArg, durationArg, factorArg, fractionArg, integerArg, rateArg, sizeArg } from './parsers.js';
import { planCommand, type PlanFlags } from './plan.js';
import { simulateCommand, type SimulateFlags } from './simulate.js';
import { diffCommand, validateCommand } from './validate.js';

/** Exit codes: 0 ok, 1 a check or run failed, 2 bad usage, flags or configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function version(): string {
  try {
    // src/tools/cli and dist/tools/cli both sit three levels below the package root.
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Seams for tests. */
export interface CliDeps {
  /** Replaces `runDemo` from src/tools/demo (loaded lazily otherwise, so other commands do not pay for it). */
  runDemo?: (options: DemoOptions) => Promise<unknown>;
  /** Terminal of `sluice top` (process.stdout's otherwise). */
  topIo?: TopIo;
}

/**
 * Runs the `sluice` CLI with `argv` (without the node and script paths) and
 * resolves with the exit code. Output goes through `io`, so tests can run it in process.
 */
export async function run(argv: string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('sluice')
    .description('Backpressure toolkit: check configurations, size buffers, simulate overload, watch a live demo.')
    .version(version(), '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nExit codes: 0 ok, 1 a check or run failed, 2 bad usage, flags or configuration.');

  program
    .command('validate')
    .description('Check a configuration file (YAML or JSON) and print what it would build; with --diff, what a reload from OLD to NEW would change.')
    .argument('<file>', 'configuration file, e.g. sluice.yaml (with --diff: the OLD one)')
    .argument('[new]', 'with --diff: the NEW configuration file')
    .option('--diff', 'compare two files: per component, each setting old -> new, applied or refused by a reload (watchConfig) with the reason')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  sluice validate sluice.yaml\n  sluice validate sluice.yaml --json | jq .components\n  sluice validate --diff sluice.yaml sluice.new.yaml\n\n' +
        'Exit 0 when valid; 2 with one line per problem (path: value is not allowed-values) when not.\n' +
        'With --diff: 0 when a reload would apply every change (or nothing differs); 1 when it would refuse some (a changed kind or a setting with no runtime setter, a component added or removed, monitoring); 2 when a file is unreadable or invalid, or the files are not two.',
    )
    .action(async (file: string, newFile: string | undefined, flags: { json?: boolean; diff?: boolean }) => {
      if (flags.diff && newFile === undefined) {
        io.stderr('error: --diff compares two files: sluice validate --diff OLD NEW\n');
        code = EXIT.usage;
      } else if (!flags.diff && newFile !== undefined) {
        io.stderr(`error: validate takes one file; to compare two: sluice validate --diff ${file} ${newFile}\n`);
        code = EXIT.usage;
      } else {
        code = newFile === undefined ? await validateCommand(file, flags, io) : await diffCommand(file, newFile, flags, io);
      }
    });

  program
    .command('plan')
    .description('Recommend capacity, watermarks and strategy for one queue, and show why (ρ, M/M/1/K loss, Little\'s law, memory, burst).')
    .requiredOption('--arrival-rate <rate>', 'mean arrival rate, e.g. 1000/s', rateArg)
    .requiredOption('--service-time <duration>', 'mean time the consumer spends per item, e.g. 2ms', durationArg)
    .option('--latency-budget <duration>', 'longest acceptable wait in the buffer, e.g. 500ms', durationArg)
    .option('--loss-budget <fraction>', 'acceptable fraction lost, e.g. 0.1% (makes the workload lossy)', fractionArg)
    .option('--burst <factor:duration>', 'burst to absorb, e.g. 100x:20s', burstArg)
    .option('--item-bytes <size>', 'average item size in memory', sizeArg, 1024)
    .option('--memory-budget <size>', 'most memory the buffer may take, e.g. 64MiB', sizeArg)
    .option('--can-lose', 'items may be dropped (default: when --loss-budget > 0)')
    .option('--no-can-lose', 'nothing may be dropped')
    .addOption(new Option('--criticality <level>', 'for lossy workloads: low keeps the newest (drop-oldest), high samples').choices(['low', 'high']))
    .option('--latency-sensitive', 'producers must not just wait (default: when --latency-budget is given)')
    .option('--no-latency-sensitive', 'producers may wait')
    .option('--name <queue>', 'queue name in the config snippet', 'my_queue')
    .option('--json', 'print the plan as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  sluice plan --arrival-rate 1000/s --service-time 0.8ms --latency-budget 500ms --loss-budget 0.1%\n  sluice plan --arrival-rate 1000/s --service-time 2ms --burst 100x:20s --item-bytes 512 --json\n\nExit 0 when every budget is met; 1 when one cannot be (the plan is still printed).')
    .action((flags: PlanFlags) => {
      code = planCommand(flags, io);
    });

  program
    .command('simulate')
    .description('Run the configured queues against a scenario in virtual time (deterministic; an hour takes seconds) and report.')
    .requiredOption('--config <file>', 'configuration file (queues, and a simulation section or the workload flags)')
    .addOption(new Option('--scenario <name>', 'what happens to the load').choices(scenarioNames).default('normal'))
    .option('--seed <n>', 'random seed (same seed, same result)', integerArg(0, 2 ** 32 - 1))
    .option('--duration <duration>', 'virtual time to simulate (default: the file\'s, else 1h)', durationArg)
    .option('--report <file>', 'write an HTML report with charts')
    .option('--json [file]', 'write the JSON result to a file, or print it on stdout without one')
    .option('--arrival-rate <rate>', 'arrival rate for every queue, over the file', rateArg)
    .option('--service-time <duration>', 'mean service time for every queue, over the file', durationArg)
    .addOption(new Option('--service <distribution>', 'service time distribution').choices(['exponential', 'fixed']))
    .option('--consumers <n>', 'consumers per queue', integerArg(1, 10_000))
    .option('--burst <factor:duration>', "bursts in the 'burst' scenario (default 10x:20s)", burstArg)
    .option('--overload-factor <x>', "arrivals as a multiple of service capacity in 'sustained-overload' (default 1.5)", factorArg)
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option('--no-progress', 'never show progress')
    .option('--max-loss <fraction>', 'fail (exit 1) if a queue loses more than this, e.g. 1%', fractionArg)
    .option('--fail-on-alert', 'fail (exit 1) if any alert fired')
    .option('--max-events <n>', 'refuse a run expected to simulate more arrivals than this (default 50000000, under a minute)', integerArg(1, Number.MAX_SAFE_INTEGER))
    .addHelpText(
      'after',
      `\nScenarios:\n  normal              the configured rate throughout\n  burst               four bursts (--burst, default 10x:20s), one per quarter of the run\n  sustained-overload  arrivals at 1.5x service capacity from 1/6 to 5/6 of the run\n  consumer-failure    consumers take nothing from 1/3 to 1/2 of the run\n\nExamples:\n  sluice simulate --config sluice.yaml --scenario burst --report report.html\n  sluice simulate --config sluice.yaml --scenario consumer-failure --seed 7 --json out.json --max-loss 1%`,
    )
    .action(async (flags: SimulateFlags) => {
      code = await simulateCommand(flags, io);
    });

  program
    .command('demo')
    .description('The log-processing meltdown from the design notes, live: a bounded channel under a 100x spike, with a dashboard.')
    .option('--duration <duration>', 'how long the fleet emits, e.g. 30s', durationArg)
    .addOption(new Option('--strategy <strategy>', 'overflow strategy of the bounded channel').choices(overflowStrategies).default('block'))
    .option('--port <port>', 'dashboard port on 127.0.0.1 (0 picks a free one)', integerArg(0, 65_535), 0)
    .option('--no-dashboard', 'do not serve the dashboard')
    .option('--no-contrast', 'do not run the unbounded queue beside it')
    .option('--keep-open', 'keep the dashboard up after the run until Ctrl-C')
    .option('--json', 'print only the summary, as one JSON object, on stdout (the rest goes to stderr)')
    .option('--config <file>', 'take the ingest channel (queues.ingest), the writer (writers.sqlite-writer) and an intake rate limit (rate_limits.intake) from a configuration file, and apply its changes while the demo runs')
    .addHelpText(
      'after',
      `
Needs: Node 22.13+ or 24 (the log store is SQLite in a temp file, deleted at the end), a free
port on 127.0.0.1 for the dashboard (--port 0 picks one), and about 750 MB of memory with the
unbounded contrast (its heap is capped at 256 MB), 250 MB with --no-contrast.

Ctrl-C stops early and prints the summary so far (exit 130); a second Ctrl-C quits at once.
Exit 1 with one line when it cannot start (port taken, log store not loading).

With --config, the file is read every second while the demo runs (watchConfig): a changed rate,
capacity, watermark, batch_size or flush_interval is applied at once and printed; any other change
is refused for that component, and a file that does not validate changes nothing (one line each).

Examples:
  sluice demo
  sluice demo --duration 30s --strategy drop-oldest --no-dashboard --json
  sluice demo --config examples/demo.yaml    # then edit the file while it runs`,
    )
    .action(async (flags: DemoFlags, command: Command) => {
      // The file's queues.ingest sets the strategy unless --strategy is given (then both are refused).
      if (flags.config !== undefined && command.getOptionValueSource('strategy') === 'default') delete flags.strategy;
      const { demoCommand } = await import('../demo/index.js');
      code = await demoCommand(flags, io, deps.runDemo);
    });

  program
    .command('top')
    .description("Watch a running service like top(1): each component's utilization, rates, drops, limits, lag and time to full, and the bottleneck.")
    .argument('<url>', "the service's dashboard (e.g. http://127.0.0.1:3000/) or its Prometheus endpoint (…/metrics)")
    .option('--once', 'print one snapshot and exit')
    .option('--json', "print JSON: the dashboard's /snapshot.json plus a bottleneck field (one object per line without --once)")
    .addOption(new Option('--source <kind>', 'what the URL serves (auto: a path ending in /metrics is Prometheus)').choices(['auto', 'dashboard', 'prometheus']).default('auto'))
    .option('--interval <duration>', 'time between Prometheus scrapes (the dashboard pushes at its own pace)', durationArg, 1000)
    .option('--order <names>', 'components upstream first, comma-separated (default: the order the service lists them)', (v: string) => v.split(',').map((x) => x.trim()).filter((x) => x !== ''))
    .option('--prefix <prefix>', 'metric name prefix of a Prometheus endpoint', 'sluice_')
    .addHelpText(
      'after',
      `
The bottleneck is the last component (in --order, else the listed order) pinned at its
concurrency limit or at/over its high watermark, else the last one whose queue grows;
see docs/top.md. Ctrl-C quits. Works in a plain 80x24 terminal and over SSH; no colour
with NO_COLOR or when stdout is not a terminal.

Examples:
  sluice top http://127.0.0.1:3000/
  sluice top http://127.0.0.1:9464/metrics --interval 2s
  sluice top http://127.0.0.1:3000/ --once --json | jq .bottleneck.reason`,
    )
    .action(async (url: string, flags: TopFlags) => {
      const { topCommand, processTopIo } = await import('../top/index.js');
      code = await topCommand(url, flags, deps.topIo ?? processTopIo());
    });

  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError || (error instanceof SluiceError && error.code === 'ERR_SLUICE_INVALID_OPTION')) {
      io.stderr(`sluice: ${error.message}\n`);
      return EXIT.usage;
    }
    // Never a stack trace: the user gets the one-line message (and the error code, when Sluice threw it).
    io.stderr(`sluice: ${error instanceof SluiceError ? `${error.code}: ` : ''}${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return EXIT.failed;
  }
}
