// One word for one idea (#11 item 3): library code names "this component is closed"
// `ClosedError`. `ChannelClosedError` stays only as the deprecated alias that
// src/core/errors/index.ts exports for users' existing `instanceof` checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) && !/\.test(-helpers)?\.ts$|\.test-d\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe('vocabulary', () => {
  it('ClosedError - no library file but the alias itself names ChannelClosedError', () => {
    const offenders = sources(join(root, 'src'))
      .map((path) => relative(root, path))
      .filter((path) => path !== join('src', 'core', 'errors', 'index.ts'))
      .filter((path) => readFileSync(join(root, path), 'utf8').includes('ChannelClosedError'));
    assert.deepEqual(offenders, []);
  });

  it('ChannelClosedError - is still exported as the same class as ClosedError', async () => {
    const errors = await import('../../src/index.js');
    assert.equal(errors.ChannelClosedError, errors.ClosedError);
    assert.equal(new errors.ChannelClosedError().code, 'ERR_SLUICE_CLOSED');
  });
});
