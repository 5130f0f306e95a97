// Shared by the failover tests (test/redis/failover.test.ts with ioredis,
// test/redis/node-redis-failover.test.ts with node-redis): both kill, freeze and
// restart one PrivateRedis, so each test starts by bringing it back, closes its
// components even when it fails half way, and logs the degraded/recovered events.
import { afterEach } from 'node:test';
import type { DegradedEvent, RecoveredEvent } from '../../src/adapters/redis/index.js';
import { waitFor, type PrivateRedis } from './helpers.js';

/**
 * Registers an afterEach hook that closes what the returned function was given,
 * so no connection keeps the process alive after a failed test. Call once at
 * the top of the test file.
 */
export function closeAfterEach(): <C extends { close(): unknown }>(component: C) => C {
  const toClose: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const c of toClose.splice(0)) await c.close();
  });
  return (component) => {
    toClose.push(component);
    return component;
  };
}

/**
 * Restarts the private server if a test left it down or frozen, then waits
 * (5 s at most) until `ready()` says the file's clients have reconnected.
 */
export async function ensureUp(server: PrivateRedis, ready: () => boolean, what: string): Promise<void> {
  server.resume();
  try {
    await server.restart();
  } catch {
    // already running
  }
  if (!ready()) await waitFor(ready, 5000, what);
}

export interface EventLog {
  degraded: { at: number; event: DegradedEvent }[];
  recovered: { at: number; event: RecoveredEvent }[];
}

/** Records a component's degraded and recovered events with the time (performance.now()) each came. */
export function events(component: { on(event: 'degraded', l: (e: DegradedEvent) => void): () => void; on(event: 'recovered', l: (e: RecoveredEvent) => void): () => void }): EventLog {
  const log: EventLog = { degraded: [], recovered: [] };
  component.on('degraded', (event) => log.degraded.push({ at: performance.now(), event }));
  component.on('recovered', (event) => log.recovered.push({ at: performance.now(), event }));
  return log;
}
