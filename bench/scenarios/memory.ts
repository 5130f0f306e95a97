import { defineScenario, lazyContender } from '../lib/types.js';

const memory = () => import('../contenders/memory.js');

/**
 * What a fast producer does to memory when the consumer is slow (one item per
 * millisecond, real timer) for 2 s. items/s here is the consumer's rate and
 * is about 1000 for everyone; the figures that matter are peak RSS and how
 * many items sit in memory at the end.
 */
export default defineScenario({
  name: 'memory',
  description: 'full-speed producer vs a consumer taking 1 item/ms (real timer) for 2 s; buffered items and peak RSS',
  baseline: 'node-streams',
  defaultN: 5_000_000,
  quickN: 200_000,
  nLabel: 'cap on buffered items for the unbounded contenders',
  metricColumns: { buffered: 'buffered at end', maxBuffered: 'max buffered', produced: 'produced', dropped: 'dropped' },
  fullGcBetweenRuns: true,
  notes: {
    'sluice-block': "Channel capacity 1024, overflow 'block': the producer waits",
    'sluice-drop-newest': "Channel capacity 1024, overflow 'drop-newest': the excess is dropped and counted",
    'unbounded-array': 'plain array queue, no bound: the failure mode (stops being fed at the cap)',
    'node-streams': 'objectMode Readable → Writable, highWaterMark 1024, write() completes after 1 ms',
    'it-pushable': 'it-pushable without a gate: push() never waits (stops being fed at the cap)',
  },
  contenders: {
    'sluice-block': lazyContender(memory, (m) => m.sluiceBlock),
    'sluice-drop-newest': lazyContender(memory, (m) => m.sluiceDropNewest),
    'unbounded-array': lazyContender(memory, (m) => m.unboundedArray),
    'node-streams': lazyContender(memory, (m) => m.nodeStreams),
    'it-pushable': lazyContender(memory, (m) => m.itPushableUngated),
  },
});
