import * as v from '../../internal/validate.js';
import { resolvePressure } from '../../internal/pressure.js';
import type { Pressure, PressureLike } from './sources.js';

/** One level of a {@link pressureLevels} hierarchy. */
export interface PressureLevel {
  /**
   * The level is over once its source reads strictly more than this.
   * With a raw utilization source (0..1) use a fraction such as 0.8; with a
   * Sluice {@link Pressure} source (already 1 at its own threshold) keep 1.
   * @default 1
   * @example pressureLevels({ service: { threshold: 0.8, source: () => pool.busy / pool.size } })
   */
  threshold?: number;
  /**
   * Where the level's reading comes from: a {@link Pressure} or a `() => number`.
   * Read on every `check()` and `read()`. A reading of NaN counts as not over.
   * @default none (required)
   * @example pressureLevels({ application: { source: channelPressure(jobs) } })
   */
  source: PressureLike;
}

/**
 * Levels by name. `application`, `service` and `system` are the usual ones; any
 * other name works too. Give at least one. The order you write them in is the
 * order `check()` reports them in.
 */
export interface PressureLevelsOptions {
  application?: PressureLevel;
  service?: PressureLevel;
  system?: PressureLevel;
  [level: string]: PressureLevel | undefined;
}

/** Settings of the hierarchy itself (the levels are the first argument). */
export interface PressureLevelsSettings {
  /**
   * Name shown in stats and when the hierarchy is itself a level of another.
   * @default 'levels'
   * @example pressureLevels({ system: { source: rss({ thresholdBytes: 2e9 }) } }, { name: 'worker' })
   */
  name?: string;
}

/** Result of {@link PressureLevels.check}. */
export interface PressureCheck {
  /** Some level reads above its threshold. */
  over: boolean;
  /** The first level, in the order given, that is over; `undefined` when none is. */
  level: string | undefined;
  /** The largest `reading / threshold` over all levels (0 when all read 0 or less). */
  pressure: number;
  /** 1 while `pressure <= 1`, then `1 / 2^(pressure - 1)`: halves for each further threshold's worth. */
  throttleFactor: number;
}

export interface PressureLevelStats {
  threshold: number;
  /** Reading at the last `check()` or `read()`. */
  current: number;
  /** `current / threshold`. */
  pressure: number;
  /** `check()` calls in which this level was over. */
  overChecks: number;
}

export interface PressureLevelsStats {
  checks: number;
  /** `check()` calls that came back `over`. */
  overChecks: number;
  levels: Record<string, PressureLevelStats>;
}

/**
 * How much to scale work down at a given pressure: 1 up to pressure 1, then
 * `1 / 2^(pressure - 1)` (0.5 at 2, 0.25 at 3, 0 at Infinity).
 * @example
 * const batchSize = Math.max(1, Math.floor(100 * throttleFactor(levels.read())));
 */
export function throttleFactor(pressure: number): number {
  return pressure > 1 ? 1 / 2 ** (pressure - 1) : 1;
}

/**
 * Several pressures, each against its own threshold, read as one.
 * It is itself a {@link Pressure}: `read()` returns the highest
 * `reading / threshold`, so it plugs into `loadShed` or into another level.
 *
 * When: sources are read on every `check()` or `read()`; there is no timer of its own.
 */
export class PressureLevels implements Pressure {
  readonly name: string;
  /** Level names, in the order they were given. */
  readonly levels: readonly string[];
  private readonly thresholds: number[] = [];
  private readonly sources: Pressure[] = [];
  private readonly current: number[] = [];
  private readonly overByLevel: number[] = [];
  private checks = 0;
  private overChecks = 0;

  constructor(levels: PressureLevelsOptions, name = 'levels') {
    const o = v.optionsObject(levels, 'pressureLevels', null); // keys are level names
    const names: string[] = [];
    for (const [level, spec] of Object.entries(o)) {
      if (spec === undefined) continue;
      if (spec === null || typeof spec !== 'object') {
        throw new v.InvalidOptionError(level, spec, 'an object { threshold?, source }');
      }
      v.optionsObject(spec, `pressureLevels level "${level}"`, { threshold: true, source: true });
      this.thresholds.push(v.number(`${level}.threshold`, spec.threshold, 1, { min: 0, minExclusive: true }));
      this.sources.push(resolvePressure(`${level}.source`, spec.source));
      this.current.push(0);
      this.overByLevel.push(0);
      names.push(level);
    }
    if (names.length === 0) throw new v.InvalidOptionError('levels', levels, 'at least one level, e.g. { application: { threshold, source } }');
    if (typeof name !== 'string' || name.length === 0) throw new v.InvalidOptionError('name', name, 'a non-empty string');
    this.levels = names;
    this.name = name;
  }

  /** The highest `reading / threshold` over all levels; 1 means the worst level is exactly at its threshold. */
  read(): number {
    let max = 0;
    for (let i = 0; i < this.sources.length; i++) {
      const current = this.sources[i]!.read();
      this.current[i] = current;
      const ratio = current / this.thresholds[i]!;
      if (ratio > max) max = ratio;
    }
    return max;
  }

  /** Reads every level and reports which is over, the overall pressure and the throttle factor. */
  check(): PressureCheck {
    const pressure = this.read();
    let level: string | undefined;
    for (let i = 0; i < this.current.length; i++) {
      if (this.current[i]! > this.thresholds[i]!) {
        this.overByLevel[i]!++;
        level ??= this.levels[i];
      }
    }
    this.checks++;
    if (level !== undefined) this.overChecks++;
    return { over: level !== undefined, level, pressure, throttleFactor: throttleFactor(pressure) };
  }

  /** Calls `close()` on every level's source that has one (for example the probes). Idempotent as far as the sources are. */
  close(): void {
    for (const source of this.sources) source.close?.();
  }

  stats(): PressureLevelsStats {
    const levels: Record<string, PressureLevelStats> = {};
    for (let i = 0; i < this.levels.length; i++) {
      const threshold = this.thresholds[i]!;
      const current = this.current[i]!;
      levels[this.levels[i]!] = { threshold, current, pressure: current / threshold, overChecks: this.overByLevel[i]! };
    }
    return { checks: this.checks, overChecks: this.overChecks, levels };
  }
}

/**
 * Builds a {@link PressureLevels}: several pressures checked against their own
 * thresholds, as in a hierarchy of application, service and system limits.
 *
 * @example
 * const levels = pressureLevels({
 *   application: { threshold: 0.8, source: () => jobs.utilization },
 *   service: { threshold: 0.7, source: () => db.inflight / db.limit },
 *   system: { threshold: 0.9, source: () => os.loadavg()[0]! / os.availableParallelism() },
 * });
 * const { over, level, throttleFactor } = levels.check();
 * if (over) console.warn(`pressure at the ${level} level; working at ${throttleFactor * 100}%`);
 */
export function pressureLevels(levels: PressureLevelsOptions, options?: PressureLevelsSettings): PressureLevels {
  return new PressureLevels(levels, options?.name);
}
