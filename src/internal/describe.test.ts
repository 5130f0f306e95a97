import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Channel } from '../core/channel/index.js';
import { InvalidOptionError } from '../core/errors/index.js';
import { SqliteStore } from '../adapters/sqlite/index.js';
import { describe as describeValue } from './describe.js';

describe('describe()', () => {
  it('describe() – primitives as written', () => {
    assert.equal(describeValue(5), '5');
    assert.equal(describeValue(-0.5), '-0.5');
    assert.equal(describeValue(Number.NaN), 'NaN');
    assert.equal(describeValue(true), 'true');
    assert.equal(describeValue(undefined), 'undefined');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(10n), '10n');
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue(Symbol('s')), 'Symbol(s)');
  });

  it('describe() – a long string is cut, with its length', () => {
    const text = describeValue('x'.repeat(1_000_000));
    assert.ok(text.length <= 100, text);
    assert.match(text, /^"x+"… \(a string of 1000000 characters\)$/);
    assert.equal(describeValue('y'.repeat(80)), `"${'y'.repeat(80)}"`);
  });

  it('describe() – functions, arrays and class instances by kind', () => {
    assert.equal(describeValue(() => 1), 'a function');
    assert.equal(describeValue(function flush() {}), 'a function flush()');
    assert.equal(describeValue(new Array(100_000).fill({ a: 1 })), 'an array of 100000 items');
    assert.equal(describeValue([1]), 'an array of 1 item');
    assert.equal(describeValue(new Map()), 'a Map instance');
    assert.equal(describeValue(new AbortController()), 'an AbortController instance');
    class Nameless {}
    Object.defineProperty(Nameless, 'name', { value: '' });
    assert.equal(describeValue(new Nameless()), 'an object');
  });

  it('describe() – small plain objects shown, larger ones by their keys', () => {
    assert.equal(describeValue({}), '{}');
    assert.equal(describeValue({ capacity: 10, overflow: 'block' }), '{ capacity: 10, overflow: "block" }');
    assert.equal(describeValue({ a: { nested: true } }), 'an object with key a');
    const huge: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) huge[`key${i}`] = 'v'.repeat(1000);
    const text = describeValue(huge);
    assert.ok(text.length <= 100, text);
    assert.match(text, /^an object with keys key0, key1, key2, .*… \(10000 keys\)$/);
    assert.equal(describeValue(Object.create(null)), '{}');
  });

  it('describe() – never throws, even for a revoked proxy or a throwing getter', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.equal(describeValue(proxy), 'an object');
    const nasty = {
      get a(): never {
        throw new Error('boom');
      },
    };
    assert.equal(describeValue(nasty), 'an object');
  });

  it('InvalidOptionError – a SqliteStore given as an invalid spill is named by class, not printed', async () => {
    const store = new SqliteStore<number>({ path: ':memory:' });
    try {
      // A store is an instance, not a DurableStore duck, when its methods are missing.
      const broken = Object.assign(Object.create(Object.getPrototypeOf(store) as object) as object, store, { append: undefined });
      assert.throws(
        () => new Channel({ spill: broken as never }),
        (error: InvalidOptionError) => {
          assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
          assert.equal(error.field, 'spill');
          assert.match(error.message, /got a SqliteStore instance; expected a DurableStore/);
          assert.ok(error.message.length < 200, error.message);
          return true;
        },
      );
    } finally {
      await store.close();
    }
  });

  it('InvalidOptionError – a huge value keeps the message short', () => {
    const error = new InvalidOptionError('thing', 'z'.repeat(50_000), 'a short string');
    assert.ok(error.message.length < 200, error.message);
  });
});

describe('argument errors quote values briefly', () => {
  it('setRate(), grant(), receiveBatch() and apply() – a huge argument is described, not printed', async () => {
    const { TokenBucket, Credits, Channel: Ch, streamPolicy } = await import('../index.js');
    const huge = 'q'.repeat(100_000);
    const errors: unknown[] = [];
    const capture = (fn: () => unknown): void => {
      try {
        fn();
      } catch (error) {
        errors.push(error);
      }
    };
    capture(() => new TokenBucket({ ratePerSecond: 1 }).setRate(huge as never));
    capture(() => new Credits({ initial: 1 }).grant(new Array(100_000).fill(huge) as never));
    capture(() => streamPolicy().apply([], huge as never));
    errors.push(await new Ch<number>().receiveBatch({ a: huge } as never).catch((e: unknown) => e));
    assert.equal(errors.length, 4);
    for (const error of errors as Error[]) {
      assert.equal((error as { code?: string }).code, 'ERR_SLUICE_INVALID_ARGUMENT', error.message);
      assert.ok(error.message.length < 250, error.message);
    }
    assert.match((errors[1] as Error).message, /got an array of 100000 items/);
  });
});
