import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs, UsageError } from '../../bench/lib/args.js';
import { formatRate, median, formatTable } from '../../bench/lib/report.js';
import { summarize } from '../../bench/lib/orchestrator.js';
import { defineScenario, type WorkerReport } from '../../bench/lib/types.js';

describe('parseBenchArgs', () => {
  it('parseBenchArgs() - defaults to every scenario, 1 warm-up, 5 runs and 1 pass', () => {
    const args = parseBenchArgs([]);
    assert.deepEqual(args, { help: false, scenarios: [], contenders: [], runs: 5, warmup: 3, passes: 1, n: undefined, quick: false, json: undefined });
  });

  it('parseBenchArgs() - --quick means 3 runs unless --runs says otherwise', () => {
    assert.equal(parseBenchArgs(['--quick']).runs, 3);
    assert.equal(parseBenchArgs(['--quick', '--runs', '7']).runs, 7);
  });

  it('parseBenchArgs() - accepts comma lists and repeated flags for names, and 1_000_000 / 1e6 for --n', () => {
    const args = parseBenchArgs(['--contender', 'a,b', '--contender', 'c', '--n', '1_000_000']);
    assert.deepEqual(args.contenders, ['a', 'b', 'c']);
    assert.equal(args.n, 1_000_000);
    assert.equal(parseBenchArgs(['--n', '1e6']).n, 1_000_000);
  });

  it('parseBenchArgs() - rejects unknown flags, positionals and bad numbers with a UsageError naming the flag', () => {
    assert.throws(() => parseBenchArgs(['--fast']), (e: unknown) => e instanceof UsageError && e.message.includes('--fast'));
    assert.throws(() => parseBenchArgs(['channel']), UsageError);
    assert.throws(() => parseBenchArgs(['--n', '0']), /--n must be an integer >= 1, got '0'/);
    assert.throws(() => parseBenchArgs(['--warmup', '-1']), /--warmup/);
    assert.throws(() => parseBenchArgs(['--passes', '0']), /--passes must be an integer >= 1, got '0'/);
    assert.throws(() => parseBenchArgs(['--runs', '2.5']), /--runs must be an integer >= 1, got '2.5'/);
    assert.throws(() => parseBenchArgs(['--scenario', '../etc']), /--scenario: '..\/etc' is not a valid name/);
    assert.throws(() => parseBenchArgs(['--json', '']), /--json needs a file name/);
  });
});

describe('report', () => {
  it('median() - takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('formatRate() - abbreviates millions and thousands', () => {
    assert.equal(formatRate(33_700_000), '33.70M');
    assert.equal(formatRate(850_000), '850k');
    assert.equal(formatRate(998), '998');
  });

  it('summarize() - computes median/min/max and ratios against the baseline and compareTo contenders', () => {
    const scenario = defineScenario({
      name: 's',
      description: '',
      baseline: 'base',
      compareTo: ['other'],
      defaultN: 1,
      quickN: 1,
      metricColumns: { buffered: 'buffered' },
      contenders: { base: async () => ({ items: 0 }), other: async () => ({ items: 0 }) },
    });
    const report = (contender: string, rates: number[], buffered: number[]): WorkerReport => ({
      scenario: 's',
      contender,
      n: 1,
      warmup: 1,
      checksPassed: 0,
      peakRssBytes: 50 * 1024 * 1024,
      samples: rates.map((itemsPerSecond, i) => ({ items: 1, elapsedMs: 1, cpuMs: 1, itemsPerSecond, metrics: { buffered: buffered[i]! } })),
    });
    const rows = summarize(scenario, [report('base', [10, 30, 20], [1, 2, 3]), report('other', [40, 60, 50], [7, 9, 8])]);
    assert.equal(rows[0]!.itemsPerSecond, 20);
    assert.equal(rows[1]!.itemsPerSecond, 50);
    assert.equal(rows[1]!.min, 40);
    assert.equal(rows[1]!.max, 60);
    assert.equal(rows[1]!.ratio, 2.5);
    assert.equal(rows[0]!.ratioTo.other, 0.4);
    assert.equal(rows[1]!.buffered, 8);
    const table = formatTable(scenario, rows);
    assert.match(table, /^\| Contender \| items\/s \(median\) \| min–max \| ×base \| ×other \| peak RSS \| buffered \|$/m);
    assert.match(table, /^\| other \| 50 \| 40–60 \| 2\.50× \| 1\.00× \| 50 MB \| 8 \|$/m);
  });
});
