import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AdaptiveRate } from '../../core/adaptive-rate/index.js';
import { Credits } from '../../core/credits/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { ConfigError, componentSpecs, configJsonSchema, fromConfig, loadConfig, parseConfig, toSimulation } from './index.js';
import { MAX_CONFIG_BYTES } from './load.js';

const example = fileURLToPath(new URL('../../../examples/sluice.yaml', import.meta.url));
const schemaFile = fileURLToPath(new URL('../../../schema/sluice.config.schema.json', import.meta.url));

// The configuration template of the design notes (seed 001), copied verbatim
// except for its indentation, which the notes lost (flat, its keys collide).
const seedTemplateFile = fileURLToPath(new URL('./fixtures/seed-template.yaml', import.meta.url));
const seedTemplate = readFileSync(seedTemplateFile, 'utf8');

function problems(input: string | object): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
    return error.issues.map((i) => i.message);
  }
  assert.fail('expected a ConfigError');
}

describe('parseConfig()', () => {
  it('parseConfig() - the seed template verbatim is valid: every key is accepted', () => {
    assert.match(seedTemplate, /^ {4}min_credits: 100$/m);
    assert.doesNotThrow(() => parseConfig(seedTemplate));
  });

  it('parseConfig() - maps the seed template onto Sluice names, units and documented defaults', () => {
    const config = parseConfig(seedTemplate);
    assert.deepEqual(config.queues, {
      input_queue: { capacity: 10000, strategy: 'block', highWatermark: 0.8, lowWatermark: 0.2, sampleEvery: 10, maxBlockMs: 5000 },
      processing_queue: { capacity: 5000, strategy: 'drop-oldest', highWatermark: 0.8, lowWatermark: 0.6, sampleEvery: 10, maxBlockMs: undefined },
    });
    assert.deepEqual(config.flowControl, { type: 'credit-based', initialCredits: 1000, maxCredits: undefined, minCredits: 100, creditTimeoutMs: 30_000 });
    assert.deepEqual(config.adaptive, {
      targetLatencyMs: 100,
      minRate: 1,
      maxRate: 1000,
      adjustmentIntervalMs: 10_000,
      initialRate: undefined,
      increase: 1.1,
      decrease: 0.9,
      window: undefined,
      burst: undefined,
    });
    assert.deepEqual(config.monitoring, {
      intervalMs: 10_000,
      thresholds: { queueDepth: { utilization: 0.9 }, dropRate: 0.01, blockedTime: 5000 },
      forMs: undefined,
      windowMs: undefined,
      resolveRatio: undefined,
    });
    assert.deepEqual(config.warnings, ['backpressure.adaptive.min_rate: not given; using 1/s', 'backpressure.adaptive.max_rate: not given; using 1000/s']);
  });

  it('parseConfig() - a default rate never conflicts with the rate the file gives', () => {
    const rates = (adaptive: object) => {
      const a = parseConfig({ adaptive: { target_latency_ms: 10, ...adaptive } }).adaptive!;
      return [a.minRate, a.maxRate];
    };
    assert.deepEqual(rates({ max_rate: '0.5/s' }), [0.5, 0.5]);
    assert.deepEqual(rates({ min_rate: '5000/s' }), [5000, 5000]);
    assert.deepEqual(rates({ min_rate: '10/s', max_rate: '20/s' }), [10, 20]);
    assert.deepEqual(problems({ adaptive: { target_latency_ms: 10, initial_rate: '2000/s' } }), ['adaptive.initial_rate: 2000 is not a rate within min_rate and max_rate (1/s to 1000/s)']);
  });

  it('parseConfig() - names path, value and allowed values for a bad strategy', () => {
    assert.deepEqual(problems('queues:\n  input_queue:\n    capacity: 10\n    strategy: blok\n'), [
      'queues.input_queue.strategy: "blok" is not one of block, drop-newest, drop-oldest, sample, reject',
    ]);
  });

  it('parseConfig() - reports every problem at once, each with its path', () => {
    const text = `
queues:
  a: { size: 0, timeout: 5 parsecs, sise: 3 }
  b: { capacity: 10, size: 10, strategy: drop_newest, timeout: 1s, low_watermark: "90%" }
  c: {}
flow_control: { type: rate_based, initial_credits: 4 }
monitoring: { alert_thresholds: { queue_depth: 5, drop_rate: "150%", blocked_time: true } }
`;
    assert.deepEqual(problems(text), [
      'queues.a.size: 0 is not an integer >= 1',
      'queues.a.timeout: "5 parsecs" is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)',
      'queues.a.sise: unknown key; did you mean "size"? (allowed: capacity, size, strategy, overflow, high_watermark, low_watermark, sample_every, timeout, max_block, max_bytes, priorities, fairness)',
      'queues.b.size: 10 is not allowed together with capacity (size is the seed name for capacity)',
      'queues.b.low_watermark: 0.9 is not a fraction <= high_watermark (0.8)',
      'queues.b.timeout: 1000 is not allowed with strategy drop-newest (only with block)',
      'queues.c.capacity: missing; expected an integer >= 1 (key capacity, or the seed\'s size)',
      'flow_control.initial_credits: 4 is not allowed with type rate-based (only with credit-based)',
      'flow_control.rate: missing; expected a rate such as 1000/s, 1.5k/s, 60/min or 3600/h (required with type rate_based)',
      'monitoring.alert_thresholds.queue_depth: 5 is not a fraction in (0, 1], a percentage such as "90%", or { items: N }',
      'monitoring.alert_thresholds.drop_rate: "150%" is not a fraction in (0, 1] (a fraction between 0 and 1 such as 0.001, or a percentage such as 0.1%)',
      'monitoring.alert_thresholds.blocked_time: true is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)',
    ]);
  });

  it('parseConfig() - an unknown key suggests the nearest valid key, when one is close', () => {
    const queueKeys = 'capacity, size, strategy, overflow, high_watermark, low_watermark, sample_every, timeout, max_block, max_bytes, priorities, fairness';
    assert.deepEqual(problems('queues:\n  input_queue:\n    size: 10\n    strategi: block\n    colour: red\n'), [
      `queues.input_queue.strategi: unknown key; did you mean "strategy"? (allowed: ${queueKeys})`,
      `queues.input_queue.colour: unknown key (allowed: ${queueKeys})`,
    ]);
    assert.deepEqual(problems({ backpressure: { flow_control: { type: 'credit_based', initial_credits: 1, min_credit: 1 } } }), [
      'backpressure.flow_control.min_credit: unknown key; did you mean "min_credits"? (allowed: type, initial_credits, max_credits, min_credits, credit_timeout, rate, burst)',
    ]);
    assert.match(problems({ monitorin: {} })[0]!, /^monitorin: unknown key; did you mean "monitoring"\? \(allowed: /);
  });

  it('parseConfig() - min_credits is an integer >= 0, at most max_credits, only with credit_based', () => {
    const flow = (extra: object) => ({ flow_control: { type: 'credit_based', initial_credits: 10, ...extra } });
    assert.equal((parseConfig(flow({ min_credits: 0 })).flowControl as { minCredits?: number }).minCredits, 0);
    assert.equal((parseConfig(flow({ max_credits: 10, min_credits: 10 })).flowControl as { minCredits?: number }).minCredits, 10);
    assert.deepEqual(problems(flow({ min_credits: -1 })), ['flow_control.min_credits: -1 is not an integer >= 0']);
    assert.deepEqual(problems(flow({ min_credits: 2.5 })), ['flow_control.min_credits: 2.5 is not an integer >= 0']);
    assert.deepEqual(problems(flow({ min_credits: '100' })), ['flow_control.min_credits: "100" is not an integer >= 0']);
    assert.deepEqual(problems(flow({ max_credits: 50, min_credits: 51 })), ['flow_control.min_credits: 51 is not an integer <= max_credits (50)']);
    assert.deepEqual(problems({ flow_control: { type: 'rate_based', rate: '5/s', min_credits: 1 } }), ['flow_control.min_credits: 1 is not allowed with type rate-based (only with credit-based)']);
  });

  it('parseConfig() - prefixes paths with backpressure when the file is wrapped', () => {
    assert.deepEqual(problems({ backpressure: { queues: { q: { capacity: -1 } } } }), ['backpressure.queues.q.capacity: -1 is not an integer >= 1']);
  });

  it('parseConfig() - rejects names used twice across sections and overrides for unknown queues', () => {
    assert.deepEqual(
      problems({ queues: { jobs: { capacity: 1 } }, rate_limits: { jobs: { rate: '5/s' } }, simulation: { queues: { jbos: { arrival_rate: 1 } } } }),
      [
        'rate_limits.jobs: "jobs" is not unique across sections (already used by queues.jobs)',
        'simulation.queues.jbos: "jbos" is not the name of a queue (queues has jobs)',
      ],
    );
  });

  it('parseConfig() - requires the adaptive section when flow_control.type is adaptive', () => {
    assert.deepEqual(problems({ flow_control: { type: 'adaptive' } }), ['adaptive: missing; expected an adaptive section (flow_control.type is adaptive)']);
  });

  it('parseConfig() - limiter options only valid for some algorithms are refused for the others', () => {
    assert.deepEqual(problems({ concurrency: { db: { algorithm: 'vegas', timeout: '1s' } } }), ['concurrency.db.timeout: 1000 is not allowed with algorithm vegas (only with aimd)']);
  });

  it('parseConfig() - reports YAML syntax errors with their line', () => {
    const found = problems('queues:\n  a: [1, 2\n b');
    assert.equal(found[0], '(root): not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 2');
  });

  it('parseConfig() - rejects duplicate keys', () => {
    assert.match(problems('queues:\n  a: { capacity: 1 }\n  a: { capacity: 2 }\n')[0]!, /Map keys must be unique/);
  });

  it('parseConfig() - accepts JSON text and units in every form', () => {
    const config = parseConfig(
      JSON.stringify({
        queues: { q: { capacity: 5, overflow: 'sample', high_watermark: '90%', low_watermark: 0.5, sample_every: 3 } },
        rate_limits: { api: { rate: '1.5k/s' }, slow: { rate: '60/min', burst: 2 } },
        credits: { window: { initial: 10, max: 20 } },
        concurrency: { db: { algorithm: 'aimd', timeout: '1m30s', when_full: 'reject' } },
        simulation: { arrival_rate: 100, service_time: '500ms', duration: '1h30m' },
      }),
    );
    assert.equal(config.queues.q!.strategy, 'sample');
    assert.equal(config.queues.q!.highWatermark, 0.9);
    assert.equal(config.rateLimits.api!.ratePerSecond, 1500);
    assert.equal(config.rateLimits.slow!.ratePerSecond, 1);
    assert.equal(config.concurrency.db!.timeoutMs, 90_000);
    assert.equal(config.concurrency.db!.whenFull, 'reject');
    assert.equal(config.simulation!.durationMs, 5_400_000);
    assert.equal(config.simulation!.serviceTimeMs, 500);
  });

  it('parseConfig() - an empty document (or only comments) is refused, not an empty configuration', () => {
    for (const text of ['', '# nothing yet\n', 'null']) {
      assert.deepEqual(problems(text), ['(root): empty; expected a configuration (a mapping with queues, writers, flow_control, adaptive, rate_limits, credits, concurrency, monitoring or simulation)']);
    }
    assert.deepEqual(componentSpecs(parseConfig({})), { components: [], alerts: undefined }, 'an explicit empty object is still a (trivial) configuration');
  });

  it('parseConfig() - an alias bomb is one line, not a ReferenceError', () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [prev, next] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h'], ['h', 'i']]) laughs.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`);
    assert.deepEqual(problems(laughs.join('\n')), ['(root): not acceptable YAML: its aliases expand more than 100 times (an alias bomb?)']);
    // A handful of aliases, as a real file might use, is fine.
    assert.equal(parseConfig('defaults: &q { capacity: 5 }\n'.replace('defaults', 'queues:\n  a') + '  b: *q\n').queues.b!.capacity, 5);
  });

  it('parseConfig() - text over MAX_CONFIG_BYTES is refused before parsing', () => {
    assert.deepEqual(problems(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`), ['(root): too large (1.0 MiB); a configuration may be at most 1.0 MiB']);
  });

  it('parseConfig() - echoes at most 80 characters of a value and lists at most 20 problems', () => {
    const error = (() => {
      try {
        parseConfig({ queues: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`q${i}`, { capacity: 1, strategy: 'z'.repeat(10_000) }])) });
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail('expected a ConfigError');
    })();
    assert.equal(error.issues.length, 500, 'issues keeps every problem for programs');
    const lines = error.message.split('\n');
    assert.equal(lines[0], 'invalid configuration (500 problems)');
    assert.equal(lines.length, 1 + 20 + 1);
    assert.equal(lines.at(-1), '  ... and 480 more');
    assert.match(lines[1]!, /^ {2}queues\.q0\.strategy: "z{79}…\(10000 chars\)" is not one of block/);
    assert.ok(error.message.length < 5000, `message is ${error.message.length} chars`);
  });

  it('parseConfig() - a .json source is parsed strictly, with line and column', () => {
    const text = '{\n  "queues": {\n    "q": { "capacity": 1 },\n  }\n}\n';
    assert.equal(parseConfig(text).queues.q!.capacity, 1, 'YAML (the default) tolerates the trailing comma');
    assert.throws(
      () => parseConfig(text, { source: 'sluice.json' }),
      (e: ConfigError) => e.message === 'sluice.json: invalid configuration (1 problem)\n  (root): not valid JSON: unexpected "}" at line 4, column 3',
    );
    const firstProblem = (text: string) => {
      try {
        parseConfig(text, { format: 'json' });
      } catch (e) {
        return (e as ConfigError).issues[0]!.message;
      }
      return 'accepted';
    };
    assert.equal(firstProblem('queues: {}'), '(root): not valid JSON: unexpected "q" at line 1, column 1');
    assert.equal(firstProblem('{"queues": {"q": {"capacity": 1}}'), '(root): not valid JSON: unexpected end of input at line 1, column 34');
    assert.equal(firstProblem('{"queues": {"q": {"capacity": 01}}}'), '(root): not valid JSON: unexpected "1" at line 1, column 32');
    assert.equal(firstProblem('// comment\n{}'), '(root): not valid JSON: unexpected "/" at line 1, column 1');
    assert.deepEqual(Object.keys(parseConfig(JSON.stringify({ queues: { q: { capacity: 2 } } }), { source: 'x.JSON' }).queues), ['q']);
  });

  it('parseConfig() - queue_depth in items', () => {
    assert.deepEqual(parseConfig({ monitoring: { alert_thresholds: { queue_depth: { items: 500 } } } }).monitoring!.thresholds, { queueDepth: { items: 500 } });
  });
});

describe('loadConfig()', () => {
  it('loadConfig() - reads and validates the example file', async () => {
    const config = await loadConfig(example);
    assert.deepEqual(Object.keys(config.queues), ['input_queue', 'processing_queue']);
    assert.deepEqual(config.warnings, []);
  });

  it('loadConfig() - puts the file name at the head of the error', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-config-')), 'bad.yaml');
    writeFileSync(file, 'queues:\n  q: { capacity: 0 }\n');
    await assert.rejects(loadConfig(file), (e: ConfigError) => e.message === `${file}: invalid configuration (1 problem)\n  queues.q.capacity: 0 is not an integer >= 1`);
  });

  it('loadConfig() - rejects with the read error for a missing file', async () => {
    await assert.rejects(loadConfig('/nonexistent/sluice.yaml'), { code: 'ENOENT' });
  });
});

describe('fromConfig()', () => {
  it('fromConfig() - builds every component by name with the configured options', async () => {
    const clock = new VirtualClock();
    const built = fromConfig(await loadConfig(example), { clock, alertLog: false });
    assert.deepEqual(Object.keys(built.components), ['input_queue', 'processing_queue', 'flow_control', 'adaptive', 'api_calls', 'database']);
    const input = built.channels.input_queue!;
    assert.equal(input.capacity, 10_000);
    assert.equal(input.overflow, 'block');
    const processing = built.channels.processing_queue!;
    assert.equal(processing.overflow, 'drop-oldest');
    assert.deepEqual([processing.highWatermark, processing.lowWatermark], [0.8, 0.6]);
    assert.equal(built.credits.flow_control!.available, 1000);
    assert.equal(built.credits.flow_control!.max, 1000);
    assert.deepEqual([built.adaptiveRates.adaptive!.minRate, built.adaptiveRates.adaptive!.maxRate], [100, 5000]);
    assert.equal(built.tokenBuckets.api_calls!.ratePerSecond, 500);
    assert.equal(built.tokenBuckets.api_calls!.burst, 50);
    assert.equal(built.concurrencyLimiters.database!.stats().algorithm, 'aimd');
    assert.equal(built.concurrencyLimiters.database!.stats().limit, 10);
    built.close();
    assert.equal(input.closed, true);
  });

  it('fromConfig() - maxBlockMs from timeout applies: a full block queue times out a send', async () => {
    const clock = new VirtualClock();
    const { channels } = fromConfig<number>(parseConfig({ queues: { q: { capacity: 1, timeout: '2s' } } }), { clock });
    channels.q!.trySend(1);
    const sent = channels.q!.send(2);
    clock.advance(2000);
    assert.equal(await sent, false);
    assert.equal(channels.q!.stats().droppedBy.timeout, 1);
  });

  it('fromConfig() - builds an unstarted alert monitor over every component', async () => {
    const clock = new VirtualClock();
    const lines: string[] = [];
    const built = fromConfig<number>(parseConfig({ queues: { q: { capacity: 10 } }, monitoring: { metrics_interval: '1s', alert_thresholds: { queue_depth: '90%' } } }), {
      clock,
      alertLog: (line) => lines.push(line),
    });
    assert.deepEqual(built.alerts!.components, ['q']);
    for (let i = 0; i < 10; i++) built.channels.q!.trySend(i);
    clock.advance(5000);
    assert.equal(built.alerts!.stats().evaluations, 0, 'not started');
    built.alerts!.start();
    clock.advance(1000);
    assert.deepEqual(lines, ['sluice alert FIRING queue_depth on q: utilization 1 >= 0.9 at 6s']);
  });

  it('fromConfig() - flow_control type adaptive builds the adaptive section under the name flow_control', () => {
    const built = fromConfig(parseConfig({ flow_control: { type: 'adaptive' }, adaptive: { target_latency: '50ms', min_rate: 1, max_rate: 10 } }), { clock: new VirtualClock() });
    assert.deepEqual(Object.keys(built.components), ['flow_control']);
    assert.equal(built.adaptiveRates.flow_control!.targetLatencyMs, 50);
  });

  it('fromConfig() - a constructor refusal becomes a ConfigError naming the key in the file', () => {
    const config = parseConfig({ concurrency: { db: { min_limit: 10, max_limit: 5 } } });
    assert.throws(() => fromConfig(config), (e: ConfigError) => e instanceof ConfigError && e.issues[0]!.message === 'concurrency.db.min_limit: 10 is not an integer <= maxLimit (5)');
  });

  it('fromConfig() - credit_timeout and adjustment_interval reach plain Credits and AdaptiveRate', async () => {
    const clock = new VirtualClock();
    const built = fromConfig(
      parseConfig({
        flow_control: { type: 'credit_based', initial_credits: 0, credit_timeout: '30s' },
        adaptive: { target_latency_ms: 100, adjustment_interval: '10s' },
      }),
      { clock, alertLog: false },
    );
    const credits = built.credits.flow_control!;
    assert.equal(credits.constructor, Credits);
    assert.equal(credits.acquireTimeoutMs, 30_000);
    const waiting = credits.acquire();
    clock.advance(30_000);
    await assert.rejects(waiting, { name: 'TimeoutError' });
    const adaptive = built.adaptiveRates.adaptive!;
    assert.equal(adaptive.constructor, AdaptiveRate);
    assert.equal(adaptive.adjustmentIntervalMs, 10_000);
    assert.deepEqual([adaptive.minRate, adaptive.maxRate], [1, 1000]);
    built.close();
  });

  it('fromConfig() - the seed template verbatim builds with minCredits, acquireTimeoutMs and adjustmentIntervalMs in effect', () => {
    const built = fromConfig(parseConfig(seedTemplate), { clock: new VirtualClock(), alertLog: false });
    const credits = built.credits.flow_control!;
    assert.deepEqual([credits.available, credits.minCredits, credits.acquireTimeoutMs], [1000, 100, 30_000]);
    assert.equal(built.adaptiveRates.adaptive!.adjustmentIntervalMs, 10_000);
    let low = 0;
    credits.onLow(() => low++);
    assert.equal(credits.tryAcquire(900), true);
    assert.equal(low, 0, '100 left is not below min_credits');
    assert.equal(credits.tryAcquire(), true);
    assert.deepEqual([low, credits.stats().low], [1, true]);
    built.close();
  });

  it('componentSpecs() - passes min_credits to Credits as minCredits', () => {
    const { components } = componentSpecs(parseConfig({ flow_control: { type: 'credit_based', initial_credits: 5, max_credits: 8, min_credits: 2 } }));
    assert.deepEqual(components[0]!.options, { initial: 5, max: 8, minCredits: 2 });
  });

  it('fromConfig() - without the seed keys the components have no timeout and no interval', () => {
    const built = fromConfig(parseConfig({ credits: { c: { initial: 1 } }, flow_control: { type: 'credit_based', initial_credits: 1 }, adaptive: { target_latency_ms: 10 } }), { clock: new VirtualClock() });
    assert.equal(built.credits.flow_control!.acquireTimeoutMs, undefined);
    assert.equal(built.credits.c!.acquireTimeoutMs, undefined);
    assert.equal(built.adaptiveRates.adaptive!.adjustmentIntervalMs, undefined);
    built.close();
  });

  it('componentSpecs() - lists constructor options without building anything', () => {
    const { components, alerts } = componentSpecs(parseConfig({ queues: { q: { size: 3, strategy: 'sample', sample_every: 4 } }, monitoring: { alert_thresholds: { drop_rate: '1%' } } }));
    assert.deepEqual(components, [
      { name: 'q', kind: 'Channel', path: 'queues.q', options: { name: 'q', capacity: 3, overflow: 'sample', highWatermark: 0.8, lowWatermark: 0.2, sampleEvery: 4 } },
    ]);
    assert.deepEqual(alerts, { components: ['q'], options: { thresholds: { dropRate: 0.01 } } });
  });
});

describe('toSimulation()', () => {
  it('toSimulation() - applies overrides, then per-queue workload, then the defaults', async () => {
    const config = await loadConfig(example);
    const plan = toSimulation(config, { seed: 9 });
    assert.equal(plan.seed, 9);
    assert.equal(plan.durationMs, 3_600_000);
    assert.deepEqual(
      plan.queues.map((q) => [q.name, q.arrivalRate, q.serviceTimeMs, q.strategy, q.maxBlockMs]),
      [
        ['input_queue', 1000, 0.8, 'block', 5000],
        ['processing_queue', 800, 1.1, 'drop-oldest', undefined],
      ],
    );
    assert.deepEqual(toSimulation(config, { arrivalRate: 10 }).queues.map((q) => q.arrivalRate), [10, 10]);
    assert.deepEqual(plan.alerts, { thresholds: { queueDepth: { utilization: 0.9 }, dropRate: 0.01, blockedTime: 500 }, intervalMs: 10_000, forMs: 30_000 });
  });

  it('toSimulation() - names what is missing for which queue', () => {
    assert.throws(
      () => toSimulation(parseConfig({ queues: { q: { capacity: 1 } }, simulation: { service_time: '1ms' } })),
      (e: ConfigError) => e.issues.map((i) => i.message).join('\n') === 'simulation.arrival_rate: missing for queue q; expected a rate such as 1000/s (or simulation.queues.q.arrival_rate)',
    );
  });
});

describe('configJsonSchema()', () => {
  it('configJsonSchema() - the committed schema/sluice.config.schema.json is up to date (run: npx tsx scripts/gen-schema.ts)', () => {
    assert.equal(readFileSync(schemaFile, 'utf8'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it('configJsonSchema() - accepts the wrapped and unwrapped forms and lists the strategies', () => {
    const schema = configJsonSchema() as { anyOf: unknown[]; $defs: { config: { properties: { queues: { additionalProperties: { properties: { strategy: { enum: string[] } } } } } } } };
    assert.equal(schema.anyOf.length, 2);
    assert.deepEqual(schema.$defs.config.properties.queues.additionalProperties.properties.strategy.enum, ['block', 'drop-newest', 'drop_newest', 'drop-oldest', 'drop_oldest', 'sample', 'reject', 'shed-lowest', 'shed_lowest']);
  });
});
