/**
 * The contract between the harness and a scenario file. A scenario is a
 * module in `bench/scenarios/<name>.ts` whose default export is a
 * {@link Scenario}; adding one needs no change to the harness.
 */

/** What a contender is asked to do in one measured run. */
export interface ContenderOptions {
  /** Items to move. Scenarios that run for a fixed time may ignore it. */
  n: number;
  /** True under `--quick`: scenarios that run for a fixed time shorten it. */
  quick: boolean;
}

/** A correctness check; the worker fails the run loudly when `actual !== expected`. */
export interface Check {
  what: string;
  expected: number;
  actual: number;
}

/** What one run of a contender reports back. */
export interface RunOutcome {
  /** Items that went all the way through; items/s is `items / elapsed`. */
  items: number;
  checks?: Check[];
  /** Scenario-specific figures (e.g. `buffered`), reported as the median over measured runs. */
  metrics?: Record<string, number>;
}

/** One way of doing the scenario's job. `prepare`, if present, runs once before any timed run. */
export type Contender = ((options: ContenderOptions) => Promise<RunOutcome>) & { prepare?: () => Promise<void> };

/**
 * A contender whose module is imported only in the worker that runs it (in
 * `prepare`, before the warm-up), so one worker never loads another
 * contender's libraries: Effect alone adds ~70 MB of RSS, which would
 * otherwise be billed to every contender of the scenario.
 */
export function lazyContender<M>(load: () => Promise<M>, pick: (module: M) => Contender): Contender {
  let loaded: Contender | undefined;
  const prepare = async (): Promise<void> => {
    loaded ??= pick(await load());
  };
  return Object.assign(
    async (options: ContenderOptions): Promise<RunOutcome> => {
      if (!loaded) await prepare();
      return loaded!(options);
    },
    { prepare },
  );
}

/** "`contender` should reach at least `atLeast` times the items/s of `reference`." */
export interface Expectation {
  contender: string;
  reference: string;
  atLeast: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Contender whose median is the `×baseline` ratio column. */
  baseline: string;
  /** More contenders to show a ratio column for. */
  compareTo?: readonly string[];
  /** Items per run by default and under `--quick`; `--n` overrides both. */
  defaultN: number;
  quickN: number;
  /** What `n` means in this scenario, for the table heading. @default 'items per run' */
  nLabel?: string;
  /** Metrics shown as extra table columns, in order: metric key → column header. */
  metricColumns?: Readonly<Record<string, string>>;
  /**
   * Collect the whole heap before every run, not just the young generation.
   * For scenarios that measure memory: with only minor GCs, what one run
   * promoted (millions of buffered items) would still be in the heap during
   * the next and inflate its peak RSS. Throughput scenarios leave it off,
   * because a full GC also throws away the warm-up's optimized code.
   * @default false
   */
  fullGcBetweenRuns?: boolean;
  /** Extra Node flags for the worker of a contender, e.g. `{ big: ['--max-old-space-size=6144'] }`. */
  workerFlags?: Readonly<Record<string, readonly string[]>>;
  /** Targets printed (met or missed) under the table; they never fail the run. */
  expectations?: readonly Expectation[];
  /** One-line remarks per contender, copied into the JSON as `notes`. */
  notes?: Readonly<Record<string, string>>;
  contenders: Readonly<Record<string, Contender>>;
}

/** Identity function that gives scenario files type checking without a cast. */
export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}

/** One measured run as the worker reports it. */
export interface RunSample {
  items: number;
  elapsedMs: number;
  /** CPU time of the whole worker process (all threads, GC included) during the run. */
  cpuMs: number;
  itemsPerSecond: number;
  metrics: Record<string, number>;
}

/** The single line of JSON a worker prints for the orchestrator. */
export interface WorkerReport {
  scenario: string;
  contender: string;
  n: number;
  warmup: number;
  samples: RunSample[];
  /** Every check of every run (warm-up included) passed; a failed check exits the worker instead. */
  checksPassed: number;
  /** `process.resourceUsage().maxRSS` at the end: the child's peak over its whole life. */
  peakRssBytes: number;
}

/** One row of the results, as written to the JSON file. */
export interface BenchResult {
  scenario: string;
  contender: string;
  itemsPerSecond: number;
  min: number;
  max: number;
  peakRssBytes: number;
  runs: number[];
  /**
   * Median items per CPU-second of the worker. Less disturbed than wall-clock
   * items/s when other processes compete for the cores; meaningless for
   * scenarios that mostly wait on timers.
   */
  itemsPerCpuSecond: number;
  n: number;
  /** Median over the baseline's median; null when the baseline did not run. */
  ratio: number | null;
  ratioTo: Record<string, number | null>;
  checksPassed: number;
  notes?: string;
  [metric: string]: unknown;
}

export interface BenchFailure {
  scenario: string;
  contender: string;
  error: string;
}
