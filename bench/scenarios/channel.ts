import { defineScenario, lazyContender } from '../lib/types.js';

const handwritten = () => import('../contenders/handwritten.js');
const sluice = () => import('../contenders/sluice.js');
const streams = () => import('../contenders/streams.js');
const libraries = () => import('../contenders/libraries.js');
const effect = () => import('../contenders/effect.js');

/**
 * One producer, one consumer, 1,000,000 small objects through a bounded
 * buffer of 1024. The consumer sums `item.value` and the worker checks sum and
 * count, so a contender that loses or duplicates items fails instead of
 * looking fast.
 */
export default defineScenario({
  name: 'channel',
  description: 'one producer → bounded buffer (1024) → one consumer summing item.value; sum and count verified',
  baseline: 'node-streams',
  compareTo: ['handwritten-fast'],
  defaultN: 1_000_000,
  quickN: 100_000,
  expectations: [
    { contender: 'sluice-fast', reference: 'node-streams', atLeast: 2 },
    { contender: 'sluice-fast', reference: 'handwritten-fast', atLeast: 1 },
    { contender: 'sluice-batch', reference: 'sync-ceiling', atLeast: 0.8 },
    { contender: 'sluice-plain', reference: 'handwritten-await', atLeast: 1 },
  ],
  notes: {
    'sluice-plain': 'await ch.send(x); for await (const x of ch)',
    'sluice-fast': 'if (!ch.trySend(x)) await ch.send(x); tryReceive() ?? await receive()',
    'sluice-batch': 'fast-path producer; consumer await ch.receiveBatch(1024)',
    'handwritten-fast': 'minimal ring buffer + one waiting producer/consumer, sync fast path',
    'handwritten-await': 'same channel, every send and receive awaited',
    'sync-ceiling': 'synchronous ring: fill 1024, drain, repeat',
    'async-ceiling': 'the same ring, async producer and consumer, one promise each way per 1024 items',
    'node-streams': 'objectMode Readable → Writable (writev), pipeline, highWaterMark 1024',
    'web-streams': 'pull ReadableStream → WritableStream, CountQueuingStrategy(1024)',
    repeater: 'Repeater + FixedBuffer(1024), await push',
    'p-queue': 'one task per item, concurrency 1, await onSizeLessThan(1024)',
    fastq: 'fastq.promise, concurrency 1, await the push promise once 1024 are queued',
    effect: 'Queue.bounded(1024), offer fiber / take loop until Done, Effect.runPromise',
    'it-pushable': 'gated: push while readableLength < 1024, else await onEmpty()',
  },
  contenders: {
    'sluice-plain': lazyContender(sluice, (m) => m.sluicePlain),
    'sluice-fast': lazyContender(sluice, (m) => m.sluiceFast),
    'sluice-batch': lazyContender(sluice, (m) => m.sluiceBatch),
    'handwritten-fast': lazyContender(handwritten, (m) => m.handwrittenFast),
    'handwritten-await': lazyContender(handwritten, (m) => m.handwrittenAwait),
    'sync-ceiling': lazyContender(handwritten, (m) => m.syncCeiling),
    'async-ceiling': lazyContender(handwritten, (m) => m.asyncCeiling),
    'node-streams': lazyContender(streams, (m) => m.nodeStreams),
    'web-streams': lazyContender(streams, (m) => m.webStreams),
    repeater: lazyContender(libraries, (m) => m.repeater),
    'p-queue': lazyContender(libraries, (m) => m.pQueue),
    fastq: lazyContender(libraries, (m) => m.fastqPromise),
    effect: lazyContender(effect, (m) => m.effectQueue),
    'it-pushable': lazyContender(libraries, (m) => m.itPushable),
  },
});
