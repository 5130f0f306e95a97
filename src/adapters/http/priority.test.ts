import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, InvalidOptionError } from '../../core/errors/index.js';
import { loadShed, type NodeResponseLike } from './index.js';

interface Req {
  level?: unknown;
}

const thresholds = { batch: 0.8, normal: 1, critical: 1.5 };

/** A shedder on an injected pressure, with the request's level as `req.level`. */
function byLevel(extra: object = {}) {
  let reading = 0;
  const shed = loadShed<Req>({ pressure: () => reading, priority: (req) => req.level as string | undefined, thresholds, ...extra });
  return {
    shed,
    set: (value: number) => (reading = value),
    /** 'S' served or 'X' shed, for one request of each level at this reading. */
    at(value: number, levels: string[] = ['batch', 'normal', 'critical']): string {
      reading = value;
      return levels.map((level) => (shed.admit({ level }) ? 'S' : 'X')).join('');
    },
  };
}

function isInvalidOption(field: string, ...mentions: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.invalidOption);
    assert.equal(error.field, field);
    for (const text of mentions) assert.ok(error.message.includes(text), `"${error.message}" mentions ${text}`);
    return true;
  };
}

class FakeResponse implements NodeResponseLike {
  status = 0;
  body = '';
  writeHead(statusCode: number): this {
    this.status = statusCode;
    return this;
  }
  end(body: string): this {
    if (this.status === 0) this.status = 200;
    this.body = body;
    return this;
  }
}

describe('loadShed() priorities', () => {
  it('admit() - under rising pressure the lowest level is shed first and the most critical last', () => {
    const { at } = byLevel();
    // batch | normal | critical
    assert.equal(at(0.5), 'SSS');
    assert.equal(at(0.81), 'XSS', 'above batch 0.8');
    assert.equal(at(1.01), 'XXS', 'above normal 1');
    assert.equal(at(1.49), 'XXS');
    assert.equal(at(1.51), 'XXX', 'above critical 1.5');
  });

  it('admit() - each level has its own hysteresis: it resumes below 0.9 × its own threshold', () => {
    const { shed, at } = byLevel();
    assert.equal(at(1.6), 'XXX');
    assert.equal(at(1.35), 'XXX', 'critical sheds until below 1.35');
    assert.equal(at(1.34), 'XXS');
    assert.equal(at(0.9), 'XXS', 'normal sheds until below 0.9');
    assert.equal(at(0.89), 'XSS');
    assert.equal(at(0.73), 'XSS', 'batch sheds until below 0.72');
    assert.equal(at(0.71), 'SSS');
    const levels = shed.stats().levels!;
    assert.deepEqual(Object.fromEntries(Object.entries(levels).map(([n, l]) => [n, l.resumeBelow])), { batch: 0.9 * 0.8, normal: 0.9, critical: 0.9 * 1.5 });
  });

  it('admit() - an unknown level is served or shed as the lowest level, counted, and never throws', () => {
    const { shed, set } = byLevel();
    set(0.9); // batch is shed, normal and critical are served
    assert.equal(shed.admit({ level: 'vip' }), false, 'unknown string: lowest (batch)');
    assert.equal(shed.admit({ level: undefined }), false, 'no level: lowest');
    assert.equal(shed.admit({ level: 42 }), false, 'not a string: lowest');
    assert.equal(shed.admit({ level: 'critical' }), true);
    set(0.5);
    assert.equal(shed.admit({ level: 'vip' }), true, 'served like batch when batch is served');
    const stats = shed.stats();
    assert.equal(stats.unknownLevels, 4);
    assert.equal(stats.lastUnknownLevel, '"vip"');
    assert.deepEqual([stats.levels!.batch!.shed, stats.levels!.batch!.served], [3, 1], 'counted under the lowest level');
  });

  it('admit() - a priority function that throws is treated like an unknown level and its error described', () => {
    let reading = 0.9;
    const shed = loadShed<Req>({
      pressure: () => reading,
      priority: () => {
        throw new TypeError('no headers');
      },
      thresholds,
    });
    assert.equal(shed.admit({}), false);
    reading = 0.5;
    assert.equal(shed.admit({}), true);
    assert.deepEqual([shed.stats().unknownLevels, shed.stats().lastUnknownLevel], [2, 'threw TypeError: no headers']);
  });

  it('admit() - the lowest level is the one with the lowest threshold, whatever the key order', () => {
    let reading = 1.2;
    const shed = loadShed<Req>({ pressure: () => reading, priority: (req) => req.level as string, thresholds: { critical: 2, bulk: 1 } });
    assert.equal(shed.threshold, 1, 'the shedder starts shedding at the lowest threshold');
    assert.equal(shed.admit({ level: 'unknown' }), false, 'shed like bulk');
    reading = 0.5;
    assert.equal(shed.admit({ level: 'unknown' }), true);
  });

  it('stats() - per level served, shed, shedding and shedEvents, adding up to the totals', () => {
    const { shed, at } = byLevel();
    at(0.5);
    at(1.2);
    at(1.6);
    at(0.5);
    const s = shed.stats();
    assert.deepEqual(s.levels, {
      batch: { threshold: 0.8, resumeBelow: 0.9 * 0.8, served: 2, shed: 2, shedding: false, shedEvents: 1 },
      normal: { threshold: 1, resumeBelow: 0.9, served: 2, shed: 2, shedding: false, shedEvents: 1 },
      critical: { threshold: 1.5, resumeBelow: 0.9 * 1.5, served: 3, shed: 1, shedding: false, shedEvents: 1 },
    });
    assert.deepEqual([s.served, s.shed, s.shedEvents, s.shedding, s.threshold, s.unknownLevels], [7, 5, 3, false, 0.8, 0]);
    at(0.85, ['batch']);
    assert.equal(shed.stats().shedding, true, 'shedding while any level is');
  });

  it('admit() - probabilistic mode gives each level its own ramp from its threshold to twice it', () => {
    let r = 0;
    let reading = 0;
    const shed = loadShed<Req>({ pressure: () => reading, priority: (req) => req.level as string, thresholds: { batch: 1, critical: 2 }, mode: 'probabilistic', random: () => r });
    reading = 1.5; // batch: chance 0.5; critical: none
    r = 0.49;
    assert.deepEqual([shed.admit({ level: 'batch' }), shed.admit({ level: 'critical' })], [false, true]);
    r = 0.51;
    assert.equal(shed.admit({ level: 'batch' }), true);
    reading = 3; // batch: certain; critical: chance 0.5
    assert.deepEqual([shed.admit({ level: 'batch' }), shed.admit({ level: 'critical' })], [false, true]);
    r = 0.2;
    assert.equal(shed.admit({ level: 'critical' }), false);
  });

  it('node() - priority gets the request; a shed request gets the 503, an unknown level no 500', () => {
    let reading = 0.9;
    const seen: unknown[] = [];
    const shed = loadShed<{ headers: Record<string, string> }>({
      pressure: () => reading,
      priority: (req) => (seen.push(req), req.headers['x-priority']),
      thresholds,
    });
    const listener = shed.node((_req: { headers: Record<string, string> }, res: FakeResponse) => res.end('ok'));
    const critical = { headers: { 'x-priority': 'critical' } };
    const batch = { headers: { 'x-priority': 'batch' } };
    const bogus = { headers: { 'x-priority': '💥'.repeat(300) } };
    const answers = [critical, batch, bogus].map((req) => {
      const res = new FakeResponse();
      listener(req, res);
      return res.status;
    });
    assert.deepEqual(answers, [200, 503, 503]);
    assert.deepEqual(seen, [critical, batch, bogus]);
    assert.ok(shed.stats().lastUnknownLevel!.length <= 200, 'a huge level is kept short');
    reading = 0;
    const res = new FakeResponse();
    listener(bogus, res);
    assert.equal(res.status, 200);
  });

  it('express, fastify, hono and fetch - priority gets what each framework passes first', async () => {
    const seen: unknown[] = [];
    const shed = loadShed<unknown>({ pressure: () => 1.2, priority: (x) => (seen.push(x), 'critical'), thresholds });
    let nexts = 0;
    const req = { url: '/a' };
    shed.express(req, new FakeResponse(), () => nexts++);
    const request = { id: 1 };
    shed.fastify(request, { code: () => assert.fail(), headers: () => assert.fail(), send: () => assert.fail() } as never, () => nexts++);
    const c = { req: {} };
    await shed.hono(c, async () => {
      nexts++;
    });
    const fetchRequest = new Request('http://localhost/x');
    const response = await shed.fetch(() => new Response('ok'))(fetchRequest);
    assert.equal(response.status, 200);
    assert.equal(nexts, 3);
    assert.deepEqual(seen, [req, request, c, fetchRequest]);
  });
});

describe('loadShed() priorities: options', () => {
  const pressure = () => 0;
  const priority = () => 'batch';
  const bad: [string, object, string, string[]][] = [
    ['thresholds without priority', { pressure, thresholds }, 'priority', ['function']],
    ['priority without thresholds', { pressure, priority }, 'thresholds', ['required with priority']],
    ['a single threshold with thresholds', { pressure, priority, thresholds, threshold: 1 }, 'threshold', ['no value with thresholds']],
    ['resumeBelow with thresholds', { pressure, priority, thresholds, resumeBelow: 0.5 }, 'resumeBelow', ['no value with thresholds']],
    ['empty thresholds', { pressure, priority, thresholds: {} }, 'thresholds', ['no levels']],
    ['a threshold of 0', { pressure, priority, thresholds: { batch: 0 } }, 'thresholds.batch', ['> 0']],
    ['a NaN threshold', { pressure, priority, thresholds: { batch: NaN } }, 'thresholds.batch', []],
    ['thresholds as an array', { pressure, priority, thresholds: [1] }, 'thresholds', []],
    ['a priority that is not a function', { pressure, priority: 'critical', thresholds }, 'priority', []],
  ];
  for (const [what, options, field, mentions] of bad) {
    it(`loadShed() - rejects ${what} with ERR_SLUICE_INVALID_OPTION naming ${field}`, () => {
      assert.throws(() => loadShed(options as never), isInvalidOption(field, ...mentions));
    });
  }

  it('loadShed() - without priority, stats() has no level fields', () => {
    const s = loadShed({ pressure }).stats();
    assert.equal('levels' in s, false);
    assert.equal('unknownLevels' in s, false);
  });
});
