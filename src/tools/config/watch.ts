import { readFileSync, statSync } from 'node:fs';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock/index.js';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { resolveClock } from '../../internal/acquire-queue.js';
import * as v from '../../internal/validate.js';
import { componentSpecs, fromConfig, type AlertSpec, type BuiltComponents, type ComponentSpec } from './build.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { MAX_CONFIG_BYTES, parseConfig, readConfigFile } from './load.js';
import { applyReload, planSpecs, type ComponentReload } from './reload.js';
import type { SluiceConfig } from './types.js';

export interface WatchConfigOptions {
  /**
   * How often the file is read, in ms. A changed file is applied at the
   * first read after the change; an unchanged one costs one small read. The
   * timer is unref'd.
   * @default 1000
   * @example watchConfig('sluice.yaml', built, { pollIntervalMs: 5000 })
   */
  pollIntervalMs?: number;
  /**
   * The configuration the components were built from: later versions of the
   * file are compared against it.
   * @default the file as read when watching starts (read synchronously; a bad file throws)
   * @example watchConfig('sluice.yaml', fromConfig(config), { initial: config }) // config: what loadConfig('sluice.yaml') returned
   */
  initial?: SluiceConfig;
  /**
   * Called after a changed file was read and applied, with what changed and
   * what was refused. Not called for a read that found the file unchanged.
   * @default undefined
   * @example watchConfig('sluice.yaml', built, { onReload: (r) => log.info(`${r.applied.length} components reconfigured`) })
   */
  onReload?: (result: ConfigReloadResult) => void;
  /**
   * Where problems go: a file that cannot be read or is invalid (a
   * `ConfigError` listing every problem; nothing was changed), and the
   * components a reload refused (a `ConfigError` whose issues name each
   * component and field). Never thrown: the watch goes on.
   * @default console.warn of the error's message
   * @example watchConfig('sluice.yaml', built, { onError: (e) => log.warn(e.message) })
   */
  onError?: (error: Error) => void;
  /**
   * Time source for the poll timer.
   * @default systemClock
   * @example watchConfig('sluice.yaml', built, { clock: new VirtualClock() }) // from 'sluice/testing'
   */
  clock?: Clock;
}

/** What one reload did. */
export interface ConfigReloadResult {
  /** Components whose settings were changed, each with its changes (old → new). */
  applied: ComponentReload[];
  /**
   * Components left as they were: a changed kind or non-runtime setting, added
   * or removed from the file, not among the watched components' kinds, or a
   * setter that refused the value (its `reason` says which and why).
   */
  refused: ComponentReload[];
  /** Other differences not applied (e.g. `monitoring`), with the reason. */
  notApplied: { path: string; reason: string }[];
}

export interface ConfigWatcherStats {
  /** Reads of the file. */
  checks: number;
  /** Changed versions applied (possibly with refused components). */
  reloads: number;
  /** Changed versions refused whole (unreadable or invalid); nothing was changed. */
  rejectedFiles: number;
  /** Components refused by reloads so far. */
  refusedComponents: number;
  closed: boolean;
}

export interface ConfigWatcher {
  /**
   * Reads the file now (e.g. on SIGHUP) and applies it if it changed.
   * Resolves with what the reload did, or `undefined` when the file is as
   * last read or it was refused whole (see `onError`). Never rejects.
   */
  check(): Promise<ConfigReloadResult | undefined>;
  /** Stops watching. The components keep their current settings. Idempotent. */
  close(): void;
  stats(): ConfigWatcherStats;
}

/** Anything with components by name: `fromConfig()`'s result (of any item type), or a record of them. */
export type WatchedComponents<T = unknown> = BuiltComponents<T> | Readonly<Record<string, unknown>>;

function componentsOf<T>(components: WatchedComponents<T>): Readonly<Record<string, unknown>> {
  if (components === null || typeof components !== 'object' || Array.isArray(components)) {
    throw new InvalidArgumentError(`watchConfig(file, components): components must be fromConfig()'s result or an object of components by name, got ${components === null ? 'null' : Array.isArray(components) ? 'an array' : typeof components}`);
  }
  const built = components as Partial<BuiltComponents<T>>;
  if (typeof built.components === 'object' && built.components !== null && typeof built.close === 'function') return built.components;
  return components as Readonly<Record<string, unknown>>;
}

function readInitial(file: string): { config: SluiceConfig; text: string } {
  const { size } = statSync(file);
  if (size > MAX_CONFIG_BYTES) throw new ConfigError([{ path: '(root)', message: `(root): too large (${size} bytes); a configuration may be at most ${MAX_CONFIG_BYTES} bytes` }], file);
  const text = readFileSync(file, 'utf8');
  return { config: parseConfig(text, { source: file }), text };
}

/**
 * Applies a changed configuration file to live components. The file is
 * read every `pollIntervalMs`; when its text changed it is parsed and
 * validated whole, with the schema and by building it once on a virtual clock
 * (nothing of that build is kept). A file that cannot be read or is invalid
 * is refused whole: every component keeps its settings and the error goes to
 * `onError`.
 *
 * Otherwise each component present both in what is live and in the file, and
 * among `components`, gets only its runtime settings changed (a queue's
 * `capacity` via `resize()` and `high_watermark`/`low_watermark` via
 * `setWatermarks()`, with priorities or fairness too, and
 * `fairness.per_key_capacity` via `setPerKeyCapacity()`; a queue's or
 * writer's `max_bytes` via `setMaxBytes()`
 * (changed, not added or removed), a token bucket's `rate`, an adaptive rate's
 * `min_rate`/`max_rate`, a limiter's `min_limit`/`max_limit` and a fixed
 * one's `initial_limit`, a bulkhead's `concurrency`, a writer's `batch_size`
 * and `flush_interval`). A component whose kind
 * or any other setting changed is refused whole, with a message naming it
 * and the field; a component added to or removed from the file is reported,
 * not built or closed (a restart does that). Each applied setting is counted
 * in the component's `stats().adjustments` and reported to its
 * `onReconfigure` listeners (the dashboard shows them). Later versions are
 * compared against what is live, so a refused change is refused again until
 * it is undone.
 *
 * @throws InvalidArgumentError for a bad `file` or `components`; InvalidOptionError for a bad option;
 *   ConfigError (or the fs error) when `initial` is not given and the file cannot be read or is invalid.
 * @example
 * const config = await loadConfig('sluice.yaml');
 * const built = fromConfig(config);
 * const watcher = watchConfig('sluice.yaml', built, { initial: config, onError: (e) => log.warn(e.message) });
 * process.on('SIGHUP', () => void watcher.check());
 * process.on('SIGTERM', () => { watcher.close(); built.close(); });
 */
export function watchConfig<T = unknown>(file: string, components: WatchedComponents<T>, options: WatchConfigOptions = {}): ConfigWatcher {
  if (typeof file !== 'string' || file.length === 0) {
    throw new InvalidArgumentError(`watchConfig(file, components): file must be a non-empty path, got ${typeof file === 'string' ? 'an empty string' : typeof file}`);
  }
  const live = componentsOf(components);
  const o = v.optionsObject(options, 'watchConfig', { pollIntervalMs: true, initial: true, onReload: true, onError: true, clock: true });
  const pollIntervalMs = v.number('pollIntervalMs', o.pollIntervalMs, 1000, { min: 10 });
  const onReload = v.optionalFunction<(result: ConfigReloadResult) => void>('onReload', o.onReload);
  const onError = v.optionalFunction<(error: Error) => void>('onError', o.onError) ?? ((error: Error) => console.warn(error.message));
  const clock = resolveClock('clock', o.clock, systemClock);
  if (o.initial !== undefined && (o.initial === null || typeof o.initial !== 'object' || typeof (o.initial as SluiceConfig).queues !== 'object')) {
    throw new v.InvalidOptionError('initial', o.initial, 'a configuration from parseConfig() or loadConfig()');
  }
  const initial = o.initial === undefined ? readInitial(file) : { config: o.initial as SluiceConfig, text: undefined };
  return new Watcher(file, live, initial.config, initial.text, pollIntervalMs, clock, onReload, onError);
}

class Watcher implements ConfigWatcher {
  /** What each component was built with and has been reconfigured to: the base of the next comparison. */
  private specs: ComponentSpec[];
  private alerts: AlertSpec | undefined;
  private lastText: string | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<ConfigReloadResult | undefined> = Promise.resolve(undefined);
  private isClosed = false;
  /** Checks asked for and not finished. */
  private pending = 0;
  private readonly counts = { checks: 0, reloads: 0, rejectedFiles: 0, refusedComponents: 0 };

  constructor(
    private readonly file: string,
    private readonly live: Readonly<Record<string, unknown>>,
    initial: SluiceConfig,
    initialText: string | undefined,
    private readonly pollIntervalMs: number,
    private readonly clock: Clock,
    private readonly onReload: ((result: ConfigReloadResult) => void) | undefined,
    private readonly onError: (error: Error) => void,
  ) {
    const { components, alerts } = componentSpecs(initial);
    this.specs = components;
    this.alerts = alerts;
    this.lastText = initialText;
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.clock.schedule(this.pollIntervalMs, this.tick, { unref: true });
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.isClosed) return;
    // Re-armed at once, so the polls keep their period. A poll that finds a
    // read running queues one more behind it (the file may have changed since
    // that read started); with one already queued it is skipped, so a slow
    // disk never piles reads up.
    this.schedule();
    if (this.pending < 2) void this.check();
  };

  check(): Promise<ConfigReloadResult | undefined> {
    // One at a time: a check asked for during another runs after it.
    this.pending++;
    const next = this.running.then(() => this.checkOnce()).finally(() => this.pending--);
    this.running = next;
    return next;
  }

  private async checkOnce(): Promise<ConfigReloadResult | undefined> {
    if (this.isClosed) return undefined;
    this.counts.checks++;
    let text: string;
    try {
      text = await readConfigFile(this.file);
    } catch (error) {
      // Unreadable now (being replaced, removed): nothing changes; the next poll tries again.
      this.report(error instanceof Error ? error : new Error(String(error)));
      this.counts.rejectedFiles++;
      return undefined;
    }
    if (this.isClosed || text === this.lastText) return undefined;
    this.lastText = text;
    let next: SluiceConfig;
    try {
      next = parseConfig(text, { source: this.file });
      // The constructors check what the schema cannot (e.g. across fields): build it once, keep nothing.
      fromConfig(next, { clock: new VirtualClock(), alertLog: false }).close();
    } catch (error) {
      this.counts.rejectedFiles++;
      this.report(error instanceof ConfigError && error.source === undefined ? new ConfigError(error.issues, this.file) : (error as Error));
      return undefined;
    }
    return this.apply(next);
  }

  private apply(next: SluiceConfig): ConfigReloadResult | undefined {
    const target = componentSpecs(next);
    const plan = planSpecs(this.specs, target.components, { from: this.alerts, to: target.alerts });
    if (plan.components.length === 0 && plan.notApplied.length === 0) return undefined; // e.g. only comments or simulation changed
    const result: ConfigReloadResult = { applied: [], refused: [], notApplied: plan.notApplied };
    const specs = new Map(this.specs.map((s) => [s.name, s]));
    const newSpecs = new Map(target.components.map((s) => [s.name, s]));
    for (const entry of plan.components) {
      if (entry.action !== 'apply') {
        result.refused.push(entry);
        continue;
      }
      const component = this.live[entry.name];
      if (component === undefined) continue; // not among the watched components: not ours to change
      const from = specs.get(entry.name)!;
      const to = newSpecs.get(entry.name)!;
      const { options, error } = applyReload(entry, component, from.options, to.options);
      specs.set(entry.name, { ...from, options });
      if (error) result.refused.push({ ...entry, action: 'refused', reason: `${entry.path}: ${error.message}` });
      else result.applied.push(entry);
    }
    this.specs = [...specs.values()];
    this.counts.reloads++;
    this.counts.refusedComponents += result.refused.length;
    if (result.refused.length > 0 || result.notApplied.length > 0) {
      const issues: ConfigIssue[] = [
        ...result.refused.map((r) => ({ path: r.path, message: r.reason ?? `${r.path}: refused` })),
        ...result.notApplied.map((n) => ({ path: n.path, message: n.reason })),
      ];
      this.report(new ConfigError(issues, `${this.file} (reload: ${result.applied.length} applied, ${issues.length} not)`));
    }
    if (this.onReload) {
      try {
        this.onReload(result);
      } catch (error) {
        this.report(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return result;
  }

  private report(error: Error): void {
    try {
      this.onError(error);
    } catch (thrown) {
      // The handler itself failed: surface it rather than lose it, without stopping the watch.
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
  }

  stats(): ConfigWatcherStats {
    return { ...this.counts, closed: this.isClosed };
  }
}
