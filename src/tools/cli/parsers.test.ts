import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { burstArg, durationArg, factorArg, fractionArg, integerArg, rateArg, sizeArg } from './parsers.js';

const invalid = (fn: () => unknown, text: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof InvalidArgumentError && text.test(e.message));

describe('CLI argument parsers', () => {
  it('durationArg() - reads ms, s, m, min, h, d and compounds', () => {
    assert.equal(durationArg('250ms'), 250);
    assert.equal(durationArg('30s'), 30_000);
    assert.equal(durationArg('2m'), 120_000);
    assert.equal(durationArg('2min'), 120_000);
    assert.equal(durationArg('1h'), 3_600_000);
    assert.equal(durationArg('1h30m'), 5_400_000);
    assert.equal(durationArg('0.5s'), 500);
    assert.equal(durationArg('1d'), 86_400_000);
  });

  it('durationArg() - refuses bare numbers, unknown units and zero', () => {
    for (const bad of ['30', '30x', 's', '', '0', '-1s', '1h 30']) invalid(() => durationArg(bad), /Expected a duration such as 250ms, 5s/);
  });

  it('rateArg() - reads per second, per minute, per hour and k/M', () => {
    assert.equal(rateArg('1000/s'), 1000);
    assert.equal(rateArg('1000'), 1000);
    assert.equal(rateArg('60/min'), 1);
    assert.equal(rateArg('3600/h'), 1);
    assert.equal(rateArg('1.5k/s'), 1500);
    assert.equal(rateArg('2M/s'), 2_000_000);
    assert.equal(rateArg('2/ms'), 2000);
  });

  it('rateArg() - refuses other units and zero', () => {
    for (const bad of ['1000/x', 'fast', '0/s', '-5/s']) invalid(() => rateArg(bad), /Expected a rate such as 1000\/s/);
  });

  it('sizeArg() - reads bytes, decimal and binary units', () => {
    assert.equal(sizeArg('512'), 512);
    assert.equal(sizeArg('512B'), 512);
    assert.equal(sizeArg('1KB'), 1000);
    assert.equal(sizeArg('1KiB'), 1024);
    assert.equal(sizeArg('64MiB'), 64 * 1024 ** 2);
    assert.equal(sizeArg('1.5GB'), 1.5e9);
    invalid(() => sizeArg('12 parsecs'), /Expected a size such as 512/);
    invalid(() => sizeArg('0'), /Expected a size/);
  });

  it('fractionArg() - reads percentages and fractions within [0, 1]', () => {
    assert.equal(fractionArg('0.1%'), 0.001);
    assert.equal(fractionArg('5%'), 0.05);
    assert.equal(fractionArg('0.25'), 0.25);
    assert.equal(fractionArg('0'), 0);
    for (const bad of ['150%', '2', 'lots']) invalid(() => fractionArg(bad), /Expected a fraction between 0 and 1/);
  });

  it('burstArg() - reads factor x : duration', () => {
    assert.deepEqual(burstArg('100x:20s'), { factor: 100, durationMs: 20_000 });
    assert.deepEqual(burstArg('2.5X:1m'), { factor: 2.5, durationMs: 60_000 });
    for (const bad of ['100x', '100:20s', '1x:20s', '10x:0s', 'x:1s']) invalid(() => burstArg(bad), /Expected a burst such as 100x:20s/);
  });

  it('integerArg() - enforces the range', () => {
    const port = integerArg(0, 65_535);
    assert.equal(port('0'), 0);
    assert.equal(port('8080'), 8080);
    for (const bad of ['-1', '65536', '1.5', 'abc', '']) invalid(() => port(bad), /Expected an integer from 0 to 65535/);
  });

  it('factorArg() - wants a number above 1', () => {
    assert.equal(factorArg('1.5'), 1.5);
    for (const bad of ['1', '0.5', 'x', '']) invalid(() => factorArg(bad), /Expected a number > 1/);
  });
});
