// Shared by the batch-writer tests; defines no tests of its own. The
// `.test-helpers.ts` suffix keeps it out of the published build (tsconfig.build.json).
import assert from 'node:assert/strict';
import type { BatchFlushContext, BatchFlushResult, BatchWriter, BatchWriterStats } from './index.js';

export function assertInvariant(stats: BatchWriterStats): void {
  const sum = Object.values(stats.droppedBy).reduce((a, b) => a + b, 0);
  assert.equal(stats.dropped, sum, 'dropped is the sum of droppedBy');
  assert.equal(
    stats.written,
    stats.flushed + stats.buffered + stats.inFlight + stats.dropped + stats.deadLettered,
    `written === flushed + buffered + inFlight + dropped + deadLettered in ${JSON.stringify(stats)}`,
  );
  assert.ok(stats.buffered >= 0 && stats.inFlight >= 0, 'no negative counts');
  if (stats.writtenBytes !== undefined) {
    // With maxBytes, the same accounting in bytes.
    const b = stats as Required<BatchWriterStats>;
    assert.equal(
      b.writtenBytes,
      b.flushedBytes + b.bufferedBytes + b.inFlightBytes + b.droppedBytes + b.deadLetteredBytes,
      `writtenBytes === flushedBytes + bufferedBytes + inFlightBytes + droppedBytes + deadLetteredBytes in ${JSON.stringify(stats)}`,
    );
    assert.ok(b.bufferedBytes >= b.bytes && b.inFlightBytes >= 0 && b.bytes >= 0, 'no negative byte counts');
  }
}

export function check<T>(writer: BatchWriter<T>): BatchWriterStats {
  const stats = writer.stats();
  assertInvariant(stats);
  return stats;
}

export interface SinkCall<T> {
  items: T[];
  attempt: number;
  at: number;
  signal: AbortSignal;
  settled: boolean;
  resolve(result?: BatchFlushResult<T>): void;
  reject(error: unknown): void;
}

/** A sink whose calls stay pending until the test settles them. */
export function manualSink<T>(now: () => number) {
  const calls: SinkCall<T>[] = [];
  const written: T[] = [];
  const flush = (items: T[], context: BatchFlushContext): Promise<BatchFlushResult<T>> =>
    new Promise((resolve, reject) => {
      const call: SinkCall<T> = {
        items: [...items],
        attempt: context.attempt,
        at: now(),
        signal: context.signal,
        settled: false,
        resolve(result) {
          call.settled = true;
          const failed = new Set(result && 'failed' in result ? result.failed.map((f) => f.item) : []);
          written.push(...items.filter((item) => !failed.has(item)));
          resolve(result);
        },
        reject(error) {
          call.settled = true;
          reject(error);
        },
      };
      calls.push(call);
    });
  const pending = () => calls.filter((c) => !c.settled);
  return { flush, calls, written, pending };
}

/** Observes a promise without awaiting it. */
export function track<T>(promise: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error) => Object.assign(state, { done: true, error }),
  );
  return state;
}
