import { open } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { clip, ConfigError, issuesFromZod, type ConfigIssue } from './errors.js';
import { configSchema } from './schema.js';
import type { SluiceConfig } from './types.js';

export interface ParseConfigOptions {
  /**
   * Where the text came from, shown at the head of error messages.
   * @default undefined
   * @example parseConfig(text, { source: 'sluice.yaml' })
   */
  source?: string;
  /**
   * How to read text input. `'json'` parses strictly with `JSON.parse` (no
   * trailing commas, no comments); `'yaml'` accepts YAML, of which JSON is a subset.
   * @default 'json' when `source` ends in `.json`, else 'yaml'
   * @example parseConfig(text, { format: 'json' })
   */
  format?: 'yaml' | 'json';
}

/**
 * Largest configuration text accepted, in bytes (UTF-16 code units for a
 * string). A real configuration is a few KiB; anything this big is the wrong
 * file, and parsing it would only produce a flood of problems.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Uses of aliases (`*name`) a YAML document may expand. The yaml package's
 * default too; named here because a "billion laughs" document trips it.
 */
export const MAX_ALIAS_COUNT = 100;

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
 * config.queues.input_queue?.maxBlockMs; // 5000
 */
export function parseConfig(input: string | object, options: ParseConfigOptions = {}): SluiceConfig {
  const data = typeof input === 'string' ? parseText(input, options) : input;
  let prefix: string[] = [];
  let body: unknown = data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && Object.keys(data).length === 1 && 'backpressure' in data) {
    body = (data as { backpressure: unknown }).backpressure ?? {};
    prefix = ['backpressure'];
  }
  const result = configSchema.safeParse(body, { reportInput: true });
  if (!result.success) throw new ConfigError(issuesFromZod(result.error.issues, prefix), options.source);
  const c = result.data;
  const rawAdaptive = (body as { adaptive?: Record<string, unknown> }).adaptive;
  const warnings: string[] = [];
  if (c.adaptive) {
    for (const [key, value] of [['min_rate', c.adaptive.minRate], ['max_rate', c.adaptive.maxRate]] as const) {
      if (rawAdaptive?.[key] === undefined) warnings.push(`${[...prefix, 'adaptive', key].join('.')}: not given; using ${value}/s`);
    }
  }
  return {
    queues: c.queues ?? {},
    writers: c.writers ?? {},
    flowControl: c.flow_control,
    adaptive: c.adaptive,
    rateLimits: c.rate_limits ?? {},
    credits: c.credits ?? {},
    concurrency: c.concurrency ?? {},
    bulkheads: c.bulkheads ?? {},
    breakers: c.breakers ?? {},
    monitoring: c.monitoring,
    simulation: c.simulation,
    warnings,
  };
}

/**
 * Reads and validates a YAML or JSON configuration file.
 *
 * A file ending in `.json` is parsed strictly as JSON, anything else as YAML.
 * Abort safety: no AbortSignal; the read is bounded by {@link MAX_CONFIG_BYTES}.
 * @throws ConfigError when the file is invalid or too large (its path heads the
 *   message); the fs error (e.g. ENOENT) when it cannot be read.
 * @example
 * const config = await loadConfig('sluice.yaml');
 * const built = fromConfig(config);
 */
export async function loadConfig(path: string): Promise<SluiceConfig> {
  return parseConfig(await readConfigFile(path), { source: path });
}

/**
 * Reads a configuration file, refusing one over {@link MAX_CONFIG_BYTES}
 * before reading it (so a 50 MB file is neither loaded nor echoed).
 * @throws ConfigError for a file that is too large; the fs error when it cannot be read.
 */
export async function readConfigFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_CONFIG_BYTES) throw tooLarge(size, path);
    // Read at most one byte past the limit: a pipe or device reports size 0 and may never end.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONFIG_BYTES) throw tooLarge(length, path, true);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

function tooLarge(size: number, source: string | undefined, atLeast = false): ConfigError {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return new ConfigError([{ path: '(root)', message: `(root): too large (${atLeast ? 'over ' : ''}${mib(size)}); a configuration may be at most ${mib(MAX_CONFIG_BYTES)}` }], source);
}

/** yaml's first message line with the offending token cut short, and its position. */
function yamlProblem(err: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): string {
  const text = err.message.split('\n')[0]!.replace(/:$/, '').replace(/ at line \d+, column \d+$/, '');
  const at = err.linePos?.[0];
  return `${clip(text)}${at ? ` at line ${at.line}, column ${at.col}` : ''}`;
}

function rootError(message: string, source: string | undefined): ConfigError {
  return new ConfigError([{ path: '(root)', message: `(root): ${message}` }], source);
}

/** YAML or JSON text to plain data, every failure a one-line ConfigError (never a yaml or JSON exception). */
function parseText(text: string, options: ParseConfigOptions): unknown {
  const { source } = options;
  if (text.length > MAX_CONFIG_BYTES) throw tooLarge(text.length, source);
  const format = options.format ?? (source?.toLowerCase().endsWith('.json') ? 'json' : 'yaml');
  let data: unknown;
  if (format === 'json') {
    try {
      data = JSON.parse(text);
    } catch {
      const where = jsonProblem(text);
      throw rootError(`not valid JSON${where ? `: ${where}` : ''}`, source);
    }
  } else {
    try {
      const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
      if (doc.errors.length > 0) {
        // Junk text can produce thousands of the same syntax error; ConfigError lists the first few and counts the rest.
        const messages = new Set(doc.errors.map((err) => `(root): not valid YAML or JSON: ${yamlProblem(err)}`));
        throw new ConfigError([...messages].map((message): ConfigIssue => ({ path: '(root)', message })), source);
      }
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      // yaml throws a ReferenceError for an alias bomb and may hit the stack limit on absurd nesting.
      const why = /alias/i.test((error as Error).message)
        ? `not acceptable YAML: its aliases expand more than ${MAX_ALIAS_COUNT} times (an alias bomb?)`
        : `not acceptable YAML: ${clip(String((error as Error).message), 160)}`;
      throw rootError(why, source);
    }
  }
  if (data === null || data === undefined) throw rootError(`empty; expected a configuration (a mapping with queues, writers, flow_control, adaptive, rate_limits, credits, concurrency, monitoring or simulation)`, source);
  return data;
}

/**
 * Where JSON.parse failed, as `unexpected 'x' at line L, column C`. Node's own
 * messages differ between versions and some give no position, so the text is
 * scanned again (only after a failure) to find the first offending character.
 */
function jsonProblem(text: string): string | undefined {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const what = offset >= text.length ? 'end of input' : JSON.stringify(text[offset]);
  return `unexpected ${what} at line ${line}, column ${column}`;
}

/** Offset of the first character that makes `text` invalid JSON (RFC 8259), or undefined when none is found. */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (close === '}') {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) if (text.startsWith(word, i)) return void (i += word.length);
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) return void (i = NUMBER.lastIndex);
    fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === 'number' ? at : undefined; // RangeError: nested too deep to scan; the plain message will do
  }
}
