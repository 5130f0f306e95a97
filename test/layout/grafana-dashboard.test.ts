// dashboards/sluice.json (#15 part 5): every PromQL expression in the Grafana
// dashboard names only metrics the code exports (sluiceMetricFamilies with the
// default prefix, plus _bucket/_sum/_count for histograms), every variable it
// uses is defined, and the panels the issue asks for are there. Reads files
// only; needs no service and no Grafana.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sluiceMetricFamilies } from '../../src/core/metrics/index.js';

const root = resolve(import.meta.dirname, '../..');
const dashboard = JSON.parse(readFileSync(join(root, 'dashboards', 'sluice.json'), 'utf8'));

/** Every series name the code can expose with the default prefix. */
const exported = new Set(
  sluiceMetricFamilies.flatMap((f) => (f.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => `sluice_${f.name}${s}`) : [`sluice_${f.name}`])),
);

/** PromQL words that are not metric names: aggregations, functions (when called), operators, modifiers, literals. */
const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);
const aggregations = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

interface Reference {
  /** Metric names written out. */
  names: string[];
  /** `__name__` regex matchers (`{__name__=~"..."}`), as written. */
  nameRegexes: string[];
  /** Grafana variables used (`$x`, `${x}`, `[[x]]`). */
  variables: string[];
}

/** The metric names, `__name__` regexes and variables of one PromQL expression (or a Grafana label_values() query). */
function references(expr: string): Reference {
  const variables = [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
  const nameRegexes = [...expr.matchAll(/__name__\s*=~\s*"([^"]*)"/g)].map((m) => m[1]!);
  const exact = [...expr.matchAll(/__name__\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
  let text = expr
    // Grafana's label_values(selector, label): the label is no metric.
    .replace(/label_values\s*\(([^,]*),\s*\w+\s*\)/g, '($1)')
    .replace(/label_values\s*\(\s*\w+\s*\)/g, '()')
    .replace(/\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]/g, ' 1 ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // Label lists of by/without/on/ignoring/group_left/group_right.
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  text = text.replace(/(?<![\w:.])[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?(?![\w:])/gi, ' ');
  const names = [...exact];
  for (const m of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = text.slice(m.index + word.length).trimStart();
    if (keywords.has(word.toLowerCase())) continue;
    if (after.startsWith('(')) continue; // a function call
    if (aggregations.has(word) && /^(by|without)\b/.test(after)) continue; // `sum by (x) (...)`
    names.push(word);
  }
  return { names, nameRegexes, variables };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = panels.filter((p) => p.type !== 'row');
const variables: { name: string; type: string; query: unknown; definition?: string; datasource?: { uid: string } }[] = dashboard.templating.list;
const variableQueries = variables.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'string' ? v.query : (v.query as { query: string }).query));
const expressions: { where: string; expr: string }[] = [
  ...queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr }))),
  ...variableQueries.map((q, i) => ({ where: `variable query ${i}`, expr: q })),
];
const builtins = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__interval_ms', '__all']);
const defined = new Set(variables.map((v) => v.name));

describe('dashboards/sluice.json', () => {
  it('references() - finds metric names, skips functions, aggregations, labels, literals and variables', () => {
    assert.deepEqual(
      references('histogram_quantile(0.99, sum by (component, le) (rate(sluice_x_bucket{component=~"$component",le!="1"}[$__rate_interval]))) > 0.5').names,
      ['sluice_x_bucket'],
    );
    assert.deepEqual(references('sum by (component) (rate(a_total[5m])) / ignoring(reason) group_left sum without (reason) (b) < +Inf').names, ['a_total', 'b']);
    assert.deepEqual(references('vector($high_watermark) and on(component) c == 1e3').names, ['c']);
    assert.deepEqual(references('label_values(sluice_buffer_size, component)').names, ['sluice_buffer_size']);
    const r = references('label_values({__name__=~"sluice_.+"}, component)');
    assert.deepEqual([r.names, r.nameRegexes], [[], ['sluice_.+']]);
    assert.deepEqual(references('max(${datasource_var:raw}) + [[old]] + $__range').variables, ['datasource_var', 'old', '__range']);
  });

  it('expressions - every metric name in every PromQL expression and variable query is one the code exports', () => {
    assert.ok(expressions.length >= 20, `only ${expressions.length} expressions`);
    const unknown: string[] = [];
    for (const { where, expr } of expressions) {
      const r = references(expr);
      for (const name of r.names) if (!exported.has(name)) unknown.push(`${where}: ${name} in ${expr}`);
      for (const re of r.nameRegexes) {
        const pattern = new RegExp(`^(?:${re})$`);
        if (![...exported].some((n) => pattern.test(n))) unknown.push(`${where}: __name__=~"${re}" matches no exported metric`);
      }
      assert.ok(r.names.length + r.nameRegexes.length > 0 || /^vector\(/.test(expr), `${where} names no metric: ${expr}`);
    }
    assert.deepEqual(unknown, []);
  });

  it('expressions - cover the panels the issue asks for: utilization and watermarks, rates in/out, drops by reason, limits, in-flight, latency percentiles, lag, time to full, breaker state', () => {
    const used = new Set(expressions.flatMap(({ expr }) => references(expr).names));
    for (const name of [
      'sluice_buffer_utilization_ratio',
      'sluice_offered_total',
      'sluice_delivered_total',
      'sluice_dropped_total',
      'sluice_concurrency_limit',
      'sluice_inflight',
      'sluice_rate_limit_per_second',
      'sluice_processing_latency_seconds_bucket',
      'sluice_lag',
      'sluice_buffer_time_to_full_seconds',
      'sluice_breaker_state',
      'sluice_state',
    ]) {
      assert.ok(used.has(name), `no panel uses ${name}`);
    }
    const exprs = expressions.map((e) => e.expr);
    assert.ok(exprs.some((e) => /by \(component, reason\)/.test(e) && e.includes('sluice_dropped_total')), 'drops are split by reason');
    for (const q of ['0.5', '0.9', '0.99']) assert.ok(exprs.some((e) => e.startsWith(`histogram_quantile(${q},`)), `p${q} latency`);
    assert.ok(exprs.includes('vector($high_watermark)') && exprs.includes('vector($low_watermark)'), 'watermark lines');
  });

  it('templating - a Prometheus data source variable used by every panel and query, and a multi-value component variable used by every metric query', () => {
    assert.equal(dashboard.schemaVersion, 39);
    const ds = variables.find((v) => v.name === 'datasource');
    assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
    for (const p of queryPanels) {
      assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}"`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `panel "${p.title}" ${t.refId}`);
    }
    const component = variables.find((v) => v.name === 'component')!;
    assert.equal(component.datasource?.uid, '${datasource}');
    assert.match(component.definition ?? '', /^label_values\(.*, component\)$/);
    assert.equal((component as { multi?: boolean }).multi, true);
    assert.equal((component as { includeAll?: boolean }).includeAll, true);
    for (const { where, expr } of expressions.filter((e) => references(e.expr).names.length > 0 && !e.where.startsWith('variable'))) {
      assert.match(expr, /component=~"\$component"/, `${where} is not filtered by the component variable`);
    }
    const undefinedVariables = expressions.flatMap(({ where, expr }) => references(expr).variables.filter((v) => !defined.has(v) && !builtins.has(v)).map((v) => `${where}: $${v}`));
    assert.deepEqual(undefinedVariables, []);
  });

  it('package - dashboards/ is in package.json "files", so the dashboard ships in node_modules/sluice/dashboards/sluice.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('dashboards'), JSON.stringify(pkg.files));
  });

  it('layout - panel ids are unique, every panel has a grid position inside 24 columns and at least one query; no two panels overlap', () => {
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
    for (const p of panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" grid ${JSON.stringify(p.gridPos)}`);
      if (p.type !== 'row') assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no query`);
    }
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        assert.ok(!overlap, `panels "${a.title}" and "${b.title}" overlap`);
      }
    }
  });
});
