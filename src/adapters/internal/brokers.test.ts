import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelClosedError, InvalidOptionError } from '../../core/errors/index.js';
import { PressureSwitch, resolveLimiter, shouldRequeue, Slots, tryPermit } from '../internal/brokers.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PressureSwitch', () => {
  it('check() - pauses above 1 and resumes only at or below resumeBelow', () => {
    let reading = 0;
    const sw = new PressureSwitch({ read: () => reading }, 0.5);
    const seen = [0.9, 1, 1.01, 0.8, 0.51, 0.5, 0.9, 1.2].map((r) => ((reading = r), sw.check() ? 'P' : '-')).join('');
    assert.equal(seen, '--PPP--P');
    assert.equal(sw.pauses, 2);
    assert.equal(sw.resumes, 1);
    assert.equal(sw.lastReading, 1.2);
  });

  it('check() - a NaN reading counts as 0; no pressure never pauses', () => {
    let reading = 2;
    const sw = new PressureSwitch({ read: () => reading }, 0.5);
    assert.equal(sw.check(), true);
    reading = NaN;
    assert.equal(sw.check(), false);
    assert.equal(new PressureSwitch(undefined, 0.5).check(), false);
  });
});

describe('Slots', () => {
  it('take() - admits up to the limit, then waiters in arrival order', async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    await slots.take();
    await slots.take();
    const waiting = [1, 2, 3].map((n) => slots.take().then(() => order.push(n)));
    assert.equal(slots.waiting, 3);
    assert.equal(slots.tryTake(), false, 'no jumping the queue');
    slots.release();
    slots.release();
    await tick();
    assert.deepEqual(order, [1, 2]);
    slots.release();
    await Promise.all(waiting);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(slots.inflight, 2);
    assert.equal(slots.peak, 2);
    assert.equal(slots.waitsStarted, 3);
  });

  it('take() - an abort while waiting rejects with the reason and holds no slot', async () => {
    const slots = new Slots(1);
    await slots.take();
    const controller = new AbortController();
    const reason = new Error('stop');
    const aborted = slots.take(controller.signal);
    const next = slots.take();
    controller.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    slots.release();
    await next;
    assert.equal(slots.inflight, 1);
    await assert.rejects(slots.take(AbortSignal.abort(reason)), (e) => e === reason);
  });

  it('close() - rejects waiters and later takes with ChannelClosedError', async () => {
    const slots = new Slots(1);
    await slots.take();
    const waiting = slots.take();
    slots.close();
    await assert.rejects(waiting, ChannelClosedError);
    await assert.rejects(slots.take(), ChannelClosedError);
    assert.equal(slots.closed, true);
  });

  it('acquire() - works as a limiter whose permits each free one slot', async () => {
    const slots = new Slots(1);
    const permit = await slots.acquire();
    assert.equal(tryPermit(slots), undefined);
    permit.success();
    assert.ok(tryPermit(slots));
  });
});

describe('option helpers', () => {
  it('resolveLimiter() - rejects an object that is not limiter-shaped, naming the field', () => {
    assert.throws(() => resolveLimiter('limiter', { limit: 1 }), (e: unknown) => e instanceof InvalidOptionError && e.field === 'limiter');
    assert.equal(resolveLimiter('limiter', undefined), undefined);
  });

  it('shouldRequeue() - applies a boolean or a function; a throwing function means requeue', () => {
    assert.equal(shouldRequeue(false, new Error(), {}), false);
    assert.equal(shouldRequeue(() => false, new Error(), {}), false);
    assert.equal(
      shouldRequeue(
        () => {
          throw new Error('bug');
        },
        new Error(),
        {},
      ),
      true,
    );
  });
});
