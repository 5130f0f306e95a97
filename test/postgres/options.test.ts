import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from './db.js';
import { ErrorCode, InvalidArgumentError, InvalidOptionError } from '../../src/core/errors/index.js';
import { postgresSink, type PgPoolLike, type PostgresSinkOptions } from '../../src/adapters/postgres/index.js';

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
