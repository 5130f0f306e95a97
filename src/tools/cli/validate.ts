import { componentSpecs, ConfigError, fromConfig, parseConfig, type AlertSpec } from '../config/index.js';
import { MAX_LISTED_ISSUES, readConfigFile } from '../config/internal/index.js';
import { formatDuration, formatPercent } from '../../internal/config-units.js';
import { VirtualClock } from '../../core/testing/index.js';
import { settings, table, type CliIo } from './format.js';

export interface ValidateFlags {
  json?: boolean;
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
    const lines = [`${file}: valid; it would build ${components.length} ${components.length === 1 ? 'component' : 'components'}`];
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
