import { InvalidArgumentError } from '../../core/errors/index.js';

// PostgreSQL silently truncates identifiers longer than NAMEDATALEN - 1 bytes,
// which would make the sink write to a different table or column than named.
const maxIdentifierBytes = 63;

/**
 * Why `name` cannot be an identifier, or undefined when it can. Names are used
 * exactly as given (case-sensitive, no folding to lower case), so every
 * character is allowed except NUL, which PostgreSQL cannot store in a name.
 */
export function identifierProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a non-empty string';
  if (name.includes('\0')) return 'a name without NUL characters';
  if (Buffer.byteLength(name) > maxIdentifierBytes) return `a name of at most ${maxIdentifierBytes} bytes (PostgreSQL would truncate it)`;
  return undefined;
}

/**
 * Quotes one SQL identifier (a table, schema or column name) so it can be
 * pasted into a statement: wraps it in double quotes and doubles any double
 * quote inside. The name is taken literally: `quoteIdentifier('Events')` is
 * the case-sensitive `"Events"`, not `events`.
 * @throws InvalidArgumentError for an empty name, a NUL character, or more than 63 bytes.
 * @example
 * await pool.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table)} (...)`);
 */
export function quoteIdentifier(name: string): string {
  const problem = identifierProblem(name);
  if (problem !== undefined) throw new InvalidArgumentError(`quoteIdentifier(name): name must be ${problem}, got ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Splits `table` or `schema.table` into its parts. A part may itself be
 * double-quoted (`"my.schema"."Events"`, `""` for a quote inside) when the name
 * contains a dot; unquoted parts are taken literally too.
 * @returns the parts, or a description of what is wrong.
 */
export function splitQualifiedName(value: string): string[] | string {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    let part: string;
    if (value[i] === '"') {
      let end = i + 1;
      part = '';
      for (;;) {
        const close = value.indexOf('"', end);
        if (close === -1) return 'balanced double quotes';
        part += value.slice(end, close);
        if (value[close + 1] === '"') {
          part += '"';
          end = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
    } else {
      let end = value.indexOf('.', i);
      if (end === -1) end = value.length;
      part = value.slice(i, end);
      if (part.includes('"')) return 'double quotes only around a whole name part';
      i = end;
    }
    const problem = identifierProblem(part);
    if (problem !== undefined) return `name parts that are each ${problem}`;
    parts.push(part);
    if (i === value.length) break;
    if (value[i] !== '.') return 'parts separated by a dot';
    i++;
  }
  if (parts.length > 2) return 'a table name or schema.table';
  return parts;
}
