// Issue 13 part 5: Sluice's CircuitBreaker side by side with opossum and
// cockatiel on the real clock (neither peer takes an injectable clock), against
// the same scenario: a downstream that fails half its calls for 10 s, then
// recovers. The three breakers run at the same time, each with its own
// downstream fed the same seeded coin flips, each called every 5 ms by one
// caller. Configured alike: a 1 s time window (10 buckets where the library
// has buckets), at least 10 calls in it, open at a 40% failure rate, 500 ms
// open, one probe. ~12 s.
//
// Figures (SLUICE_BREAKER_REPORT=1 prints them): calls that reached the
// failing downstream in all and while the breaker was not closed (the probes),
// calls refused, opens, and how long after the recovery each breaker closed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Opossum from 'opossum';
import { circuitBreaker, handleAll, SamplingBreaker, CircuitState, BrokenCircuitError } from 'cockatiel';
import { CircuitBreaker, BreakerOpenError } from '../../src/index.js';
import { mulberry32 } from '../../src/core/testing/prng.test-helpers.js';

const FAIL_MS = 10_000;
const AFTER_MS = 2_000;
const CALL_EVERY_MS = 5;
const RESET_MS = 500;
const WINDOW_MS = 1_000;
const THRESHOLD = 0.4;
const MINIMUM_CALLS = 10;

/** Seeded coin flips (mulberry32): the same for every downstream. */
function coin(seed: number): () => boolean {
  const random = mulberry32(seed);
  return () => random() < 0.5;
}

interface Figures {
  /** Calls that reached the downstream while it was failing. */
  reachedWhileFailing: number;
  failed: number;
  /** Of those, calls made while the breaker was open or half-open (probes). */
  reachedWhileNotClosed: number;
  refused: number;
  opens: number;
  /** ms from the recovery to the first call admitted with the breaker closed again. */
  recoveredAfterMs: number;
  afterRecoveryOk: number;
}

interface Subject {
  /** 'closed', 'open' or 'half-open' before the call. */
  state(): string;
  call(fn: () => Promise<void>): Promise<void>;
  isRefusal(error: unknown): boolean;
  opens(): number;
  close(): void;
}

async function drive(subject: Subject, start: number): Promise<Figures> {
  const flip = coin(13);
  const recoverAt = start + FAIL_MS;
  const end = recoverAt + AFTER_MS;
  const f: Figures = { reachedWhileFailing: 0, failed: 0, reachedWhileNotClosed: 0, refused: 0, opens: 0, recoveredAfterMs: Infinity, afterRecoveryOk: 0 };
  let stateAtCall = 'closed';
  const downstream = async (): Promise<void> => {
    const failing = performance.now() < recoverAt;
    if (failing) {
      f.reachedWhileFailing++;
      if (stateAtCall !== 'closed') f.reachedWhileNotClosed++;
      if (flip()) {
        f.failed++;
        throw new Error('downstream failed');
      }
    }
  };
  while (performance.now() < end) {
    stateAtCall = subject.state();
    const now = performance.now();
    if (now >= recoverAt && stateAtCall === 'closed' && f.recoveredAfterMs === Infinity) f.recoveredAfterMs = now - recoverAt;
    try {
      await subject.call(downstream);
      if (now >= recoverAt) f.afterRecoveryOk++;
    } catch (error) {
      if (subject.isRefusal(error)) f.refused++;
    }
    await sleep(CALL_EVERY_MS);
  }
  f.opens = subject.opens();
  subject.close();
  return f;
}

function sluiceSubject(): Subject {
  const breaker = new CircuitBreaker({
    window: 'time',
    windowMs: WINDOW_MS,
    windowBuckets: 10,
    minimumCalls: MINIMUM_CALLS,
    failureRateThreshold: THRESHOLD,
    resetAfterMs: RESET_MS,
    halfOpenProbes: 1,
  });
  return {
    state: () => breaker.state,
    call: (fn) => breaker.run(fn),
    isRefusal: (e) => e instanceof BreakerOpenError,
    opens: () => breaker.stats().opens,
    close: () => {},
  };
}

function opossumSubject(): Subject {
  const breaker = new Opossum((fn: () => Promise<void>) => fn(), {
    timeout: false,
    rollingCountTimeout: WINDOW_MS,
    rollingCountBuckets: 10,
    volumeThreshold: MINIMUM_CALLS,
    errorThresholdPercentage: THRESHOLD * 100,
    resetTimeout: RESET_MS,
  });
  let opens = 0;
  breaker.on('open', () => opens++);
  return {
    state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed'),
    call: (fn) => breaker.fire(fn),
    isRefusal: (e) => (e as { code?: string }).code === 'EOPENBREAKER',
    opens: () => opens,
    close: () => breaker.shutdown(),
  };
}

function cockatielSubject(): Subject {
  // minimumRps: 10 calls in the 1 s window before a rate counts.
  const policy = circuitBreaker(handleAll, {
    halfOpenAfter: RESET_MS,
    breaker: new SamplingBreaker({ threshold: THRESHOLD, duration: WINDOW_MS, minimumRps: MINIMUM_CALLS / (WINDOW_MS / 1000) }),
  });
  let opens = 0;
  policy.onBreak(() => opens++);
  const names: Record<number, string> = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'open' };
  return {
    state: () => names[policy.state]!,
    call: (fn) => policy.execute(fn),
    isRefusal: (e) => e instanceof BrokenCircuitError,
    opens: () => opens,
    close: () => {},
  };
}

describe('CircuitBreaker beside opossum and cockatiel (real time, ~12 s)', { timeout: 30_000 }, () => {
  it('run() - a downstream failing 50% for 10 s: no more calls reach it than with the peers, one probe per half-open; recovery within resetAfterMs + one probe', async () => {
    const start = performance.now();
    const [sluice, opossum, cockatiel] = await Promise.all([drive(sluiceSubject(), start), drive(opossumSubject(), start), drive(cockatielSubject(), start)]);
    const figures = { sluice, opossum, cockatiel };
    if (process.env.SLUICE_BREAKER_REPORT) console.log(JSON.stringify(figures, null, 2));
    for (const [name, f] of Object.entries(figures)) {
      assert.ok(f.opens >= 3, `${name} opened ${f.opens} times`);
      assert.ok(f.refused > 0, `${name} refused calls`);
      assert.ok(f.afterRecoveryOk > 100, `${name}: ${f.afterRecoveryOk} calls went through after the recovery`);
    }
    // The failing downstream is spared at least as well as by either peer.
    assert.ok(sluice.reachedWhileFailing <= opossum.reachedWhileFailing, JSON.stringify(figures));
    assert.ok(sluice.reachedWhileFailing <= cockatiel.reachedWhileFailing, JSON.stringify(figures));
    // While open nothing reaches it; each half-open period lets one probe through.
    assert.ok(sluice.reachedWhileNotClosed <= sluice.opens, JSON.stringify(sluice));
    // Recovery: the open period, then one probe (calls come every 5 ms; a busy machine adds timer lag).
    assert.ok(sluice.recoveredAfterMs <= RESET_MS + 150, `sluice closed ${sluice.recoveredAfterMs.toFixed(0)} ms after the recovery`);
  });
});
