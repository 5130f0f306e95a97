import { ErrorCode, SluiceError } from '../../core/errors/index.js';
import { nearest } from '../../internal/validate.js';

/** One problem in a configuration: where, and what is wrong. */
export interface ConfigIssue {
  /** Dotted path from the top of the file, e.g. `queues.input_queue.strategy`; `(root)` for the document itself. */
  path: string;
  /** The full line, e.g. `queues.input_queue.strategy: "blok" is not one of block, drop-newest, drop-oldest, sample, reject`. */
  message: string;
}

/** The message lists at most this many problems, then how many more there are. */
export const MAX_LISTED_ISSUES = 20;
/** Values and keys from the file are echoed at most this long, so junk input is not printed back. */
export const MAX_ECHO_CHARS = 80;

/**
 * `text`, cut to `max` characters with a marker saying how much was left out,
 * and with control characters escaped (a binary file's bytes must not reach the terminal raw).
 */
export function clip(text: string, max = MAX_ECHO_CHARS): string {
  const cut = text.length <= max ? text : `${text.slice(0, max - 1)}…(${text.length} chars)`;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A configuration failed validation. Nothing was built. `issues` lists every
 * problem found, each naming its path, the value and what is allowed; the
 * message holds the first {@link MAX_LISTED_ISSUES} one per line, then a
 * count of the rest. Code `ERR_SLUICE_INVALID_OPTION`, like any other invalid option.
 */
export class ConfigError extends SluiceError {
  readonly issues: ConfigIssue[];
  /** The file, when the configuration came from one. */
  readonly source: string | undefined;
  constructor(issues: ConfigIssue[], source?: string) {
    const head = `${source ? `${source}: ` : ''}invalid configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'})`;
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `  ${i.message}`);
    if (issues.length > MAX_LISTED_ISSUES) listed.push(`  ... and ${issues.length - MAX_LISTED_ISSUES} more`);
    super(ErrorCode.invalidOption, [head, ...listed].join('\n'));
    this.issues = issues;
    this.source = source;
  }
}

export function joinPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : clip(path.map(String).join('.'));
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return clip(text);
}

/**
 * The parts of a zod issue read below. Written out rather than imported from zod:
 * this file's .d.ts is part of `sluice/config`'s types, and users do not have zod
 * installed (the build bundles it).
 */
interface ZodIssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly ZodIssueLike[])[];
}

/** Turns zod issues into path-named lines: `<path>: <value> is not <allowed>`. */
export function issuesFromZod(issues: readonly ZodIssueLike[], prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const allowed = /\(allowed: (.*)\)$/.exec(issue.message)?.[1];
      const candidates = allowed ? allowed.split(', ') : [];
      for (const key of issue.keys ?? []) {
        const path = joinPath([...base, key]);
        const guess = nearest(key, candidates);
        out.push({ path, message: `${path}: unknown key${guess === undefined ? '' : `; did you mean "${guess}"?`}${allowed ? ` (allowed: ${allowed})` : ''}` });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0 && issue.message === 'Invalid input') {
      // A union without a message of its own: report its branches' issues.
      out.push(...issuesFromZod(issue.errors.flat(), base));
      continue;
    }
    const path = joinPath(base);
    const input = (issue as { input?: unknown }).input;
    const message = input === undefined ? `${path}: missing; expected ${issue.message}` : `${path}: ${describeValue(input)} is not ${issue.message}`;
    out.push({ path, message });
  }
  return dedupe(out);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.message) && seen.add(i.message));
}
