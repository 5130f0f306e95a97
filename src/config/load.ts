import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ConfigError, issuesFromZod, type ConfigIssue } from './errors.js';
import { configSchema } from './schema.js';
import type { SluiceConfig } from './types.js';

export interface ParseConfigOptions {
  /**
   * Where the text came from, shown at the head of error messages.
   * @default undefined
   * @example parseConfig(text, { source: 'sluice.yaml' })
   */
  source?: string;
}

// Keys of the seed template Sluice accepts but has no use for; each gets a warning.
const NO_EFFECT: [section: string, key: string, why: string][] = [
  ['flow_control', 'min_credits', 'Credits has no minimum; the producer waits at 0 credits'],
  ['flow_control', 'credit_timeout', 'Credits.acquire() has no timeout; pass an AbortSignal (e.g. AbortSignal.timeout(30_000))'],
  ['adaptive', 'adjustment_interval', 'AdaptiveRate adjusts on every record() over its window, not on a timer'],
];

/**
 * Validates a configuration, given as YAML or JSON text or as an already
 * parsed object, before anything is built. Keys follow the seed template
 * (`queues`, `flow_control`, `adaptive`, `monitoring.alert_thresholds`), optionally
 * wrapped in a top-level `backpressure:` key as in the seed.
 *
 * @throws ConfigError listing every problem, each as `<path>: <value> is not <allowed>`.
 * @example
 * const config = parseConfig(`
 * queues:
 *   input_queue: { size: 10000, strategy: block, timeout: 5s }
 * `);
 * config.queues.input_queue.maxBlockMs; // 5000
 */
export function parseConfig(input: string | object, options: ParseConfigOptions = {}): SluiceConfig {
  let data: unknown = input;
  if (typeof input === 'string') {
    const doc = parseDocument(input, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((err): ConfigIssue => ({ path: '(root)', message: `(root): not valid YAML or JSON: ${err.message.split('\n')[0]!.replace(/:$/, '')}` })),
        options.source,
      );
    }
    data = doc.toJS() ?? {};
  }
  let prefix: string[] = [];
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && Object.keys(data).length === 1 && 'backpressure' in data) {
    data = (data as { backpressure: unknown }).backpressure ?? {};
    prefix = ['backpressure'];
  }
  const result = configSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw new ConfigError(issuesFromZod(result.error.issues, prefix), options.source);
  const c = result.data;
  const raw = data as Record<string, Record<string, unknown> | undefined>;
  const warnings = NO_EFFECT.filter(([section, key]) => raw[section]?.[key] !== undefined).map(
    ([section, key, why]) => `${[...prefix, section, key].join('.')}: accepted for the seed template but has no effect (${why})`,
  );
  return {
    queues: c.queues ?? {},
    flowControl: c.flow_control,
    adaptive: c.adaptive,
    rateLimits: c.rate_limits ?? {},
    credits: c.credits ?? {},
    concurrency: c.concurrency ?? {},
    monitoring: c.monitoring,
    simulation: c.simulation,
    warnings,
  };
}

/**
 * Reads and validates a YAML or JSON configuration file.
 *
 * Abort safety: no AbortSignal; the read is a single `readFile`.
 * @throws ConfigError when the file is invalid (its path heads the message); the
 *   `readFile` error (e.g. ENOENT) when it cannot be read.
 * @example
 * const config = await loadConfig('sluice.yaml');
 * const built = fromConfig(config);
 */
export async function loadConfig(path: string): Promise<SluiceConfig> {
  const text = await readFile(path, 'utf8');
  return parseConfig(text, { source: path });
}
