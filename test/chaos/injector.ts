/**
 * The seeded fault schedule. `schedule(seed, durationMs)` is a pure function
 * of its inputs, so `--seed N` replays the same faults at the same offsets.
 * Faults in this harness (see docs/chaos.md):
 * - freeze:<service>     SIGSTOP the private service's process group, SIGCONT after holdMs
 * - kill:<service>       SIGKILL the group, restart after holdMs (same port and data dir)
 * - cut:<service>        reset every connection through the TCP proxy to it
 * - pg-terminate         pg_terminate_backend() on every client backend of the private PostgreSQL
 * - pipeline-sigterm     SIGTERM to the pipeline (clean drain expected), supervisor restarts it
 * - pipeline-sigterm2    two SIGTERMs a few ms apart (the second must be ignored)
 * - pipeline-sigkill     SIGKILL the pipeline, supervisor restarts it
 * - burst                10-100x the client's base rate for holdMs
 */
import { between, mulberry32 } from './prng.js';
import type { ServiceName } from './services.js';

export type FaultKind =
  | `freeze:${ServiceName}`
  | `kill:${ServiceName}`
  | `cut:${ServiceName}`
  | 'pg-terminate'
  | 'pipeline-sigterm'
  | 'pipeline-sigterm2'
  | 'pipeline-sigkill'
  | 'burst';

export interface Fault {
  atMs: number;
  kind: FaultKind;
  /** freeze/kill: how long the service stays down; burst: how long it lasts. */
  holdMs: number;
  /** burst: the rate multiplier; pipeline-sigterm2: ms between the two signals. */
  factor: number;
}

const services: ServiceName[] = ['redis', 'postgres', 'nats'];
const kinds: Array<[FaultKind, number]> = [
  ...services.flatMap((s): Array<[FaultKind, number]> => [[`freeze:${s}`, 2], [`kill:${s}`, 1], [`cut:${s}`, 2]]),
  ['pg-terminate', 2],
  ['pipeline-sigterm', 1],
  ['pipeline-sigterm2', 1],
  ['pipeline-sigkill', 1],
  ['burst', 2],
];
const totalWeight = kinds.reduce((a, [, w]) => a + w, 0);

function pick(random: () => number): FaultKind {
  let r = random() * totalWeight;
  for (const [kind, w] of kinds) {
    if ((r -= w) < 0) return kind;
  }
  return kinds[kinds.length - 1]![0];
}

/**
 * Faults for a run of `durationMs`, starting after a 3 s warm-up, one every
 * `meanGapMs` on average (uniform in [0.5, 1.5] x the mean). A fault waits for
 * the previous one to be over (the harness runs them one at a time), so
 * `atMs` is the earliest start.
 */
export function schedule(seed: number, durationMs: number, meanGapMs = 4000): Fault[] {
  const random = mulberry32(seed);
  const faults: Fault[] = [];
  let at = 3000;
  for (;;) {
    at += between(random, meanGapMs / 2, (meanGapMs * 3) / 2);
    if (at > durationMs - 2000) break;
    const kind = pick(random);
    const holdMs = kind === 'burst' ? between(random, 500, 2000) : between(random, 200, 3000);
    const factor = kind === 'burst' ? between(random, 10, 100) : between(random, 1, 20);
    faults.push({ atMs: at, kind, holdMs, factor });
  }
  return faults;
}

export function formatSchedule(seed: number, faults: Fault[]): string {
  return [`seed ${seed}: ${faults.length} faults`, ...faults.map((f) => `  +${(f.atMs / 1000).toFixed(1)}s ${f.kind} hold=${f.holdMs}ms factor=${f.factor}`)].join('\n');
}
