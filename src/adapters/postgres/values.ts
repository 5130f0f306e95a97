import { isDate } from 'node:util/types';
import { InvalidItemError } from '../../core/errors/index.js';

/** A value as it travels to PostgreSQL: text, binary (bytea) or SQL NULL. */
export type Cell = string | Buffer | null;

/**
 * Converts a JavaScript value the way `pg` converts query parameters, so a
 * row stores the same thing whether it went through INSERT or COPY:
 * `null`/`undefined` → NULL, Buffer and typed arrays → bytea, Date → local
 * time with its UTC offset, arrays → a PostgreSQL array literal, other
 * objects → JSON, everything else → `String(value)`.
 * @throws whatever `JSON.stringify` throws (a circular object, a BigInt inside an object).
 */
export function toCell(value: unknown): Cell {
  if (value == null) return null;
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  if (value instanceof Buffer) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (isDate(value)) return dateText(value);
  if (Array.isArray(value)) return arrayLiteral(value);
  const json = JSON.stringify(value);
  // JSON.stringify returns undefined for objects whose toJSON() does; storing "undefined" would be silent corruption.
  if (json === undefined) throw new InvalidItemError('sluice/postgres: a value has no JSON representation (its toJSON() returned undefined)');
  return json;
}

function arrayLiteral(values: readonly unknown[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) text += ',';
    const value = values[i];
    if (value == null) text += 'NULL';
    else if (Array.isArray(value)) text += arrayLiteral(value);
    else {
      const cell = toCell(value) as string | Buffer;
      // Inside an array literal a bytea element is written in hex with its backslash escaped for the array parser.
      if (typeof cell !== 'string') text += `\\\\x${cell.toString('hex')}`;
      else text += `"${cell.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    }
  }
  return `${text}}`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function dateText(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new InvalidItemError('sluice/postgres: an Invalid Date cannot be stored');
  let year = date.getFullYear();
  const beforeChrist = year < 1;
  if (beforeChrist) year = 1 - year;
  let offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  offset = Math.abs(offset);
  return (
    `${pad(year, 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}${beforeChrist ? ' BC' : ''}`
  );
}

const needsTextEscape = /[\\\n\r\t]/;
const textSpecials = /[\\\n\r\t]/g;
const textEscapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One field of COPY's text format: backslash, newline, carriage return and
 * tab are backslash-escaped (they would otherwise end the field or the row, or
 * start an escape), NULL is `\N`, bytea is hex (`\\x...` once escaped).
 */
export function copyTextField(cell: Cell): string {
  if (cell === null) return '\\N';
  if (typeof cell !== 'string') return `\\\\x${cell.toString('hex')}`;
  return needsTextEscape.test(cell) ? cell.replace(textSpecials, (c) => textEscapes[c]!) : cell;
}

/**
 * One field of COPY's CSV format: every non-NULL value is quoted (with `"`
 * doubled), so an empty string stays distinct from NULL (an unquoted empty
 * field) and a lone `\.` is never read as the end-of-data marker.
 */
export function copyCsvField(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell !== 'string') return `"\\x${cell.toString('hex')}"`;
  return `"${cell.includes('"') ? cell.replaceAll('"', '""') : cell}"`;
}

/** Size at which an encoded COPY chunk is handed to the socket; large enough to amortize a write, small enough to stream. */
const chunkChars = 64 * 1024;

/**
 * Encodes rows of `width` cells (laid out one after the other in `cells`) as
 * COPY data, yielding chunks of about 64 KiB so a large batch streams with
 * the socket's backpressure instead of being built as one string.
 */
export function* copyChunks(cells: readonly Cell[], width: number, format: 'text' | 'csv'): Generator<string> {
  const field = format === 'text' ? copyTextField : copyCsvField;
  const separator = format === 'text' ? '\t' : ',';
  let chunk = '';
  for (let start = 0; start < cells.length; start += width) {
    chunk += field(cells[start] as Cell);
    for (let c = 1; c < width; c++) chunk += separator + field(cells[start + c] as Cell);
    chunk += '\n';
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
