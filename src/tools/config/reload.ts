import { AdaptiveRate } from '../../core/adaptive-rate/index.js';
import { BatchWriter } from '../../core/batch-writer/index.js';
import { Channel } from '../../core/channel/index.js';
import { ConcurrencyLimiter } from '../../core/concurrency-limiter/index.js';
import { FairChannel } from '../../core/fair-channel/index.js';
import { PriorityChannel } from '../../core/priority-channel/index.js';
import { TokenBucket } from '../../core/token-bucket/index.js';
import { componentSpecs, optionKey, type AlertSpec, type ComponentKind, type ComponentSpec } from './build.js';
import { describeValue } from './errors.js';
import type { SluiceConfig } from './types.js';

// What a reload may change on a live component, by kind: constructor option →
// how it is applied. Everything else a component was built with is fixed for
// its life (its kind, a queue's strategy, a bucket's burst, an algorithm…): a
// change to it refuses the component. One line per runtime setter.
type Apply = (component: never, value: never, next: Record<string, unknown>) => void;
/** The queues' watermark setters; a watermark the file does not give keeps the live one. */
type WatermarkOwner = { highWatermark: number; lowWatermark: number; setWatermarks(high: number, low: number): void };
const setHigh = (c: WatermarkOwner, v: number, next: Record<string, unknown>) => c.setWatermarks(v, (next.lowWatermark as number | undefined) ?? c.lowWatermark);
const setLow = (c: WatermarkOwner, v: number, next: Record<string, unknown>) => c.setWatermarks((next.highWatermark as number | undefined) ?? c.highWatermark, v);
const TUNABLE: Partial<Record<ComponentKind, Record<string, Apply>>> = {
  Channel: {
    capacity: (c: Channel<unknown>, v: number) => c.resize(v),
    highWatermark: setHigh,
    lowWatermark: setLow,
    maxBytes: (c: Channel<unknown>, v: number) => c.setMaxBytes(v),
  },
  PriorityChannel: {
    // A capacity at or below the (fixed) reserve is refused by resize(), naming capacity.
    capacity: (c: PriorityChannel<unknown>, v: number) => c.resize(v),
    highWatermark: setHigh,
    lowWatermark: setLow,
  },
  FairChannel: {
    capacity: (c: FairChannel<unknown>, v: number, next) => {
      // capacity >= per_key_capacity at every step: a shrink below the live per-key cap lowers the cap first
      // (to the file's new value, then set again below as a no-op).
      const perKey = next.perKeyCapacity as number | undefined;
      if (perKey !== undefined && v < c.perKeyCapacity && perKey <= v) c.setPerKeyCapacity(perKey);
      c.resize(v);
    },
    perKeyCapacity: (c: FairChannel<unknown>, v: number) => c.setPerKeyCapacity(v),
    highWatermark: setHigh,
    lowWatermark: setLow,
  },
  BatchWriter: {
    batchSize: (c: BatchWriter<unknown>, v: number) => c.setBatchSize(v),
    // The file's flush_interval is the writer's base (minFlushIntervalMs), which setFlushInterval() sets.
    minFlushIntervalMs: (c: BatchWriter<unknown>, v: number) => c.setFlushInterval(v),
    maxBytes: (c: BatchWriter<unknown>, v: number) => c.setMaxBytes(v),
  },
  TokenBucket: {
    ratePerSecond: (c: TokenBucket, v: number) => c.setRate(v),
  },
  AdaptiveRate: {
    minRate: (c: AdaptiveRate, v: number, next) => c.setRateBounds({ min: v, max: next.maxRate as number }),
    maxRate: (c: AdaptiveRate, v: number, next) => c.setRateBounds({ min: next.minRate as number, max: v }),
  },
  ConcurrencyLimiter: {
    minLimit: (c: ConcurrencyLimiter, v: number, next) => c.setLimits(next.maxLimit === undefined ? { min: v } : { min: v, max: next.maxLimit as number }),
    maxLimit: (c: ConcurrencyLimiter, v: number, next) => c.setLimits(next.minLimit === undefined ? { max: v } : { min: next.minLimit as number, max: v }),
    // Only a 'fixed' limit is the operator's to set (refused below for the adaptive algorithms).
    initialLimit: (c: ConcurrencyLimiter, v: number) => c.setLimit(v),
  },
  Bulkhead: {
    concurrency: (c: ConcurrencyLimiter, v: number) => {
      // bulkhead() builds a fixed limiter with maxLimit max(1000, concurrency).
      if (v > c.maxLimit) c.setLimits({ max: v });
      c.setLimit(v);
    },
  },
};

/**
 * The order changes are applied in within one component: bounds before the
 * value they bound (a limit raised above the old maxLimit needs the new one
 * first), watermarks once for both.
 */
const ORDER = ['minLimit', 'maxLimit', 'initialLimit', 'minRate', 'maxRate', 'capacity', 'perKeyCapacity', 'maxBytes', 'highWatermark', 'lowWatermark', 'batchSize', 'minFlushIntervalMs', 'ratePerSecond', 'concurrency'];

/** One setting that differs between the two configurations. */
export interface ReloadChange {
  /** The key in the file, e.g. `rate`, `high_watermark`, `strategy`. */
  setting: string;
  /** The constructor option it maps to, e.g. `ratePerSecond`. */
  option: string;
  /** Its value in the old configuration (`undefined`: not given there). */
  previous: unknown;
  /** Its value in the new one (`undefined`: not given there). */
  value: unknown;
}

/** What a reload does to one component of the file. */
export interface ComponentReload {
  name: string;
  kind: ComponentKind;
  /** Where in the new file it is defined (in the old one when removed), e.g. `queues.input_queue`. */
  path: string;
  /**
   * `apply`: every change is a runtime setting and is applied; `refused`: at
   * least one change is not (the component keeps all its settings);
   * `added` / `removed`: only in the new / old file (a reload neither builds
   * nor closes components: a restart does).
   */
  action: 'apply' | 'refused' | 'added' | 'removed';
  /** The settings that differ (empty for `added` / `removed`). */
  changes: ReloadChange[];
  /** Why it is refused, added or removed, naming the component and the field. */
  reason?: string;
}

/** What a reload would change, component by component, in file order. */
export interface ReloadPlan {
  /** Components with a difference; unchanged ones are left out. */
  components: ComponentReload[];
  /** Other differences a reload does not apply (alert monitoring: read at build), with the reason. */
  notApplied: { path: string; reason: string }[];
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The settings that differ between two specs of the same component, in a stable order. */
function changesOf(from: ComponentSpec, to: ComponentSpec): ReloadChange[] {
  const keys = [...new Set([...Object.keys(from.options), ...Object.keys(to.options)])];
  const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  keys.sort((a, b) => rank(a) - rank(b));
  const out: ReloadChange[] = [];
  for (const option of keys) {
    const previous = from.options[option];
    const value = to.options[option];
    if (!same(previous, value)) out.push({ setting: optionKey(to, option), option, previous, value });
  }
  return out;
}

/** Why `change` cannot be applied to a live component, or undefined when it can. */
function refusal(spec: ComponentSpec, from: ComponentSpec, change: ReloadChange): string | undefined {
  const field = `${spec.path}.${change.setting}`;
  const tunable = TUNABLE[spec.kind];
  if (!tunable || !Object.hasOwn(tunable, change.option)) {
    return `${field}: ${spec.kind} "${spec.name}" cannot change ${change.setting} at runtime (${describeValue(change.previous)} -> ${describeValue(change.value)}); restart to apply it`;
  }
  if (change.option === 'maxBytes' && (change.previous === undefined || change.value === undefined)) {
    // A byte budget is chosen at construction (a channel without one keeps the item-only hot path): only its value turns.
    return change.previous === undefined
      ? `${field}: ${spec.kind} "${spec.name}" was built without max_bytes (it counts items only); a byte budget cannot be added at runtime: restart to apply it`
      : `${field}: removed from the file; ${spec.kind} "${spec.name}" was built with a byte budget, which cannot be removed at runtime: restart to count items only`;
  }
  if (change.value === undefined) {
    return `${field}: removed from the file; its default applies only when the component is built: give the value to change it at runtime`;
  }
  if (spec.kind === 'ConcurrencyLimiter' && change.option === 'initialLimit' && (from.options.algorithm ?? 'fixed') !== 'fixed') {
    return `${field}: the '${String(from.options.algorithm)}' algorithm of "${spec.name}" sets its own limit; change min_limit / max_limit to bound it`;
  }
  return undefined;
}

/**
 * Compares two lists of component specs: what is live (`from`) against a
 * new file (`to`), component by component by name.
 */
export function planSpecs(from: readonly ComponentSpec[], to: readonly ComponentSpec[], alerts?: { from: AlertSpec | undefined; to: AlertSpec | undefined }): ReloadPlan {
  const plan: ReloadPlan = { components: [], notApplied: [] };
  const before = new Map(from.map((s) => [s.name, s]));
  const names = new Set(to.map((s) => s.name));
  for (const spec of to) {
    const old = before.get(spec.name);
    if (old === undefined) {
      plan.components.push({ name: spec.name, kind: spec.kind, path: spec.path, action: 'added', changes: [], reason: `${spec.path}: new ${spec.kind} "${spec.name}"; a reload does not build components: restart to add it` });
      continue;
    }
    if (old.kind !== spec.kind) {
      plan.components.push({
        name: spec.name,
        kind: spec.kind,
        path: spec.path,
        action: 'refused',
        changes: [{ setting: 'kind', option: 'kind', previous: old.kind, value: spec.kind }],
        reason: `${spec.path}: "${spec.name}" is a ${old.kind}, the file now makes it a ${spec.kind}; a reload cannot change a component's kind: restart to apply it`,
      });
      continue;
    }
    const changes = changesOf(old, spec);
    if (changes.length === 0) continue;
    const reasons = changes.map((c) => refusal(spec, old, c)).filter((r): r is string => r !== undefined);
    plan.components.push(
      reasons.length === 0
        ? { name: spec.name, kind: spec.kind, path: spec.path, action: 'apply', changes }
        : { name: spec.name, kind: spec.kind, path: spec.path, action: 'refused', changes, reason: reasons.join('; ') },
    );
  }
  for (const old of from) {
    if (!names.has(old.name)) {
      plan.components.push({ name: old.name, kind: old.kind, path: old.path, action: 'removed', changes: [], reason: `${old.path}: ${old.kind} "${old.name}" is gone from the file; a reload does not close components: it keeps running until a restart` });
    }
  }
  if (alerts && !same(alerts.from, alerts.to)) {
    plan.notApplied.push({ path: 'monitoring', reason: 'monitoring: the alert monitor is built once from the file; restart to apply its new settings' });
  }
  return plan;
}

/**
 * What reloading `to` over components built from `from` would change: per
 * component, each setting old → new, and the changes a reload refuses with
 * the reason (a changed kind, a setting without a runtime setter, a component
 * added or removed). Applies nothing; `sluice validate --diff` prints it and
 * `watchConfig()` follows it.
 * @example
 * const plan = planReload(parseConfig(oldText), parseConfig(newText));
 * for (const c of plan.components) console.log(c.name, c.action, c.changes.map((x) => `${x.setting}: ${x.previous} -> ${x.value}`));
 */
export function planReload(from: SluiceConfig, to: SluiceConfig): ReloadPlan {
  const a = componentSpecs(from);
  const b = componentSpecs(to);
  return planSpecs(a.components, b.components, { from: a.alerts, to: b.alerts });
}

/** The kind a live object must be for a spec's setters. */
function fits(kind: ComponentKind, component: unknown): boolean {
  switch (kind) {
    case 'Channel':
      return component instanceof Channel;
    case 'PriorityChannel':
      return component instanceof PriorityChannel;
    case 'FairChannel':
      return component instanceof FairChannel;
    case 'BatchWriter':
      return component instanceof BatchWriter;
    case 'TokenBucket':
      return component instanceof TokenBucket;
    case 'AdaptiveRate':
      return component instanceof AdaptiveRate;
    case 'ConcurrencyLimiter':
    case 'Bulkhead':
      return component instanceof ConcurrencyLimiter;
    default:
      return false;
  }
}

/**
 * Applies an `apply` entry of a plan to the live component, in {@link ORDER}.
 * Returns the options that are now in effect (the new ones, or up to the
 * setting that threw) and the error, if a setter refused a value.
 */
export function applyReload(
  entry: ComponentReload,
  component: unknown,
  from: Record<string, unknown>,
  to: Record<string, unknown>,
): { options: Record<string, unknown>; error?: Error } {
  if (!fits(entry.kind, component)) {
    return { options: from, error: new Error(`${entry.path}: the component given as "${entry.name}" is not a ${entry.kind}; nothing changed`) };
  }
  const tunable = TUNABLE[entry.kind]!;
  const options = { ...from };
  let watermarksDone = false;
  for (const change of entry.changes) {
    if (change.option === 'highWatermark' || change.option === 'lowWatermark') {
      // Both in one call, so an order that is only valid once both moved is accepted.
      if (watermarksDone) continue;
      watermarksDone = true;
    }
    try {
      (tunable[change.option] as (c: unknown, v: unknown, next: Record<string, unknown>) => void)(component, change.value, to);
    } catch (error) {
      return { options, error: error instanceof Error ? error : new Error(String(error)) };
    }
    options[change.option] = change.value;
    if (change.option === 'highWatermark' || change.option === 'lowWatermark') {
      options.highWatermark = to.highWatermark;
      options.lowWatermark = to.lowWatermark;
    }
    if (entry.kind === 'ConcurrencyLimiter' && (change.option === 'minLimit' || change.option === 'maxLimit')) {
      options.minLimit = to.minLimit;
      options.maxLimit = to.maxLimit;
    }
    if (entry.kind === 'AdaptiveRate') {
      options.minRate = to.minRate;
      options.maxRate = to.maxRate;
    }
  }
  return { options };
}
