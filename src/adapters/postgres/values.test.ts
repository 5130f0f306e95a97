// Identifier quoting and COPY encoding: pure functions, no database (the sink's
// own tests run against PostgreSQL in test/postgres/).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../core/errors/index.js';
import { quoteIdentifier } from './identifiers.js';
import { copyChunks, copyCsvField, copyTextField, toCell } from './values.js';

describe('quoteIdentifier()', () => {
  it('quoteIdentifier() - wraps the name in double quotes and doubles quotes inside', () => {
    assert.equal(quoteIdentifier('events'), '"events"');
    assert.equal(quoteIdentifier('Mixed Case'), '"Mixed Case"');
    assert.equal(quoteIdentifier('a"b'), '"a""b"');
    assert.equal(quoteIdentifier('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"');
  });

  it('quoteIdentifier() - throws InvalidArgumentError for an empty, NUL-containing or over-long name', () => {
    for (const name of ['', 'a\0b', 'é'.repeat(32)]) {
      assert.throws(() => quoteIdentifier(name), InvalidArgumentError, JSON.stringify(name));
    }
  });
});

describe('COPY encoding', () => {
  it('copyTextField() - escapes backslash, tab, newline and carriage return; NULL is \\N', () => {
    assert.equal(copyTextField('plain'), 'plain');
    assert.equal(copyTextField('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
    assert.equal(copyTextField('\\N'), '\\\\N');
    assert.equal(copyTextField('\\.'), '\\\\.');
    assert.equal(copyTextField(null), '\\N');
    assert.equal(copyTextField(''), '');
    assert.equal(copyTextField(Buffer.from([0, 255])), '\\\\x00ff');
  });

  it('copyCsvField() - quotes every value, doubles quotes, leaves NULL unquoted and empty', () => {
    assert.equal(copyCsvField('a,b'), '"a,b"');
    assert.equal(copyCsvField('say "hi"\n'), '"say ""hi""\n"');
    assert.equal(copyCsvField(''), '""');
    assert.equal(copyCsvField(null), '');
    assert.equal(copyCsvField('\\.'), '"\\."');
    assert.equal(copyCsvField(Buffer.from([1, 2])), '"\\x0102"');
  });

  it('copyChunks() - writes one line per row and splits large batches into ~64 KiB chunks', () => {
    assert.deepEqual([...copyChunks(['1', 'a\tb', '2', null], 2, 'text')], ['1\ta\\tb\n2\t\\N\n']);
    assert.deepEqual([...copyChunks(['1', 'a,b', '2', null], 2, 'csv')], ['"1","a,b"\n"2",\n']);
    const cells = Array.from({ length: 2000 }, () => 'x'.repeat(100));
    const chunks = [...copyChunks(cells, 1, 'text')];
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
    assert.equal(chunks.join(''), `${'x'.repeat(100)}\n`.repeat(2000));
  });

  it('toCell() - converts values as pg converts query parameters', () => {
    assert.equal(toCell(undefined), null);
    assert.equal(toCell(null), null);
    assert.equal(toCell(12.5), '12.5');
    assert.equal(toCell(10n), '10');
    assert.equal(toCell(true), 'true');
    assert.equal(toCell({ a: [1, 'x'] }), '{"a":[1,"x"]}');
    assert.equal(toCell([1, null, 'a"b', ['c\\d']]), '{"1",NULL,"a\\"b",{"c\\\\d"}}');
    assert.deepEqual(toCell(new Uint8Array([1, 2])), Buffer.from([1, 2]));
    assert.match(toCell(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))) as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.006[+-]\d\d:\d\d$/);
    assert.throws(() => toCell(new Date(NaN)), { code: 'ERR_SLUICE_INVALID_ITEM', message: /Invalid Date/ });
    assert.throws(() => toCell({ toJSON: () => undefined }), { code: 'ERR_SLUICE_INVALID_ITEM', message: /no JSON representation/ });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => toCell(circular), TypeError);
  });
});
