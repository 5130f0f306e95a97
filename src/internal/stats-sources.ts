// Checks that values are stats sources (anything with stats()), shared by the
// metrics collector, the alert monitor and the dashboard without widening `sluice`'s exports.
import { InvalidArgumentError } from '../core/errors/index.js';
import type { MetricsSource } from '../core/metrics/index.js';

/**
 * True for anything with a `stats()` method: objects, and functions such as
 * pipeline stages or a `dashboardHandler`, which carry `stats()` as a property.
 */
export function isStatsSource(value: unknown): value is MetricsSource {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as MetricsSource).stats === 'function';
}

/**
 * A short description of a value that is not a stats source, for error
 * messages: its kind and a few key names, never a function's source or a large dump.
 */
export function describeNonSource(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `a function${value.name ? ` named ${JSON.stringify(value.name.slice(0, 40))}` : ''} without a stats() method`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 5).map((k) => k.slice(0, 30)).join(', ');
    const name = value.constructor?.name && value.constructor.name !== 'Object' ? `a ${value.constructor.name}` : 'an object';
    return keys.length === 0 ? `${name} without a stats() method` : `${name} without a stats() method (keys: ${shown}${keys.length > 5 ? ', …' : ''})`;
  }
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  return `${typeof value} ${String(value)}`;
}

/** Checks the components argument and copies it, so later changes to the object do not leak in. */
export function checkSources(components: unknown, caller: string): [string, MetricsSource][] {
  if (typeof components !== 'object' || components === null || Array.isArray(components)) {
    throw new InvalidArgumentError(
      `${caller}: components must be an object mapping names to components, got ${components === null || typeof components !== 'object' ? describeNonSource(components) : 'an array'}`,
    );
  }
  const entries = Object.entries(components as Record<string, unknown>);
  for (const [name, source] of entries) {
    if (!isStatsSource(source)) {
      throw new InvalidArgumentError(`${caller}: components[${JSON.stringify(name.slice(0, 60))}] must have a stats() method, got ${describeNonSource(source)}`);
    }
  }
  return entries as [string, MetricsSource][];
}
