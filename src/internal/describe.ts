/** Longest text `describe()` returns; an error message quotes at most this much of a value. */
const DESCRIBE_MAX = 100;
/** Strings up to this length are quoted whole. */
const STRING_MAX = 80;

/**
 * A short description of any value for an error message, never longer than
 * about 100 characters: strings quoted (cut at 80 with a length note), small
 * plain objects shown, larger ones by their keys, class instances by class,
 * arrays by length. Messages must not echo huge input (a store with its
 * prepared statements, a megabyte string) or run user code beyond reading keys.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.length <= STRING_MAX ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, STRING_MAX - 20))}… (a string of ${value.length} characters)`;
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'symbol':
      return clip(String(value));
    case 'bigint':
      return clip(`${value}n`);
    case 'function':
      return value.name ? clip(`a function ${value.name}()`) : 'a function';
  }
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return `an array of ${value.length} ${value.length === 1 ? 'item' : 'items'}`;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== null && proto !== Object.prototype) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name !== '' ? clip(`${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} instance`) : 'an object';
    }
    const keys = Object.keys(value as object);
    if (keys.length === 0) return '{}';
    const small = smallObject(value as Record<string, unknown>, keys);
    if (small !== undefined) return small;
    return listKeys(keys);
  } catch {
    return 'an object'; // a revoked proxy, a throwing getter: describing must never fail
  }
}

function clip(text: string): string {
  return text.length <= DESCRIBE_MAX ? text : `${text.slice(0, DESCRIBE_MAX - 1)}…`;
}

/** `{ capacity: 10, overflow: "block" }` when every value is a short primitive and it all fits in 60 characters. */
function smallObject(value: Record<string, unknown>, keys: string[]): string | undefined {
  if (keys.length > 4) return undefined;
  const parts: string[] = [];
  for (const key of keys) {
    const v = value[key];
    const t = typeof v;
    if (v !== null && t !== 'number' && t !== 'boolean' && t !== 'undefined' && !(t === 'string' && (v as string).length <= 20)) return undefined;
    parts.push(`${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${t === 'string' ? JSON.stringify(v) : String(v)}`);
  }
  const text = `{ ${parts.join(', ')} }`;
  return text.length <= 60 ? text : undefined;
}

function listKeys(keys: string[]): string {
  let text = `an object with ${keys.length === 1 ? 'key' : 'keys'} `;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!.length > 30 ? `${keys[i]!.slice(0, 29)}…` : keys[i]!;
    const piece = (i === 0 ? '' : ', ') + key;
    if (text.length + piece.length > DESCRIBE_MAX - 12) return `${text}… (${keys.length} keys)`;
    text += piece;
  }
  return text;
}
