import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineScenario, type Contender, type ContenderOptions, type RunOutcome } from '../lib/types.js';
import type { SqliteDriver, SqliteFsync, SqliteStore } from '../../src/adapters/sqlite/index.js';
import type { DurableChannel } from '../../src/core/durable-channel/index.js';

/**
 * Durable appends per second on SQLite (WAL, on the benchmark machine's disk,
 * a fresh file per run). Every item counted is committed (its promise
 * resolved) and the worker checks the file holds exactly that many rows.
 * Target: at least 100,000 items/s through DurableChannel with 100 producers.
 *
 * Every contender runs on both drivers, side by side: the plain name is
 * node:sqlite (the default), `-bs3` is better-sqlite3. The expectations print
 * each pair's ratio.
 */

interface Item {
  id: number;
  value: number;
}

type Modules = {
  SqliteStore: typeof SqliteStore;
  DurableChannel: typeof DurableChannel;
};
let modules: Modules | undefined;
async function load(): Promise<Modules> {
  if (modules) return modules;
  const [sqlite, durable] = await Promise.all([import('../../src/adapters/sqlite/index.js'), import('../../src/core/durable-channel/index.js')]);
  return (modules = { SqliteStore: sqlite.SqliteStore, DurableChannel: durable.DurableChannel });
}

/** A fresh database file for one run, removed afterwards. */
async function withStore(
  driver: SqliteDriver,
  fsync: SqliteFsync,
  run: (store: SqliteStore<Item>, m: Modules) => Promise<number>,
): Promise<RunOutcome> {
  const m = await load();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-sqlite-'));
  const store = new m.SqliteStore<Item>({ path: join(dir, 'bench.db'), fsync, driver });
  try {
    const items = await run(store, m);
    const stored = await store.size();
    const { commits, appended } = store.stats();
    return {
      items,
      checks: [{ what: 'rows in the file', expected: items, actual: stored }],
      metrics: { perCommit: commits === 0 ? 0 : appended / commits, commits },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `producers` concurrent loops, each awaiting `channel.send()` before its next item. */
function durableChannel(driver: SqliteDriver, fsync: SqliteFsync, producers: number): Contender {
  const contender = ({ n }: ContenderOptions) =>
    withStore(driver, fsync, async (store, m) => {
      const channel = new m.DurableChannel<Item>({ store, capacity: n + 1 });
      await channel.ready();
      const perProducer = Math.floor(n / producers);
      await Promise.all(
        Array.from({ length: producers }, async (_, p) => {
          for (let i = 0; i < perProducer; i++) {
            const id = p * perProducer + i;
            await channel.send({ id, value: id & 1023 });
          }
        }),
      );
      await channel.detach();
      return perProducer * producers;
    });
  return Object.assign(contender, { prepare: async () => void (await load()) });
}

/** `producers` concurrent loops calling `store.append([item])` directly: the store's own group commit. */
function storeAppend(driver: SqliteDriver, fsync: SqliteFsync, producers: number): Contender {
  const contender = ({ n }: ContenderOptions) =>
    withStore(driver, fsync, async (store) => {
      const perProducer = Math.floor(n / producers);
      await Promise.all(
        Array.from({ length: producers }, async (_, p) => {
          for (let i = 0; i < perProducer; i++) {
            const id = p * perProducer + i;
            await store.append([{ id, value: id & 1023 }]);
          }
        }),
      );
      return perProducer * producers;
    });
  return Object.assign(contender, { prepare: async () => void (await load()) });
}

/** One transaction (and fsync) per item: the naive loop. Runs n / 10 items so it ends in reasonable time. */
function naive(driver: SqliteDriver): Contender {
  return Object.assign(
    ({ n }: ContenderOptions) =>
      withStore(driver, 'always', async (store) => {
        const count = Math.max(1, Math.floor(n / 10));
        for (let id = 0; id < count; id++) await store.append([{ id, value: id & 1023 }]);
        return count;
      }),
    { prepare: async () => void (await load()) },
  );
}

/** Each workload once per driver, better-sqlite3 (`-bs3`) right after node:sqlite, so pairs sit together in the table. */
const workloads: Record<string, { note: string; make: (driver: SqliteDriver) => Contender }> = {
  'naive-always': {
    note: "SqliteStore fsync 'always', one producer, await append([item]): one transaction + fsync per item",
    make: naive,
  },
  'channel-batch-1': {
    note: "DurableChannel on SqliteStore fsync 'batch', 1 producer awaiting each send()",
    make: (driver) => durableChannel(driver, 'batch', 1),
  },
  'channel-batch-10': {
    note: "DurableChannel on SqliteStore fsync 'batch', 10 concurrent producers awaiting each send()",
    make: (driver) => durableChannel(driver, 'batch', 10),
  },
  'channel-batch-100': {
    note: "DurableChannel on SqliteStore fsync 'batch', 100 concurrent producers awaiting each send() (target >= 100,000 items/s)",
    make: (driver) => durableChannel(driver, 'batch', 100),
  },
  'channel-always-100': {
    note: "DurableChannel on SqliteStore fsync 'always', 100 producers: the channel's own group commit alone",
    make: (driver) => durableChannel(driver, 'always', 100),
  },
  'store-batch-100': {
    note: "SqliteStore fsync 'batch' used directly, 100 producers awaiting append([item]): the store's group commit alone",
    make: (driver) => storeAppend(driver, 'batch', 100),
  },
  'channel-os-100': {
    note: "DurableChannel on SqliteStore fsync 'os' (no fsync), 100 producers: the ceiling without the disk flush",
    make: (driver) => durableChannel(driver, 'os', 100),
  },
};
const drivers: readonly [SqliteDriver, string, string][] = [
  ['node:sqlite', '', 'node:sqlite'],
  ['better-sqlite3', '-bs3', 'better-sqlite3'],
];
const contenders: Record<string, Contender> = {};
const notes: Record<string, string> = {};
for (const [name, { note, make }] of Object.entries(workloads)) {
  for (const [driver, suffix, label] of drivers) {
    contenders[name + suffix] = make(driver);
    notes[name + suffix] = `${label}: ${note}`;
  }
}

export default defineScenario({
  name: 'sqlite',
  description:
    "durable appends/s on SQLite (WAL): DurableChannel + SqliteStore fsync 'batch' at 1/10/100 producers vs one fsync per item, " +
    'each on node:sqlite (default) and better-sqlite3 (-bs3)',
  baseline: 'naive-always',
  defaultN: 200_000,
  quickN: 40_000,
  nLabel: 'items per run (naive-always: n / 10)',
  metricColumns: { perCommit: 'items/commit' },
  expectations: [
    { contender: 'channel-batch-100', reference: 'naive-always', atLeast: 20 },
    { contender: 'channel-batch-10', reference: 'naive-always', atLeast: 5 },
    { contender: 'channel-batch-100-bs3', reference: 'naive-always-bs3', atLeast: 20 },
    // The default driver should cost little against the native addon: within 20 % on every workload.
    ...Object.keys(workloads).map((name) => ({ contender: name, reference: `${name}-bs3`, atLeast: 0.8 })),
  ],
  notes,
  contenders,
});
