import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Listeners } from './listeners.js';
import { InvalidArgumentError } from '../core/errors/index.js';

describe('Listeners', () => {
  it('emit() - hands each event, in order, to every listener in order', () => {
    const l = new Listeners<number>();
    const seen: string[] = [];
    l.add((e) => seen.push(`a${e}`));
    l.add((e) => seen.push(`b${e}`));
    l.emit(1, 2);
    assert.deepEqual(seen, ['a1', 'b1', 'a2', 'b2']);
  });

  it('add() - the returned function unsubscribes once, and a second call does nothing', () => {
    const l = new Listeners<number>();
    const seen: number[] = [];
    const f = (e: number) => seen.push(e);
    l.add(f);
    const off = l.add(f);
    off();
    off();
    l.emit(7);
    assert.deepEqual(seen, [7]);
    assert.equal(l.active, true);
  });

  it('emit() - a listener removed during an emit still gets that emit, not the next', () => {
    const l = new Listeners<number>();
    const seen: number[] = [];
    let offB = () => {};
    l.add(() => offB());
    offB = l.add((e) => seen.push(e));
    l.emit(1, 2);
    l.emit(3);
    assert.deepEqual(seen, [1, 2]);
  });

  it('emit() - a throwing listener does not stop the others; its error surfaces from a microtask', async () => {
    const l = new Listeners<number>();
    const seen: number[] = [];
    const boom = new Error('boom');
    l.add(() => {
      throw boom;
    });
    l.add((e) => seen.push(e));
    const uncaught: unknown[] = [];
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      assert.doesNotThrow(() => l.emit(5));
      assert.deepEqual(seen, [5]);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const o of original) process.on('uncaughtException', o);
    }
    assert.deepEqual(uncaught, [boom]);
  });

  it('add() - a non-function is a coded error naming the method', () => {
    const l = new Listeners<number>();
    assert.throws(() => l.add(42 as never, 'onChange'), (e: unknown) => e instanceof InvalidArgumentError && /onChange\(listener\)/.test(e.message) && e.code === 'ERR_SLUICE_INVALID_ARGUMENT');
    assert.equal(l.active, false);
  });
});
