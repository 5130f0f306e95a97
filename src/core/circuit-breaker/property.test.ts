import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CircuitBreaker, type CircuitBreakerState, type CircuitBreakerStats } from './index.js';
import { VirtualClock } from '../testing/index.js';

// Random calls (started and finished apart, so several probes can be out),
// outcomes, durations and clock steps, against a reference model written the
// plain way: an array of every outcome with its time, filtered afresh on each
// read. After every step the breaker's stats and state changes must equal the
// model's.

interface Config {
  window: 'count' | 'time';
  windowSize: number;
  windowMs: number;
  windowBuckets: number;
  minimumCalls: number;
  failureRateThreshold: number;
  slowCallMs: number | undefined;
  slowCallRateThreshold: number;
  resetAfterMs: number;
  halfOpenProbes: number;
}

type Op =
  | { kind: 'call'; failure: boolean; durationMs: number }
  | { kind: 'start' }
  | { kind: 'finish'; index: number; outcome: 'success' | 'failure' | 'ignored'; durationMs: number }
  | { kind: 'advance'; ms: number };

const configArb: fc.Arbitrary<Config> = fc
  .record({
    window: fc.constantFrom('count' as const, 'time' as const),
    windowSize: fc.integer({ min: 1, max: 8 }),
    windowMs: fc.constantFrom(100, 250, 1000),
    windowBuckets: fc.constantFrom(1, 4, 10),
    minimumCalls: fc.integer({ min: 1, max: 8 }),
    failureRateThreshold: fc.constantFrom(0.1, 0.25, 1 / 3, 0.5, 0.75, 1),
    slowCallMs: fc.option(fc.constantFrom(10, 50), { nil: undefined }),
    slowCallRateThreshold: fc.constantFrom(0.5, 1),
    resetAfterMs: fc.constantFrom(20, 100, 500),
    halfOpenProbes: fc.integer({ min: 1, max: 4 }),
  })
  .map((c) => ({ ...c, minimumCalls: c.window === 'count' ? Math.min(c.minimumCalls, c.windowSize) : c.minimumCalls }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('call' as const), failure: fc.boolean(), durationMs: fc.integer({ min: 0, max: 80 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'start' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      index: fc.nat(),
      outcome: fc.constantFrom('success' as const, 'failure' as const, 'ignored' as const),
      durationMs: fc.integer({ min: 0, max: 80 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
);

/** The reference: the textbook description, recomputed from scratch on every read. */
class Model {
  state: CircuitBreakerState = 'closed';
  changes: [CircuitBreakerState, CircuitBreakerState][] = [];
  entries: { t: number; failure: boolean; slow: boolean }[] = [];
  /** The time the window was last brought up to date (it is frozen while not closed). */
  windowNow = 0;
  openUntil = 0;
  admitted = 0;
  settled = 0;
  probeFailures = 0;
  probeSlow = 0;
  successes = 0;
  failures = 0;
  slowCalls = 0;
  rejected = 0;
  ignored = 0;
  opens = 0;
  lastOpenedAt: number | undefined;

  constructor(
    readonly c: Config,
    readonly now: () => number,
  ) {}

  private inWindow(): { t: number; failure: boolean; slow: boolean }[] {
    if (this.c.window === 'count') return this.entries.slice(-this.c.windowSize);
    const width = this.c.windowMs / this.c.windowBuckets;
    const newest = Math.floor(this.windowNow / width);
    return this.entries.filter((e) => Math.floor(e.t / width) > newest - this.c.windowBuckets);
  }

  private go(next: CircuitBreakerState): void {
    this.changes.push([next, this.state]);
    this.state = next;
  }

  observe(): void {
    if (this.state === 'open' && this.now() >= this.openUntil) {
      this.admitted = this.settled = this.probeFailures = this.probeSlow = 0;
      this.go('half-open');
    }
    if (this.state === 'closed') this.windowNow = this.now();
  }

  tryAcquire(): boolean {
    this.observe();
    if (this.state === 'closed') return true;
    if (this.state === 'half-open' && this.admitted < this.c.halfOpenProbes) {
      this.admitted++;
      return true;
    }
    this.rejected++;
    return false;
  }

  record(outcome: 'success' | 'failure' | 'ignored', durationMs: number): void {
    if (outcome === 'ignored') {
      this.ignored++;
      if (this.state === 'half-open' && this.admitted > this.settled) this.admitted--;
      return;
    }
    const failure = outcome === 'failure';
    const slow = this.c.slowCallMs !== undefined && durationMs >= this.c.slowCallMs;
    if (failure) this.failures++;
    else this.successes++;
    if (slow) this.slowCalls++;
    this.observe();
    if (this.state === 'closed') {
      this.entries.push({ t: this.now(), failure, slow });
      const w = this.inWindow();
      const f = w.filter((e) => e.failure).length;
      const s = w.filter((e) => e.slow).length;
      if (w.length >= this.c.minimumCalls && (f / w.length >= this.c.failureRateThreshold || s / w.length >= this.c.slowCallRateThreshold)) this.open();
    } else if (this.state === 'half-open') {
      this.settled++;
      this.admitted = Math.max(this.admitted, this.settled);
      if (failure) this.probeFailures++;
      if (slow) this.probeSlow++;
      const n = this.c.halfOpenProbes;
      const left = n - this.settled;
      const ft = this.c.failureRateThreshold;
      const st = this.c.slowCallRateThreshold;
      if (this.probeFailures / n >= ft || this.probeSlow / n >= st) this.open();
      else if ((this.probeFailures + left) / n < ft && (this.probeSlow + left) / n < st) {
        this.entries = [];
        this.go('closed');
      }
    }
  }

  private open(): void {
    this.opens++;
    this.lastOpenedAt = this.now();
    this.openUntil = this.now() + this.c.resetAfterMs;
    this.go('open');
  }

  stats(): Omit<CircuitBreakerStats, 'calls'> {
    this.observe();
    const half = this.state === 'half-open';
    const w = this.inWindow();
    const calls = half ? this.settled : w.length;
    const f = half ? this.probeFailures : w.filter((e) => e.failure).length;
    const s = half ? this.probeSlow : w.filter((e) => e.slow).length;
    return {
      state: this.state,
      successes: this.successes,
      failures: this.failures,
      slowCalls: this.slowCalls,
      rejected: this.rejected,
      ignored: this.ignored,
      opens: this.opens,
      failureRate: calls === 0 ? 0 : f / calls,
      slowCallRate: calls === 0 ? 0 : s / calls,
      windowCalls: calls,
      probesInFlight: half ? this.admitted - this.settled : 0,
      lastOpenedAt: this.lastOpenedAt,
    };
  }
}

describe('CircuitBreaker property', () => {
  it('stats() / onStateChange() - random calls, outcomes, durations and clock steps match the reference model', () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 1, maxLength: 120 }), (config, ops) => {
        const clock = new VirtualClock();
        const { window, windowSize, windowMs, windowBuckets, slowCallMs, ...rest } = config;
        const breaker = new CircuitBreaker({
          ...rest,
          window,
          ...(window === 'count' ? { windowSize } : { windowMs, windowBuckets }),
          ...(slowCallMs === undefined ? {} : { slowCallMs }),
          clock,
        });
        const changes: [CircuitBreakerState, CircuitBreakerState][] = [];
        breaker.onStateChange((state, previous) => changes.push([state, previous]));
        const model = new Model(config, () => clock.now());
        let inFlight = 0;
        for (const [step, op] of ops.entries()) {
          if (op.kind === 'call') {
            const admitted = breaker.tryAcquire();
            assert.equal(admitted, model.tryAcquire(), `step ${step}: tryAcquire()`);
            if (admitted) {
              breaker.record(op.failure ? 'failure' : 'success', op.durationMs);
              model.record(op.failure ? 'failure' : 'success', op.durationMs);
            }
          } else if (op.kind === 'start') {
            const admitted = breaker.tryAcquire();
            assert.equal(admitted, model.tryAcquire(), `step ${step}: tryAcquire()`);
            if (admitted) inFlight++;
          } else if (op.kind === 'finish') {
            if (inFlight === 0) continue;
            inFlight--;
            breaker.record(op.outcome, op.durationMs);
            model.record(op.outcome, op.durationMs);
          } else {
            clock.advance(op.ms);
          }
          const { calls, ...actual } = breaker.stats();
          const expected = model.stats();
          assert.deepEqual(actual, expected, `step ${step} (${JSON.stringify(op)})`);
          assert.equal(calls, expected.successes + expected.failures);
          assert.deepEqual(changes, model.changes, `step ${step}: state changes`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
