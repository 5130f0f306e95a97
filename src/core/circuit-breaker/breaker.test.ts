import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitBreakerState } from './index.js';
import { BreakerOpenError } from '../errors/index.js';
import { VirtualClock, flushMicrotasks } from '../testing/index.js';

function make(options: CircuitBreakerOptions = {}) {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, ...options });
  const changes: [CircuitBreakerState, CircuitBreakerState][] = [];
  breaker.onStateChange((state, previous) => changes.push([state, previous]));
  return { clock, breaker, changes };
}

const ok = (): string => 'ok';
const boom = (): never => {
  throw new Error('down');
};

/** Runs `fn` through the breaker and returns 'ok', the error's message, or 'refused' for BreakerOpenError. */
async function outcome(breaker: CircuitBreaker, fn: () => unknown): Promise<string> {
  try {
    await breaker.run(fn);
    return 'ok';
  } catch (error) {
    return error instanceof BreakerOpenError ? 'refused' : (error as Error).message;
  }
}

describe('CircuitBreaker', () => {
  it('run() - closed: returns what fn returns (value or promise) and counts successes', async () => {
    const { breaker } = make();
    assert.equal(await breaker.run(() => 7), 7);
    assert.equal(await breaker.run(async () => 'x'), 'x');
    const s = breaker.stats();
    assert.equal(s.state, 'closed');
    assert.equal(s.calls, 2);
    assert.equal(s.successes, 2);
    assert.equal(s.failureRate, 0);
  });

  it('run() - rethrows what fn throws or rejects with, as is, and counts the failure', async () => {
    const { breaker } = make();
    const error = new Error('db down');
    await assert.rejects(breaker.run(() => { throw error; }), (e) => e === error);
    await assert.rejects(breaker.run(() => Promise.reject(error)), (e) => e === error);
    assert.equal(breaker.stats().failures, 2);
  });

  it('run() - a failure rate at the threshold opens the breaker once minimumCalls are in the window, not before', async () => {
    const { breaker, changes } = make({ windowSize: 10, minimumCalls: 4, failureRateThreshold: 0.5 });
    await outcome(breaker, boom);
    await outcome(breaker, boom);
    await outcome(breaker, boom);
    assert.equal(breaker.state, 'closed', '3 of 3 failed, but fewer than minimumCalls');
    await outcome(breaker, ok);
    assert.equal(breaker.state, 'open', '3 of 4 = 75% >= 50%');
    assert.deepEqual(changes, [['open', 'closed']]);
    const s = breaker.stats();
    assert.equal(s.opens, 1);
    assert.equal(s.failureRate, 0.75);
    assert.equal(s.lastOpenedAt, 0);
  });

  it('run() - a rate under the threshold keeps it closed; the count window forgets the oldest calls', async () => {
    const { breaker } = make({ windowSize: 4, minimumCalls: 4, failureRateThreshold: 0.75 });
    for (const fn of [boom, boom, ok, ok, boom, ok]) await outcome(breaker, fn);
    // Window: ok ok boom ok (the first two failures left it).
    const s = breaker.stats();
    assert.equal(s.state, 'closed');
    assert.equal(s.windowCalls, 4);
    assert.equal(s.failureRate, 0.25);
    assert.equal(s.failures, 3);
  });

  it('run() - while open, refuses at once with BreakerOpenError (ERR_SLUICE_BREAKER_OPEN) without calling fn', async () => {
    const { breaker, clock } = make({ windowSize: 2, minimumCalls: 2, resetAfterMs: 1000 });
    await outcome(breaker, boom);
    await outcome(breaker, boom);
    clock.advance(400);
    let called = 0;
    await assert.rejects(
      breaker.run(() => called++),
      (e: unknown) => e instanceof BreakerOpenError && e.code === 'ERR_SLUICE_BREAKER_OPEN' && e.state === 'open' && e.retryAfterMs === 600 && /open for another 600 ms/.test(e.message),
    );
    assert.equal(called, 0);
    assert.equal(breaker.stats().rejected, 1);
    assert.equal(breaker.retryAfterMs, 600);
  });

  it('run() - after resetAfterMs one probe is admitted; its success closes the breaker with an empty window', async () => {
    const { breaker, clock, changes } = make({ windowSize: 2, minimumCalls: 2, resetAfterMs: 1000 });
    await outcome(breaker, boom);
    await outcome(breaker, boom);
    clock.advance(999);
    assert.equal(await outcome(breaker, ok), 'refused');
    clock.advance(1);
    let release!: () => void;
    const probe = breaker.run(() => new Promise<void>((resolve) => (release = resolve)));
    assert.equal(breaker.state, 'half-open');
    assert.equal(await outcome(breaker, ok), 'refused', 'the single probe is out');
    assert.equal(breaker.stats().probesInFlight, 1);
    release();
    await probe;
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(changes, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']]);
    assert.equal(breaker.stats().windowCalls, 0);
    await outcome(breaker, boom);
    assert.equal(breaker.state, 'closed', 'a fresh window: one failure is under minimumCalls');
  });

  it('run() - a failed probe re-opens the breaker for another resetAfterMs', async () => {
    const { breaker, clock } = make({ windowSize: 2, minimumCalls: 2, resetAfterMs: 1000 });
    await outcome(breaker, boom);
    await outcome(breaker, boom);
    clock.advance(1000);
    assert.equal(await outcome(breaker, boom), 'down');
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.stats().opens, 2);
    assert.equal(breaker.stats().lastOpenedAt, 1000);
    clock.advance(999);
    assert.equal(await outcome(breaker, ok), 'refused');
    clock.advance(1);
    assert.equal(await outcome(breaker, ok), 'ok');
    assert.equal(breaker.state, 'closed');
  });

  it('run() - halfOpenProbes: closes as soon as the probes cannot reach the threshold, re-opens as soon as they must', async () => {
    const { breaker, clock } = make({ windowSize: 2, minimumCalls: 2, resetAfterMs: 100, halfOpenProbes: 4, failureRateThreshold: 0.5 });
    const trip = async () => {
      await outcome(breaker, boom);
      await outcome(breaker, boom);
      clock.advance(100);
    };
    await trip();
    await outcome(breaker, ok);
    await outcome(breaker, ok);
    assert.equal(breaker.state, 'half-open', '2 of 4 left: 2 failures would reach 50%');
    await outcome(breaker, ok);
    assert.equal(breaker.state, 'closed', '1 left: at most 1 of 4 = 25% can fail');
    await trip();
    await outcome(breaker, boom);
    await outcome(breaker, ok);
    assert.equal(breaker.state, 'half-open');
    await outcome(breaker, boom);
    assert.equal(breaker.state, 'open', '2 of 4 failed: 50% whatever the last does');
  });

  it('run() - half-open with every probe out refuses with state half-open and retryAfterMs 0', async () => {
    const { breaker, clock } = make({ windowSize: 1, minimumCalls: 1, resetAfterMs: 10 });
    await outcome(breaker, boom);
    clock.advance(10);
    const probe = breaker.run(() => new Promise(() => {}));
    await assert.rejects(breaker.run(ok), (e: unknown) => e instanceof BreakerOpenError && e.state === 'half-open' && e.retryAfterMs === 0);
    void probe;
  });

  it('run() - slow calls open the breaker at slowCallRateThreshold, successes or not', async () => {
    const { breaker, clock } = make({ windowSize: 4, minimumCalls: 4, slowCallMs: 100, slowCallRateThreshold: 0.5 });
    const slow = () => new Promise<void>((resolve) => clock.schedule(100, resolve));
    const fast = () => new Promise<void>((resolve) => clock.schedule(99, resolve));
    for (const fn of [fast, slow, fast]) {
      const p = breaker.run(fn);
      await clock.advanceAsync(100);
      await p;
    }
    assert.equal(breaker.state, 'closed');
    const p = breaker.run(slow);
    await clock.advanceAsync(100);
    await p;
    assert.equal(breaker.state, 'open', '2 of 4 slow');
    const s = breaker.stats();
    assert.equal(s.slowCalls, 2);
    assert.equal(s.slowCallRate, 0.5);
    assert.equal(s.failures, 0);
  });

  it("run() - isFailure: errors it rejects count as successes and are still rethrown", async () => {
    const notFound = Object.assign(new Error('404'), { status: 404 });
    const { breaker } = make({ windowSize: 2, minimumCalls: 2, isFailure: (e) => (e as { status?: number }).status !== 404 });
    await assert.rejects(breaker.run(() => Promise.reject(notFound)), (e) => e === notFound);
    await assert.rejects(breaker.run(() => Promise.reject(notFound)), (e) => e === notFound);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats().successes, 2);
  });

  it('run() - a throwing isFailure counts the error as a failure', async () => {
    const { breaker } = make({ windowSize: 1, minimumCalls: 1, isFailure: () => { throw new Error('bug'); } });
    assert.equal(await outcome(breaker, boom), 'down');
    assert.equal(breaker.state, 'open');
  });

  it('run() - an already aborted signal rejects with its reason; fn does not run, nothing is counted', async () => {
    const { breaker } = make();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let called = false;
    await assert.rejects(breaker.run(() => (called = true), { signal: controller.signal }), /gone/);
    assert.equal(called, false);
    const s = breaker.stats();
    assert.equal(s.calls + s.rejected + s.ignored, 0);
  });

  it('run() - an abort while fn runs rejects at once; a later failure is ignored and gives the probe slot back', async () => {
    const { breaker, clock } = make({ windowSize: 1, minimumCalls: 1, resetAfterMs: 10 });
    await outcome(breaker, boom);
    clock.advance(10);
    const controller = new AbortController();
    let fail!: (e: unknown) => void;
    let seen: AbortSignal | undefined;
    const probe = breaker.run((signal) => {
      seen = signal;
      return new Promise((_, reject) => (fail = reject));
    }, { signal: controller.signal });
    assert.equal(seen, controller.signal, 'fn receives the signal');
    controller.abort(new Error('caller left'));
    await assert.rejects(probe, /caller left/);
    fail(new Error('cancelled'));
    await flushMicrotasks();
    const s = breaker.stats();
    assert.equal(s.state, 'half-open');
    assert.equal(s.ignored, 1);
    assert.equal(s.failures, 1, 'only the failure before the open');
    assert.equal(await outcome(breaker, ok), 'ok', 'the slot was given back');
    assert.equal(breaker.state, 'closed');
  });

  it('run() - an abort while fn runs, then a success: the success counts', async () => {
    const { breaker } = make();
    const controller = new AbortController();
    let succeed!: () => void;
    const call = breaker.run(() => new Promise<void>((resolve) => (succeed = resolve)), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(call, /stop/);
    succeed();
    await flushMicrotasks();
    assert.equal(breaker.stats().successes, 1);
  });

  it('run() - bad options reject with ERR_SLUICE_INVALID_OPTION, a non-function with ERR_SLUICE_INVALID_ARGUMENT', async () => {
    const { breaker } = make();
    await assert.rejects(breaker.run(ok, { sigal: undefined } as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /did you mean "signal"/ });
    await assert.rejects(breaker.run(ok, { signal: 5 } as never), { code: 'ERR_SLUICE_INVALID_OPTION' });
    await assert.rejects(breaker.run(42 as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /fn must be a function, got 42/ });
    assert.equal(breaker.stats().calls, 0);
  });

  it('tryAcquire()/record() - the same state machine without wrapping a function', () => {
    const { breaker, clock } = make({ windowSize: 3, minimumCalls: 3, failureRateThreshold: 1, resetAfterMs: 50 });
    for (let i = 0; i < 3; i++) {
      assert.equal(breaker.tryAcquire(), true);
      breaker.record('failure');
    }
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(breaker.stats().rejected, 1);
    clock.advance(50);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false, 'one probe');
    breaker.record('ignored');
    assert.equal(breaker.tryAcquire(), true, 'ignored gave the slot back');
    breaker.record('success', 5);
    assert.equal(breaker.state, 'closed');
  });

  it('record() - durationMs decides slowness; a bad outcome or duration throws ERR_SLUICE_INVALID_ARGUMENT', () => {
    const { breaker } = make({ slowCallMs: 10 });
    breaker.record('success', 10);
    breaker.record('success', 9);
    assert.equal(breaker.stats().slowCalls, 1);
    assert.throws(() => breaker.record('maybe' as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /'success', 'failure' or 'ignored'/ });
    assert.throws(() => breaker.record('success', -1), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /durationMs/ });
    assert.throws(() => breaker.record('success', NaN), { code: 'ERR_SLUICE_INVALID_ARGUMENT' });
  });

  it('record() - an outcome arriving while open is counted but changes nothing', () => {
    const { breaker } = make({ windowSize: 1, minimumCalls: 1 });
    breaker.record('failure');
    breaker.record('success');
    const s = breaker.stats();
    assert.equal(s.state, 'open');
    assert.equal(s.successes, 1);
  });

  it("window: 'time' - only the calls of the last windowMs count; whole buckets leave", () => {
    const { breaker, clock } = make({ window: 'time', windowMs: 1000, windowBuckets: 10, minimumCalls: 3, failureRateThreshold: 0.5 });
    breaker.record('failure'); // bucket 0 (0-99 ms)
    clock.advance(550);
    breaker.record('success'); // bucket 5
    breaker.record('success');
    assert.equal(breaker.stats().failureRate, 1 / 3);
    clock.advance(450); // t = 1000: bucket 0 leaves, bucket 10 starts
    assert.equal(breaker.stats().windowCalls, 2);
    breaker.record('failure');
    breaker.record('failure');
    assert.equal(breaker.state, 'open', '2 of 4 in the window');
    assert.equal(breaker.stats().failureRate, 0.5);
  });

  it("window: 'time' - after an idle gap longer than the window, it is empty", () => {
    const { breaker, clock } = make({ window: 'time', windowMs: 1000, windowBuckets: 4, minimumCalls: 2 });
    breaker.record('failure');
    clock.advance(5000);
    breaker.record('failure');
    const s = breaker.stats();
    assert.equal(s.state, 'closed');
    assert.equal(s.windowCalls, 1);
  });

  it('onStateChange() - unsubscribe stops notifications; a throwing listener does not stop the others', async () => {
    const { breaker } = make({ windowSize: 1, minimumCalls: 1 });
    const seen: string[] = [];
    const off = breaker.onStateChange((s) => seen.push(`a:${s}`));
    const thrown: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => thrown.push(e));
    try {
      breaker.onStateChange(() => {
        throw new Error('listener bug');
      });
      breaker.onStateChange((s) => seen.push(`b:${s}`));
      off();
      breaker.record('failure');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of original) process.on('uncaughtException', l);
    }
    assert.deepEqual(seen, ['b:open']);
    assert.equal((thrown[0] as Error).message, 'listener bug');
    assert.throws(() => breaker.onStateChange(1 as never), { code: 'ERR_SLUICE_INVALID_ARGUMENT', message: /breaker listener must be a function, got 1/ });
  });

  it('state - an idle breaker holds no timer: open turns half-open when read after resetAfterMs', () => {
    const { breaker, clock, changes } = make({ windowSize: 1, minimumCalls: 1, resetAfterMs: 500 });
    breaker.record('failure');
    assert.equal(clock.pending, 0);
    clock.advance(10_000);
    assert.deepEqual(changes, [['open', 'closed']], 'nothing happened while nobody looked');
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(changes.at(-1), ['half-open', 'open']);
  });

  it('constructor - invalid options throw InvalidOptionError naming the field', () => {
    const bad: [CircuitBreakerOptions, string][] = [
      [{ failureRateThreshold: 0 }, 'failureRateThreshold'],
      [{ failureRateThreshold: 1.5 }, 'failureRateThreshold'],
      [{ slowCallRateThreshold: 0 }, 'slowCallRateThreshold'],
      [{ slowCallMs: 0 }, 'slowCallMs'],
      [{ slowCallMs: Infinity }, 'slowCallMs'],
      [{ window: 'sliding' as never }, 'window'],
      [{ windowSize: 0 }, 'windowSize'],
      [{ windowSize: 1.5 }, 'windowSize'],
      [{ windowSize: 5, minimumCalls: 6 }, 'minimumCalls'],
      [{ minimumCalls: 0 }, 'minimumCalls'],
      [{ windowMs: 1000 }, 'windowMs'],
      [{ windowBuckets: 10 }, 'windowBuckets'],
      [{ window: 'time', windowSize: 10 }, 'windowSize'],
      [{ window: 'time', windowMs: 0 }, 'windowMs'],
      [{ window: 'time', windowBuckets: 0 }, 'windowBuckets'],
      [{ resetAfterMs: 0 }, 'resetAfterMs'],
      [{ halfOpenProbes: 0 }, 'halfOpenProbes'],
      [{ isFailure: 'yes' as never }, 'isFailure'],
      [{ clock: {} as never }, 'clock'],
      [{ name: '' }, 'name'],
      [{ resetAfterMS: 5 } as never, 'resetAfterMS'],
    ];
    for (const [options, field] of bad) {
      assert.throws(() => new CircuitBreaker(options), (e: unknown) => (e as { code?: string; field?: string }).code === 'ERR_SLUICE_INVALID_OPTION' && (e as { field: string }).field === field, field);
    }
  });

  it('constructor - defaults: 50%, a count window of 20 calls, 10 minimum calls, 30 s open, one probe, slow calls off', () => {
    const b = new CircuitBreaker();
    assert.equal(b.failureRateThreshold, 0.5);
    assert.equal(b.window, 'count');
    assert.equal(b.minimumCalls, 10);
    assert.equal(b.resetAfterMs, 30_000);
    assert.equal(b.halfOpenProbes, 1);
    assert.equal(b.slowCallMs, Infinity);
    assert.equal(new CircuitBreaker({ windowSize: 4 }).minimumCalls, 4, 'minimumCalls defaults to at most windowSize');
  });
});
