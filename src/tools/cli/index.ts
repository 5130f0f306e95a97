/**
 * The `sluice` command line (not public API; the bin entry is `main.ts`).
 * @module
 */
export { run, EXIT } from './program.js';
export type { CliDeps } from './program.js';
export type { CliIo } from './format.js';
