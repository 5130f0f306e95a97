import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport, simulate } from './index.js';

describe('renderReport()', () => {
  const result = simulate({
    queues: [
      { name: 'in<put>', capacity: 40, strategy: 'block', arrivalRate: 800, serviceTimeMs: 1 },
      { name: 'work', capacity: 40, strategy: 'drop-oldest', highWatermark: 0.7, lowWatermark: 0.4, arrivalRate: 800, serviceTimeMs: 1 },
    ],
    scenario: 'sustained-overload',
    durationMs: 60_000,
    samplePoints: 60,
    alerts: { thresholds: { queueDepth: { utilization: 0.9 } } },
  });
  const html = renderReport(result, { source: 'sluice.yaml' });

  it('renderReport() - is a self-contained page: no scripts, no external resources', () => {
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /(src|href)="https?:/);
  });

  it('renderReport() - draws utilization with both watermarks, rates, backlog and the state timeline per queue', () => {
    assert.equal(html.match(/>Utilization \(size \/ capacity\) with watermarks/g)?.length, 2);
    assert.equal(html.match(/>Arrivals, deliveries and drops/g)?.length, 2);
    assert.equal(html.match(/>State timeline/g)?.length, 2);
    assert.equal(html.match(/>Items waiting upstream/g)?.length, 1, 'only the block queue has a backlog');
    assert.match(html, /high watermark 0\.7/);
    assert.match(html, /low watermark 0\.4/);
    assert.ok((html.match(/<svg /g)?.length ?? 0) >= 7);
    assert.ok((html.match(/<polyline /g)?.length ?? 0) >= 10);
  });

  it('renderReport() - lists the alert transitions and the scenario phases', () => {
    assert.match(html, /<td>queue_depth<\/td><td>firing<\/td>/);
    assert.match(html, /overload/);
    assert.match(html, /sluice\.yaml/);
  });

  it('renderReport() - escapes names', () => {
    assert.match(html, /<h2>in&lt;put&gt;<\/h2>/);
    assert.doesNotMatch(html, /in<put>/);
  });
});
