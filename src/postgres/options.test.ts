import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from '../../test/postgres/db.js';
import { ErrorCode, InvalidArgumentError, InvalidOptionError } from '../errors/index.js';
import { postgresSink, quoteIdentifier, type PgPoolLike, type PostgresSinkOptions } from './index.js';
import { copyChunks, copyCsvField, copyTextField, toCell } from './values.js';

// Validation happens before the pool is used; a pg.Pool opens no connection until then.
const unusedPool: PgPoolLike = createPool();
after(() => (unusedPool as ReturnType<typeof createPool>).end());

function assertInvalidOption(options: unknown, field: string): void {
  assert.throws(
    () => postgresSink(unusedPool, options as PostgresSinkOptions<unknown>),
    (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
      assert.equal(error.code, ErrorCode.invalidOption);
      assert.equal(error.field, field);
      assert.ok(error.message.includes(`"${field}"`), error.message);
      return true;
    },
  );
}

const base = { table: 'events', columns: ['id', 'body'] };

describe('postgresSink() options', () => {
  it('postgresSink() - rejects a missing, empty or malformed table', () => {
    assertInvalidOption({ columns: ['id'] }, 'table');
    assertInvalidOption({ ...base, table: '' }, 'table');
    assertInvalidOption({ ...base, table: 'a.b.c' }, 'table');
    assertInvalidOption({ ...base, table: 'schema.' }, 'table');
    assertInvalidOption({ ...base, table: '"unterminated' }, 'table');
    assertInvalidOption({ ...base, table: 'half"quoted' }, 'table');
    assertInvalidOption({ ...base, table: 'x'.repeat(64) }, 'table');
    assertInvalidOption({ ...base, table: 'nul\0name' }, 'table');
    assertInvalidOption({ ...base, table: 42 }, 'table');
  });

  it('postgresSink() - accepts names with quotes, dots inside quoted parts, and a schema', () => {
    for (const table of ['events', 'logs.events', '"my.schema"."Ev""ents"', 'Mixed Case', 'x'.repeat(63)]) {
      assert.equal(typeof postgresSink(unusedPool, { ...base, table }), 'function', table);
    }
  });

  it('postgresSink() - rejects empty, duplicate or non-string columns', () => {
    assertInvalidOption({ table: 'events' }, 'columns');
    assertInvalidOption({ table: 'events', columns: [] }, 'columns');
    assertInvalidOption({ table: 'events', columns: 'id' }, 'columns');
    assertInvalidOption({ table: 'events', columns: Array.from({ length: 1601 }, (_, i) => `c${i}`) }, 'columns');
    assertInvalidOption({ table: 'events', columns: ['id', 'id'] }, 'columns[1]');
    assertInvalidOption({ table: 'events', columns: ['id', ''] }, 'columns[1]');
    assertInvalidOption({ table: 'events', columns: [7] }, 'columns[0]');
  });

  it('postgresSink() - rejects an unknown method, onConflict, copyFormat or toRow', () => {
    assertInvalidOption({ ...base, method: 'upsert' }, 'method');
    assertInvalidOption({ ...base, onConflict: 'update' }, 'onConflict');
    assertInvalidOption({ ...base, method: 'copy', copyFormat: 'binary' }, 'copyFormat');
    assertInvalidOption({ ...base, toRow: 'id' }, 'toRow');
    assertInvalidOption({ ...base, isolateFailures: 'yes' }, 'isolateFailures');
    assertInvalidOption({ ...base, preparedStatements: 1 }, 'preparedStatements');
  });

  it('postgresSink() - rejects options that do not apply to the method', () => {
    assertInvalidOption({ ...base, method: 'copy', onConflict: 'nothing' }, 'onConflict');
    assertInvalidOption({ ...base, copyFormat: 'csv' }, 'copyFormat');
    assertInvalidOption({ ...base, method: 'copy', rowsPerStatement: 10 }, 'rowsPerStatement');
    assertInvalidOption({ ...base, method: 'copy', preparedStatements: false }, 'preparedStatements');
  });

  it('postgresSink() - rowsPerStatement stays within the 65,535-parameter limit', () => {
    assertInvalidOption({ ...base, rowsPerStatement: 0 }, 'rowsPerStatement');
    assertInvalidOption({ ...base, rowsPerStatement: 1.5 }, 'rowsPerStatement');
    // two columns: at most floor(65535 / 2) = 32767 rows
    assertInvalidOption({ ...base, rowsPerStatement: 32_768 }, 'rowsPerStatement');
    assert.equal(typeof postgresSink(unusedPool, { ...base, rowsPerStatement: 32_767 }), 'function');
  });

  it('postgresSink() - rejects a pool that is not Pool-like with InvalidArgumentError', () => {
    for (const pool of [undefined, null, {}, { query() {} }, 'postgres://localhost']) {
      assert.throws(
        () => postgresSink(pool as unknown as PgPoolLike, base),
        (error: unknown) => error instanceof InvalidArgumentError && error.code === ErrorCode.invalidArgument,
      );
    }
  });

  it('postgresSink() - a non-object options argument names the options', () => {
    assertInvalidOption(null, 'postgresSink options');
  });

  it('stats() - starts at zero and names the table and method', () => {
    const sink = postgresSink(unusedPool, { ...base, method: 'copy' });
    assert.deepEqual(sink.stats(), {
      table: 'events',
      method: 'copy',
      batches: 0,
      batchesFailed: 0,
      statements: 0,
      rowsWritten: 0,
      rowsSkipped: 0,
      rowsFailed: 0,
      isolations: 0,
    });
  });
});

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
    assert.throws(() => toCell(new Date(NaN)), RangeError);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => toCell(circular), TypeError);
  });
});
