import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConcurrencyLimiter, Permit, type ConcurrencyLimiterPartitionStats } from './index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

const NAMES = ['critical', 'batch', undefined] as const;
type Name = (typeof NAMES)[number];

type Op =
  | { kind: 'tryAcquire'; part: number }
  | { kind: 'acquire'; part: number; abortable: boolean }
  | { kind: 'release'; index: number; outcome: 'success' | 'dropped' | 'ignore' }
  | { kind: 'abort'; index: number }
  | { kind: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tryAcquire' as const), part: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('acquire' as const), part: fc.integer({ min: 0, max: 2 }), abortable: fc.boolean() }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat(), outcome: fc.constantFrom('success' as const, 'success' as const, 'dropped' as const, 'ignore' as const) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 50 }) }) },
);

interface Pending {
  id: number;
  name: Name;
  controller: AbortController | undefined;
  state: 'waiting' | 'granted' | 'rejected';
}

function partStats(limiter: ConcurrencyLimiter, name: Name): ConcurrencyLimiterPartitionStats {
  const s = limiter.stats();
  return name === undefined ? s.unpartitioned! : s.partitions![name]!;
}

/** A partition's share and its guarantee at the current limit. */
function expectedLimit(share: number, limit: number): number {
  return share < 1e-9 ? 0 : Math.ceil(limit * share - 1e-9);
}

describe('ConcurrencyLimiter partitions property', () => {
  it('acquire() / tryAcquire() / release - over random operations on an AIMD limit: counts add up, grants and refusals follow the rules, no waiter is left admissible, each partition is served in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ critical: fc.integer({ min: 1, max: 7 }), batch: fc.integer({ min: 1, max: 3 }) }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(opArb, { minLength: 1, maxLength: 80 }),
        async (tenths, initialLimit, ops) => {
          const shares = { critical: tenths.critical / 10, batch: tenths.batch / 10 };
          const clock = new VirtualClock();
          const limiter = new ConcurrencyLimiter({ algorithm: 'aimd', initialLimit, maxLimit: 16, backoffRatio: 0.5, timeoutMs: 30, clock, partitions: shares });
          const restShare = 1 - shares.critical - shares.batch;
          const shareOf = (name: Name) => (name === undefined ? restShare : shares[name]);
          const held: { permit: Permit; name: Name }[] = [];
          const pending: Pending[] = [];
          const grantOrder = new Map<Name, number[]>(NAMES.map((n) => [n, []]));
          let nextId = 0;
          let granted = 0;
          let refused = 0;
          let aborted = 0;

          const check = () => {
            const s = limiter.stats();
            const parts = NAMES.map((n) => partStats(limiter, n));
            assert.equal(parts.reduce((n, p) => n + p.inflight, 0), s.inflight, 'partition inflight adds up');
            assert.equal(s.inflight, held.length, 'inflight = permits held');
            assert.equal(parts.reduce((n, p) => n + p.waiting, 0), s.waiting, 'partition waiting adds up');
            assert.equal(s.waiting, pending.filter((p) => p.state === 'waiting').length, 'waiting = pending promises');
            assert.equal(s.acquired, granted);
            assert.equal(parts.reduce((n, p) => n + p.acquired, 0), granted);
            assert.equal(s.rejected, refused);
            assert.equal(s.aborted, aborted);
            NAMES.forEach((name, i) => {
              const p = parts[i]!;
              assert.equal(p.limit, expectedLimit(shareOf(name), s.limit), `guarantee of ${name ?? '(none)'} follows the limit`);
              assert.equal(p.inflight, held.filter((h) => h.name === name).length);
              if (p.waiting > 0) {
                assert.ok(s.inflight >= s.limit && p.inflight >= p.limit, `a waiter of ${name ?? '(none)'} was left admissible`);
              }
            });
          };

          for (const op of ops) {
            switch (op.kind) {
              case 'tryAcquire': {
                const name = NAMES[op.part]!;
                const before = limiter.stats();
                const p = partStats(limiter, name);
                const admissible = before.inflight < before.limit || p.inflight < p.limit;
                const permit = limiter.tryAcquire(name === undefined ? undefined : { partition: name });
                assert.equal(permit !== undefined, admissible, 'tryAcquire grants exactly when the rules allow');
                if (permit) {
                  granted++;
                  held.push({ permit, name });
                  assert.equal(permit.partition, name);
                } else {
                  refused++;
                }
                break;
              }
              case 'acquire': {
                const name = NAMES[op.part]!;
                const controller = op.abortable ? new AbortController() : undefined;
                const entry: Pending = { id: nextId++, name, controller, state: 'waiting' };
                pending.push(entry);
                limiter
                  .acquire({ ...(name === undefined ? {} : { partition: name }), ...(controller ? { signal: controller.signal } : {}) })
                  .then(
                    (permit) => {
                      granted++;
                      entry.state = 'granted';
                      held.push({ permit, name });
                      grantOrder.get(name)!.push(entry.id);
                    },
                    () => {
                      aborted++; // the only way a wait ends without a permit before close()
                      entry.state = 'rejected';
                    },
                  );
                break;
              }
              case 'release': {
                if (held.length === 0) break;
                const [h] = held.splice(op.index % held.length, 1);
                if (op.outcome === 'success') h!.permit.success();
                else if (op.outcome === 'dropped') h!.permit.dropped();
                else h!.permit.ignore();
                break;
              }
              case 'abort': {
                const waiting = pending.filter((p) => p.state === 'waiting' && p.controller);
                if (waiting.length === 0) break;
                waiting[op.index % waiting.length]!.controller!.abort();
                break;
              }
              case 'advance':
                clock.advance(op.ms);
                break;
            }
            await flushMicrotasks();
            check();
          }
          // Within a partition, queued callers are served first come, first served.
          for (const ids of grantOrder.values()) assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
          limiter.close();
          await flushMicrotasks();
          assert.ok(pending.every((p) => p.state !== 'waiting'), 'close() settles every waiter');
        },
      ),
      { numRuns: 300 },
    );
  });
});
