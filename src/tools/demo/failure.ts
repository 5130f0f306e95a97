// The ways `sluice demo` fails to start that are the machine's, not a bug:
// a taken port, or a SQLite store that does not load on this Node. The CLI
// prints them as one line instead of a stack. This module imports nothing, so
// it loads even when the demo's own modules do not.

/** Error codes Node gives when a module or built-in cannot be loaded. */
const loadCodes = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_UNKNOWN_BUILTIN_MODULE', 'ERR_DLOPEN_FAILED']);

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0]!.trim();
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/**
 * One line saying why the demo could not start, or `undefined` when `error` is
 * not one of the known start-up failures (then it is a bug: show it whole).
 * `port` is the `--port` asked for.
 * @example
 * describeDemoFailure(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), 8080)
 * // 'port 8080 on 127.0.0.1 is already in use; choose another with --port, or --port 0 for a free one'
 */
export function describeDemoFailure(error: unknown, port: number): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') return `port ${port} on 127.0.0.1 is already in use; choose another with --port, or --port 0 for a free one`;
  if (code === 'EACCES' && syscall === 'listen') return `no permission to listen on port ${port} of 127.0.0.1; choose a port above 1023, or --port 0 for a free one`;
  const message = error.message;
  const sqliteDriver = code === 'ERR_SLUICE_INVALID_OPTION' && (error as { field?: unknown }).field === 'driver';
  if (code === 'ERR_UNKNOWN_BUILTIN_MODULE' || /No such built-in module:?\s*node:sqlite|node:sqlite needs Node/i.test(message)) {
    return `this Node (${process.version}) has no node:sqlite, which the demo's log store needs: use Node >= 22.13`;
  }
  if (code !== undefined && loadCodes.has(code)) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
    const what = missing && !missing.startsWith('.') && !missing.startsWith('/') ? `the package ${missing} is missing (npm install ${missing})` : firstLine(message);
    return `the demo's SQLite log store did not load: ${what}`;
  }
  // src/adapters/sqlite's driver loader words its own failure; the demo has no driver option to suggest.
  if (sqliteDriver) return `the demo's SQLite log store did not load: ${firstLine(message.replace(/^SqliteStore: /, '')).replace(/[;,] (or )?use (the built-in )?driver: .*$/, '')}`;
  if (code === 'ERR_SQLITE_ERROR' || code?.startsWith('SQLITE_')) return `the demo's SQLite log store failed: ${firstLine(message)}`;
  if (syscall === 'mkdtemp') return `cannot create the demo's temp database directory: ${firstLine(message)}`;
  return undefined;
}
