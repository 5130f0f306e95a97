// `sluice demo` as a process sees it: output through the CLI's streams (with
// --json, stdout carries the JSON object alone), Ctrl-C, and start-up failures
// as one line. The demo itself is loaded lazily, so a store that does not load
// is reported here rather than as a stack from the import.
import type { OverflowStrategy } from '../../core/channel/index.js';
import type { CliIo } from '../cli/index.js';
import { describeDemoFailure } from './failure.js';
import type { DemoOptions } from './options.js';

export interface DemoFlags {
  duration?: number;
  /** Absent when `--config` is given without `--strategy` (the file's `queues.ingest` may set it). */
  strategy?: OverflowStrategy;
  /** `--config FILE`: the demo's settings from a configuration file, watched for reloads. */
  config?: string;
  port: number;
  dashboard: boolean;
  contrast: boolean;
  keepOpen?: boolean;
  json?: boolean;
}

/** Exit code of a run stopped by Ctrl-C, as a shell reports a process killed by SIGINT (128 + 2). */
export const EXIT_INTERRUPTED = 130;

type RunDemo = (options: DemoOptions) => Promise<unknown>;

/**
 * Runs the demo for the CLI and resolves with its exit code: 0 when it ran,
 * 130 when Ctrl-C stopped it, 1 when it could not start (port taken, log
 * store not loading: one line on stderr).
 *
 * The first Ctrl-C ends the run early: the pipeline drains and the summary of
 * the run so far is printed. A second one stops at once without a summary.
 * Either way the temp databases are deleted. Other errors are rethrown.
 */
export async function demoCommand(flags: DemoFlags, io: CliIo, runDemo?: RunDemo): Promise<number> {
  const end = new AbortController();
  const stop = new AbortController();
  // runDemo says what happens; after the summary (--keep-open) it ends on Ctrl-C by itself.
  const onSigint = () => (end.signal.aborted ? stop : end).abort(new Error('interrupted'));
  process.on('SIGINT', onSigint);
  try {
    if (!runDemo) {
      try {
        runDemo = (await import('./index.js')).runDemo;
      } catch (error) {
        const first = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0];
        io.stderr(`sluice demo: ${describeDemoFailure(error, flags.port) ?? `the demo did not load: ${first}`}\n`);
        return 1;
      }
    }
    const summary = await runDemo({
      ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
      ...(flags.strategy !== undefined ? { strategy: flags.strategy } : {}),
      ...(flags.config !== undefined ? { configFile: flags.config } : {}),
      port: flags.port,
      dashboard: flags.dashboard,
      unboundedContrast: flags.contrast,
      keepOpen: flags.keepOpen ?? false,
      json: flags.json ?? false,
      print: (line) => io.stdout(`${line}\n`),
      log: (line) => io.stderr(`${line}\n`),
      endSignal: end.signal,
      signal: stop.signal,
    });
    return (summary as { interrupted?: boolean } | undefined)?.interrupted ? EXIT_INTERRUPTED : 0;
  } catch (error) {
    if (stop.signal.aborted) {
      io.stderr('sluice demo: stopped without a summary; its temp files are deleted.\n');
      return EXIT_INTERRUPTED;
    }
    const line = describeDemoFailure(error, flags.port);
    if (line === undefined) throw error;
    io.stderr(`sluice demo: ${line}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
