import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../core/errors/index.js';
import { Fleet } from './fleet.js';
import { calculateBackpressureRoi, runDemo, type DemoSummary } from './index.js';
import { projectUnbounded, type UnboundedReport } from './unbounded.js';

const quiet = () => undefined;

function assertAccounted(s: DemoSummary): void {
  assert.equal(s.offered, s.written + s.dropped + s.buffered + s.inFlight, 'offered = written + dropped + buffered + in flight');
  assert.equal(s.dropped, Object.values(s.droppedBy).reduce((a, b) => a + b, 0), 'dropped is the sum of droppedBy');
  assert.equal(s.generated, s.offered + s.heldAtSources, 'every line the servers wrote was offered or is still on its server');
}

let blockRun: DemoSummary | undefined;
let dropOldestRun: { summary: DemoSummary; lines: string[] } | undefined;

describe('runDemo()', () => {
  it("runDemo() - 'block': every offered line is written, none dropped but timeouts, and the unbounded contrast queues far more", async () => {
    const lines: string[] = [];
    const s = await runDemo({ durationMs: 3000, spikeAtMs: 500, strategy: 'block', dashboard: false, print: (l) => lines.push(l) });
    assertAccounted(s);
    assert.ok(s.written > 0);
    assert.deepEqual(Object.keys(s.droppedBy).filter((r) => r !== 'timeout'), [], 'block drops nothing except bounded-wait timeouts');
    assert.equal(s.buffered + s.inFlight, 0, 'the drain wrote everything');
    assert.ok(s.heldAtSources > 0, 'backpressure left lines on the servers');
    assert.equal(s.scenario.maxHeld, 10_000 + 5000 + 1000, 'the bound counts the channel, the writer buffer and one batch');
    assert.ok(s.peakQueued <= s.scenario.maxHeld, `peak ${s.peakQueued} within the bound`);
    assert.ok(lines.some((l) => l.includes('at most 16,000 lines held')), 'the banner states the bound the summary measures against');
    assert.ok(lines.some((l) => /most lines held at once\s+[\d,]+ \(of at most 16,000\)/.test(l)));
    assert.ok(!lines.some((l) => /seed|ms\/s/.test(l)), 'no "seed 001" nor "ms/s" in what a user reads');
    assert.ok(s.unbounded, 'the contrast ran');
    assert.ok(s.unbounded.peakQueued > s.peakQueued, `unbounded peak ${s.unbounded.peakQueued} > bounded ${s.peakQueued}`);
    assert.ok(s.unbounded.bytesPerLine > 0);
    assert.ok(s.latencyMs.count === s.written);
    assert.ok(lines.some((l) => l.includes('Summary:')));
    assert.ok(lines.some((l) => l.includes('check: offered')));
    assert.ok(lines.some((l) => l.startsWith('ROI estimate')));
    assert.equal(s.interrupted, false);
    assert.ok(Math.abs(s.ranMs - 3000) < 500, `ran ${s.ranMs} ms`);
    blockRun = s;
  });

  it("runDemo() - 'drop-oldest': the excess is dropped and counted by reason, nothing waits on the servers", async () => {
    const lines: string[] = [];
    const s = await runDemo({ durationMs: 2000, spikeAtMs: 300, strategy: 'drop-oldest', dashboard: false, unboundedContrast: false, print: (l) => lines.push(l) });
    assertAccounted(s);
    assert.ok(s.droppedBy['drop-oldest']! > 0);
    assert.equal(s.heldAtSources, 0);
    assert.equal(s.unbounded, undefined);
    assert.ok(s.aggregatorLatencyMs.p99 < 5000, `aggregator p99 ${s.aggregatorLatencyMs.p99} ms stays bounded`);
    dropOldestRun = { summary: s, lines };
  });

  it("runDemo() - ROI: its inputs are what the run did, so 'drop-oldest' and 'block' differ as their drops do", () => {
    assert.ok(blockRun && dropOldestRun, 'needs the two runs above');
    const drop = dropOldestRun.summary;
    for (const s of [blockRun, drop]) {
      assert.equal(s.roi.inputs.dropRateWithBp, s.dropped / s.generated, `${s.strategy}: the share of lines Sluice dropped`);
      assert.equal(s.roi.inputs.messagesPerSecond, s.generated / (s.ranMs / 1000), `${s.strategy}: the rate the servers wrote`);
    }
    assert.ok(drop.roi.inputs.dropRateWithBp! > 0.5, `drop-oldest dropped ${drop.roi.inputs.dropRateWithBp}`);
    assert.ok(blockRun.roi.inputs.dropRateWithBp! < 0.01, `block dropped ${blockRun.roi.inputs.dropRateWithBp}`);
    assert.ok(drop.roi.dailyBenefit < 0, 'dropping more than the assumed 5 % without backpressure is a loss');
    assert.ok(drop.roi.droppedPrevention < 0 && blockRun.roi.droppedPrevention > 0);
    assert.ok(blockRun.roi.roiPercentage > 0);
    const text = dropOldestRun.lines.join('\n');
    assert.match(text, new RegExp(`Sluice \\('drop-oldest'\\) dropped ${Number((drop.roi.inputs.dropRateWithBp! * 100).toPrecision(3))} % of them`));
    assert.match(text, /\d(\.\d+)?[kMB]? more lines dropped per day than assumed without backpressure/);
    assert.match(text, /daily benefit -\$[\d,]+, annual -\$[\d,]+, ROI -[\d,]+ %/);
    assert.doesNotMatch(text, /lines saved from dropping/);
  });

  it('runDemo() - json: print gets the JSON object alone; the banner and progress go to log', async () => {
    const out: string[] = [];
    const log: string[] = [];
    const s = await runDemo({ durationMs: 1200, servers: 100, json: true, dashboard: false, unboundedContrast: false, print: (l) => out.push(l), log: (l) => log.push(l) });
    assert.equal(out.length, 1, `print got ${out.length} lines`);
    assert.deepEqual(JSON.parse(out[0]!), JSON.parse(JSON.stringify(s)));
    assert.equal(s.scenario.servers, 100);
    assert.match(log[0]!, /^Sluice demo: the log processing meltdown/);
    assert.ok(log.some((l) => /^\s+1s (baseline|spike) /.test(l)), 'the progress lines went to log');
  });

  it('runDemo() - serves the dashboard on 127.0.0.1 while it runs and closes it after', async () => {
    let snapshot: { components: { name: string }[] } | undefined;
    let url: string | undefined;
    const s = await runDemo({
      durationMs: 1500,
      servers: 100,
      unboundedContrast: false,
      print: quiet,
      onReady: (info) => {
        url = info.url;
        void fetch(new URL('snapshot.json', info.url)).then(async (r) => (snapshot = (await r.json()) as typeof snapshot));
      },
    });
    assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(s.dashboardUrl, url);
    assert.deepEqual(snapshot?.components.map((c) => c.name), ['fleet', 'ingest', 'sqlite-writer', 'aggregator']);
    await assert.rejects(fetch(url!), 'the server is closed after the run');
  });

  it('runDemo() - keepOpen: the dashboard stays up after the summary until the signal, then it resolves', async () => {
    const controller = new AbortController();
    let url: string | undefined;
    let status: number | undefined;
    const print = (line: string) => {
      if (!line.startsWith('Dashboard stays up')) return;
      void fetch(url!).then((r) => {
        status = r.status;
        controller.abort(new Error('done looking'));
      });
    };
    const s = await runDemo({ durationMs: 800, servers: 50, unboundedContrast: false, keepOpen: true, print, signal: controller.signal, onReady: (i) => (url = i.url) });
    assert.equal(status, 200, 'the page was served after the run');
    assertAccounted(s);
    await assert.rejects(fetch(url!), 'closed once the signal fired');
  });

  it('runDemo() - an abort rejects with the signal reason, before or during the run', async () => {
    const reason = new Error('stop now');
    await assert.rejects(runDemo({ dashboard: false, print: quiet, signal: AbortSignal.abort(reason) }), (e) => e === reason);
    const controller = new AbortController();
    const started = Date.now();
    await assert.rejects(
      runDemo({ durationMs: 60_000, dashboard: false, print: quiet, onReady: () => setTimeout(() => controller.abort(reason), 300), signal: controller.signal }),
      (e) => e === reason,
    );
    assert.ok(Date.now() - started < 20_000, 'it stopped long before the 60 s run would have');
  });

  const invalid: [string, Record<string, unknown>][] = [
    ['durationMs', { durationMs: -1 }],
    ['strategy', { strategy: 'yolo' }],
    ['port', { port: 70_000 }],
    ['servers', { servers: 0 }],
    ['spikeAtMs', { durationMs: 1000, spikeAtMs: 5000 }],
    ['maxBlockMs', { strategy: 'drop-oldest', maxBlockMs: 100 }],
    ['dashboard', { dashboard: 'yes' }],
    ['print', { print: 'stdout' }],
  ];
  for (const [field, options] of invalid) {
    it(`runDemo() - rejects an invalid ${field}`, async () => {
      await assert.rejects(runDemo(options), (e: Error & { code?: string }) => e.code === ErrorCode.invalidOption && e.message.includes(`"${field}"`));
    });
  }
});

describe('demo parts', () => {
  it("calculateBackpressureRoi() - reproduces the seed's ad-tech example", () => {
    const r = calculateBackpressureRoi({ messagesPerSecond: 100_000, messageValue: 0.001, infraCostPerHour: 500, dropRateWithoutBp: 0.05, crashRatePerHourWithoutBp: 0.001 });
    assert.ok(Math.abs(r.dailyBenefit - 396_240) < 1e-6, `daily ${r.dailyBenefit}`);
    assert.ok(Math.abs(r.annualBenefit - 396_240 * 365) < 1e-3);
    assert.ok(Math.abs(r.roiPercentage - 33_020) < 1e-6, `roi ${r.roiPercentage}`);
    assert.ok(Math.abs(r.droppedPrevention - 388_800_000) < 1e-3);
    assert.ok(Math.abs(r.crashPrevention - 0.024) < 1e-12);
  });

  it('Fleet.line() - a line is written at the moment due() first counts it, base rate then spike', () => {
    const fleet = new Fleet({ servers: 4, linesPerServerPerSecond: 2, spikeMultiplier: 10, spikeAtMs: 1000 }, 0);
    for (let server = 0; server < 4; server++) {
      for (let seq = 0; seq < 30; seq++) {
        const at = fleet.line(server, seq, 0).emittedAt;
        assert.equal(fleet.due(server, at + 1e-6), seq + 1, `server ${server} line ${seq} due after ${at}`);
        assert.equal(fleet.due(server, at - 1e-6), seq, `server ${server} line ${seq} not due before ${at}`);
      }
    }
    assert.equal(fleet.total(1000), 8, 'four servers × 2 lines in the first second');
    assert.equal(fleet.total(2000) - fleet.total(1000), 80, 'ten times the rate in the spike');
    assert.equal(fleet.rateAt(1500), 80);
  });

  it('projectUnbounded() - projects growth, heap per line and the time to a 4 GB heap', () => {
    const report: UnboundedReport = {
      elapsedMs: 10_000,
      phase: 'stopped',
      generated: 0,
      offered: 0,
      written: 0,
      queued: 900_000,
      refused: 0,
      peakQueued: 1_000_000,
      capped: true,
      cappedAtMs: 6000,
      queuedAtCap: 1_000_000,
      queuedAtSpike: 0,
      baselineHeapMb: 16,
      heapUsedMb: 250,
      heapAtCapMb: 16 + 200,
      peakHeapMb: 260,
      latencyMs: undefined,
      overallLatencyMs: { p50: 0, p90: 0, p99: 0, count: 0 },
    };
    const p = projectUnbounded(report, 10_000, 1000, 200, false);
    assert.equal(p.growthPerSecond, 200_000); // 1M lines over the 5 s between spike and cap
    assert.equal(p.bytesPerLine, (200 * 1024 * 1024) / 1_000_000);
    assert.equal(p.wouldHaveGrownTo.lines, 1_800_000); // 4 more seconds at 200k/s
    assert.ok(Math.abs(p.minutesToOomAt4GbHeap - (4080 / 200) * 5 / 60) < 1e-9);
    assert.equal(p.linesLostAtOom, Math.round((4080 * 1024 * 1024) / p.bytesPerLine));
  });
});
