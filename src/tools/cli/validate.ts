import { componentSpecs, ConfigError, fromConfig, parseConfig, planReload, type AlertSpec, type SluiceConfig } from '../config/index.js';
import { MAX_LISTED_ISSUES, readConfigFile } from '../config/internal/index.js';
import { formatDuration, formatPercent } from '../../internal/config-units.js';
import { VirtualClock } from '../../core/testing/index.js';
import { settings, table, type CliIo } from './format.js';

export interface ValidateFlags {
  json?: boolean;
  diff?: boolean;
}

/**
 * `sluice validate FILE`: parses and validates, then builds every component
 * once on a virtual clock (no timers, nothing started) so that what the
 * constructors refuse is caught too. Exit 0 valid, 2 invalid or unreadable.
 */
export async function validateCommand(file: string, flags: ValidateFlags, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await readConfigFile(file);
  } catch (error) {
    if (error instanceof ConfigError) return fail(io, flags, file, error.issues.map((i) => i.message), error.message);
    return fail(io, flags, file, [`${file}: cannot read: ${(error as Error).message}`]);
  }
  try {
    const config = parseConfig(text, { source: file });
    fromConfig(config, { clock: new VirtualClock(), alertLog: false }).close();
    const { components, alerts } = componentSpecs(config);
    if (flags.json) {
      io.stdout(`${JSON.stringify({ ok: true, file, components, alerts: alerts ?? null, warnings: config.warnings }, null, 2)}\n`);
      return 0;
    }
    // A writer's sink is code: fromConfig() builds a writer only when given its sink, so writers are counted apart.
    const writers = components.filter((c) => c.kind === 'BatchWriter').length;
    const others = components.length - writers;
    const writerNote = writers ? `, and ${writers === 1 ? '1 writer' : `${writers} writers`} given ${writers === 1 ? 'its sink' : 'their sinks'} (fromConfig's sinks option)` : '';
    const lines = [`${file}: valid; it would build ${others} ${others === 1 ? 'component' : 'components'}${writerNote}`];
    if (components.length) {
      lines.push('', table([['NAME', 'KIND', 'FROM', 'SETTINGS'], ...components.map((c) => [c.name, c.kind, c.path, settings(readable(c.options))])]));
    }
    if (alerts) lines.push('', `Alerts: ${describeAlerts(alerts)}`);
    if (config.warnings.length) lines.push('', 'Warnings:', ...config.warnings.map((w) => `  ${w}`));
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) return fail(io, flags, file, error.issues.map((i) => i.message), error.message);
    throw error;
  }
}

/** A file read, validated and built once on a virtual clock; or its problems. */
async function load(file: string): Promise<{ config: SluiceConfig } | { issues: string[]; message: string }> {
  let text: string;
  try {
    text = await readConfigFile(file);
  } catch (error) {
    if (error instanceof ConfigError) return { issues: error.issues.map((i) => i.message), message: error.message };
    const line = `${file}: cannot read: ${(error as Error).message}`;
    return { issues: [line], message: line };
  }
  try {
    const config = parseConfig(text, { source: file });
    fromConfig(config, { clock: new VirtualClock(), alertLog: false }).close();
    return { config };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // fromConfig's errors do not know the file: name it, as parseConfig's do.
    const message = error.source === undefined ? `${file}: ${error.message}` : error.message;
    return { issues: error.issues.map((i) => i.message), message };
  }
}

/** A setting's value in the diff table: numbers and strings as they are, absent as "-", lists and maps as JSON. */
function cell(value: unknown): string {
  if (value === undefined) return '-';
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/**
 * `sluice validate --diff OLD NEW`: validates both files, then prints what
 * `watchConfig()` would do on a running service built from OLD when the file
 * becomes NEW: per component each setting old -> new, applied or refused with
 * the reason. Exit 0 when everything would apply (or nothing differs), 1 when
 * a reload would refuse something (the rest would still apply), 2 when a file
 * is unreadable or invalid.
 */
export async function diffCommand(oldFile: string, newFile: string, flags: ValidateFlags, io: CliIo): Promise<number> {
  const from = await load(oldFile);
  const to = await load(newFile);
  if (!('config' in from) || !('config' in to)) {
    const bad = [from, to].flatMap((r, i) => ('config' in r ? [] : [{ file: i === 0 ? oldFile : newFile, ...r }]));
    if (flags.json) {
      io.stdout(`${JSON.stringify({ ok: false, files: bad.map((b) => ({ file: b.file, issues: b.issues.slice(0, MAX_LISTED_ISSUES), issueCount: b.issues.length })) }, null, 2)}\n`);
    } else {
      io.stderr(`${bad.map((b) => b.message).join('\n')}\n`);
    }
    return 2;
  }
  const plan = planReload(from.config, to.config);
  const applied = plan.components.filter((c) => c.action === 'apply');
  const refused = plan.components.filter((c) => c.action !== 'apply');
  const code = refused.length > 0 || plan.notApplied.length > 0 ? 1 : 0;
  if (flags.json) {
    io.stdout(`${JSON.stringify({ ok: true, from: oldFile, to: newFile, wouldRefuse: code === 1, components: plan.components, notApplied: plan.notApplied }, null, 2)}\n`);
    return code;
  }
  if (plan.components.length === 0 && plan.notApplied.length === 0) {
    io.stdout(`${oldFile} -> ${newFile}: no difference a reload would apply or refuse\n`);
    return 0;
  }
  const count = (n: number) => `${n} ${n === 1 ? 'component' : 'components'}`;
  const lines = [`${oldFile} -> ${newFile}: a reload would change ${count(applied.length)}${refused.length ? ` and refuse ${count(refused.length)}` : ''}`, ''];
  const rows = [['COMPONENT', 'KIND', 'SETTING', 'OLD', 'NEW', 'RELOAD']];
  for (const c of plan.components) {
    const action = c.action === 'apply' ? 'applied' : c.action;
    if (c.changes.length === 0) rows.push([c.name, c.kind, '-', '-', '-', action]);
    for (const x of c.changes) rows.push([c.name, c.kind, x.setting, cell(x.previous), cell(x.value), action]);
  }
  lines.push(table(rows));
  if (refused.length || plan.notApplied.length) {
    lines.push('', 'Refused (the component keeps all its settings):', ...refused.map((c) => `  ${c.reason ?? c.path}`), ...plan.notApplied.map((n) => `  ${n.reason}`));
  }
  io.stdout(`${lines.join('\n')}\n`);
  return code;
}

/**
 * Lists and flat maps of the settings as short text for the table: priority
 * levels as `critical,normal,batch`, weights and partition shares as
 * `critical:0.6,batch:0.2` (the JSON output keeps the values as they are).
 */
function readable(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) out[key] = value.join(',');
    else if (typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v !== 'object')) {
      out[key] = Object.entries(value).map(([k, v]) => `${k}:${String(v)}`).join(',');
    } else out[key] = value;
  }
  return out;
}

function fail(io: CliIo, flags: ValidateFlags, file: string, issues: string[], message?: string): number {
  // Like the text message, the JSON lists the first problems only (junk input can have tens of thousands).
  if (flags.json) io.stdout(`${JSON.stringify({ ok: false, file, issues: issues.slice(0, MAX_LISTED_ISSUES), issueCount: issues.length }, null, 2)}\n`);
  else io.stderr(`${message ?? issues.join('\n')}\n`);
  return 2;
}

export function describeAlerts(a: AlertSpec): string {
  const t = a.options.thresholds;
  const rules: string[] = [];
  if (t.queueDepth) rules.push('items' in t.queueDepth ? `queue_depth >= ${t.queueDepth.items} items` : `queue_depth >= ${formatPercent(t.queueDepth.utilization)} full`);
  if (t.dropRate !== undefined) rules.push(`drop_rate >= ${formatPercent(t.dropRate)}`);
  if (t.blockedTime !== undefined) rules.push(`a producer blocked >= ${formatDuration(t.blockedTime)}`);
  if (t.lag) rules.push('items' in t.lag ? `lag >= ${t.lag.items} messages` : `lag >= ${t.lag.pressure} × the source's threshold`);
  if (t.slope !== undefined) rules.push(`a trend rising >= ${t.slope}/s`);
  if (t.timeToFull !== undefined) rules.push(`full within ${formatDuration(t.timeToFull)}`);
  const every = formatDuration(a.options.intervalMs ?? 1000);
  const forText = a.options.forMs ? ` for ${formatDuration(a.options.forMs)}` : '';
  return `every ${every} on ${a.components.join(', ')}: ${rules.join(', ')}${forText}`;
}
