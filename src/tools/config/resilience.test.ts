import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BreakerOpenError, LimitExceededError } from '../../core/errors/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { run } from '../cli/index.js';
import { ConfigError, componentSpecs, fromConfig, loadConfig, parseConfig } from './index.js';

// #13 part 6: priorities, fairness, partitions, bulkheads and breakers in the configuration file.
const fixture = fileURLToPath(new URL('./fixtures/resilience.yaml', import.meta.url));

function problems(input: string): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((i) => i.message);
  }
  assert.fail('expected a ConfigError');
}

describe('parseConfig() - priorities, fairness, partitions, bulkheads, breakers', () => {
  it('parseConfig() - maps the resilience fixture onto Sluice names and units', async () => {
    const config = await loadConfig(fixture);
    assert.deepEqual(config.queues.requests, {
      capacity: 100,
      strategy: 'shed-lowest',
      highWatermark: 0.8,
      lowWatermark: 0.2,
      sampleEvery: 10,
      maxBlockMs: undefined,
      priorities: { levels: ['critical', 'normal', 'batch'], weights: { critical: 8, normal: 3, batch: 1 }, reserve: 10, defaultPriority: 'normal' },
    });
    assert.deepEqual(config.queues.tenant_jobs?.fairness, { perKeyCapacity: 20, quantum: 2, topKeys: undefined });
    assert.equal(config.queues.tenant_jobs?.strategy, 'drop-newest', "a FairChannel's own default");
    assert.equal(config.queues.plain?.priorities, undefined);
    assert.deepEqual(config.concurrency.api?.partitions, { critical: 0.6, batch: 0.2 });
    assert.equal(config.concurrency.api?.maxWaiting, 5);
    assert.deepEqual(config.bulkheads, { payments: { concurrency: 4, maxWaiting: 2 } });
    assert.deepEqual(config.breakers.payments_api, {
      window: 'count',
      windowSize: 20,
      windowMs: undefined,
      windowBuckets: undefined,
      minimumCalls: 10,
      failureRateThreshold: 0.5,
      slowCallMs: undefined,
      slowCallRateThreshold: undefined,
      resetAfterMs: 5000,
      halfOpenProbes: 2,
    });
    assert.equal(config.breakers.search_api?.windowMs, 30_000);
    assert.equal(config.breakers.search_api?.slowCallMs, 2000);
  });

  it('parseConfig() - a bad value names its key, one short line each', () => {
    const cases: [string, string][] = [
      ['queues: { q: { capacity: 10, priorities: { levels: [] } } }', 'queues.q.priorities.levels: [] is not a list of 1 to 30 distinct level names, highest first, e.g. [critical, normal, batch]'],
      ['queues: { q: { capacity: 10, priorities: { levels: [a, a] } } }', 'queues.q.priorities.levels.1: "a" is not a level not listed before (levels are distinct)'],
      ['queues: { q: { capacity: 10, priorities: { levels: [a, b], default: c } } }', 'queues.q.priorities.default: "c" is not one of the levels (a, b)'],
      ['queues: { q: { capacity: 10, priorities: { levels: [a, b], weights: { a: 2 } } } }', 'queues.q.priorities.weights.b: missing; expected a number > 0 (every level needs a weight)'],
      ['queues: { q: { capacity: 10, priorities: { levels: [a, b], weights: { a: 2, b: 0 } } } }', 'queues.q.priorities.weights.b: 0 is not a number > 0'],
      ['queues: { q: { capacity: 10, priorities: { levels: [a, b], reserve: 10 } } }', 'queues.q.priorities.reserve: 10 is not an integer < capacity (10)'],
      ['queues: { q: { capacity: 10, strategy: shed_lowest } }', 'queues.q.strategy: "shed-lowest" is not one of block, drop_newest, drop_oldest, sample, reject (shed_lowest needs priorities)'],
      ['queues: { q: { capacity: 10, strategy: drop_oldest, priorities: { levels: [a] } } }', 'queues.q.strategy: "drop-oldest" is not one of block, drop_newest, reject, shed_lowest (with priorities)'],
      ['queues: { q: { capacity: 10, fairness: { per_key_capacity: 11 } } }', 'queues.q.fairness.per_key_capacity: 11 is not an integer <= capacity (10)'],
      ['queues: { q: { capacity: 10, fairness: { quantum: 1 } } }', 'queues.q.fairness.per_key_capacity: missing; expected an integer >= 1'],
      ['queues: { q: { capacity: 10, fairness: { per_key_capacity: 2, key: tenant } } }', 'queues.q.fairness.key: unknown key (allowed: per_key_capacity, quantum, top_keys)'],
      ['queues: { q: { capacity: 10, fairness: { per_key_capacity: 2 }, timeout: 1s } }', 'queues.q.timeout: 1000 is not allowed with strategy drop-newest (only with block)'],
      ['concurrency: { c: { partitions: { a: 0.7, b: 0.5 } } }', 'concurrency.c.partitions: {"a":0.7,"b":0.5} is not shares adding up to at most 1 (they add up to 1.2)'],
      ['concurrency: { c: { partitions: { a: 0 } } }', 'concurrency.c.partitions.a: 0 is not a share in (0, 1] (a fraction between 0 and 1 such as 0.001, or a percentage such as 0.1%)'],
      ['concurrency: { c: { when_full: reject, max_waiting: 3 } }', 'concurrency.c.max_waiting: 3 is not allowed with when_full reject (nobody waits; only with wait)'],
      ['bulkheads: { b: { concurrency: 4 } }', 'bulkheads.b.max_waiting: missing; expected an integer >= 0'],
      ['breakers: { b: { reset_after: soon } }', 'breakers.b.reset_after: "soon" is not a duration such as 250ms, 5s, 2m, 1h or 1h30m, or a number of milliseconds (> 0)'],
      ['breakers: { b: { failure_rate_threshold: 1.5 } }', 'breakers.b.failure_rate_threshold: 1.5 is not a fraction in (0, 1] (a fraction between 0 and 1 such as 0.001, or a percentage such as 0.1%)'],
      ['breakers: { b: { window_duration: 10s } }', 'breakers.b.window_duration: 10000 is not allowed with window count (only with time)'],
      ['breakers: { b: { window_size: 5, minimum_calls: 6 } }', 'breakers.b.minimum_calls: 6 is not an integer <= window_size (5)'],
      ['breakers: { b: { slow_call_rate_threshold: 0.5 } }', 'breakers.b.slow_call_rate_threshold: 0.5 is not allowed without slow_call_duration (which says what a slow call is)'],
      ['queues: { x: { capacity: 1 } }\nbreakers: { x: {} }', 'breakers.x: "x" is not unique across sections (already used by queues.x)'],
    ];
    for (const [text, line] of cases) assert.deepEqual(problems(text), [line], text);
  });
});

describe('fromConfig() - priorities, fairness, partitions, bulkheads, breakers', () => {
  it('fromConfig() - builds working components from the resilience fixture', async () => {
    const clock = new VirtualClock();
    const built = fromConfig<string>(await loadConfig(fixture), { clock, alertLog: false });
    try {
      const requests = built.priorityChannels.requests!;
      assert.equal(built.components.requests, requests);
      // Full at capacity - reserve for the lower levels; shed_lowest evicts the oldest batch item for a normal one.
      for (let i = 0; i < 90; i++) assert.equal(requests.trySend(`b${i}`, { priority: 'batch' }), true);
      assert.equal(requests.trySend('n0'), true, 'default level normal sheds the lowest');
      assert.equal(requests.stats().levels.batch!.droppedBy.shed, 1);
      assert.equal(requests.stats().levels.normal!.size, 1);
      for (let i = 0; i < 10; i++) assert.equal(requests.trySend(`c${i}`, { priority: 'critical' }), true);
      assert.equal(requests.tryReceive(), 'c0', 'critical first');
      assert.throws(() => requests.trySend('x', { priority: 'urgent' as never }), /urgent/);

      const jobs = built.fairChannels.tenant_jobs!;
      for (let i = 0; i < 25; i++) jobs.trySend(`big${i}`, { key: 'big' });
      assert.equal(jobs.trySend('small0', { key: 'small' }), true);
      assert.deepEqual(jobs.stats().topDroppedKeys.map((k) => [k.key, k.dropped]), [['big', 5]], 'per_key_capacity 20');
      const order = [jobs.tryReceive(), jobs.tryReceive(), jobs.tryReceive(), jobs.tryReceive()];
      assert.ok(order.includes('small0'), `quantum 2: the small key is served among the first four (${order.join(', ')})`);

      const api = built.concurrencyLimiters.api!;
      const permits = [];
      for (let i = 0; i < 8; i++) permits.push(api.tryAcquire({ partition: 'batch' }));
      assert.equal(permits.filter(Boolean).length, 8, 'batch borrows idle permits');
      assert.ok(api.tryAcquire({ partition: 'critical' }), "critical's guaranteed share");
      assert.deepEqual(Object.keys(api.stats().partitions ?? {}), ['critical', 'batch']);

      const payments = built.concurrencyLimiters.payments!;
      const held = await Promise.all([1, 2, 3, 4].map(() => payments.acquire()));
      const waiting = [payments.acquire(), payments.acquire()];
      await assert.rejects(payments.acquire(), LimitExceededError);
      for (const p of held) p.success();
      await Promise.all(waiting).then((ps) => ps.forEach((p) => p.success()));

      const breaker = built.breakers.payments_api!;
      for (let i = 0; i < 10; i++) await assert.rejects(breaker.run(() => Promise.reject(new Error('down'))), /down/);
      assert.equal(breaker.state, 'open', '10 failures of 10 calls, minimum_calls 10');
      await assert.rejects(breaker.run(() => 'ok'), BreakerOpenError);
      clock.advance(4999);
      assert.equal(breaker.state, 'open');
      clock.advance(1);
      assert.equal(breaker.state, 'half-open', 'reset_after 5s');
      assert.equal(built.breakers.search_api!.stats().state, 'closed');
    } finally {
      built.close();
    }
  });

  it('componentSpecs() - lists each kind with the exact constructor options', async () => {
    const { components, alerts } = componentSpecs(await loadConfig(fixture));
    assert.deepEqual(
      components.map((c) => [c.name, c.kind, c.path]),
      [
        ['requests', 'PriorityChannel', 'queues.requests'],
        ['tenant_jobs', 'FairChannel', 'queues.tenant_jobs'],
        ['plain', 'Channel', 'queues.plain'],
        ['api', 'ConcurrencyLimiter', 'concurrency.api'],
        ['payments', 'Bulkhead', 'bulkheads.payments'],
        ['payments_api', 'CircuitBreaker', 'breakers.payments_api'],
        ['search_api', 'CircuitBreaker', 'breakers.search_api'],
      ],
    );
    assert.deepEqual(components[1]!.options, { name: 'tenant_jobs', capacity: 200, overflow: 'drop-newest', highWatermark: 0.8, lowWatermark: 0.2, perKeyCapacity: 20, quantum: 2 });
    assert.deepEqual(components[6]!.options, { name: 'search_api', window: 'time', windowMs: 30_000, windowBuckets: 30, slowCallMs: 2000, slowCallRateThreshold: 0.8 });
    assert.deepEqual(alerts?.components, ['requests', 'tenant_jobs', 'plain', 'api', 'payments'], 'breakers are not watched by the alerts');
  });

  it('fromConfig() - a constructor refusal inside priorities names the key in the file', () => {
    // Level names past 30 pass the schema's length check only if the schema misses one; the core is the backstop for the rest.
    const config = parseConfig('queues: { q: { capacity: 10, priorities: { levels: [a, b] } } }');
    config.queues.q!.priorities!.defaultPriority = 'zz';
    assert.throws(() => fromConfig(config), (error: unknown) => error instanceof ConfigError && /^queues\.q\.priorities\.default: "zz" is not/.test(error.issues[0]!.message));
  });
});

describe('sluice validate - priorities, fairness, partitions, bulkheads, breakers', () => {
  it('sluice validate - lists every component of the resilience fixture with its kind', async () => {
    let stdout = '';
    const code = await run(['validate', fixture], { stdout: (t) => (stdout += t), stderr: () => {}, stderrIsTTY: false });
    assert.equal(code, 0);
    assert.match(stdout, /valid; it would build 7 components/);
    for (const [name, kind, from] of <[string, string, string][]>[
      ['requests', 'PriorityChannel', 'queues.requests'],
      ['tenant_jobs', 'FairChannel', 'queues.tenant_jobs'],
      ['api', 'ConcurrencyLimiter', 'concurrency.api'],
      ['payments', 'Bulkhead', 'bulkheads.payments'],
      ['payments_api', 'CircuitBreaker', 'breakers.payments_api'],
    ]) {
      assert.match(stdout, new RegExp(`^\\s+${name}\\s+${kind}\\s+${from.replace('.', '\\.')}\\s`, 'm'), `${name} listed`);
    }
    assert.match(stdout, / levels=critical,normal,batch weights=critical:8,normal:3,batch:1 reserve=10 defaultPriority=normal\n/, 'settings show the levels and weights');
    assert.match(stdout, / maxWaiting=5 partitions=critical:0\.6,batch:0\.2\n/);
    assert.match(stdout, /Alerts: every 1s on requests, tenant_jobs, plain, api, payments:/);
  });

  it('sluice validate - a bad breaker value fails with exit 2 and the key', async () => {
    let stderr = '';
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-cfg13-')), 'bad.yaml');
    writeFileSync(file, 'breakers:\n  b: { half_open_probes: 0 }\n');
    const code = await run(['validate', file], { stdout: () => {}, stderr: (t) => (stderr += t), stderrIsTTY: false });
    assert.equal(code, 2);
    assert.match(stderr, /breakers\.b\.half_open_probes: 0 is not an integer >= 1/);
  });
});
