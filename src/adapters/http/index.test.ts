import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, InvalidOptionError } from '../../core/errors/index.js';
import { pressureLevels } from '../../core/pressure/index.js';
import { loadShed, LoadShedder } from './index.js';

function assertInvalidOption(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    assert.ok(error.message.includes(`"${field}"`), error.message);
    return true;
  });
}

/** Decisions for a sequence of readings, as 'S' (served) and 'X' (shed). */
function decisions(shed: LoadShedder, readings: number[], set: (value: number) => void): string {
  return readings.map((r) => (set(r), shed.admit() ? 'S' : 'X')).join('');
}

/** Deterministic uniform numbers in [0, 1) (a 32-bit LCG). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('loadShed() threshold mode', () => {
  it('admit() - serves at or below the threshold and sheds above it', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading });
    assert.equal(decisions(shed, [0, 0.5, 1, 1.01], (r) => (reading = r)), 'SSSX');
  });

  it('admit() - keeps shedding until the reading falls below resumeBelow (default 0.9 × threshold)', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading, threshold: 2 });
    assert.equal(shed.resumeBelow, 1.8);
    // over at 2.5, then 1.9 and 1.8 are still shed (hysteresis), 1.79 resumes, 1.9 is served again
    assert.equal(decisions(shed, [1.5, 2.5, 1.9, 1.8, 1.79, 1.9, 2, 2.1], (r) => (reading = r)), 'SXXXSSSX');
  });

  it('admit() - honours a custom resumeBelow', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading, resumeBelow: 0.5 });
    assert.equal(decisions(shed, [1.2, 0.9, 0.6, 0.5, 0.49, 0.99], (r) => (reading = r)), 'XXXXSS');
  });

  it('admit() - a NaN reading never sheds and ends shedding', () => {
    let reading = 5;
    const shed = loadShed({ pressure: () => reading });
    assert.equal(decisions(shed, [5, NaN, NaN, 0.95], (r) => (reading = r)), 'XSSS');
  });

  it('admit() - a reading that throws fails open: served, counted, last message kept, shedding ended', () => {
    let reading: number | Error = 5;
    const shed = loadShed({
      pressure: () => {
        if (reading instanceof Error) throw reading;
        return reading;
      },
    });
    assert.equal(shed.admit(), false); // 5: shedding
    reading = new RangeError('probe closed');
    assert.equal(shed.admit(), true);
    assert.equal(shed.admit(), true);
    reading = 0.5;
    assert.equal(shed.admit(), true);
    const stats = shed.stats();
    assert.deepEqual(
      { served: stats.served, shed: stats.shed, shedding: stats.shedding, pressure: stats.pressure, readErrors: stats.readErrors, lastReadError: stats.lastReadError },
      { served: 3, shed: 1, shedding: false, pressure: 0.5, readErrors: 2, lastReadError: 'RangeError: probe closed' },
    );
  });

  it('admit() - a thrown non-Error or a huge message is kept short', () => {
    let thrown: unknown = 'x'.repeat(10_000);
    const shed = loadShed({
      pressure: () => {
        throw thrown;
      },
    });
    assert.equal(shed.admit(), true);
    assert.equal(shed.stats().lastReadError!.length, 200);
    thrown = { toString: () => { throw new Error('nope'); } };
    assert.equal(shed.admit(), true);
    assert.equal(shed.stats().lastReadError, 'unprintable error');
    assert.equal(shed.stats().readErrors, 2);
  });

  it('stats() - counts served, shed and shedding episodes, and shows the last reading', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading });
    decisions(shed, [0.2, 1.5, 1.2, 0.1, 3, 0.7], (r) => (reading = r));
    assert.deepEqual(shed.stats(), {
      served: 3,
      shed: 3,
      shedding: false,
      shedEvents: 2,
      pressure: 0.7,
      mode: 'threshold',
      threshold: 1,
      resumeBelow: 0.9,
      readErrors: 0,
      lastReadError: undefined,
    });
    reading = 2;
    shed.admit();
    assert.equal(shed.stats().shedding, true);
  });

  it('loadShed() - accepts a Pressure object and a pressureLevels hierarchy', () => {
    let application = 0.5;
    const levels = pressureLevels({ application: { threshold: 0.8, source: () => application } });
    const shed = loadShed({ pressure: levels });
    assert.equal(shed.admit(), true);
    application = 0.9; // 1.125 × threshold
    assert.equal(shed.admit(), false);
    assert.equal(shed.stats().pressure, 0.9 / 0.8);
    const fromObject = loadShed({ pressure: { read: () => 3 } });
    assert.equal(fromObject.admit(), false);
  });
});

describe('loadShed() probabilistic mode', () => {
  it('admit() - never sheds at or below the threshold, whatever random returns', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading, mode: 'probabilistic', random: () => 0 });
    assert.equal(decisions(shed, [0, 0.5, 1], (r) => (reading = r)), 'SSS');
  });

  it('admit() - sheds with probability (reading - threshold) / threshold', () => {
    let reading = 0;
    let nextRandom = 0;
    const shed = loadShed({ pressure: () => reading, mode: 'probabilistic', threshold: 2, random: () => nextRandom });
    const cases: [reading: number, random: number, shed: boolean][] = [
      [2.5, 0.24, true], // chance 0.25
      [2.5, 0.25, false],
      [3, 0.49, true], // chance 0.5
      [3, 0.5, false],
      [3.8, 0.89, true], // chance 0.9
      [3.8, 0.9, false],
      [4, 0.9999, true], // chance 1 at twice the threshold
      [10, 0.9999, true],
    ];
    for (const [r, random, expectShed] of cases) {
      reading = r;
      nextRandom = random;
      assert.equal(shed.admit(), !expectShed, `reading ${r}, random ${random}`);
    }
  });

  it('admit() - the shed fraction follows the linear curve over many requests', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading, mode: 'probabilistic', random: seededRandom(42) });
    for (const [r, expected] of [
      [1.1, 0.1],
      [1.3, 0.3],
      [1.5, 0.5],
      [1.8, 0.8],
    ] as const) {
      reading = r;
      const before = shed.stats().shed;
      for (let i = 0; i < 10_000; i++) shed.admit();
      const fraction = (shed.stats().shed - before) / 10_000;
      assert.ok(Math.abs(fraction - expected) < 0.02, `reading ${r}: shed ${fraction}, expected ~${expected}`);
    }
  });

  it('admit() - has no hysteresis: serves again as soon as the reading is back at the threshold', () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading, mode: 'probabilistic', random: () => 0 });
    assert.equal(decisions(shed, [2, 1, 0.99], (r) => (reading = r)), 'XSS');
    assert.equal(shed.stats().shedEvents, 0);
  });
});

describe('loadShed() responses', () => {
  it('response() - is a 503 with Retry-After and the JSON body', async () => {
    const shed = loadShed({ pressure: () => 0, retryAfterSeconds: 7 });
    const response = shed.response();
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '7');
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await response.json(), { error: 'overloaded', retryAfter: 7 });
    assert.equal(shed.body, '{"error":"overloaded","retryAfter":7}');
  });

  it('fetch() - passes requests and extra arguments through when under, answers 503 when over', async () => {
    let reading = 0;
    const shed = loadShed({ pressure: () => reading });
    const seen: unknown[] = [];
    const handler = shed.fetch((request: Request, env: { tag: string }) => {
      seen.push(env.tag);
      return new Response(`hello ${new URL(request.url).pathname}`);
    });
    const ok = await handler(new Request('http://x/a'), { tag: 'env' });
    assert.equal(await ok.text(), 'hello /a');
    reading = 2;
    const over = await handler(new Request('http://x/b'), { tag: 'env2' });
    assert.equal(over.status, 503);
    assert.deepEqual(seen, ['env']);
  });

  it('node() / fetch() - reject a non-function handler with InvalidArgumentError', () => {
    const shed = loadShed({ pressure: () => 0 });
    assert.throws(() => shed.node(null as never), { code: ErrorCode.invalidArgument });
    assert.throws(() => shed.fetch('nope' as never), { code: ErrorCode.invalidArgument });
  });
});

describe('loadShed() options', () => {
  it('loadShed() - rejects invalid options with ERR_SLUICE_INVALID_OPTION naming the field', () => {
    const pressure = () => 0;
    assertInvalidOption(() => loadShed({} as never), 'pressure');
    assertInvalidOption(() => loadShed({ pressure: 0.5 as never }), 'pressure');
    assertInvalidOption(() => loadShed({ pressure: { value: 1 } as never }), 'pressure');
    assertInvalidOption(() => loadShed({ pressure, threshold: 0 }), 'threshold');
    assertInvalidOption(() => loadShed({ pressure, threshold: Infinity }), 'threshold');
    assertInvalidOption(() => loadShed({ pressure, mode: 'random' as never }), 'mode');
    assertInvalidOption(() => loadShed({ pressure, resumeBelow: 1.5 }), 'resumeBelow');
    assertInvalidOption(() => loadShed({ pressure, resumeBelow: 0 }), 'resumeBelow');
    assertInvalidOption(() => loadShed({ pressure, mode: 'probabilistic', resumeBelow: 0.5 }), 'resumeBelow');
    assertInvalidOption(() => loadShed({ pressure, retryAfterSeconds: -1 }), 'retryAfterSeconds');
    assertInvalidOption(() => loadShed({ pressure, retryAfterSeconds: 1.5 }), 'retryAfterSeconds');
    assertInvalidOption(() => loadShed({ pressure, random: 0.5 as never }), 'random');
    assertInvalidOption(() => loadShed(null as never), 'loadShed options');
  });

  it('loadShed() - defaults: threshold 1, threshold mode, resumeBelow 0.9, Retry-After 1', () => {
    const shed = loadShed({ pressure: () => 0 });
    assert.equal(shed.threshold, 1);
    assert.equal(shed.mode, 'threshold');
    assert.equal(shed.resumeBelow, 0.9);
    assert.equal(shed.retryAfterSeconds, 1);
    assert.ok(shed instanceof LoadShedder);
  });
});
