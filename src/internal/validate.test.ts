import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter } from '../core/concurrency-limiter/index.js';
import { InvalidOptionError } from '../core/errors/index.js';
import { callOptionsError, nearest, optionsObject } from './validate.js';

describe('nearest()', () => {
  it('nearest() – finds a deletion, an insertion, a substitution and a swap of neighbours', () => {
    const keys = ['capacity', 'overflow', 'highWatermark', 'lowWatermark', 'maxBlockMs'];
    assert.equal(nearest('capcity', keys), 'capacity');
    assert.equal(nearest('capacitty', keys), 'capacity');
    assert.equal(nearest('overflaw', keys), 'overflow');
    assert.equal(nearest('ovreflow', keys), 'overflow');
  });

  it('nearest() – ignores case', () => {
    assert.equal(nearest('maxblockms', ['capacity', 'maxBlockMs']), 'maxBlockMs');
    assert.equal(nearest('CAPACITY', ['capacity']), 'capacity');
  });

  it('nearest() – suggests nothing when every candidate is too far to be a typo', () => {
    assert.equal(nearest('limit', ['initialLimit', 'minLimit', 'maxLimit']), undefined);
    assert.equal(nearest('zzz', ['capacity']), undefined);
    assert.equal(nearest('x', []), undefined);
  });

  it('nearest() – allows 1 edit up to 4 characters, 2 up to 8, 3 beyond', () => {
    assert.equal(nearest('nme', ['name']), 'name');
    assert.equal(nearest('nm', ['name']), undefined);
    assert.equal(nearest('capcty', ['capacity']), 'capacity');
    assert.equal(nearest('hghWtrmark', ['highWatermark']), 'highWatermark');
  });
});

describe('optionsObject()', () => {
  const known = { capacity: true, overflow: true } as const;

  it('optionsObject() – returns the object when every key is known, and {} for undefined', () => {
    const o = { capacity: 5 };
    assert.equal(optionsObject<{ capacity?: number; overflow?: string }>(o, 'Thing', known), o);
    assert.deepEqual(optionsObject<{ capacity?: number; overflow?: string }>(undefined, 'Thing', known), {});
  });

  it('optionsObject() – rejects an unknown key with ERR_SLUICE_INVALID_OPTION naming it, the component, the nearest key and the allowed ones', () => {
    assert.throws(
      () => optionsObject({ capcity: 10 } as { capacity?: number; overflow?: string }, 'Thing', known),
      (error: InvalidOptionError) => {
        assert.ok(error instanceof InvalidOptionError);
        assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
        assert.equal(error.field, 'capcity');
        assert.equal(error.value, 10);
        assert.equal(error.message, 'Unknown option "capcity" for Thing: did you mean "capacity"? (allowed: capacity, overflow)');
        return true;
      },
    );
  });

  it('optionsObject() – rejects an unknown key even when its value is undefined', () => {
    assert.throws(() => optionsObject({ capcity: undefined } as object, 'Thing', known as never), /Unknown option "capcity"/);
  });

  it('optionsObject() – with known null leaves the keys to the caller', () => {
    const o = { anything: 1 };
    assert.equal(optionsObject(o, 'Levels', null), o);
  });

  it('optionsObject() – rejects a non-object with ERR_SLUICE_INVALID_OPTION', () => {
    assert.throws(() => optionsObject(5 as never, 'Thing', known as never), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"Thing options": got 5; expected an object/ });
  });

  it('optionsObject() – ignores inherited keys and reads only own ones', () => {
    const o = Object.create({ inherited: 1 }) as { capacity?: number };
    o.capacity = 3;
    assert.equal(optionsObject(o, 'Thing', { capacity: true }), o);
  });

  it('ConcurrencyLimiter – { limit: 0 } is an unknown key, not a fixed limit of 20 (the default initialLimit)', () => {
    assert.throws(() => new ConcurrencyLimiter({ limit: 0 } as never), (error: InvalidOptionError) => {
      assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.equal(error.field, 'limit');
      assert.match(error.message, /^Unknown option "limit" for ConcurrencyLimiter \(allowed: algorithm, initialLimit, /);
      return true;
    });
    assert.throws(() => new ConcurrencyLimiter({ initialLimit: 0 }), { code: 'ERR_SLUICE_INVALID_OPTION', message: /"initialLimit": got 0; expected an integer >= 1/ });
  });

  it('optionsObject() – quotes a huge unknown key briefly', () => {
    const key = 'k'.repeat(10_000);
    assert.throws(() => optionsObject({ [key]: 1 } as object, 'Thing', known as never), (error: Error) => error.message.length < 200);
  });
});

describe('callOptionsError()', () => {
  const spec = { signal: 'signal', timeoutMs: 'ms', flag: 'boolean' } as const;
  type Opts = { signal?: AbortSignal; timeoutMs?: number; flag?: boolean };

  it('callOptionsError() – accepts valid options, undefined values and no options', () => {
    assert.equal(callOptionsError<Opts>(undefined, 'send()', spec), undefined);
    assert.equal(callOptionsError<Opts>({ signal: new AbortController().signal, timeoutMs: 0, flag: true }, 'send()', spec), undefined);
    assert.equal(callOptionsError<Opts>({ signal: undefined, timeoutMs: undefined }, 'send()', spec), undefined);
  });

  it('callOptionsError() – returns an error for a wrong type, naming the key and the method', () => {
    const bad: [object, string, RegExp][] = [
      [{ signal: 'x' }, 'signal', /Invalid option "signal": got "x"; expected an AbortSignal \(in send\(\)\)/],
      [{ signal: {} }, 'signal', /expected an AbortSignal/],
      [{ timeoutMs: -5 }, 'timeoutMs', /got -5; expected a finite number >= 0/],
      [{ timeoutMs: Number.NaN }, 'timeoutMs', /got NaN/],
      [{ timeoutMs: '5' }, 'timeoutMs', /got "5"/],
      [{ flag: 1 }, 'flag', /expected true or false/],
    ];
    for (const [options, field, message] of bad) {
      const error = callOptionsError(options as Opts, 'send()', spec);
      assert.ok(error instanceof InvalidOptionError, JSON.stringify(options));
      assert.equal(error.code, 'ERR_SLUICE_INVALID_OPTION');
      assert.equal(error.field, field);
      assert.match(error.message, message);
    }
  });

  it('callOptionsError() – returns an error for an unknown key with a suggestion, and for a non-object', () => {
    assert.match(callOptionsError({ timeout: 5 } as Opts, 'send()', spec)!.message, /^Unknown option "timeout" for send\(\): did you mean "timeoutMs"\?/);
    assert.match(callOptionsError(5 as never, 'send()', spec)!.message, /"send\(\) options": got 5; expected an object/);
    assert.match(callOptionsError(null as never, 'send()', spec)!.message, /got null/);
  });
});
