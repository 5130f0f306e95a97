// Shared by the tests that terminate the sink's backends while it writes
// (test/postgres/terminate.test.ts, test/postgres/terminate-multi.test.ts): an
// admin pool that drops their tables at the end, a crash catcher, the writer
// that retries every failed batch until it lands, and the producer that keeps
// it busy. What is terminated, when, and what is asserted stays in each test.
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { BatchWriter, type BatchWriterOptions } from '../../src/core/batch-writer/index.js';
import { createPool, dropTable } from './db.js';

/**
 * Registers before/after hooks: an admin pool (2 connections) for the
 * terminator and the checks, and at the end the tables given to `track` dropped.
 * Call once at the top of the test file; `admin()` is valid inside the tests.
 */
export function adminPool(): { admin(): pg.Pool; track(table: string): string } {
  let admin: pg.Pool | undefined;
  const tables: string[] = [];
  before(() => {
    admin = createPool({ max: 2 });
  });
  after(async () => {
    for (const name of tables) await dropTable(admin!, name);
    await admin!.end();
  });
  return {
    admin: () => admin!,
    track: (table) => (tables.push(table), table),
  };
}

/** Waits for `promise`, at most `ms`; the timer does not outlive the wait. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Collects what reaches the process's `events` until `stop()`: emitted 'error'
 * events nobody listens to (and, with 'unhandledRejection', dropped promises)
 * surface there; without the listener the process would have crashed.
 */
export function catchCrashes(events: readonly ('uncaughtException' | 'unhandledRejection')[]): { crashes: unknown[]; stop(): void } {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => void crashes.push(error);
  for (const event of events) process.on(event, onCrash);
  return { crashes, stop: () => events.forEach((event) => process.off(event, onCrash)) };
}

/**
 * A writer of 1000-item batches every 1-20 ms that retries every failed batch
 * until it lands (1000 attempts, a breaker that opens only after 1000
 * failures): nothing may be dead-lettered while backends are terminated.
 */
export function retryingWriter<T>(flush: BatchWriterOptions<T>['flush']): BatchWriter<T> {
  return new BatchWriter<T>({
    flush,
    capacity: 5000,
    batchSize: 1000,
    minFlushIntervalMs: 1,
    maxFlushIntervalMs: 20,
    retry: { attempts: 1000, initialDelayMs: 5, maxDelayMs: 50 },
    breaker: { failureThreshold: 1000, resetAfterMs: 50 },
  });
}

/**
 * Writes `eventFor(1)`, `eventFor(2)`, … as fast as the writer lets it, 200 at
 * a time with a 5 ms pause (about 40,000 events a second: batches keep coming,
 * the table stays small enough to compare), `accepted(event)` for each the
 * writer took, until `stop()`. `done` settles once it has stopped.
 */
export function produce<T>(writer: BatchWriter<T>, eventFor: (id: number) => T, accepted: (event: T) => void): { stop(): void; done: Promise<void> } {
  let stopped = false;
  const done = (async () => {
    let id = 0;
    while (!stopped && !writer.closed) {
      for (let i = 0; i < 200; i++) {
        const event = eventFor(++id);
        if (await writer.write(event)) accepted(event);
      }
      await sleep(5);
    }
  })().catch((error: unknown) => {
    // Closed while blocked (a run that failed and is being cleaned up): the refused write was never accepted.
    if ((error as { code?: string }).code !== 'ERR_SLUICE_CLOSED') throw error;
  });
  return { stop: () => void (stopped = true), done };
}
