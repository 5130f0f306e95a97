import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoOptions } from '../demo/index.js';
import { run, type CliDeps } from './index.js';

const example = fileURLToPath(new URL('../../../examples/sluice.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));

async function cli(argv: string[], deps?: CliDeps) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false }, deps);
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// A small, quick configuration for the simulate tests.
const small = file(
  'small.yaml',
  `queues:
  jobs: { capacity: 50, strategy: drop_newest }
  orders: { capacity: 50, strategy: block }
monitoring:
  metrics_interval: 1s
  alert_thresholds: { queue_depth: 0.9 }
simulation:
  arrival_rate: 800/s
  service_time: 1ms
  duration: 2m
`,
);

describe('sluice validate', () => {
  it('validate - prints what a valid file would build and exits 0', async () => {
    const { code, stdout } = await cli(['validate', example]);
    assert.equal(code, 0);
    const lines = stdout.split('\n');
    assert.equal(lines[0], `${example}: valid; it would build 6 components, and 1 writer given its sink (fromConfig's sinks option)`);
    assert.match(stdout, /events_writer\s+BatchWriter\s+writers\.events_writer\s+capacity=5000 batchSize=500 minFlushIntervalMs=100 maxFlushIntervalMs=30000 targetLatencyMs=500/);
    assert.match(stdout, /input_queue\s+Channel\s+queues\.input_queue\s+capacity=10000 overflow=block highWatermark=0\.8 lowWatermark=0\.2 maxBlockMs=5000/);
    assert.match(stdout, /database\s+ConcurrencyLimiter\s+concurrency\.database\s+algorithm=aimd initialLimit=10 maxLimit=100 timeoutMs=250/);
    assert.match(stdout, /Alerts: every 10s on input_queue, processing_queue, flow_control, adaptive, api_calls, database: queue_depth >= 90% full, drop_rate >= 1%, a producer blocked >= 500ms for 30s/);
  });

  it('validate - exits 2 with one path-named line per problem', async () => {
    const bad = file('bad.yaml', 'queues:\n  input_queue:\n    capacity: 10\n    strategy: blok\n  q2: { size: 0 }\n');
    const { code, stdout, stderr } = await cli(['validate', bad]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      `${bad}: invalid configuration (2 problems)\n` +
        '  queues.input_queue.strategy: "blok" is not one of block, drop-newest, drop-oldest, sample, reject\n' +
        '  queues.q2.size: 0 is not an integer >= 1\n',
    );
  });

  it('validate --json - prints the specs, or the issues', async () => {
    const good = await cli(['validate', small, '--json']);
    assert.equal(good.code, 0);
    const parsed = JSON.parse(good.stdout);
    assert.equal(parsed.ok, true);
    assert.deepEqual(parsed.components[0], { name: 'jobs', kind: 'Channel', path: 'queues.jobs', options: { name: 'jobs', capacity: 50, overflow: 'drop-newest', highWatermark: 0.8, lowWatermark: 0.2 } });
    const bad = await cli(['validate', file('bad2.yaml', 'queues: { q: { capacity: 1, colour: red } }'), '--json']);
    assert.equal(bad.code, 2);
    assert.deepEqual(JSON.parse(bad.stdout).issues, ['queues.q.colour: unknown key (allowed: capacity, size, strategy, overflow, high_watermark, low_watermark, sample_every, timeout, max_block, max_bytes, priorities, fairness)']);
  });

  it('validate - a constructor refusal the schema let through is reported with its path', async () => {
    const { code, stderr } = await cli(['validate', file('limits.yaml', 'concurrency: { db: { min_limit: 10, max_limit: 5 } }')]);
    assert.equal(code, 2);
    assert.match(stderr, /concurrency\.db\.min_limit: 10 is not an integer <= maxLimit \(5\)/);
  });

  it('validate - exits 2 when the file cannot be read', async () => {
    const { code, stderr } = await cli(['validate', join(dir, 'missing.yaml')]);
    assert.equal(code, 2);
    assert.match(stderr, /missing\.yaml: cannot read: ENOENT/);
  });
});

describe('sluice validate --diff', () => {
  const before = `queues:
  jobs: { capacity: 100, strategy: block, high_watermark: 0.8 }
rate_limits:
  api: { rate: 50/s, burst: 10 }
`;
  const oldFile = file('diff-old.yaml', before);

  it('validate --diff - prints each setting old -> new a reload would apply, and exits 0', async () => {
    const newFile = file('diff-new.yaml', before.replace('capacity: 100', 'capacity: 40').replace('rate: 50/s', 'rate: 200/s'));
    const { code, stdout, stderr } = await cli(['validate', '--diff', oldFile, newFile]);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.match(stdout, /a reload would change 2 components\n/);
    assert.match(stdout, /jobs\s+Channel\s+capacity\s+100\s+40\s+applied/);
    assert.match(stdout, /api\s+TokenBucket\s+rate\s+50\s+200\s+applied/);
    assert.doesNotMatch(stdout, /Refused/);
  });

  it('validate --diff - marks refused changes with the reason and exits 1', async () => {
    const newFile = file('diff-refused.yaml', before.replace('strategy: block', 'strategy: drop-oldest').replace('rate: 50/s', 'rate: 60/s') + 'credits:\n  uploads: { initial: 5 }\n');
    const { code, stdout } = await cli(['validate', '--diff', oldFile, newFile]);
    assert.equal(code, 1);
    assert.match(stdout, /a reload would change 1 component and refuse 2 components/);
    assert.match(stdout, /jobs\s+Channel\s+strategy\s+block\s+drop-oldest\s+refused/);
    assert.match(stdout, /uploads\s+Credits\s+-\s+-\s+-\s+added/);
    assert.match(stdout, /queues\.jobs\.strategy: Channel "jobs" cannot change strategy at runtime \("block" -> "drop-oldest"\); restart to apply it/);
    assert.match(stdout, /credits\.uploads: new Credits "uploads"; a reload does not build components/);
  });

  it('validate --diff - a writer\'s batch_size and flush_interval are applied, its capacity refused', async () => {
    const writers = 'writers:\n  events: { capacity: 5000, batch_size: 1000, flush_interval: 250ms }\n';
    const from = file('diff-writer-old.yaml', writers);
    const valid = await cli(['validate', from]);
    assert.equal(valid.code, 0);
    assert.match(valid.stdout, /valid; it would build 0 components, and 1 writer given its sink \(fromConfig's sinks option\)/);
    assert.match(valid.stdout, /events\s+BatchWriter\s+writers\.events\s+.*batchSize=1000/);
    const applied = await cli(['validate', '--diff', from, file('diff-writer-new.yaml', writers.replace('batch_size: 1000', 'batch_size: 200').replace('250ms', '1s'))]);
    assert.equal(applied.code, 0);
    assert.match(applied.stdout, /events\s+BatchWriter\s+batch_size\s+1000\s+200\s+applied/);
    assert.match(applied.stdout, /events\s+BatchWriter\s+flush_interval\s+250\s+1000\s+applied/);
    const refused = await cli(['validate', '--diff', from, file('diff-writer-refused.yaml', writers.replace('capacity: 5000', 'capacity: 6000'))]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /writers\.events\.capacity: BatchWriter "events" cannot change capacity at runtime \(5000 -> 6000\); restart to apply it/);
  });

  it('validate --diff --json - the plan as JSON; the same file twice has no differences', async () => {
    const newFile = file('diff-json.yaml', before.replace('high_watermark: 0.8', 'high_watermark: 0.6'));
    const { code, stdout } = await cli(['validate', '--diff', oldFile, newFile, '--json']);
    assert.equal(code, 0);
    const out = JSON.parse(stdout) as { ok: boolean; wouldRefuse: boolean; components: { name: string; action: string; changes: { setting: string; previous: unknown; value: unknown }[] }[] };
    assert.equal(out.ok, true);
    assert.equal(out.wouldRefuse, false);
    assert.deepEqual(out.components.map((c) => [c.name, c.action, c.changes.map((x) => [x.setting, x.previous, x.value])]), [['jobs', 'apply', [['high_watermark', 0.8, 0.6]]]]);
    const same = await cli(['validate', '--diff', oldFile, oldFile]);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /no difference a reload would apply or refuse/);
  });

  it('validate --diff - exits 2 naming the file when one is invalid or unreadable, or when the files are not two', async () => {
    const broken = file('diff-broken.yaml', before.replace('strategy: block', 'strategy: blok'));
    const bad = await cli(['validate', '--diff', oldFile, broken]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /diff-broken\.yaml: invalid configuration \(1 problem\)\n {2}queues\.jobs\.strategy: "blok" is not one of/);
    assert.equal(bad.stdout, '');
    const missing = await cli(['validate', '--diff', join(dir, 'gone.yaml'), oldFile]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /gone\.yaml: cannot read: ENOENT/);
    const built = await cli(['validate', '--diff', oldFile, file('diff-limits.yaml', 'concurrency: { db: { min_limit: 10, max_limit: 5 } }')]);
    assert.equal(built.code, 2);
    assert.match(built.stderr, /diff-limits\.yaml: .*invalid configuration[\s\S]*concurrency\.db\.min_limit/);
    const one = await cli(['validate', '--diff', oldFile]);
    assert.equal(one.code, 2);
    assert.equal(one.stderr, 'error: --diff compares two files: sluice validate --diff OLD NEW\n');
    const two = await cli(['validate', oldFile, oldFile]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /^error: validate takes one file; to compare two: sluice validate --diff /);
  });
});

describe('sluice plan', () => {
  it('plan --json - recommends drop-oldest at K = 24 for 1000/s, 0.8 ms, 0.1 % loss', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--latency-budget', '500ms', '--loss-budget', '0.1%', '--json']);
    assert.equal(code, 0);
    const plan = JSON.parse(stdout);
    assert.equal(plan.strategy, 'drop-oldest');
    assert.equal(plan.capacity, 23);
    assert.equal(plan.systemCapacity, 24);
    assert.equal(plan.figures.rho, 0.8);
    assert.ok(Math.abs(plan.figures.loss - 0.000948055) < 1e-9);
    assert.equal(plan.figures.memoryBytes, 23 * 1024);
    assert.deepEqual(plan.config, { queues: { my_queue: { capacity: 23, strategy: 'drop-oldest', high_watermark: 0.8, low_watermark: 0.6 } } });
  });

  it('plan - shows ρ, the M/M/1/K loss, Little\'s law, memory and burst absorption; exit 1 when a budget cannot be met', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '2ms', '--latency-budget', '500ms', '--loss-budget', '0.1%', '--burst', '100x:20s', '--item-bytes', '512']);
    assert.equal(code, 1);
    assert.match(stdout, /utilization ρ = λ \/ μ\s+2 \(1000\/s ÷ 500\/s\), 200 during bursts/);
    assert.match(stdout, /loss \(1 − ρ\)ρ\^K \/ \(1 − ρ\^\(K\+1\)\)\s+50%/);
    assert.match(stdout, /mean time in system W = L \/ λ_eff\s+398ms \(Little's law: L = λW\)/);
    assert.match(stdout, /capacity\s+199 items \(K = 200 counting the item in service\)/);
    assert.match(stdout, /memory\s+99\.5 KiB \(199 × 512 B\)/);
    assert.match(stdout, /burst absorbed for\s+2ms \(capacity \/ \(burst rate − service rate\)\)/);
    assert.match(stdout, /Budgets not met\n {2}- Loss budget 0\.1% cannot be met at ρ = 2/);
  });

  it('plan - lossless and latency sensitive without bursts recommends credit', async () => {
    const { code, stdout } = await cli(['plan', '--arrival-rate', '400/s', '--service-time', '2ms', '--latency-budget', '500ms']);
    assert.equal(code, 0);
    assert.match(stdout, /strategy\s+credit \(a 'block' Channel behind Credits\)/);
    assert.match(stdout, /Burst traffic\? no → credit/);
  });

  it('plan - --criticality high picks sample; a bad choice exits 2', async () => {
    const { stdout } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--loss-budget', '1%', '--criticality', 'high', '--json']);
    assert.equal(JSON.parse(stdout).strategy, 'sample');
    const bad = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '0.8ms', '--criticality', 'medium']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /error: option '--criticality <level>' argument 'medium' is invalid\. Allowed choices are low, high\./);
  });

  it('plan - a malformed rate exits 2 naming the flag', async () => {
    const { code, stderr } = await cli(['plan', '--arrival-rate', '1000/x', '--service-time', '2ms']);
    assert.equal(code, 2);
    assert.match(stderr, /error: option '--arrival-rate <rate>' argument '1000\/x' is invalid\. Expected a rate such as 1000\/s/);
  });

  it('plan - --can-lose without a loss budget is a bad combination (exit 2)', async () => {
    const { code, stderr } = await cli(['plan', '--arrival-rate', '1000/s', '--service-time', '2ms', '--can-lose', '--loss-budget', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /Invalid option "lossBudget"/);
  });
});

describe('sluice simulate', () => {
  it('simulate - the same seed writes the identical JSON result', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const c = join(dir, 'c.json');
    assert.equal((await cli(['simulate', '--config', small, '--scenario', 'burst', '--seed', '5', '--json', a])).code, 0);
    assert.equal((await cli(['simulate', '--config', small, '--scenario', 'burst', '--seed', '5', '--json', b])).code, 0);
    assert.equal((await cli(['simulate', '--config', small, '--scenario', 'burst', '--seed', '6', '--json', c])).code, 0);
    assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
    assert.notEqual(readFileSync(a, 'utf8'), readFileSync(c, 'utf8'));
    const result = JSON.parse(readFileSync(a, 'utf8'));
    assert.equal(result.seed, 5);
    assert.equal(result.durationMs, 120_000);
    assert.deepEqual(result.queues.map((q: { queue: { name: string } }) => q.queue.name), ['jobs', 'orders']);
  });

  it('simulate --report - writes the HTML report with its charts', async () => {
    const report = join(dir, 'nested', 'report.html');
    const { code, stdout } = await cli(['simulate', '--config', small, '--scenario', 'consumer-failure', '--report', report]);
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`report: ${report.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const html = readFileSync(report, 'utf8');
    assert.match(html, /<title>Sluice simulation: consumer-failure<\/title>/);
    assert.equal(html.match(/class="title">Utilization/g)?.length, 2);
    assert.equal(html.match(/class="title">Arrivals, deliveries and drops/g)?.length, 2);
    assert.equal(html.match(/class="title">State timeline/g)?.length, 2);
    assert.match(html, /queue_depth<\/td><td>firing/);
  });

  it('simulate - prints a summary table; --json alone prints the result on stdout', async () => {
    const text = await cli(['simulate', '--config', small, '--duration', '10s']);
    assert.match(text.stdout, /^sluice simulate: normal, 10s of virtual time in .*, seed 1\n/);
    assert.match(text.stdout, /QUEUE\s+STRATEGY\s+CAPACITY\s+ρ\s+ARRIVALS/);
    assert.match(text.stdout, /jobs\s+drop-newest\s+50\s+0\.80/);
    const json = await cli(['simulate', '--config', small, '--duration', '10s', '--json']);
    assert.equal(JSON.parse(json.stdout).scenario, 'normal');
  });

  it('simulate - --max-loss and --fail-on-alert turn a breach into exit 1', async () => {
    const loss = await cli(['simulate', '--config', small, '--scenario', 'sustained-overload', '--max-loss', '1%']);
    assert.equal(loss.code, 1);
    assert.match(loss.stderr, /check failed: jobs: lost [\d.]+%, above --max-loss 1%/);
    assert.doesNotMatch(loss.stderr, /orders: lost/, 'block loses nothing');
    const alerts = await cli(['simulate', '--config', small, '--scenario', 'consumer-failure', '--fail-on-alert']);
    assert.equal(alerts.code, 1);
    assert.match(alerts.stderr, /check failed: jobs: \d+ alert\(s\) fired \(--fail-on-alert\)/);
  });

  it('simulate - --progress reports on stderr in 10 % steps when not a terminal', async () => {
    const { stderr } = await cli(['simulate', '--config', small, '--progress']);
    assert.match(stderr, /simulating normal \(~192,000 events\) 0%\n/);
    assert.match(stderr, /simulating normal \(~192,000 events\) 100%\n/);
    const quiet = await cli(['simulate', '--config', small]);
    assert.equal(quiet.stderr, '', 'no progress by default when stderr is not a terminal');
  });

  it('simulate - a config without a workload exits 2 and names what is missing', async () => {
    const bare = file('bare.yaml', 'queues: { q: { capacity: 5 } }\n');
    const { code, stderr } = await cli(['simulate', '--config', bare]);
    assert.equal(code, 2);
    assert.match(stderr, /simulation\.arrival_rate: missing for queue q/);
    assert.match(stderr, /or pass --arrival-rate and --service-time/);
    assert.equal((await cli(['simulate', '--config', bare, '--arrival-rate', '100/s', '--service-time', '1ms', '--duration', '5s'])).code, 0);
  });

  it('simulate - an unknown scenario exits 2 listing the choices', async () => {
    const { code, stderr } = await cli(['simulate', '--config', small, '--scenario', 'chaos']);
    assert.equal(code, 2);
    assert.match(stderr, /Allowed choices are normal, burst, sustained-overload, consumer-failure/);
  });
});

describe('sluice demo', () => {
  it('demo - passes duration, strategy, port, dashboard and json to runDemo', async () => {
    const calls: DemoOptions[] = [];
    // The streams and signals are the command's wiring (tested in src/tools/demo/command.test.ts); the rest are the flags.
    const runDemo = async ({ print, log, endSignal, signal, ...flags }: DemoOptions) => {
      assert.ok(typeof print === 'function' && typeof log === 'function' && endSignal instanceof AbortSignal && signal instanceof AbortSignal);
      calls.push(flags);
    };
    const { code } = await cli(['demo', '--duration', '30s', '--strategy', 'drop-oldest', '--port', '0', '--no-dashboard', '--json'], { runDemo });
    assert.equal(code, 0);
    assert.deepEqual(calls, [{ durationMs: 30_000, strategy: 'drop-oldest', port: 0, dashboard: false, unboundedContrast: true, keepOpen: false, json: true }]);
    await cli(['demo'], { runDemo });
    assert.deepEqual(calls[1], { strategy: 'block', port: 0, dashboard: true, unboundedContrast: true, keepOpen: false, json: false });
    // With --config the file's queues.ingest may set the strategy: the flag's default is not passed, a given one is.
    await cli(['demo', '--config', 'demo.yaml'], { runDemo });
    assert.deepEqual(calls[2], { configFile: 'demo.yaml', port: 0, dashboard: true, unboundedContrast: true, keepOpen: false, json: false });
    await cli(['demo', '--config', 'demo.yaml', '--strategy', 'block'], { runDemo });
    assert.deepEqual(calls[3], { strategy: 'block', configFile: 'demo.yaml', port: 0, dashboard: true, unboundedContrast: true, keepOpen: false, json: false });
  });

  it('demo --config - an invalid file exits 2 with one line per problem, before anything starts', async () => {
    const bad = file('demo-bad.yaml', 'queues:\n  ingest: { capacity: 0 }\n');
    const { code, stderr, stdout } = await cli(['demo', '--config', bad, '--no-dashboard', '--no-contrast']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /demo-bad\.yaml: invalid configuration \(1 problem\)\n {2}queues\.ingest\.capacity: 0 is not an integer >= 1/);
  });

  it('demo - a failing run exits 1; a bad strategy exits 2', async () => {
    const failing = await cli(['demo'], { runDemo: () => Promise.reject(new Error('port in use')) });
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /sluice: Error: port in use/);
    const bad = await cli(['demo', '--strategy', 'yolo']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are block, drop-newest, drop-oldest, sample, reject/);
  });
});

describe('sluice', () => {
  it('run() - no command prints the usage and exits 2; --help exits 0', async () => {
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: sluice \[options\] \[command\]/);
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 a check or run failed, 2 bad usage, flags or configuration\./);
  });

  it('run() - an unknown command or option exits 2 with a suggestion', async () => {
    const cmd = await cli(['validat', 'x.yaml']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command 'validat'\n\(Did you mean validate\?\)/);
    const opt = await cli(['simulate', '--config', small, '--sead', '5']);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /unknown option '--sead'\n\(Did you mean --seed\?\)/);
  });
});
