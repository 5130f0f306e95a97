import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../core/testing/index.js';
import { run } from '../cli/index.js';
import { ConfigError, componentSpecs, fromConfig, parseConfig, planReload, watchConfig, type ConfigReloadResult } from './index.js';

// max_bytes on queues and writers: sizes in the file, the byte budget built,
// reloaded through setMaxBytes(), and shown by `sluice validate --diff`.

function problems(text: string): string[] {
  try {
    parseConfig(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
    return error.issues.map((i) => i.message);
  }
  return assert.fail('the configuration was accepted');
}

const ALLOWED = 'a size such as 512, 512B, 64KiB, 1.5MB or 2GiB (KB, MB, GB are 1000, 1000^2, 1000^3 bytes; KiB, MiB, GiB are 1024, 1024^2, 1024^3), or a whole number of bytes (>= 1)';

describe('config max_bytes', () => {
  it('parseConfig() - max_bytes takes a size (MB = 10^6, MiB = 2^20) or a number of bytes, on queues and writers', () => {
    const sizes: [string, number][] = [
      ['64MB', 64_000_000],
      ['512KiB', 524_288],
      ['1GB', 1_000_000_000],
      ['1.5 MiB', 1_572_864],
      ['2gib', 2 * 1024 ** 3],
      ['"4096"', 4096],
      ['4096', 4096],
      ['100B', 100],
      ['1.3KiB', 1331], // 1331.2: the fraction of a byte is dropped
    ];
    for (const [text, bytes] of sizes) {
      const config = parseConfig(`queues:\n  logs: { capacity: 10, max_bytes: ${text} }\nwriters:\n  events: { max_bytes: ${text} }\n`);
      assert.equal(config.queues.logs!.maxBytes, bytes, text);
      assert.equal(config.writers.events!.maxBytes, bytes, text);
    }
    assert.equal('maxBytes' in parseConfig('queues:\n  q: { capacity: 1 }\n').queues.q!, false, 'no budget unless given');
    assert.equal(parseConfig('writers:\n  w: { capacity: 1 }\n').writers.w!.maxBytes, undefined);
  });

  it('parseConfig() - a bad max_bytes is a coded error naming the key, with the units it takes', () => {
    for (const bad of ['0', '-1', '1.5', '"64 megabytes"', '1TB', '"0.5B"', '"MB"', 'true', '.5MB']) {
      assert.deepEqual(
        problems(`queues:\n  logs: { capacity: 10, max_bytes: ${bad} }\n`).map((m) => m.replace(/: .* is not /, ': <value> is not ')),
        [`queues.logs.max_bytes: <value> is not ${ALLOWED}`],
        bad,
      );
    }
    assert.deepEqual(problems('writers:\n  events: { max_bytes: 64 MB/s }\n'), [`writers.events.max_bytes: "64 MB/s" is not ${ALLOWED}`]);
    assert.deepEqual(problems('queues:\n  jobs: { capacity: 10, max_bytes: 1MB, priorities: { levels: [a, b] } }\n'), [
      'queues.jobs.max_bytes: 1000000 is not allowed with priorities (a PriorityChannel counts items only; max_bytes is for plain queues)',
    ]);
    assert.deepEqual(problems('queues:\n  jobs: { capacity: 10, max_bytes: 1MB, fairness: { per_key_capacity: 5 } }\n'), [
      'queues.jobs.max_bytes: 1000000 is not allowed with fairness (a FairChannel counts items only; max_bytes is for plain queues)',
    ]);
  });

  it('fromConfig() - builds the Channel and the BatchWriter with the byte budget; an item larger than it is too-large', async () => {
    const config = parseConfig('queues:\n  logs: { capacity: 100, max_bytes: 1KiB, strategy: drop_newest }\nwriters:\n  events: { capacity: 100, max_bytes: 2KB }\n');
    assert.deepEqual(
      componentSpecs(config).components.map((s) => [s.name, s.options.maxBytes]),
      [
        ['logs', 1024],
        ['events', 2000],
      ],
    );
    const built = fromConfig<string>(config, { sinks: { events: async () => {} }, alertLog: false });
    try {
      const logs = built.channels.logs!;
      assert.equal(logs.maxBytes, 1024);
      assert.equal(logs.trySend('x'.repeat(1000)), true);
      assert.equal(logs.trySend('x'.repeat(30)), false, '1000 + 30 > 1024: dropped by drop_newest');
      assert.equal(logs.trySend('x'.repeat(2000)), false);
      assert.equal(logs.stats().droppedBy['too-large'], 1);
      assert.equal(built.writers.events!.maxBytes, 2000);
      assert.equal(built.writers.events!.stats().maxBytes, 2000);
    } finally {
      built.close();
    }
  });

  it('fromConfig() - options.sizers gives a queue and a writer with max_bytes their sizeOf; items the default cannot measure are then admitted by it', async () => {
    const config = parseConfig('queues:\n  logs: { capacity: 100, max_bytes: 100, strategy: drop_newest }\n  plain: { capacity: 10 }\nwriters:\n  events: { capacity: 100, max_bytes: 100 }\n');
    type Event = { body: string };
    const size = (event: Event) => event.body.length * 10;
    const built = fromConfig<Event>(config, { sinks: { events: async () => {} }, sizers: { logs: size, events: size }, alertLog: false });
    try {
      const logs = built.channels.logs!;
      assert.equal(logs.trySend({ body: 'x'.repeat(6) }), true, '60 bytes by the sizer');
      assert.equal(logs.trySend({ body: 'x'.repeat(5) }), false, '60 + 50 > 100: dropped by drop_newest');
      assert.equal(logs.bytes, 60);
      assert.equal(await built.writers.events!.write({ body: 'x'.repeat(4) }), true);
      assert.equal(built.writers.events!.stats().bytes, 40);
    } finally {
      built.close();
    }
    // Without a sizer an object item is the coded error naming sizeOf, nothing admitted.
    const unsized = fromConfig<Event>(config, { alertLog: false });
    try {
      assert.throws(() => unsized.channels.logs!.trySend({ body: 'x' }), { code: 'ERR_SLUICE_INVALID_OPTION', field: 'sizeOf' });
      assert.equal(unsized.channels.logs!.size, 0);
    } finally {
      unsized.close();
    }
  });

  it('fromConfig() - a bad sizers option is refused before anything is built, naming sizers.<name>', () => {
    const config = parseConfig('queues:\n  logs: { capacity: 100, max_bytes: 100 }\n  plain: { capacity: 10 }\n');
    const cases: [unknown, string, RegExp][] = [
      [{ plain: () => 1 }, 'sizers.plain', /a queue or writer with max_bytes in the file \(logs\)/],
      [{ nope: () => 1 }, 'sizers.nope', /a queue or writer with max_bytes/],
      [{ logs: 5 }, 'sizers.logs', /a function \(item\) => number of bytes/],
      [[], 'sizers', /an object of sizeOf functions/],
    ];
    for (const [sizers, field, message] of cases) {
      assert.throws(() => fromConfig(config, { sizers: sizers as never, alertLog: false }), { code: 'ERR_SLUICE_INVALID_OPTION', field, message }, field);
    }
  });

  it('planReload() - a changed max_bytes is applied; one added to or removed from a live component is refused, naming the field', () => {
    const from = parseConfig('queues:\n  logs: { capacity: 100, max_bytes: 64MiB }\n  jobs: { capacity: 100 }\nwriters:\n  events: { max_bytes: 32MB }\n');
    const to = parseConfig('queues:\n  logs: { capacity: 100, max_bytes: 16MiB }\n  jobs: { capacity: 100, max_bytes: 1MB }\nwriters:\n  events: { }\n');
    const plan = planReload(from, to);
    assert.deepEqual(
      plan.components.map((c) => [c.name, c.action, c.changes.map((x) => `${x.setting}: ${String(x.previous)} -> ${String(x.value)}`)]),
      [
        ['logs', 'apply', ['max_bytes: 67108864 -> 16777216']],
        ['jobs', 'refused', ['max_bytes: undefined -> 1000000']],
        ['events', 'refused', ['max_bytes: 32000000 -> undefined']],
      ],
    );
    assert.equal(
      plan.components[1]!.reason,
      'queues.jobs.max_bytes: Channel "jobs" was built without max_bytes (it counts items only); a byte budget cannot be added at runtime: restart to apply it',
    );
    assert.equal(
      plan.components[2]!.reason,
      'writers.events.max_bytes: removed from the file; BatchWriter "events" was built with a byte budget, which cannot be removed at runtime: restart to count items only',
    );
  });

  it('watchConfig() - max_bytes changed in the file: the queue and the writer follow within one poll (setMaxBytes); a bad size changes nothing', async () => {
    const text = 'queues:\n  logs: { capacity: 100, max_bytes: 64MiB }\nwriters:\n  events: { capacity: 100, max_bytes: 32MB }\n';
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bytes-'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, text);
    const clock = new VirtualClock();
    const built = fromConfig<string>(parseConfig(text), { clock, alertLog: false, sinks: { events: async () => {} } });
    const reports: (ConfigReloadResult | Error)[] = [];
    let wake: (() => void) | undefined;
    const report = (r: ConfigReloadResult | Error) => {
      reports.push(r);
      wake?.();
    };
    const watcher = watchConfig(file, built, { clock, pollIntervalMs: 1000, onReload: report, onError: report });
    const change = async (next: string) => {
      writeFileSync(file, next);
      const seen = reports.length;
      const reported = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing reported within 5 s')), 5000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      clock.advance(1000);
      await reported;
      assert.equal(reports.length, seen + 1);
      return reports.at(-1)!;
    };
    try {
      const logs = built.channels.logs!;
      const events = built.writers.events!;
      const result = await change(text.replace('64MiB', '16MiB').replace('32MB', '8MB'));
      assert.ok(!(result instanceof Error), String(result));
      assert.equal(logs.maxBytes, 16 * 1024 ** 2);
      assert.equal(events.maxBytes, 8_000_000);
      assert.equal(logs.stats().adjustments, 1);
      assert.equal(events.stats().adjustments, 1);
      const broken = await change(text.replace('64MiB', '16 MiBs').replace('32MB', '1MB'));
      assert.ok(broken instanceof ConfigError, String(broken));
      assert.match(broken.message, /queues\.logs\.max_bytes: "16 MiBs" is not a size such as/);
      assert.equal(logs.maxBytes, 16 * 1024 ** 2, 'the broken file changed nothing');
      assert.equal(events.maxBytes, 8_000_000);
    } finally {
      watcher.close();
      built.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validate --diff - shows a changed max_bytes as applied, an added one as refused with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bytes-cli-'));
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const cli = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stderrIsTTY: false });
      return { code, stdout, stderr };
    };
    try {
      const before = write('old.yaml', 'queues:\n  logs: { capacity: 100, max_bytes: 64MiB }\n  jobs: { capacity: 100 }\n');
      const applied = await cli(['validate', '--diff', before, write('new.yaml', 'queues:\n  logs: { capacity: 100, max_bytes: 16MiB }\n  jobs: { capacity: 100 }\n')]);
      assert.equal(applied.stderr, '');
      assert.equal(applied.code, 0);
      assert.match(applied.stdout, /logs\s+Channel\s+max_bytes\s+67108864\s+16777216\s+applied/);
      const refused = await cli(['validate', '--diff', before, write('added.yaml', 'queues:\n  logs: { capacity: 100, max_bytes: 64MiB }\n  jobs: { capacity: 100, max_bytes: 1MB }\n')]);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /queues\.jobs\.max_bytes: Channel "jobs" was built without max_bytes \(it counts items only\); a byte budget cannot be added at runtime/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
