import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelClosedError, InvalidArgumentError } from '../../core/errors/index.js';
import { VirtualClock } from '../../core/testing/index.js';
import { BrokerConsumerCore, type BrokerConsumerOptions, type BrokerSide } from './broker-consumer.js';
import { Slots } from './brokers.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

interface Entry {
  id: number;
}

/** A broker side that records what the core asked of it. */
function recorder(overrides: Partial<BrokerSide<number, Entry>> = {}) {
  const log: string[] = [];
  const side: BrokerSide<number, Entry> = {
    messageOf: (entry) => entry.id,
    open: async () => void log.push('open'),
    opened: () => void log.push('opened'),
    accepting: () => true,
    ack: (entry) => void log.push(`ack ${entry.id}`),
    requeue: (entry) => void log.push(`requeue ${entry.id}`),
    reject: (entry, error) => void log.push(`reject ${entry.id} ${(error as Error).message}`),
    giveBack: (entry) => void log.push(`giveBack ${entry.id}`),
    finished: (entry, elapsedMs) => void log.push(`finished ${entry.id} ${elapsedMs}ms`),
    close: async () => void log.push('close'),
    ...overrides,
  };
  return { log, side };
}

function options(overrides: Partial<BrokerConsumerOptions<number>> = {}): BrokerConsumerOptions<number> {
  return { pressure: undefined, resumeBelow: 0.5, requeue: true, onError: undefined, signal: undefined, clock: new VirtualClock(), ...overrides };
}

describe('BrokerConsumerCore', () => {
  it('process() - acks a success and settles a failure by the requeue rule, releasing the permit either way', async () => {
    const clock = new VirtualClock();
    const errors: unknown[] = [];
    const { log, side } = recorder();
    const requeue = (_error: unknown, message: number) => message === 2;
    const handler = async (message: number) => {
      await new Promise<void>((resolve) => clock.schedule(5, resolve));
      if (message !== 1) throw new Error(`boom ${message}`);
    };
    const core = new BrokerConsumerCore<number, Entry>(options({ clock, requeue, onError: (e) => errors.push(e) }), handler, side);
    const slots = new Slots(3);
    const runs = [1, 2, 3].map((id) => core.process({ id }, slots.tryAcquire()));
    assert.equal(core.running, 3);
    clock.advance(5);
    await Promise.all(runs);
    assert.deepEqual(log, ['ack 1', 'finished 1 5ms', 'requeue 2', 'finished 2 5ms', 'reject 3 boom 3', 'finished 3 5ms']);
    assert.deepEqual([core.acked, core.failed, core.requeued, core.running, core.maxRunning], [1, 2, 1, 0, 3]);
    assert.equal(slots.inflight, 0);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['boom 2', 'boom 3']);
  });

  it('dispatch() - runs in arrival order behind waiters; on stop, waiters go back unprocessed and stop() waits for close', async () => {
    let drained!: () => void;
    const empty = new Promise<void>((resolve) => (drained = resolve));
    const { log, side } = recorder({
      finished: (entry) => {
        log.push(`finished ${entry.id}`);
        drained();
      },
      close: async () => {
        log.push('close');
        await empty;
      },
    });
    const started: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const core = new BrokerConsumerCore<number, Entry>(options(), async (id) => {
      started.push(id);
      await gate;
    }, side);
    await core.start();
    const limiter = new Slots(1);
    for (const id of [1, 2, 3]) core.dispatch({ id }, limiter);
    assert.deepEqual([started, core.waiting], [[1], 2]);
    const stopped = core.stop();
    assert.equal(core.stop(), stopped, 'idempotent');
    assert.equal(core.state, 'stopping');
    await tick();
    assert.deepEqual(log.slice(2), ['close', 'giveBack 2', 'giveBack 3']);
    assert.equal(core.waiting, 0);
    assert.equal(core.state, 'stopping', 'still waiting for the running handler');
    release();
    await stopped;
    assert.equal(core.state, 'stopped');
    assert.deepEqual(started, [1]);
    assert.deepEqual(log.slice(5), ['ack 1', 'finished 1']);
  });

  it('dispatch() - a granted permit is not used once the side stops accepting', async () => {
    let accepting = true;
    const { log, side } = recorder({ accepting: () => accepting });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const core = new BrokerConsumerCore<number, Entry>(options(), () => gate, side);
    await core.start();
    const limiter = new Slots(1);
    core.dispatch({ id: 1 }, limiter);
    core.dispatch({ id: 2 }, limiter);
    accepting = false;
    release();
    await tick();
    assert.deepEqual(log.slice(2), ['ack 1', 'finished 1 0ms', 'giveBack 2']);
    assert.equal(limiter.inflight, 0, 'the unused permit is released');
  });

  it('start() - an aborted signal stops without opening and rejects with its reason', async () => {
    const { log, side } = recorder();
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    const core = new BrokerConsumerCore<number, Entry>(options({ signal: controller.signal }), () => undefined, side);
    await assert.rejects(core.start(), /cancelled/);
    assert.deepEqual(log, ['close']);
    assert.equal(core.state, 'stopped');
    await assert.rejects(core.start(), InvalidArgumentError);
  });

  it('start() - a failed open stops the consumer and rejects with the error; a stop during open rejects with ChannelClosedError', async () => {
    const failing = recorder({ open: async () => Promise.reject(new Error('no such queue')) });
    const core = new BrokerConsumerCore<number, Entry>(options(), () => undefined, failing.side);
    await assert.rejects(core.start(), /no such queue/);
    assert.deepEqual(failing.log, ['close']);

    const stopping = recorder({ open: async () => void racing.stop() });
    const racing = new BrokerConsumerCore<number, Entry>(options(), () => undefined, stopping.side);
    await assert.rejects(racing.start(), ChannelClosedError);
    assert.deepEqual(stopping.log, ['close'], 'never opened()');
  });

  it('readPressure() - a pressure source that throws is reported and keeps the state', async () => {
    const errors: unknown[] = [];
    let reading: number | Error = 2;
    const pressure = {
      read: () => {
        if (reading instanceof Error) throw reading;
        return reading;
      },
    };
    const { side } = recorder();
    const core = new BrokerConsumerCore<number, Entry>(options({ pressure, onError: (e) => errors.push(e) }), () => undefined, side);
    assert.equal(core.readPressure(), true);
    reading = new Error('sensor down');
    assert.equal(core.readPressure(), true);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['sensor down']);
  });
});
